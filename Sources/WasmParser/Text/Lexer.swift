/// The tokens of the WebAssembly text format (WAT and WAST), read from UTF-8 bytes.
///
/// A token is a kind and a byte range of the source; nothing is copied until the parser asks for a
/// token's value, so lexing a large generated module allocates only the token array. Comments (`;; ...`
/// and nested `(; ... ;)`) and white space are skipped; annotations `(@id ...)` are tokens of their own
/// kind, so the parser can keep those it understands (`@custom`, `@name`, branch hints) and skip the rest.
public struct Token: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case leftParen, rightParen
        /// A keyword or any other run of identifier characters that does not start with `$` (instruction
        /// names, `offset=8`, numbers, `nan:0x1`, ...): the parser decides what it means.
        case keyword
        /// `$name` or `$"name"`.
        case identifier
        case string
        /// `(@name`: the start of an annotation.
        case annotation
        /// Any other run of identifier characters, strings and `,;[]{}` (the spec's `reserved`): allowed only
        /// inside annotations; anywhere else an unknown operator.
        case reserved
        case endOfInput
    }

    public var kind: Kind
    /// The token's bytes in the source (for strings, including the quotes).
    public var start: Int
    public var end: Int
}

/// Where a token is, for error messages: 1-based line and column.
public struct TextLocation: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

struct Lexer {
    let source: [UInt8]
    var position = 0
    /// Parentheses open since the outermost annotation began (0: not in an annotation). Inside one, `(@`
    /// without an id is just a parenthesis.
    var annotationDepth = 0

    init(_ source: [UInt8]) { self.source = source }

    func error(_ message: String, at offset: Int) -> WasmParserError {
        WasmParserError(.malformed, message, offset: offset, location: Lexer.location(of: offset, in: source))
    }

