/// Reading one instruction (opcode and immediates) from the binary format, driven by the generated
/// opcode table: the table says which immediates follow, this file says how each kind is encoded.
extension ByteReader {
    /// Reads a value type: a one-byte numeric, vector or abstract reference type, or `(ref null? ht)`
    /// (0x63/0x64 and a heap type). Types of proposals that are off are malformed, as in an engine without them.
    public mutating func readValueType() throws(WasmParserError) -> ValueType {
        let start = offset
        let byte = try readByte()
        switch byte {
        case 0x7F: return .i32
        case 0x7E: return .i64
        case 0x7D: return .f32
        case 0x7C: return .f64
        case 0x7B: return .v128
        case 0x63, 0x64:
            guard features.contains(.functionReferences) || features.contains(.gc) else {
                throw malformed("malformed value type (typed references need the function-references feature)", at: start)
            }
            return .ref(ReferenceType(nullable: byte == 0x63, try readHeapType()))
        default:
            guard let abstract = AbstractHeapType(rawValue: byte) else { throw malformed("malformed value type", at: start) }
            guard features.isSuperset(of: abstract.feature) else {
                throw malformed("malformed value type (\(abstract)ref needs the \(abstract.feature.name) feature)", at: start)
            }
            return .ref(ReferenceType(nullable: true, abstract))
        }
    }

    /// Reads a reference type (tables, element segments): a one-byte shorthand or `(ref null? ht)`.
    public mutating func readReferenceType() throws(WasmParserError) -> ValueType {
        let start = offset
        guard let byte = peekByte() else { throw unexpectedEnd() }
        guard byte == 0x63 || byte == 0x64 || AbstractHeapType(rawValue: byte) != nil else {
            throw malformed("malformed reference type", at: start)
        }
        return try readValueType()
    }

    /// Reads a heap type: a negative s33 naming an abstract type, or a type index.
    public mutating func readHeapType() throws(WasmParserError) -> HeapType {
        let start = offset
        let value = try readSignedLEB(bits: 33)
        if value >= 0 {
            guard features.contains(.functionReferences) || features.contains(.gc) else {
                throw malformed("malformed reference type (type indices need the function-references feature)", at: start)
            }
            return .concrete(UInt32(truncatingIfNeeded: value))
        }
        guard value >= -0x40, let abstract = AbstractHeapType(rawValue: UInt8(truncatingIfNeeded: value) & 0x7F) else {
            throw malformed("malformed heap type", at: start)
        }
        guard features.isSuperset(of: abstract.feature) else {
            throw malformed("malformed reference type (\(abstract) needs the \(abstract.feature.name) feature)", at: start)
        }
        return .abstract(abstract)
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
        let flags = try readVarUInt32()
        var memory: UInt32 = 0
        var align = flags
        if features.contains(.multiMemory) {
            // Bit 6 says a memory index follows; the alignment is the low six bits.
            guard flags < 0x80 else { throw malformed("malformed memop flags", at: start) }
            if flags & 0x40 != 0 { memory = try readVarUInt32() }
            align = flags & 0x3F
        } else {
            // One memory: an alignment of 2^32 or more is malformed (bit 6 would select a memory).
            guard align < 32 else {
                throw malformed(align & 0x40 != 0 ? "malformed memop flags (a memory index needs the multi-memory feature)" : "malformed memop flags", at: start)
            }
        }
        let offsetValue = features.contains(.memory64) ? try readUnsignedLEB(bits: 64) : UInt64(try readVarUInt32())
        return MemArg(align: align, offset: offsetValue, memory: memory)
    }

    /// A memory index where 2.0 has a reserved zero byte (`memory.size`, `memory.grow`, `memory.fill`, ...).
    mutating func readMemoryIndex() throws(WasmParserError) -> UInt32 {
        if features.contains(.multiMemory) { return try readVarUInt32() }
        try readZeroByte()
        return 0
    }

    mutating func readCatchClause() throws(WasmParserError) -> CatchClause {
        let start = offset
        guard let kind = CatchClause.Kind(rawValue: try readByte()) else { throw malformed("malformed catch clause", at: start) }
        let tag = kind.catchesAll ? 0 : try readVarUInt32()
        return CatchClause(kind, tag: tag, label: try readVarUInt32())
    }

    /// Reads the opcode (with its prefix, if any). Throws `illegal opcode` for codes that are not instructions.
    @inlinable
    public mutating func readOpcode() throws(WasmParserError) -> Opcode {
        let start = offset
        let byte = try readByte()
        switch byte {
        case 0xFB, 0xFC, 0xFD:
            let sub = try readVarUInt32()
            let table = byte == 0xFB ? Opcode.prefixFB : byte == 0xFC ? Opcode.prefixFC : Opcode.prefixFD
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
        try readImmediate(opcode.info.immediate)
    }

    mutating func readImmediate(_ kind: ImmediateKind) throws(WasmParserError) -> Immediate {
        switch kind {
        case .none:
            return .none
        case .blockType:
            return .blockType(try readBlockType())
        case .label, .function, .local, .global, .table, .data, .elem, .tag, .typeIndex:
            return .index(try readVarUInt32())
        case .brTable:
            let count = try readCount()
            var targets: [UInt32] = []
            targets.reserveCapacity(boundedCapacity(count))
            for _ in 0..<count { targets.append(try readVarUInt32()) }
            return .brTable(targets: targets, default: try readVarUInt32())
        case .callIndirect, .tableInit, .tableCopy, .typeField, .typeCount, .typeData, .typeElem, .typeType:
            let first = try readVarUInt32()
            return .indexPair(first, try readVarUInt32())
        case .memarg:
            return .memArg(try readMemArg())
        case .memoryZero, .memoryFill:
            return .index(try readMemoryIndex())
        case .memoryInit:
            let data = try readVarUInt32()
            return .indexPair(data, try readMemoryIndex())
        case .memoryCopy:
            let destination = try readMemoryIndex()
            return .indexPair(destination, try readMemoryIndex())
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
        case .heapType:
            return .heapType(try readHeapType())
        case .brOnCast:
            let start = offset
            let flags = try readByte()
            guard flags < 4 else { throw malformed("malformed br_on_cast flags", at: start) }
            let label = try readVarUInt32()
            let from = try readHeapType()
            let to = try readHeapType()
            return .brOnCast(label: label, from: ReferenceType(nullable: flags & 1 != 0, from),
                             to: ReferenceType(nullable: flags & 2 != 0, to))
        case .tryTable:
            let blockType = try readBlockType()
            let count = try readCount()
            var clauses: [CatchClause] = []
            clauses.reserveCapacity(boundedCapacity(count))
            for _ in 0..<count { clauses.append(try readCatchClause()) }
            return .tryTable(blockType, clauses)
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
        try readInstructionAndInfo().instruction
    }

    /// Reads an instruction and hands back its table row, so that a caller (the validator) does not look it
    /// up again: the table is a lazily initialized global, and each lookup costs a `swift_once`.
    @inline(__always)
    mutating func readInstructionAndInfo() throws(WasmParserError) -> (instruction: Instruction, info: OpcodeInfo) {
        let start = offset
        let opcode = try readOpcode()
        let info = opcode.info
        let feature = info.feature
        if feature.rawValue != 0 && !features.isSuperset(of: feature) {
            let code = info.prefix == 0 ? String(info.code, radix: 16) : "\(String(info.prefix, radix: 16)) \(String(info.code, radix: 16))"
            throw malformed("illegal opcode \(code) (\(opcode.mnemonic) needs the \(feature.name) feature)", at: start)
        }
        return (Instruction(opcode, try readImmediate(info.immediate)), info)
    }
}
