/// Validates one function body with the spec's algorithm (appendix "Validation Algorithm"): an operand
/// stack of value types, where `nil` is the unknown type of the polymorphic stack after `unreachable`,
/// `br`, `br_table` and `return`, and a control stack of frames.
///
/// It is iterative, so nesting depth costs heap, never host stack. `validate(_:at:)` takes one
/// instruction at a time so that the VM's translator can run it in lockstep and read the stack state.
public struct FunctionValidator {
    public enum FrameKind: Sendable { case function, block, loop, `if`, `else` }

    public struct ControlFrame: Sendable {
        public var kind: FrameKind
        public var blockType: BlockType
        /// Operand stack height when the frame was entered (its parameters already popped).
        public var height: Int
        public var unreachable: Bool
    }

    public let context: ValidationContext
    public let functionIndex: UInt32
    public let type: FunctionType
    public private(set) var operands: [ValueType?] = []
    public private(set) var controls: [ControlFrame] = []
    let locals: LocalTypes
    /// Data indices seen while the module has no data count section (checked at the module's end).
    var dataUse = DataSegmentUse()

    /// Most parameters and locals a function may have.
    public static let maxLocals: UInt64 = 50_000

    public init(context: ValidationContext, functionIndex: UInt32, body: FunctionBody) throws(WasmParserError) {
        self.context = context
        self.functionIndex = functionIndex
        type = try context.functionType(ofFunction: functionIndex, at: body.range.lowerBound)
        // An implementation limit (the spec allows them), the one agreed among engines and enforced by
        // wasmparser; without it a 4-byte local declaration could ask for 4 billion zeroed slots per call.
        guard UInt64(type.parameters.count) + UInt64(body.localCount) <= Self.maxLocals else {
            throw WasmParserError(.invalid, "too many locals: \(UInt64(type.parameters.count) + UInt64(body.localCount)) exceed the implementation limit of \(Self.maxLocals)",
                                  offset: body.range.lowerBound)
        }
        locals = LocalTypes(parameters: type.parameters, groups: body.locals, total: body.localCount)
        operands.reserveCapacity(16)
        controls.reserveCapacity(8)
        controls.append(ControlFrame(kind: .function, blockType: .typeIndex(context.functionTypeIndices[Int(functionIndex)]),
                                     height: 0, unreachable: false))
    }

    /// True once the function's final `end` has been validated.
    public var isFinished: Bool { controls.isEmpty }

    /// Decodes and validates a whole body. Like the spec's reference decoder, reading is bounded by the
    /// module, not the body: a body whose final `end` is missing is then caught as a size mismatch or a
    /// misplaced `else`/`end`, with the messages the spec suite expects.
    static func validate(context: ValidationContext, functionIndex: UInt32, body: FunctionBody, bytes: [UInt8],
                         dataUse: inout DataSegmentUse) throws(WasmParserError) {
        var validator: FunctionValidator
        do throws(WasmParserError) {
            validator = try FunctionValidator(context: context, functionIndex: functionIndex, body: body)
        } catch {
            throw error.inFunction(functionIndex)
        }
        var reader = ByteReader(bytes: bytes, offset: body.range.lowerBound)
        do throws(WasmParserError) {
            while !validator.isFinished {
                let offset = reader.offset
                let instruction = try reader.readInstruction()
                try validator.validate(instruction, at: offset)
            }
            guard reader.offset == body.range.upperBound else {
                throw WasmParserError(.malformed, "section size mismatch", offset: reader.offset)
            }
            if let index = validator.dataUse.largestIndex { dataUse.record(index, at: validator.dataUse.offset) }
        } catch {
            throw error.inFunction(functionIndex)
        }
    }

    // MARK: Stack primitives

    func typeMismatch(_ detail: String, at offset: Int) -> WasmParserError {
        WasmParserError(.invalid, "type mismatch: \(detail)", offset: offset)
    }