    static func location(of offset: Int, in source: [UInt8]) -> TextLocation {
        var line = 1, column = 1
        var i = 0
        while i < min(offset, source.count) {
            if source[i] == 0x0A {
                line += 1
                column = 1
            } else if source[i] & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return TextLocation(line: line, column: column)
    }

    /// Whether `byte` may appear in a keyword or identifier (the spec's `idchar`).
    @inline(__always)
    static func isIdentifierCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"),
             UInt8(ascii: "<"), UInt8(ascii: "="), UInt8(ascii: ">"), UInt8(ascii: "?"), UInt8(ascii: "@"), UInt8(ascii: "\\"),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// All tokens, ending with `endOfInput`.
    mutating func tokenize() throws(WasmParserError) -> [Token] {
        var tokens: [Token] = []
        tokens.reserveCapacity(source.count / 4)
        while true {
            let token = try next()
            tokens.append(token)
            if token.kind == .endOfInput { return tokens }
        }
    }

    mutating func next() throws(WasmParserError) -> Token {
        try skipSpaceAndComments()
        let start = position
        guard position < source.count else { return Token(kind: .endOfInput, start: start, end: start) }
        switch source[position] {
        case UInt8(ascii: "("):
            if position + 1 < source.count && source[position + 1] == UInt8(ascii: "@") {
                position += 2
                let name: Token
                do throws(WasmParserError) {
                    name = try run()
                } catch {
                    if error.message.hasPrefix("malformed UTF-8") { throw error }
                    throw self.error("empty annotation id", at: start)
                }
                // The id is a run of identifier characters or one non-empty string, right after `(@`.
                let allIdentifierCharacters = source[name.start..<name.end].allSatisfy(Lexer.isIdentifierCharacter)
                guard name.end > name.start, allIdentifierCharacters || (name.kind == .string && name.end - name.start > 2) else {
                    if annotationDepth > 0 {
                        position = start + 1
                        annotationDepth += 1
                        return Token(kind: .leftParen, start: start, end: position)
                    }
                    throw error("empty annotation id", at: start)
                }
                annotationDepth += 1
                return Token(kind: .annotation, start: start, end: position)
            }
            position += 1
            if annotationDepth > 0 { annotationDepth += 1 }
            return Token(kind: .leftParen, start: start, end: position)
        case UInt8(ascii: ")"):
            position += 1
            if annotationDepth > 0 { annotationDepth -= 1 }
            return Token(kind: .rightParen, start: start, end: position)
        default:
            let token = try run()
            guard token.end > token.start else {
                throw error(source[position] < 0x80 || isUTF8(at: position) ? "illegal character" : "malformed UTF-8 encoding", at: position)
            }
            // `$` alone or `$""` names nothing; `$x"a"` is a run-on token like any other.
            if token.kind == .reserved && source[token.start] == UInt8(ascii: "$")
                && (token.end - token.start == 1 || (token.end - token.start == 3 && source[token.start + 1] == UInt8(ascii: "\""))) {
                throw error("empty identifier", at: token.start)
            }
            return token
        }
    }

    /// The longest run of identifier characters, strings and `,;[]{}` from here, classified: one string, an
    /// identifier (`$` and identifier characters, or `$` and one string), a keyword (identifier characters),
    /// or reserved. It must end at space, a parenthesis, a comment or the end of the text.
    mutating func run() throws(WasmParserError) -> Token {
        let start = position
        var strings = 0, others = 0, idchars = 0
        var firstStringEnd = 0
        while position < source.count {
            let byte = source[position]
            if byte == UInt8(ascii: "\"") {
                do throws(WasmParserError) {
                    try skipString()
                } catch {
                    // A `$` followed by a string that cannot be read names nothing.
                    if source[start] == UInt8(ascii: "$") && strings == 0 && idchars == 1 {
                        throw self.error("empty identifier", at: start)
                    }
                    throw error
                }
                strings += 1
                if strings == 1 { firstStringEnd = position }
                continue
            }
            if Lexer.isIdentifierCharacter(byte) {
                idchars += 1
                position += 1
                continue
            }
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}")
                || (byte == UInt8(ascii: ";") && !(position + 1 < source.count && source[position + 1] == UInt8(ascii: ";"))) {
                others += 1
                position += 1
                continue
            }
            break
        }
        if position < source.count && position > start {
            switch source[position] {
            case UInt8(ascii: " "), 0x09, 0x0A, 0x0D, UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ";"): break
            default:
                throw error(source[position] < 0x80 || isUTF8(at: position) ? "illegal character" : "malformed UTF-8 encoding", at: position)
            }
        }
        let kind: Token.Kind
        if strings == 1 && idchars == 0 && others == 0 {
            kind = .string
        } else if source[start] == UInt8(ascii: "$") && others == 0
                    && ((strings == 0 && idchars > 1) || (strings == 1 && idchars == 1 && firstStringEnd == position && position - start > 3)) {
            kind = .identifier
        } else if strings == 0 && others == 0 && idchars > 0 && source[start] != UInt8(ascii: "$") {
            kind = .keyword
        } else {
            kind = .reserved
        }
        return Token(kind: kind, start: start, end: position)
    }

    /// Whether a well-formed UTF-8 sequence starts at `offset` (a legal character outside strings is ASCII).
    func isUTF8(at offset: Int) -> Bool {
        var end = offset + 1
        while end < source.count && end < offset + 4 && source[end] & 0xC0 == 0x80 { end += 1 }
        return UTF8Validation.isValid(source[offset..<end])
    }

    mutating func skipString() throws(WasmParserError) {
        let start = position
        position += 1
        while true {
            guard position < source.count else { throw error("unclosed string", at: start) }
            let byte = source[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return
            }
            if byte < 0x20 || byte == 0x7F {
                throw error(byte == 0x0A ? "unclosed string" : "illegal character", at: position)
            }
            if byte == UInt8(ascii: "\\") {
                position += 2
                continue
            }
            position += 1
        }
    }

    mutating func skipSpaceAndComments() throws(WasmParserError) {
        while position < source.count {
            let byte = source[position]
            switch byte {
            case UInt8(ascii: " "), 0x09, 0x0A, 0x0D:
                position += 1
            case UInt8(ascii: ";") where position + 1 < source.count && source[position + 1] == UInt8(ascii: ";"):
                // A line comment ends at a line feed or a carriage return.
                while position < source.count && source[position] != 0x0A && source[position] != 0x0D {
                    if source[position] >= 0x80 { try checkUTF8(at: &position) } else { position += 1 }
                }
            case UInt8(ascii: "(") where position + 1 < source.count && source[position + 1] == UInt8(ascii: ";"):
                try skipBlockComment()
            default:
                return
            }
        }
    }

    /// `(; ... ;)`, nested.
    mutating func skipBlockComment() throws(WasmParserError) {
        let start = position
        var depth = 0
        while position < source.count {
            if source[position] == UInt8(ascii: "(") && position + 1 < source.count && source[position + 1] == UInt8(ascii: ";") {
                depth += 1
                position += 2
            } else if source[position] == UInt8(ascii: ";") && position + 1 < source.count && source[position + 1] == UInt8(ascii: ")") {
                depth -= 1
                position += 2
                if depth == 0 { return }
            } else if source[position] >= 0x80 {
                try checkUTF8(at: &position)
            } else {
                position += 1
            }
        }
        throw error("unclosed comment", at: start)
    }

    /// Comments must be valid UTF-8 too.
    func checkUTF8(at position: inout Int) throws(WasmParserError) {
        let start = position
        let b0 = source[position]
        let need: Int
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0...0xEF: need = 2
        case 0xF0...0xF4: need = 3
        default: throw error("malformed UTF-8 encoding", at: start)
        }
        guard position + need < source.count,
              UTF8Validation.isValid(source[position...(position + need)]) else {
            throw error("malformed UTF-8 encoding", at: start)
        }
        position += need + 1
    }
}
