/// Encoding instructions back to the binary format (the inverse of `InstructionDecoder`), for tools and
/// tests that assemble modules.
extension Instruction {
    public func encode(into bytes: inout [UInt8]) {
        let info = opcode.info
        if info.prefix != 0 {
            bytes.append(info.prefix)
            Self.appendUnsigned(UInt64(info.code), to: &bytes)
        } else {
            bytes.append(UInt8(info.code))
        }
        switch immediate {
        case .none:
            switch info.immediate {
            case .memoryZero, .memoryFill: bytes.append(0)
            case .memoryCopy: bytes += [0, 0]
            default: break
            }
        case .blockType:
            encodeBlockType(into: &bytes)
        case .index(let i):
            Self.appendUnsigned(UInt64(i), to: &bytes)
        case .indexPair(let a, let b):
            // Memory indices (memory.init's second, memory.copy's both) are LEB128 too: 0 is the 2.0 zero byte.
            Self.appendUnsigned(UInt64(a), to: &bytes)
            Self.appendUnsigned(UInt64(b), to: &bytes)
        case .memArg(let m):
            m.encode(into: &bytes)
        case .memArgLane(let m, let lane):
            m.encode(into: &bytes)
            bytes.append(lane)
        case .lane(let lane):
            bytes.append(lane)
        case .i32(let v):
            Self.appendSigned(Int64(v), to: &bytes)
        case .i64(let v):
            Self.appendSigned(v, to: &bytes)
        case .f32(let bits):
            for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k)))) }
        case .f64(let bits):
            for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(k)))) }
        case .v128(let v):
            for k in 0..<16 { bytes.append(v.byte(k)) }
        case .heapType(let heap):
            heap.encode(into: &bytes)
        case .selectTypes(let types):
            Self.appendUnsigned(UInt64(types.count), to: &bytes)
            for t in types { t.encode(into: &bytes) }
        case .tryTable(let bt, let clauses):
            Instruction(.block, .blockType(bt)).encodeBlockType(into: &bytes)
            Self.appendUnsigned(UInt64(clauses.count), to: &bytes)
            for clause in clauses {
                bytes.append(clause.kind.rawValue)
                if !clause.kind.catchesAll { Self.appendUnsigned(UInt64(clause.tag), to: &bytes) }
                Self.appendUnsigned(UInt64(clause.label), to: &bytes)
            }
        case .brOnCast(let label, let from, let to):
            bytes.append((from.isNullable ? 1 : 0) | (to.isNullable ? 2 : 0))
            Self.appendUnsigned(UInt64(label), to: &bytes)
            from.heapType.encode(into: &bytes)
            to.heapType.encode(into: &bytes)
        case .brTable(let targets, let defaultTarget):
            Self.appendUnsigned(UInt64(targets.count), to: &bytes)
            for t in targets { Self.appendUnsigned(UInt64(t), to: &bytes) }
            Self.appendUnsigned(UInt64(defaultTarget), to: &bytes)
        }
    }

    /// The block type of a `block`-like instruction (0x40, a value type, or a type index as s33).
    func encodeBlockType(into bytes: inout [UInt8]) {
        let blockType: BlockType
        switch immediate {
        case .blockType(let bt), .tryTable(let bt, _): blockType = bt
        default: return
        }
        switch blockType {
        case .empty: bytes.append(0x40)
        case .value(let t): t.encode(into: &bytes)
        case .typeIndex(let i): Self.appendSigned(Int64(i), to: &bytes)
        }
    }

    public static func appendUnsigned(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        repeat {
            var byte = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while v != 0
    }

    public static func appendSigned(_ value: Int64, to bytes: inout [UInt8]) {
        var v = value
        while true {
            let byte = UInt8(v & 0x7F)
            v >>= 7
            if (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0) {
                bytes.append(byte)
                return
            }
            bytes.append(byte | 0x80)
        }
    }
}

extension MemArg {
    /// Flags (alignment, with bit 6 when a memory index follows), the memory index, then the offset.
    public func encode(into bytes: inout [UInt8]) {
        if memory != 0 {
            Instruction.appendUnsigned(UInt64(align | 0x40), to: &bytes)
            Instruction.appendUnsigned(UInt64(memory), to: &bytes)
        } else {
            Instruction.appendUnsigned(UInt64(align), to: &bytes)
        }
        Instruction.appendUnsigned(offset, to: &bytes)
    }
}

extension ValueType {
    /// The binary encoding: one byte for numeric, vector and nullable abstract reference types, else
    /// 0x63/0x64 and the heap type.
    public func encode(into bytes: inout [UInt8]) {
        if let code = shortCode {
            bytes.append(code)
        } else if case .ref(let r) = self {
            bytes.append(r.isNullable ? 0x63 : 0x64)
            r.heapType.encode(into: &bytes)
        }
    }
}

extension HeapType {
    public func encode(into bytes: inout [UInt8]) {
        switch self {
        case .abstract(let a): bytes.append(a.rawValue)
        case .concrete(let i): Instruction.appendSigned(Int64(i), to: &bytes)
        case .bottom: bytes.append(AbstractHeapType.none.rawValue)  // exists only inside the validator; never reaches a module
        }
    }
}
