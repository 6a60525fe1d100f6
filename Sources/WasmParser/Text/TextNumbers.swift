#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Integer and float literals of the text format: decimal or `0x` hexadecimal, `_` between digits, an
/// optional sign; floats also `inf`, `nan` and `nan:0x…` with a payload, and hexadecimal mantissas with an
/// optional binary exponent. Floats are rounded correctly (the C library's `strtod`/`strtof`), and a finite
/// literal that rounds to infinity is out of range.
enum TextNumbers {
    /// The digits of an unsigned literal (`123`, `0x7f`, `1_000`), or nil if malformed.
    static func unsigned(_ text: ArraySlice<UInt8>) -> (value: UInt64, overflow: Bool)? {
        var digits = text
        var radix: UInt64 = 10
        if digits.count > 2, digits[digits.startIndex] == UInt8(ascii: "0"), digits[digits.startIndex + 1] == UInt8(ascii: "x") {
            radix = 16
            digits = digits.dropFirst(2)
        }
        guard let first = digits.first, first != UInt8(ascii: "_"), digits.last != UInt8(ascii: "_") else { return nil }
        var value: UInt64 = 0
        var overflow = false
        var previousUnderscore = false
        for byte in digits {
            if byte == UInt8(ascii: "_") {
                if previousUnderscore { return nil }
                previousUnderscore = true
                continue
            }
            previousUnderscore = false
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: digit = UInt64(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            let (m, o1) = value.multipliedReportingOverflow(by: radix)
            let (a, o2) = m.addingReportingOverflow(digit)
            if o1 || o2 { overflow = true }
            value = a
        }
        return (value, overflow)
    }

    /// A literal for an integer of `bits` bits: unsigned up to 2^bits - 1 or signed down to -2^(bits-1),
    /// as the bit pattern. Nil when malformed; throws `constant out of range` beyond the width.
    static func integer(_ text: ArraySlice<UInt8>, bits: Int) -> Result<UInt64, IntegerError> {
        var body = text
        var negative = false
        if let first = body.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            body = body.dropFirst()
        }
        guard let (magnitude, overflow) = unsigned(body) else { return .failure(.malformed) }
        let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        if overflow { return .failure(.outOfRange) }
        if negative {
            let limit: UInt64 = bits == 64 ? 1 << 63 : 1 << UInt64(bits - 1)
            guard magnitude <= limit else { return .failure(.outOfRange) }
            return .success((0 &- magnitude) & mask)
        }
        guard magnitude <= mask else { return .failure(.outOfRange) }
        return .success(magnitude)
    }

    enum IntegerError: Error { case malformed, outOfRange }

    /// A float literal as the bit pattern of an IEEE value of `bits` (32 or 64) bits.
    static func float(_ text: ArraySlice<UInt8>, bits: Int) -> Result<UInt64, IntegerError> {
        var body = text
        var negative = false
        if let first = body.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            body = body.dropFirst()
        }
        let sign: UInt64 = negative ? (bits == 32 ? 0x8000_0000 : 0x8000_0000_0000_0000) : 0
        let exponentMask: UInt64 = bits == 32 ? 0x7F80_0000 : 0x7FF0_0000_0000_0000
        let payloadMask: UInt64 = bits == 32 ? 0x007F_FFFF : 0x000F_FFFF_FFFF_FFFF
        let word = String(decoding: body, as: UTF8.self)
        if word == "inf" { return .success(sign | exponentMask) }
        if word == "nan" { return .success(sign | exponentMask | (payloadMask + 1) >> 1) }
        if word.hasPrefix("nan:0x") {
            guard let (payload, overflow) = unsigned(body.dropFirst(4)), !overflow, payload != 0, payload <= payloadMask else {
                return .failure(word.hasPrefix("nan:0x") ? .outOfRange : .malformed)
            }
            return .success(sign | exponentMask | payload)
        }
        guard isWellFormedFloat(body) else { return .failure(.malformed) }
        var cleaned = String(decoding: body.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        // A hexadecimal mantissa without a binary exponent: C's strtod wants one.
        if cleaned.hasPrefix("0x") && !cleaned.contains("p") && !cleaned.contains("P") { cleaned += "p0" }
        if bits == 32 {
            var end: UnsafeMutablePointer<CChar>?
            let value = cleaned.withCString { p -> Float in
                errno = 0
                let v = strtof(p, &end)
                return v
            }
            guard value.isFinite else { return .failure(.outOfRange) }
            return .success(sign | UInt64(value.bitPattern))
        }
        let value = cleaned.withCString { p -> Double in strtod(p, nil) }
        guard value.isFinite else { return .failure(.outOfRange) }
        return .success(sign | value.bitPattern)
    }

