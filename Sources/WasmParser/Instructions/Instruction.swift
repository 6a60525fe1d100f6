/// The type of a `block`, `loop` or `if`: no values, one result, or a function type (multi-value).
public enum BlockType: Hashable, Sendable {
    case empty
    case value(ValueType)
    case typeIndex(UInt32)
}

public struct MemArg: Hashable, Sendable {
    /// log2 of the promised alignment.
    public var align: UInt32
    public var offset: UInt64

    public init(align: UInt32, offset: UInt64) {
        self.align = align
        self.offset = offset
    }
}

/// The immediates of one decoded instruction. Which case an opcode carries is fixed by its
/// `ImmediateKind` in the generated table.
public enum Immediate: Hashable, Sendable {
    case none
    case blockType(BlockType)
    /// A label, function, local, global, table, element or data index.
    case index(UInt32)
    /// `call_indirect` (type, table), `table.init` (element, table), `table.copy` (destination, source),
    /// `memory.init` (data, memory), `memory.copy` (destination, source memory).
    case indexPair(UInt32, UInt32)
    case memArg(MemArg)
    case memArgLane(MemArg, lane: UInt8)
    case lane(UInt8)
    case i32(Int32)
    case i64(Int64)
    /// Raw IEEE-754 bits, so that NaN payloads survive.
    case f32(UInt32)
    case f64(UInt64)
    /// `v128.const` value or the 16 lane indices of `i8x16.shuffle`.
    case v128(V128)
    case refType(ValueType)
    case selectTypes([ValueType])
    case brTable(targets: [UInt32], default: UInt32)
}

public struct Instruction: Hashable, Sendable {
    public var opcode: Opcode
    public var immediate: Immediate

    public init(_ opcode: Opcode, _ immediate: Immediate = .none) {
        self.opcode = opcode
        self.immediate = immediate
    }

    /// The single index immediate (label, function, local, ...); 0 if the instruction has none.
    public var index: UInt32 {
        if case .index(let i) = immediate { return i }
        return 0
    }
}