    @inline(__always)
    public mutating func push(_ type: ValueType?) { operands.append(type) }

    /// Pops one operand; `nil` means unknown (only possible in unreachable code).
    public mutating func pop(at offset: Int) throws(WasmParserError) -> ValueType? {
        let frame = controls[controls.count - 1]
        if operands.count == frame.height {
            if frame.unreachable { return nil }
            throw typeMismatch("expected a value but the stack is empty", at: offset)
        }
        return operands.removeLast()
    }

    /// Pops an operand of type `expected`; returns what was there (`nil`: unknown, in unreachable code).
    @discardableResult
    public mutating func pop(_ expected: ValueType, at offset: Int) throws(WasmParserError) -> ValueType? {
        let frame = controls[controls.count - 1]
        if operands.count == frame.height {
            if frame.unreachable { return nil }
            throw typeMismatch("expected \(expected) but the stack is empty", at: offset)
        }
        let actual = operands.removeLast()
        if let actual, actual != expected {
            throw typeMismatch("expected \(expected), found \(actual)", at: offset)
        }
        return actual
    }

    // Block types are read in place (no arrays built) to keep validation allocation-free.
    func count(of blockType: BlockType, results: Bool) -> Int {
        switch blockType {
        case .empty: return 0
        case .value: return results ? 1 : 0
        case .typeIndex(let i): return results ? context.types[Int(i)].results.count : context.types[Int(i)].parameters.count
        }
    }

    func type(of blockType: BlockType, results: Bool, _ index: Int) -> ValueType {
        switch blockType {
        case .empty: return .i32  // unreachable: count is 0
        case .value(let t): return t
        case .typeIndex(let i): return results ? context.types[Int(i)].results[index] : context.types[Int(i)].parameters[index]
        }
    }

    mutating func popTypes(of blockType: BlockType, results: Bool, at offset: Int) throws(WasmParserError) {
        var i = count(of: blockType, results: results)
        while i > 0 {
            i -= 1
            try pop(type(of: blockType, results: results, i), at: offset)
        }
    }

    mutating func pushTypes(of blockType: BlockType, results: Bool) {
        for i in 0..<count(of: blockType, results: results) {
            push(type(of: blockType, results: results, i))
        }
    }

    mutating func popTypes(_ types: [ValueType], at offset: Int) throws(WasmParserError) {
        for type in types.reversed() { try pop(type, at: offset) }
    }

    mutating func pushControl(_ kind: FrameKind, _ blockType: BlockType) {
        controls.append(ControlFrame(kind: kind, blockType: blockType, height: operands.count, unreachable: false))
        pushTypes(of: blockType, results: false)
    }

    mutating func popControl(at offset: Int) throws(WasmParserError) -> ControlFrame {
        let frame = controls[controls.count - 1]
        try popTypes(of: frame.blockType, results: true, at: offset)
        guard operands.count == frame.height else {
            throw typeMismatch("\(operands.count - frame.height) values left on the stack at the end of a block", at: offset)
        }
        controls.removeLast()
        return frame
    }

    /// The types a branch to `frame` carries: a loop's parameters, any other frame's results.
    func labelUsesParameters(_ frame: ControlFrame) -> Bool { frame.kind == .loop }

    mutating func markUnreachable() {
        let height = controls[controls.count - 1].height
        operands.removeSubrange(height...)
        controls[controls.count - 1].unreachable = true
    }

    func label(_ depth: UInt32, at offset: Int) throws(WasmParserError) -> ControlFrame {
        guard Int(depth) < controls.count else {
            throw WasmParserError(.invalid, "unknown label \(depth)", offset: offset)
        }
        return controls[controls.count - 1 - Int(depth)]
    }

    func checkBlockType(_ blockType: BlockType, at offset: Int) throws(WasmParserError) {
        if case .typeIndex(let i) = blockType { _ = try context.type(at: i, offset: offset) }
    }