    /// The spec's `float` syntax (after the sign): `num(.num?)?([eE]sign?num)?` or
    /// `0x hexnum(.hexnum?)?([pP]sign?num)?`, digits separated by single underscores.
    static func isWellFormedFloat(_ text: ArraySlice<UInt8>) -> Bool {
        var i = text.startIndex
        let end = text.endIndex
        var hex = false
        if text.count > 2, text[i] == UInt8(ascii: "0"), text[i + 1] == UInt8(ascii: "x") {
            hex = true
            i += 2
        }
        func isDigit(_ b: UInt8) -> Bool {
            (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || (hex && ((b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "F"))))
        }
        /// Digits with single underscores between them; returns how many digits.
        func digits(decimalOnly: Bool = false) -> Int? {
            var count = 0
            var lastUnderscore = false
            while i < end {
                let b = text[i]
                if b == UInt8(ascii: "_") {
                    if count == 0 || lastUnderscore { return nil }
                    lastUnderscore = true
                } else if decimalOnly ? (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) : isDigit(b) {
                    count += 1
                    lastUnderscore = false
                } else {
                    break
                }
                i += 1
            }
            if lastUnderscore { return nil }
            return count
        }
        guard let integral = digits(), integral > 0 else { return false }
        if i < end && text[i] == UInt8(ascii: ".") {
            i += 1
            if i < end && text[i] == UInt8(ascii: "_") { return false }
            guard digits() != nil else { return false }
        }
        if i < end && (hex ? (text[i] == UInt8(ascii: "p") || text[i] == UInt8(ascii: "P"))
                           : (text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E"))) {
            i += 1
            if i < end && (text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-")) { i += 1 }
            guard let exponent = digits(decimalOnly: true), exponent > 0 else { return false }
        }
        return i == end
    }
}

extension TokenStream {
    /// An integer literal of `bits` bits (signed or unsigned), as its bit pattern.
    public mutating func integer(bits: Int) throws(WasmParserError) -> UInt64 {
        guard kind == .keyword, !isKeyword("nan:canonical"), !isKeyword("nan:arithmetic") else { throw unexpected() }
        switch TextNumbers.integer(bytes(of: current), bits: bits) {
        case .success(let v):
            advance()
            return v
        case .failure(.outOfRange): throw error("constant out of range")
        case .failure(.malformed): throw error(TextNumbers.float(bytes(of: current), bits: 64).isSuccess ? "unexpected token" : "unknown operator")
        }
    }

    /// An unsigned literal (indices, limits, offsets) of at most `bits` bits.
    /// Throws `unexpected token` for a signed literal or no literal at all, `unknown operator` for a keyword
    /// that is not a number (`0drop`).
    public mutating func unsignedInteger(bits: Int = 32) throws(WasmParserError) -> UInt64 {
        guard kind == .keyword, let first = bytes(of: current).first, first != UInt8(ascii: "-"), first != UInt8(ascii: "+") else {
            throw unexpected()
        }
        guard let (value, overflow) = TextNumbers.unsigned(bytes(of: current)) else {
            throw error(TextNumbers.float(bytes(of: current), bits: 64).isSuccess ? "unexpected token" : "unknown operator")
        }
        guard !overflow, bits == 64 || value < UInt64(1) << UInt64(bits) else {
            throw error(bits == 32 ? "i32 constant out of range" : "constant out of range")
        }
        advance()
        return value
    }

    /// Whether the current token is an unsigned integer literal.
    public var isUnsignedInteger: Bool {
        guard kind == .keyword, let first = bytes(of: current).first else { return false }
        return first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") && TextNumbers.unsigned(bytes(of: current)) != nil
    }

    /// A float literal as the bits of an f32 (`bits` 32) or f64.
    public mutating func float(bits: Int) throws(WasmParserError) -> UInt64 {
        guard kind == .keyword, !isKeyword("nan:canonical"), !isKeyword("nan:arithmetic") else { throw unexpected() }
        switch TextNumbers.float(bytes(of: current), bits: bits) {
        case .success(let v):
            advance()
            return v
        case .failure(.outOfRange): throw error("constant out of range")
        case .failure(.malformed): throw error("unknown operator")
        }
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
