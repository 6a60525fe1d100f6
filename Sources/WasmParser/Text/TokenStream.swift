/// A cursor over the tokens of a text module or script, with the readers every part of the parser uses:
/// keywords, identifiers, strings, integers and floats, each failing with the spec's wording and the
/// token's line and column.
public struct TokenStream {
    public let source: [UInt8]
    public let tokens: [Token]
    public var index = 0

    /// Annotations the parser interprets; every other annotation is dropped here, wherever it stands.
    static let knownAnnotations: Set<String> = ["custom", "name", "metadata.code.branch_hint"]

    public init(source: [UInt8]) throws(WasmParserError) {
        self.source = source
        var lexer = Lexer(source)
        let raw = try lexer.tokenize()
        for token in raw where token.kind == .annotation && source[token.start + 2] == UInt8(ascii: "\"") {
            // A quoted annotation id must be UTF-8 like any name.
            let id = Token(kind: .string, start: token.start + 2, end: token.end)
            let tokensSoFar = TokenStream(source: source, tokens: [])
            guard UTF8Validation.isValid(try tokensSoFar.stringBytes(of: id)[...]) else {
                throw lexer.error("malformed UTF-8 encoding", at: token.start)
            }
        }
        var kept: [Token] = []
        kept.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let token = raw[i]
            if token.kind == .annotation,
               !TokenStream.knownAnnotations.contains(String(decoding: source[(token.start + 2)..<token.end], as: UTF8.self)) {
                var depth = 0
                repeat {
                    switch raw[i].kind {
                    case .leftParen, .annotation: depth += 1
                    case .rightParen: depth -= 1
                    case .endOfInput: throw lexer.error("unclosed annotation", at: token.start)
                    default: break
                    }
                    i += 1
                } while depth > 0
                continue
            }
            kept.append(token)
            i += 1
        }
        tokens = kept
    }

    public init(_ text: String) throws(WasmParserError) { try self.init(source: Array(text.utf8)) }

    init(source: [UInt8], tokens: [Token]) {
        self.source = source
        self.tokens = tokens
    }

    // MARK: Looking

    public var current: Token { tokens[index] }
    public var kind: Token.Kind { tokens[index].kind }
    public func peek(_ offset: Int = 1) -> Token { tokens[min(index + offset, tokens.count - 1)] }
    public var isAtEnd: Bool { kind == .endOfInput }

    public func error(_ message: String, at token: Token? = nil) -> WasmParserError {
        let at = (token ?? current).start
        return WasmParserError(.malformed, message, offset: at, location: Lexer.location(of: at, in: source))
    }

    /// Where a token is: line and column (a binary search in the line starts, computed on first use).
    public mutating func location(of token: Token) -> TextLocation {
        if lineStarts.isEmpty {
            lineStarts = [0]
            for (i, byte) in source.enumerated() where byte == 0x0A { lineStarts.append(i + 1) }
        }
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= token.start { low = mid } else { high = mid - 1 }
        }
        let column = source[lineStarts[low]..<token.start].reduce(1) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
        return TextLocation(line: low + 1, column: column)
    }

    /// Offsets where lines start, for `location(of:)`.
    var lineStarts: [Int] = []

    /// The bytes of a token.
    public func bytes(of token: Token) -> ArraySlice<UInt8> { source[token.start..<token.end] }

    /// The text of a keyword or identifier token (identifiers without `$`; quoted ones unescaped).
    public func text(of token: Token) throws(WasmParserError) -> String {
        switch token.kind {
        case .identifier:
            if source[token.start + 1] == UInt8(ascii: "\"") {
                let raw = try stringBytes(of: Token(kind: .string, start: token.start + 1, end: token.end))
                guard let name = UTF8Validation.decode(raw[...]) else { throw error("malformed UTF-8 encoding", at: token) }
                return name
            }
            return String(decoding: source[(token.start + 1)..<token.end], as: UTF8.self)
        default:
            return String(decoding: source[token.start..<token.end], as: UTF8.self)
        }
    }

    /// Whether the current token is the keyword `word`.
    public func isKeyword(_ word: StaticString) -> Bool {
        guard kind == .keyword else { return false }
        return equals(current, word)
    }

    func equals(_ token: Token, _ word: StaticString) -> Bool {
        let length = token.end - token.start
        guard length == word.utf8CodeUnitCount else { return false }
        let text = word.utf8Start
        for i in 0..<length where source[token.start + i] != text[i] { return false }
        return true
    }

    /// Whether the next tokens are `(` and the keyword `word`.
    public func isField(_ word: StaticString) -> Bool {
        kind == .leftParen && peek().kind == .keyword && equals(peek(), word)
    }

    // MARK: Consuming

    public mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    public mutating func expect(_ kind: Token.Kind) throws(WasmParserError) {
        guard self.kind == kind else { throw unexpected() }
        advance()
    }

    public mutating func expectKeyword(_ word: StaticString) throws(WasmParserError) {
        guard isKeyword(word) else { throw unexpected() }
        advance()
    }

    /// Consumes `(` and the keyword `word` if they come next.
    public mutating func takeField(_ word: StaticString) -> Bool {
        guard isField(word) else { return false }
        index += 2
        return true
    }

    public mutating func takeKeyword(_ word: StaticString) -> Bool {
        guard isKeyword(word) else { return false }
        advance()
        return true
    }

    public func unexpected() -> WasmParserError {
        switch kind {
        case .endOfInput: return error("unexpected end of script")
        case .reserved: return error("unknown operator")
        case .annotation:
            // An annotation the parser reads (`@custom`, `@name`, branch hints) where it does not belong.
            return error("misplaced @\(String(decoding: source[(current.start + 2)..<current.end], as: UTF8.self)) annotation")
        default: return error("unexpected token")
        }
    }

    public mutating func takeIdentifier() throws(WasmParserError) -> String? {
        guard kind == .identifier else { return nil }
        let name = try text(of: current)
        advance()
        return name
    }

    public mutating func keyword() throws(WasmParserError) -> String {
        guard kind == .keyword else { throw unexpected() }
        let word = try text(of: current)
        advance()
        return word
    }

    /// Skips one balanced parenthesized group (or a single token), e.g. an annotation the parser ignores.
    public mutating func skipGroup() throws(WasmParserError) {
        guard kind == .leftParen || kind == .annotation else {
            advance()
            return
        }
        var depth = 0
        repeat {
            switch kind {
            case .leftParen, .annotation: depth += 1
            case .rightParen: depth -= 1
            case .endOfInput: throw error(depth > 0 ? "unclosed annotation" : "unexpected end")
            default: break
            }
            advance()
        } while depth > 0
    }

    /// Skips annotations the parser does not interpret.
    public mutating func skipAnnotations() throws(WasmParserError) {
        while kind == .annotation { try skipGroup() }
    }

    // MARK: Strings

    /// The bytes a string literal stands for (escapes decoded).
    public func stringBytes(of token: Token) throws(WasmParserError) -> [UInt8] {
        guard token.kind == .string else { throw error("unexpected token", at: token) }
        var out: [UInt8] = []
        out.reserveCapacity(token.end - token.start)
        var i = token.start + 1
        let end = token.end - 1
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while i < end {
            let b = source[i]
            if b != UInt8(ascii: "\\") {
                if b >= 0x80 {
                    // Raw non-ASCII characters must be well-formed UTF-8 in the source.
                    var j = i + 1
                    while j < end && source[j] & 0xC0 == 0x80 { j += 1 }
                    guard UTF8Validation.isValid(source[i..<j]) else { throw error("malformed UTF-8 encoding", at: token) }
                    out += source[i..<j]
                    i = j
                    continue
                }
                out.append(b)
                i += 1
                continue
            }
            let e = source[i + 1]
            switch e {
            case UInt8(ascii: "t"): out.append(0x09); i += 2
            case UInt8(ascii: "n"): out.append(0x0A); i += 2
            case UInt8(ascii: "r"): out.append(0x0D); i += 2
            case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"): out.append(e); i += 2
            case UInt8(ascii: "u"):
                guard i + 2 < end, source[i + 2] == UInt8(ascii: "{") else { throw error("illegal escape", at: token) }
                var j = i + 3
                var scalar: UInt32 = 0
                var digits = 0
                while j < end, source[j] != UInt8(ascii: "}") {
                    if source[j] == UInt8(ascii: "_") && digits > 0 { j += 1; continue }
                    guard let h = hex(source[j]) else { throw error("illegal escape", at: token) }
                    scalar = scalar &* 16 &+ UInt32(h)
                    digits += 1
                    guard scalar <= 0x10FFFF else { throw error("illegal escape", at: token) }
                    j += 1
                }
                guard j < end, digits > 0, let u = Unicode.Scalar(scalar) else { throw error("illegal escape", at: token) }
                out += Array(String(Character(u)).utf8)
                i = j + 1
            default:
                guard i + 2 < end, let h = hex(e), let l = hex(source[i + 2]) else { throw error("illegal escape", at: token) }
                out.append(h << 4 | l)
                i += 3
            }
        }
        return out
    }

    public mutating func string() throws(WasmParserError) -> [UInt8] {
        let bytes = try stringBytes(of: current)
        advance()
        return bytes
    }

    /// A string that must be valid UTF-8 (names).
    public mutating func name() throws(WasmParserError) -> String {
        let token = current
        let bytes = try string()
        guard let name = UTF8Validation.decode(bytes[...]) else { throw error("malformed UTF-8 encoding", at: token) }
        return name
    }
}