    func local(_ index: UInt32, at offset: Int) throws(WasmParserError) -> ValueType {
        guard let type = locals[index] else {
            throw WasmParserError(.invalid, "unknown local \(index)", offset: offset)
        }
        return type
    }

    func checkAlignment(_ memArg: MemArg, _ opcode: Opcode, at offset: Int) throws(WasmParserError) {
        guard memArg.align <= UInt32(opcode.info.naturalAlignment) else {
            throw WasmParserError(.invalid, "alignment must not be larger than natural", offset: offset)
        }
    }

    func checkLane(_ lane: UInt8, _ opcode: Opcode, at offset: Int) throws(WasmParserError) {
        guard lane < opcode.info.laneCount else {
            throw WasmParserError(.invalid, "invalid lane index", offset: offset)
        }
    }

    // MARK: Instructions

    public mutating func validate(_ instruction: Instruction, at offset: Int) throws(WasmParserError) {
        let opcode = instruction.opcode
        let info = opcode.info
        if let signature = info.signature {
            try checkImmediates(instruction, info, at: offset)
            var i = Int(signature.paramCount)
            while i > 0 {
                i -= 1
                try pop(signature.param(i), at: offset)
            }
            if let result = signature.result { push(result) }
            return
        }
        try validateSpecial(instruction, at: offset)
    }

    /// Immediate checks for instructions typed by a fixed signature: memory, alignment, lanes, data segments.
    mutating func checkImmediates(_ instruction: Instruction, _ info: OpcodeInfo, at offset: Int) throws(WasmParserError) {
        switch instruction.immediate {
        case .memArg(let memArg):
            try context.checkMemory(0, at: offset)
            try checkAlignment(memArg, instruction.opcode, at: offset)
        case .memArgLane(let memArg, let lane):
            try context.checkMemory(0, at: offset)
            try checkAlignment(memArg, instruction.opcode, at: offset)
            try checkLane(lane, instruction.opcode, at: offset)
        case .lane(let lane):
            try checkLane(lane, instruction.opcode, at: offset)
        case .v128(let lanes) where info.immediate == .shuffle:
            for i in 0..<16 where lanes.byte(i) >= 32 {
                throw WasmParserError(.invalid, "invalid lane index", offset: offset)
            }
        case .indexPair(let data, _) where instruction.opcode == .memoryInit:
            try context.checkMemory(0, at: offset)
            try context.checkDataSegment(data, at: offset, use: &dataUse)
        case .index(let data) where instruction.opcode == .dataDrop:
            try context.checkDataSegment(data, at: offset, use: &dataUse)
        case .index(let elem) where instruction.opcode == .elemDrop:
            _ = try context.elementType(elem, at: offset)
        default:
            if instruction.opcode.usesMemory { try context.checkMemory(0, at: offset) }
        }
    }

