/// A fixed operand/result signature, for the instructions that have one (numeric, memory, SIMD).
/// Stored inline (at most three operands and one result) so that reading it never touches the heap.
public struct SimpleSignature: Sendable {
    public let paramCount: UInt8
    let p0: ValueType, p1: ValueType, p2: ValueType
    public let result: ValueType?

    init(params: [ValueType], result: ValueType?) {
        paramCount = UInt8(params.count)
        p0 = params.count > 0 ? params[0] : .i32
        p1 = params.count > 1 ? params[1] : .i32
        p2 = params.count > 2 ? params[2] : .i32
        self.result = result
    }

    /// The operand type at `index` (0 is the deepest operand).
    @inline(__always)
    public func param(_ index: Int) -> ValueType {
        switch index {
        case 0: return p0
        case 1: return p1
        default: return p2
        }
    }
}

/// Static facts about one opcode, generated from `Utilities/instructions.py`.
@frozen public struct OpcodeInfo: Sendable {
    /// 0 for single-byte opcodes, else 0xFC or 0xFD.
    public let prefix: UInt8
    /// The opcode byte, or the sub-opcode after a prefix.
    public let code: UInt32
    public let immediate: ImmediateKind
    /// log2 of the natural access width, for memory instructions.
    public let naturalAlignment: UInt8
    /// Lane count bounding a lane immediate (32 for `i8x16.shuffle`); 0 when there is none.
    public let laneCount: UInt8
    /// The instruction's type when it is a fixed signature; nil when the validator has a special rule.
    public let signature: SimpleSignature?
    /// The proposal that must be enabled to use the instruction (empty for WebAssembly 2.0).
    public let feature: Features
}

extension Opcode {
    @inline(__always)
    public var info: OpcodeInfo { Opcode.table[Int(rawValue)] }

    /// The text-format name, e.g. `i32.add`.
    public var mnemonic: String { Opcode.mnemonics[Int(rawValue)] }

    /// Whether the instruction touches linear memory 0 (and so needs a memory to be valid).
    public var usesMemory: Bool {
        switch info.immediate {
        case .memarg, .memargLane, .memoryZero, .memoryInit, .memoryCopy, .memoryFill: return true
        default: return false
        }
    }
}
