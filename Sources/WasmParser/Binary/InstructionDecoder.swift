/// Reading one instruction (opcode and immediates) from the binary format, driven by the generated
/// opcode table: the table says which immediates follow, this file says how each kind is encoded.
extension ByteReader {
    public mutating func readValueType() throws(WasmParserError) -> ValueType {
        let start = offset
        let byte = try readByte()
        guard let type = ValueType(rawValue: byte) else {
            throw malformed("malformed value type", at: start)
        }
        return type
    }

    public mutating func readReferenceType() throws(WasmParserError) -> ValueType {
        let start = offset
        let byte = try readByte()
        guard let type = ValueType(rawValue: byte), type.isReference else {
            throw malformed("malformed reference type", at: start)
        }
        return type
    }

    mutating func readBlockType() throws(WasmParserError) -> BlockType {
        guard let byte = peekByte() else { throw unexpectedEnd() }
        if byte == 0x40 {
            offset += 1
            return .empty
        }
        if byte & 0xC0 == 0x40 {
            return .value(try readValueType())
        }
        let start = offset
        let index = try readSignedLEB(bits: 33)
        guard index >= 0 else { throw malformed("malformed block type", at: start) }
        return .typeIndex(UInt32(truncatingIfNeeded: index))
    }

    mutating func readZeroByte() throws(WasmParserError) {
        let start = offset
        guard try readByte() == 0 else { throw malformed("zero byte expected", at: start) }
    }

    mutating func readMemArg() throws(WasmParserError) -> MemArg {
        let start = offset
        let align = try readVarUInt32()
        // Bit 6 would select a memory (multi-memory); 2.0 has one memory, so any alignment of 2^32 or more is malformed.
        guard align < 32 else { throw malformed("malformed memop flags", at: start) }
        let offsetValue = try readVarUInt32()
        return MemArg(align: align, offset: UInt64(offsetValue))
    }

    /// Reads the opcode (with its prefix, if any). Throws `illegal opcode` for codes that are not instructions.
    @inlinable
    public mutating func readOpcode() throws(WasmParserError) -> Opcode {
        let start = offset
        let byte = try readByte()
        switch byte {
        case 0xFC, 0xFD:
            let sub = try readVarUInt32()
            let table = byte == 0xFC ? Opcode.prefixFC : Opcode.prefixFD
            guard sub < table.count, let opcode = table[Int(sub)] else {
                throw malformed("illegal opcode \(String(byte, radix: 16)) \(String(sub, radix: 16))", at: start)
            }
            return opcode
        default:
            guard let opcode = Opcode.singleByte[Int(byte)] else {
                throw malformed("illegal opcode \(String(byte, radix: 16))", at: start)
            }
            return opcode
        }
    }

    /// Reads the immediates that follow `opcode`.
    public mutating func readImmediate(for opcode: Opcode) throws(WasmParserError) -> Immediate {
        switch opcode.info.immediate {
        case .none:
            return .none
        case .blockType:
            return .blockType(try readBlockType())
        case .label, .function, .local, .global, .table, .data, .elem:
            return .index(try readVarUInt32())
        case .brTable:
            let count = try readCount()
            var targets: [UInt32] = []
            targets.reserveCapacity(boundedCapacity(count))
            for _ in 0..<count { targets.append(try readVarUInt32()) }
            return .brTable(targets: targets, default: try readVarUInt32())
        case .callIndirect, .tableInit, .tableCopy:
            let first = try readVarUInt32()
            return .indexPair(first, try readVarUInt32())
        case .memarg:
            return .memArg(try readMemArg())
        case .memoryZero, .memoryFill:
            try readZeroByte()
            return .none
        case .memoryInit:
            let data = try readVarUInt32()
            try readZeroByte()
            return .indexPair(data, 0)
        case .memoryCopy:
            try readZeroByte()
            try readZeroByte()
            return .indexPair(0, 0)
        case .i32:
            return .i32(try readVarInt32())
        case .i64:
            return .i64(try readVarInt64())
        case .f32:
            return .f32(try readFixedUInt32())
        case .f64:
            return .f64(try readFixedUInt64())
        case .v128, .shuffle:
            let low = try readFixedUInt64()
            return .v128(V128(low: low, high: try readFixedUInt64()))
        case .refType:
            return .refType(try readReferenceType())
        case .selectTypes:
            let count = try readCount()
            var types: [ValueType] = []
            types.reserveCapacity(boundedCapacity(count))
            for _ in 0..<count { types.append(try readValueType()) }
            return .selectTypes(types)
        case .lane:
            return .lane(try readByte())
        case .memargLane:
            let memArg = try readMemArg()
            return .memArgLane(memArg, lane: try readByte())
        }
    }

    public mutating func readInstruction() throws(WasmParserError) -> Instruction {
        let opcode = try readOpcode()
        return Instruction(opcode, try readImmediate(for: opcode))
    }
}