    mutating func validateSpecial(_ instruction: Instruction, at offset: Int) throws(WasmParserError) {
        switch (instruction.opcode, instruction.immediate) {
        case (.unreachable, _):
            markUnreachable()
        case (.block, .blockType(let bt)), (.loop, .blockType(let bt)):
            try checkBlockType(bt, at: offset)
            try popTypes(of: bt, results: false, at: offset)
            pushControl(instruction.opcode == .loop ? .loop : .block, bt)
        case (.if, .blockType(let bt)):
            try checkBlockType(bt, at: offset)
            try pop(.i32, at: offset)
            try popTypes(of: bt, results: false, at: offset)
            pushControl(.if, bt)
        case (.else, _):
            // The reference decoder stops a block at `else` and then expects its `end`.
            guard controls[controls.count - 1].kind == .if else {
                throw WasmParserError(.malformed, "END opcode expected", offset: offset)
            }
            let frame = try popControl(at: offset)
            pushControl(.else, frame.blockType)
        case (.end, _):
            let frame = try popControl(at: offset)
            if frame.kind == .if {
                // An `if` without `else` must leave its parameters as its results.
                let n = count(of: frame.blockType, results: false)
                guard n == count(of: frame.blockType, results: true),
                      (0..<n).allSatisfy({ type(of: frame.blockType, results: false, $0) == type(of: frame.blockType, results: true, $0) })
                else { throw typeMismatch("if without else must produce its parameters", at: offset) }
            }
            if frame.kind != .function { pushTypes(of: frame.blockType, results: true) }
        case (.br, .index(let depth)):
            let frame = try label(depth, at: offset)
            try popTypes(of: frame.blockType, results: !labelUsesParameters(frame), at: offset)
            markUnreachable()
        case (.brIf, .index(let depth)):
            try pop(.i32, at: offset)
            let frame = try label(depth, at: offset)
            let results = !labelUsesParameters(frame)
            try popTypes(of: frame.blockType, results: results, at: offset)
            pushTypes(of: frame.blockType, results: results)
        case (.brTable, .brTable(let targets, let defaultTarget)):
            try pop(.i32, at: offset)
            let defaultFrame = try label(defaultTarget, at: offset)
            let arity = count(of: defaultFrame.blockType, results: !labelUsesParameters(defaultFrame))
            for target in targets {
                let frame = try label(target, at: offset)
                let results = !labelUsesParameters(frame)
                guard count(of: frame.blockType, results: results) == arity else {
                    throw typeMismatch("br_table targets have different arities", at: offset)
                }
                // Pop and push back, keeping unknowns unknown, so every target is checked against the same values.
                var popped: [ValueType?] = []
                var i = arity
                while i > 0 {
                    i -= 1
                    let expected = type(of: frame.blockType, results: results, i)
                    popped.append(try pop(expected, at: offset))
                }
                for type in popped.reversed() { push(type) }
            }
            try popTypes(of: defaultFrame.blockType, results: !labelUsesParameters(defaultFrame), at: offset)
            markUnreachable()
        case (.return, _):
            try popTypes(type.results, at: offset)
            markUnreachable()
        case (.call, .index(let function)):
            let callee = try context.functionType(ofFunction: function, at: offset)
            try popTypes(callee.parameters, at: offset)
            for result in callee.results { push(result) }
        case (.callIndirect, .indexPair(let typeIndex, let tableIndex)):
            let table = try context.table(tableIndex, at: offset)
            guard table.elementType == .funcref else {
                throw typeMismatch("call_indirect needs a funcref table", at: offset)
            }
            let callee = try context.type(at: typeIndex, offset: offset)
            try pop(.i32, at: offset)
            try popTypes(callee.parameters, at: offset)
            for result in callee.results { push(result) }
        case (.drop, _):
            _ = try pop(at: offset)
        case (.select, _):
            try pop(.i32, at: offset)
            let t1 = try pop(at: offset)
            let t2 = try pop(at: offset)
            if let t1, t1.isReference { throw typeMismatch("select without type needs numeric operands", at: offset) }
            if let t2, t2.isReference { throw typeMismatch("select without type needs numeric operands", at: offset) }
            if let t1, let t2, t1 != t2 { throw typeMismatch("select operands differ: \(t2) and \(t1)", at: offset) }
            push(t1 ?? t2)
        case (.selectTyped, .selectTypes(let types)):
            guard types.count == 1 else {
                throw WasmParserError(.invalid, "invalid result arity", offset: offset)
            }
            try pop(.i32, at: offset)
            try pop(types[0], at: offset)
            try pop(types[0], at: offset)
            push(types[0])
        case (.localGet, .index(let index)):
            push(try local(index, at: offset))
        case (.localSet, .index(let index)):
            try pop(try local(index, at: offset), at: offset)
        case (.localTee, .index(let index)):
            let type = try local(index, at: offset)
            try pop(type, at: offset)
            push(type)
        case (.globalGet, .index(let index)):
            push(try context.global(index, at: offset).valueType)
        case (.globalSet, .index(let index)):
            let global = try context.global(index, at: offset)
            guard global.mutability == .variable else {
                throw WasmParserError(.invalid, "global is immutable", offset: offset)
            }
            try pop(global.valueType, at: offset)
        case (.tableGet, .index(let index)):
            let table = try context.table(index, at: offset)
            try pop(.i32, at: offset)
            push(table.elementType)
        case (.tableSet, .index(let index)):
            let table = try context.table(index, at: offset)
            try pop(table.elementType, at: offset)
            try pop(.i32, at: offset)
        case (.tableSize, .index(let index)):
            _ = try context.table(index, at: offset)
            push(.i32)
        case (.tableGrow, .index(let index)):
            let table = try context.table(index, at: offset)
            try pop(.i32, at: offset)
            try pop(table.elementType, at: offset)
            push(.i32)
        case (.tableFill, .index(let index)):
            let table = try context.table(index, at: offset)
            try pop(.i32, at: offset)
            try pop(table.elementType, at: offset)
            try pop(.i32, at: offset)
        case (.tableCopy, .indexPair(let destination, let source)):
            let d = try context.table(destination, at: offset)
            let s = try context.table(source, at: offset)
            guard d.elementType == s.elementType else {
                throw typeMismatch("table.copy between \(s.elementType) and \(d.elementType) tables", at: offset)
            }
            for _ in 0..<3 { try pop(.i32, at: offset) }
        case (.tableInit, .indexPair(let element, let tableIndex)):
            let table = try context.table(tableIndex, at: offset)
            let elementType = try context.elementType(element, at: offset)
            guard table.elementType == elementType else {
                throw typeMismatch("table.init of \(elementType) segment into \(table.elementType) table", at: offset)
            }
            for _ in 0..<3 { try pop(.i32, at: offset) }
        case (.refNull, .refType(let type)):
            push(type)
        case (.refIsNull, _):
            if let type = try pop(at: offset), !type.isReference {
                throw typeMismatch("ref.is_null needs a reference, found \(type)", at: offset)
            }
            push(.i32)
        case (.refFunc, .index(let function)):
            _ = try context.functionType(ofFunction: function, at: offset)
            guard context.isDeclared(function) else {
                throw WasmParserError(.invalid, "undeclared function reference", offset: offset)
            }
            push(.funcref)
        default:
            // The decoder pairs every opcode with its immediate kind, so this cannot happen for decoded input.
            throw WasmParserError(.malformed, "unexpected immediate for \(instruction.opcode.mnemonic)", offset: offset)
        }
    }
}

