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
    /// The memory accessed (multiple memories); 0 unless the flags' bit 6 says otherwise.
    public var memory: UInt32

    public init(align: UInt32, offset: UInt64, memory: UInt32 = 0) {
        self.align = align
        self.offset = offset
        self.memory = memory
    }
}

/// One handler of a `try_table`: which exceptions it catches and the label it branches to.
public struct CatchClause: Hashable, Sendable {
    public enum Kind: UInt8, Sendable {
        /// Exceptions of `tag`; branches with the payload.
        case `catch` = 0
        /// Exceptions of `tag`; branches with the payload and the `exnref`.
        case catchRef = 1
        /// Any exception; branches with nothing.
        case catchAll = 2
        /// Any exception; branches with the `exnref`.
        case catchAllRef = 3

        public var catchesAll: Bool { self == .catchAll || self == .catchAllRef }
        public var passesReference: Bool { self == .catchRef || self == .catchAllRef }
        public var mnemonic: String {
            switch self {
            case .catch: return "catch"
            case .catchRef: return "catch_ref"
            case .catchAll: return "catch_all"
            case .catchAllRef: return "catch_all_ref"
            }
        }
    }

    public var kind: Kind
    /// The tag index (unused for `catch_all` and `catch_all_ref`).
    public var tag: UInt32
    /// Relative to the `try_table`'s enclosing block (label 0 is the block around the `try_table`).
    public var label: UInt32

    public init(_ kind: Kind, tag: UInt32 = 0, label: UInt32) {
        self.kind = kind
        self.tag = tag
        self.label = label
    }
}

/// The immediates of one decoded instruction. Which case an opcode carries is fixed by its
/// `ImmediateKind` in the generated table.
public enum Immediate: Hashable, Sendable {
    case none
    case blockType(BlockType)
    /// A label, function, local, global, table, element, data, tag or type index.
    case index(UInt32)
    /// `call_indirect` (type, table), `table.init` (element, table), `table.copy` (destination, source),
    /// `memory.init` (data, memory), `memory.copy` (destination, source memory); GC: `struct.get` (type,
    /// field), `array.new_fixed` (type, count), `array.new_data` (type, data), `array.new_elem` (type,
    /// element segment), `array.copy` (destination type, source type).
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
    /// `ref.null`'s heap type.
    case heapType(HeapType)
    case selectTypes([ValueType])
    case tryTable(BlockType, [CatchClause])
    case brTable(targets: [UInt32], default: UInt32)
    /// `br_on_cast` and `br_on_cast_fail`: the label, the operand's type and the type cast to.
    case brOnCast(label: UInt32, from: ReferenceType, to: ReferenceType)
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
