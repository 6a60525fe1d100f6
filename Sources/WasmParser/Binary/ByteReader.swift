/// A bounds-checked cursor over a module's bytes.
///
/// Every read checks its bounds and throws a `malformed` error instead of trapping, so hostile input can
/// never crash the process. Offsets are absolute positions in the module, which makes error offsets
/// point at the byte a user would look at in a hex dump.
public struct ByteReader {
    @usableFromInline let bytes: [UInt8]
    /// The next byte to read.
    public var offset: Int
    /// One past the last byte this reader may consume (a function body's end, or the module's end).
    @usableFromInline var limit: Int
    /// The proposals whose encodings are accepted (value types, memory indices); see `Features`.
    public var features: Features

    public init(bytes: [UInt8], offset: Int = 0, limit: Int? = nil, features: Features = .wasm3) {
        self.bytes = bytes
        self.offset = offset
        self.limit = Swift.min(limit ?? bytes.count, bytes.count)
        self.features = features
    }

    public var isAtEnd: Bool { offset >= limit }
    public var remaining: Int { limit - offset }

    @inlinable
    func malformed(_ message: String, at position: Int? = nil) -> WasmParserError {
        WasmParserError(.malformed, message, offset: position ?? offset)
    }

    @inlinable
    func unexpectedEnd() -> WasmParserError {
        WasmParserError(.malformed, "unexpected end of section or function", offset: limit)
    }

    @inlinable
    public mutating func readByte() throws(WasmParserError) -> UInt8 {
        guard offset < limit else { throw unexpectedEnd() }
        let byte = bytes[offset]
        offset += 1
        return byte
    }

    @inlinable
    public func peekByte() -> UInt8? {
        offset < limit ? bytes[offset] : nil
    }

    public mutating func readBytes(_ count: Int) throws(WasmParserError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= limit - offset else {
            offset = limit
            throw unexpectedEnd()
        }
        let slice = bytes[offset..<(offset + count)]
        offset += count
        return slice
    }

    public mutating func skip(_ count: Int) throws(WasmParserError) {
        guard count >= 0, count <= limit - offset else { throw unexpectedEnd() }
        offset += count
    }

    mutating func readFixedUInt32() throws(WasmParserError) -> UInt32 {
        guard limit - offset >= 4 else { offset = limit; throw unexpectedEnd() }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return value
    }

    mutating func readFixedUInt64() throws(WasmParserError) -> UInt64 {
        let low = try readFixedUInt32()
        let high = try readFixedUInt32()
        return UInt64(low) | UInt64(high) << 32
    }

    // MARK: LEB128

    /// Reads an unsigned LEB128 integer of at most `bits` bits, rejecting over-long encodings and set bits
    /// beyond `bits` exactly as the spec does.
    @inlinable
    public mutating func readUnsignedLEB(bits: Int) throws(WasmParserError) -> UInt64 {
        let first = try readByte()
        if first & 0x80 == 0 {
            if bits < 7 && UInt64(first) >= (1 << UInt64(bits)) {
                throw malformed("integer too large", at: offset - 1)
            }
            return UInt64(first)
        }
        var result = UInt64(first & 0x7F)
        var shift: UInt64 = 7
        var bitsLeft = bits - 7
        while true {
            guard bitsLeft > 0 else { throw malformed("integer representation too long") }
            let byte = try readByte()
            if bitsLeft < 7 && UInt64(byte & 0x7F) >= (1 << UInt64(bitsLeft)) {
                throw malformed("integer too large", at: offset - 1)
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            bitsLeft -= 7
        }
    }

    /// Reads a signed LEB128 integer of at most `bits` bits; unused bits of the last byte must repeat the sign.
    @inlinable
    public mutating func readSignedLEB(bits: Int) throws(WasmParserError) -> Int64 {
        var result: Int64 = 0
        var shift: Int64 = 0
        var bitsLeft = bits
        while true {
            guard bitsLeft > 0 else { throw malformed("integer representation too long") }
            let byte = try readByte()
            if bitsLeft < 7 {
                let mask = UInt8(truncatingIfNeeded: (-1 << (bitsLeft - 1)) & 0x7F)
                let unused = byte & mask
                if unused != 0 && unused != mask {
                    throw malformed("integer too large", at: offset - 1)
                }
            }
            result |= Int64(byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 { result |= -1 << shift }
                return result
            }
            bitsLeft -= 7
        }
    }

    @inlinable
    public mutating func readVarUInt32() throws(WasmParserError) -> UInt32 {
        let first = try readByte()
        if first & 0x80 == 0 { return UInt32(first) }  // the common one-byte case
        offset -= 1
        return UInt32(truncatingIfNeeded: try readUnsignedLEB(bits: 32))
    }

    public mutating func readVarInt32() throws(WasmParserError) -> Int32 {
        Int32(truncatingIfNeeded: try readSignedLEB(bits: 32))
    }

    public mutating func readVarInt64() throws(WasmParserError) -> Int64 {
        try readSignedLEB(bits: 64)
    }

    // MARK: Lengths and names

    /// Reads a vector's element count. Callers reserve at most `boundedCapacity(count)` elements, so a
    /// hostile count never allocates before it fails on the missing bytes.
    public mutating func readCount() throws(WasmParserError) -> Int {
        Int(try readVarUInt32())
    }

    /// Reads the byte length of a section, body, string or data payload. A length beyond the bytes left
    /// is `length out of bounds`, as the spec's reference decoder reports it.
    public mutating func readByteLength() throws(WasmParserError) -> Int {
        let start = offset
        let n = try readVarUInt32()
        // Measured from before the length itself, as the reference decoder does.
        guard Int(n) <= limit - start else { throw malformed("length out of bounds", at: start) }
        return Int(n)
    }

    /// A capacity to reserve for `count` elements of at least one byte each.
    public func boundedCapacity(_ count: Int) -> Int { Swift.min(count, Swift.max(remaining, 0)) }

    public mutating func readName() throws(WasmParserError) -> String {
        let start = offset
        let length = try readByteLength()
        let slice = try readBytes(length)
        guard let name = UTF8Validation.decode(slice) else {
            throw malformed("malformed UTF-8 encoding", at: start)
        }
        return name
    }
}

/// Strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF), as the spec's `name` requires.
enum UTF8Validation {
    static func isValid(_ bytes: ArraySlice<UInt8>) -> Bool {
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b0 = bytes[i]
            if b0 < 0x80 { i += 1; continue }
            let need: Int
            let minimum: UInt32
            var scalar: UInt32
            switch b0 {
            case 0xC2...0xDF: need = 1; minimum = 0x80; scalar = UInt32(b0 & 0x1F)
            case 0xE0...0xEF: need = 2; minimum = 0x800; scalar = UInt32(b0 & 0x0F)
            case 0xF0...0xF4: need = 3; minimum = 0x10000; scalar = UInt32(b0 & 0x07)
            default: return false
            }
            guard end - i > need else { return false }
            for k in 1...need {
                let b = bytes[i + k]
                guard b & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(b & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return false }
            i += need + 1
        }
        return true
    }

    static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        guard isValid(bytes) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