/// The types of a function's locals (parameters first), without expanding runs of millions of locals.
struct LocalTypes {
    let parameters: [ValueType]
    /// Expanded declared locals when there are few; otherwise looked up by binary search in `runEnds`.
    let expanded: [ValueType]?
    let runEnds: [UInt64]
    let runTypes: [ValueType]
    let total: UInt64

    static let expansionLimit: UInt32 = 4096

    init(parameters: [ValueType], groups: [LocalGroup], total: UInt32) {
        self.parameters = parameters
        self.total = UInt64(parameters.count) + UInt64(total)
        var ends: [UInt64] = []
        var end = UInt64(parameters.count)
        for group in groups {
            end += UInt64(group.count)
            ends.append(end)
        }
        runEnds = ends
        runTypes = groups.map(\.type)
        if total <= LocalTypes.expansionLimit {
            expanded = groups.flatMap { [ValueType](repeating: $0.type, count: Int($0.count)) }
        } else {
            expanded = nil
        }
    }

    subscript(index: UInt32) -> ValueType? {
        let i = UInt64(index)
        guard i < total else { return nil }
        if i < UInt64(parameters.count) { return parameters[Int(i)] }
        if let expanded { return expanded[Int(i) - parameters.count] }
        var low = 0, high = runEnds.count - 1
        while low < high {
            let mid = (low + high) / 2
            if runEnds[mid] > i { high = mid } else { low = mid + 1 }
        }
        return runTypes[low]
    }
}
