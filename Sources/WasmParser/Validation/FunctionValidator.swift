/// Validates one function body with the spec's algorithm (appendix "Validation Algorithm"): an operand
/// stack of value types, where `nil` is the unknown type of the polymorphic stack after `unreachable`,
/// `br`, `br_table`, `return` and `throw`, and a control stack of frames. Types match by subtyping.
///
/// It is iterative, so nesting depth costs heap, never host stack. `validate(_:at:)` takes one
/// instruction at a time so that the VM's translator can run it in lockstep and read the stack state.
public struct FunctionValidator {
    /// `try`, `catch` and `catchAll` are the legacy exception blocks (a `try` becomes `catch` at its first
    /// `catch`); `tryTable` is the 3.0 form.
    public enum FrameKind: Sendable { case function, block, loop, `if`, `else`, tryTable, `try`, `catch`, catchAll }

    public struct ControlFrame: Sendable {
        public var kind: FrameKind
        public var blockType: BlockType
        /// Operand stack height when the frame was entered (its parameters already popped).
        public var height: Int
        public var unreachable: Bool
        /// Height of the local-initialization log when the frame was entered: locals set inside it become
        /// uninitialized again when it ends.
        var initializationHeight: Int
    }

    public let context: ValidationContext
    public let functionIndex: UInt32
    public let type: FunctionType
    public private(set) var operands: [ValueType?] = []
    public private(set) var controls: [ControlFrame] = []
    let locals: LocalTypes
    /// Non-defaultable locals (non-nullable references) set so far, in the order they were set; the
    /// validator's "local initialization" rule. Empty, and never touched, in functions without such locals.
    var initialized: [UInt32] = []
    var isInitialized: [UInt32: Bool] = [:]
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
        for group in body.locals { try context.checkValueType(group.type, at: body.range.lowerBound) }
        locals = LocalTypes(parameters: type.parameters, groups: body.locals, total: body.localCount)
        operands.reserveCapacity(16)
        controls.reserveCapacity(8)
        controls.append(ControlFrame(kind: .function, blockType: .typeIndex(context.functionTypeIndices[Int(functionIndex)]),
                                     height: 0, unreachable: false, initializationHeight: 0))
    }

    /// A validator for a constant expression that must produce `result`: a body with no locals and one frame.
    init(context: ValidationContext, constantOf result: ValueType) {
        self.context = context
        functionIndex = 0
        type = FunctionType(parameters: [], results: [result])
        locals = LocalTypes(parameters: [], groups: [], total: 0)
        controls.append(ControlFrame(kind: .function, blockType: .value(result), height: 0, unreachable: false,
                                     initializationHeight: 0))
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
        var reader = ByteReader(bytes: bytes, offset: body.range.lowerBound, features: context.features)
        let commonOps = commonOps  // (read once: each read of a static costs a swift_once check)
        let memory0Is32 = context.memories.first.map { !$0.is64 } ?? false
        do throws(WasmParserError) {
            while !validator.isFinished {
                if validator.validateCommon(&reader, commonOps, memory0Is32: memory0Is32) { continue }
                let offset = reader.offset
                let (instruction, info) = try reader.readInstructionAndInfo()
                try validator.validate(instruction, info, at: offset)
            }
            guard reader.offset == body.range.upperBound else {
                throw WasmParserError(.malformed, "section size mismatch", offset: reader.offset)
            }
            if let index = validator.dataUse.largestIndex { dataUse.record(index, at: validator.dataUse.offset) }
        } catch {
            throw error.inFunction(functionIndex)
        }
    }

    // MARK: The common instructions, straight from the bytes

    /// The single-byte instructions the fast path takes, by opcode byte: numeric ops of WebAssembly 2.0 with at
    /// most two operands and no immediate; loads and stores (a `memarg`), on a 32-bit memory 0.
    static let commonOps: [CommonOp?] = (0..<256).map { byte in
        guard let opcode = Opcode.singleByte[byte] else { return nil }
        let info = opcode.info
        guard info.prefix == 0, info.immediate == .none || info.immediate == .memarg, info.feature.isEmpty,
              let signature = info.signature, signature.paramCount <= 2 else { return nil }
        return CommonOp(signature: signature, naturalAlignment: UInt32(info.naturalAlignment))
    }

    struct CommonOp {
        let signature: SimpleSignature
        let naturalAlignment: UInt32
    }

    /// Validates the instruction at `reader` if it is one of the commonest (local access, constants, numeric
    /// ops with a fixed signature: most of a compiler's output) and needs nothing but exact operand types,
    /// without building an `Instruction` (Yosys's 37,000 bodies: a fifth of validation time). Returns false,
    /// having read and changed nothing, for every other instruction and every case these rules do not settle
    /// alone — an error, an operand that is a subtype or unknown, a non-defaultable local: the general path then
    /// validates it and reports errors with their usual messages.
    @inline(__always)
    mutating func validateCommon(_ reader: inout ByteReader, _ commonOps: [CommonOp?], memory0Is32: Bool) -> Bool {
        guard let byte = reader.peekByte() else { return false }
        let start = reader.offset
        switch byte {
        case 0x20, 0x21, 0x22:  // local.get, local.set, local.tee
            reader.offset += 1
            guard let index = try? reader.readVarUInt32(), let type = locals[index], type.isDefaultable,
                  byte == 0x20 || topOperands(are: type) else {
                reader.offset = start
                return false
            }
            if byte != 0x20 { operands.removeLast() }
            if byte != 0x21 { push(type) }
            return true
        case 0x41, 0x42:  // i32.const, i64.const
            reader.offset += 1
            let valid = byte == 0x41 ? (try? reader.readVarInt32()) != nil : (try? reader.readVarInt64()) != nil
            guard valid else {
                reader.offset = start
                return false
            }
            push(byte == 0x41 ? .i32 : .i64)
            return true
        case 0x43, 0x44:  // f32.const, f64.const
            let size = byte == 0x43 ? 5 : 9
            guard reader.remaining >= size else { return false }
            reader.offset += size
            push(byte == 0x43 ? .f32 : .f64)
            return true
        case 0x28...0x3E:  // loads and stores
            guard memory0Is32, let op = commonOps[Int(byte)] else { return false }
            let signature = op.signature
            reader.offset += 1
            // Alignment flags below 32 (no memory index, nothing malformed), within the natural alignment, and an
            // offset that fits 32 bits.
            guard let flags = try? reader.readVarUInt32(), flags < 32,
                  flags <= op.naturalAlignment,
                  let offset = reader.features.contains(.memory64) ? try? reader.readUnsignedLEB(bits: 64)
                                                                   : (try? reader.readVarUInt32()).map(UInt64.init),
                  offset <= UInt64(UInt32.max),
                  signature.paramCount == 1 ? topOperands(are: signature.param(0))
                                            : topOperands(are: signature.param(1), signature.param(0)) else {
                reader.offset = start
                return false
            }
            operands.removeLast()
            if signature.paramCount == 2 { operands.removeLast() }
            if let result = signature.result { push(result) }
            return true
        default:
            guard let signature = commonOps[Int(byte)]?.signature, signature.result != nil else { return false }
            let count = Int(signature.paramCount)
            switch count {
            case 0: break
            case 1: guard topOperands(are: signature.param(0)) else { return false }
            default: guard topOperands(are: signature.param(1), signature.param(0)) else { return false }
            }
            if count > 0 { operands.removeLast() }
            if count > 1 { operands.removeLast() }
            push(signature.result)
            reader.offset += 1
            return true
        }
    }

    /// Whether the current frame's topmost operands are exactly these types (known, not merely subtypes).
    @inline(__always)
    func topOperands(are top: ValueType, _ below: ValueType? = nil) -> Bool {
        let count = operands.count, needed = below == nil ? 1 : 2
        guard count - controls[controls.count - 1].height >= needed, operands[count - 1] == top else { return false }
        guard let below else { return true }
        return operands[count - 2] == below
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
            throw typeMismatch("instruction requires a value but stack has []", at: offset)
        }
        return operands.removeLast()
    }

    /// Pops an operand of type `expected` (or a subtype); returns what was there (`nil`: unknown, in
    /// unreachable code).
    @discardableResult
    public mutating func pop(_ expected: ValueType, at offset: Int) throws(WasmParserError) -> ValueType? {
        let frame = controls[controls.count - 1]
        if operands.count == frame.height {
            if frame.unreachable { return nil }
            throw typeMismatch("instruction requires [\(expected)] but stack has []", at: offset)
        }
        let actual = operands.removeLast()
        if let actual, actual != expected, !context.isSubtype(actual, of: expected) {
            throw typeMismatch("instruction requires [\(expected)] but stack has [\(actual)]", at: offset)
        }
        return actual
    }

    /// Pops a reference of any type; returns it (`nil`: unknown).
    mutating func popReference(at offset: Int) throws(WasmParserError) -> ReferenceType? {
        guard let type = try pop(at: offset) else { return nil }
        return try reference(type, at: offset)
    }

    /// Pops a reference of any type; an unknown operand (unreachable code) is the spec's `(ref bot)`: still a
    /// reference, so what is pushed from it is one too.
    mutating func popReferenceOrBottom(at offset: Int) throws(WasmParserError) -> ReferenceType {
        guard let type = try pop(at: offset) else { return ReferenceType(nullable: false, .bottom) }
        return try reference(type, at: offset)
    }

    func reference(_ type: ValueType, at offset: Int) throws(WasmParserError) -> ReferenceType {
        guard case .ref(let reference) = type else {
            throw typeMismatch("expected a reference, found \(type)", at: offset)
        }
        return reference
    }

    // Block types are read in place (no arrays built) to keep validation allocation-free.
    func count(of blockType: BlockType, results: Bool) -> Int {
        switch blockType {
        case .empty: return 0
        case .value: return results ? 1 : 0
        case .typeIndex(let i):
            guard let f = context.types[Int(i)].functionType else { return 0 }
            return results ? f.results.count : f.parameters.count
        }
    }

    func type(of blockType: BlockType, results: Bool, _ index: Int) -> ValueType {
        switch blockType {
        case .empty: return .i32  // unreachable: count is 0
        case .value(let t): return t
        case .typeIndex(let i):
            let f = context.types[Int(i)].functionType!
            return results ? f.results[index] : f.parameters[index]
        }
    }

    func types(of blockType: BlockType, results: Bool) -> [ValueType] {
        (0..<count(of: blockType, results: results)).map { type(of: blockType, results: results, $0) }
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
        controls.append(ControlFrame(kind: kind, blockType: blockType, height: operands.count, unreachable: false,
                                     initializationHeight: initialized.count))
        pushTypes(of: blockType, results: false)
    }

    mutating func popControl(at offset: Int) throws(WasmParserError) -> ControlFrame {
        let frame = controls[controls.count - 1]
        try popTypes(of: frame.blockType, results: true, at: offset)
        guard operands.count == frame.height else {
            let left = operands[frame.height...].map { $0?.description ?? "?" }.joined(separator: " ")
            let results = types(of: frame.blockType, results: true).map(\.description).joined(separator: " ")
            throw typeMismatch("block requires [\(results)] but stack has [\(left)]", at: offset)
        }
        controls.removeLast()
        resetInitialization(to: frame.initializationHeight)
        return frame
    }

    /// Locals initialized inside a block are uninitialized again after it.
    mutating func resetInitialization(to height: Int) {
        while initialized.count > height { isInitialized[initialized.removeLast()] = nil }
    }

    /// The types a branch to `frame` carries: a loop's parameters, any other frame's results.
    func labelUsesParameters(_ frame: ControlFrame) -> Bool { frame.kind == .loop }

    func labelTypes(_ frame: ControlFrame) -> [ValueType] {
        types(of: frame.blockType, results: !labelUsesParameters(frame))
    }

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
        switch blockType {
        case .typeIndex(let i): _ = try context.functionType(at: i, offset: offset)
        case .value(let t): try context.checkValueType(t, at: offset)
        case .empty: break
        }
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
        try validate(instruction, instruction.opcode.info, at: offset)
    }

    /// `info` is the opcode's row, which the caller has at hand (looking it up is not free).
    @inline(__always)
    mutating func validate(_ instruction: Instruction, _ info: OpcodeInfo, at offset: Int) throws(WasmParserError) {
        if let signature = info.signature {
            // A memory instruction's address (its first operand) is i64 on a 64-bit memory.
            let address = try checkImmediates(instruction, info, at: offset)
            var i = Int(signature.paramCount)
            while i > 0 {
                i -= 1
                try pop(i == 0 ? address ?? signature.param(0) : signature.param(i), at: offset)
            }
            if let result = signature.result { push(result) }
            return
        }
        try validateSpecial(instruction, at: offset)
    }

    /// Immediate checks for instructions typed by a fixed signature: memory, alignment, lanes, data segments.
    /// Returns the address type of a load or store (i32, or i64 on a 64-bit memory).
    mutating func checkImmediates(_ instruction: Instruction, _ info: OpcodeInfo, at offset: Int) throws(WasmParserError) -> ValueType? {
        switch instruction.immediate {
        case .memArg(let memArg):
            try context.checkMemory(memArg.memory, at: offset)
            try checkAlignment(memArg, instruction.opcode, at: offset)
            return try checkMemArg(memArg, instruction.opcode, at: offset)
        case .memArgLane(let memArg, let lane):
            try context.checkMemory(memArg.memory, at: offset)
            try checkAlignment(memArg, instruction.opcode, at: offset)
            try checkLane(lane, instruction.opcode, at: offset)
            return try checkMemArg(memArg, instruction.opcode, at: offset)
        case .lane(let lane):
            try checkLane(lane, instruction.opcode, at: offset)
        case .v128(let lanes) where info.immediate == .shuffle:
            for i in 0..<16 where lanes.byte(i) >= 32 {
                throw WasmParserError(.invalid, "invalid lane index", offset: offset)
            }
        case .index(let data) where instruction.opcode == .dataDrop:
            try context.checkDataSegment(data, at: offset, use: &dataUse)
        case .index(let elem) where instruction.opcode == .elemDrop:
            _ = try context.elementType(elem, at: offset)
        default:
            break
        }
        return nil
    }

    /// The memory's address type; a 32-bit memory's offsets must fit in 32 bits.
    func checkMemArg(_ memArg: MemArg, _ opcode: Opcode, at offset: Int) throws(WasmParserError) -> ValueType {
        let address = try addressType(memory: memArg.memory, at: offset)
        if address == .i32 && memArg.offset > UInt64(UInt32.max) {
            throw WasmParserError(.invalid, "offset out of range", offset: offset)
        }
        return address
    }

    func addressType(memory: UInt32, at offset: Int) throws(WasmParserError) -> ValueType {
        try context.checkMemory(memory, at: offset)
        return context.memories[Int(memory)].is64 ? .i64 : .i32
    }

    func addressType(table: UInt32, at offset: Int) throws(WasmParserError) -> (TableType, ValueType) {
        let type = try context.table(table, at: offset)
        return (type, type.is64 ? .i64 : .i32)
    }

    mutating func validateSpecial(_ instruction: Instruction, at offset: Int) throws(WasmParserError) {
        switch (instruction.opcode, instruction.immediate) {
        case (.unreachable, _):
            markUnreachable()
        case (.block, .blockType(let bt)), (.loop, .blockType(let bt)), (.try, .blockType(let bt)):
            try checkBlockType(bt, at: offset)
            try popTypes(of: bt, results: false, at: offset)
            let kind: FrameKind = instruction.opcode == .loop ? .loop : instruction.opcode == .try ? .try : .block
            pushControl(kind, bt)
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
                      (0..<n).allSatisfy({ context.isSubtype(type(of: frame.blockType, results: false, $0),
                                                             of: type(of: frame.blockType, results: true, $0)) })
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
            let types = labelTypes(frame)
            try popTypes(types, at: offset)
            for t in types { push(t) }
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
            let (callee, index) = try indirectCallee(typeIndex, table: tableIndex, at: offset)
            try pop(index, at: offset)
            try popTypes(callee.parameters, at: offset)
            for result in callee.results { push(result) }
        case (.callRef, .index(let typeIndex)):
            let callee = try context.functionType(at: typeIndex, offset: offset)
            try pop(.ref(ReferenceType(nullable: true, .concrete(typeIndex))), at: offset)
            try popTypes(callee.parameters, at: offset)
            for result in callee.results { push(result) }
        case (.returnCall, .index(let function)):
            let callee = try context.functionType(ofFunction: function, at: offset)
            try checkTailCallResults(callee, at: offset)
            try popTypes(callee.parameters, at: offset)
            markUnreachable()
        case (.returnCallIndirect, .indexPair(let typeIndex, let tableIndex)):
            let (callee, index) = try indirectCallee(typeIndex, table: tableIndex, at: offset)
            try checkTailCallResults(callee, at: offset)
            try pop(index, at: offset)
            try popTypes(callee.parameters, at: offset)
            markUnreachable()
        case (.returnCallRef, .index(let typeIndex)):
            let callee = try context.functionType(at: typeIndex, offset: offset)
            try checkTailCallResults(callee, at: offset)
            try pop(.ref(ReferenceType(nullable: true, .concrete(typeIndex))), at: offset)
            try popTypes(callee.parameters, at: offset)
            markUnreachable()
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
            try context.checkValueType(types[0], at: offset)
            try pop(.i32, at: offset)
            try pop(types[0], at: offset)
            try pop(types[0], at: offset)
            push(types[0])
        case (.localGet, .index(let index)):
            let type = try local(index, at: offset)
            if !type.isDefaultable && index >= UInt32(self.type.parameters.count) && isInitialized[index] == nil {
                throw WasmParserError(.invalid, "uninitialized local \(index)", offset: offset)
            }
            push(type)
        case (.localSet, .index(let index)):
            let type = try local(index, at: offset)
            try pop(type, at: offset)
            markInitialized(index, type)
        case (.localTee, .index(let index)):
            let type = try local(index, at: offset)
            try pop(type, at: offset)
            markInitialized(index, type)
            push(type)
        case (.globalGet, .index(let index)):
            push(try context.global(index, at: offset).valueType)
        case (.globalSet, .index(let index)):
            let global = try context.global(index, at: offset)
            guard global.mutability == .variable else {
                throw WasmParserError(.invalid, "immutable global: global is immutable", offset: offset)
            }
            try pop(global.valueType, at: offset)
        case (.tableGet, .index(let index)):
            let (table, address) = try addressType(table: index, at: offset)
            try pop(address, at: offset)
            push(table.elementType)
        case (.tableSet, .index(let index)):
            let (table, address) = try addressType(table: index, at: offset)
            try pop(table.elementType, at: offset)
            try pop(address, at: offset)
        case (.tableSize, .index(let index)):
            push(try addressType(table: index, at: offset).1)
        case (.tableGrow, .index(let index)):
            let (table, address) = try addressType(table: index, at: offset)
            try pop(address, at: offset)
            try pop(table.elementType, at: offset)
            push(address)
        case (.tableFill, .index(let index)):
            let (table, address) = try addressType(table: index, at: offset)
            try pop(address, at: offset)
            try pop(table.elementType, at: offset)
            try pop(address, at: offset)
        case (.tableCopy, .indexPair(let destination, let source)):
            let (d, dAddress) = try addressType(table: destination, at: offset)
            let (s, sAddress) = try addressType(table: source, at: offset)
            guard context.isSubtype(s.elementType, of: d.elementType) else {
                throw typeMismatch("table.copy from \(s.elementType) to \(d.elementType) table", at: offset)
            }
            try pop(dAddress == .i64 && sAddress == .i64 ? .i64 : .i32, at: offset)
            try pop(sAddress, at: offset)
            try pop(dAddress, at: offset)
        case (.tableInit, .indexPair(let element, let tableIndex)):
            let (table, address) = try addressType(table: tableIndex, at: offset)
            let elementType = try context.elementType(element, at: offset)
            guard context.isSubtype(elementType, of: table.elementType) else {
                throw typeMismatch("table.init of \(elementType) segment into \(table.elementType) table", at: offset)
            }
            try pop(.i32, at: offset)
            try pop(.i32, at: offset)
            try pop(address, at: offset)
        case (.memorySize, .index(let memory)):
            push(try addressType(memory: memory, at: offset))
        case (.memoryGrow, .index(let memory)):
            let address = try addressType(memory: memory, at: offset)
            try pop(address, at: offset)
            push(address)
        case (.memoryFill, .index(let memory)):
            let address = try addressType(memory: memory, at: offset)
            try pop(address, at: offset)
            try pop(.i32, at: offset)
            try pop(address, at: offset)
        case (.memoryCopy, .indexPair(let destination, let source)):
            let d = try addressType(memory: destination, at: offset)
            let s = try addressType(memory: source, at: offset)
            try pop(d == .i64 && s == .i64 ? .i64 : .i32, at: offset)
            try pop(s, at: offset)
            try pop(d, at: offset)
        case (.memoryInit, .indexPair(let data, let memory)):
            let address = try addressType(memory: memory, at: offset)
            try context.checkDataSegment(data, at: offset, use: &dataUse)
            try pop(.i32, at: offset)
            try pop(.i32, at: offset)
            try pop(address, at: offset)
        case (.refNull, .heapType(let heap)):
            try context.checkHeapType(heap, at: offset)
            push(.ref(ReferenceType(nullable: true, heap)))
        case (.refIsNull, _):
            _ = try popReference(at: offset)
            push(.i32)
        case (.refFunc, .index(let function)):
            _ = try context.functionType(ofFunction: function, at: offset)
            guard context.isDeclared(function) else {
                throw WasmParserError(.invalid, "undeclared function reference", offset: offset)
            }
            push(context.referenceType(ofFunction: function))
        case (.refAsNonNull, _):
            let reference = try popReferenceOrBottom(at: offset)
            push(.ref(ReferenceType(nullable: false, reference.heapType)))
        case (.brOnNull, .index(let depth)):
            let reference = try popReferenceOrBottom(at: offset)
            let frame = try label(depth, at: offset)
            let types = labelTypes(frame)
            try popTypes(types, at: offset)
            for t in types { push(t) }
            push(.ref(ReferenceType(nullable: false, reference.heapType)))
        case (.brOnNonNull, .index(let depth)):
            let frame = try label(depth, at: offset)
            let types = labelTypes(frame)
            guard let last = types.last, case .ref(let target) = last else {
                throw typeMismatch("br_on_non_null needs a label whose last value is a reference", at: offset)
            }
            let reference = try popReference(at: offset)
            if let reference {
                let nonNull = ReferenceType(nullable: false, reference.heapType)
                guard context.isSubtype(nonNull, of: target) else {
                    throw typeMismatch("br_on_non_null of \(reference) to a label of \(target)", at: offset)
                }
            }
            let rest = Array(types.dropLast())
            try popTypes(rest, at: offset)
            for t in rest { push(t) }

        // MARK: Exceptions
        case (.throw, .index(let tag)):
            let payload = try context.tagType(tag, at: offset)
            try popTypes(payload.parameters, at: offset)
            markUnreachable()
        case (.throwRef, _):
            try pop(.exnref, at: offset)
            markUnreachable()
        case (.tryTable, .tryTable(let bt, let clauses)):
            try checkBlockType(bt, at: offset)
            try popTypes(of: bt, results: false, at: offset)
            // Catch labels are resolved outside the try_table, before its frame is pushed.
            for clause in clauses { try checkCatch(clause, at: offset) }
            pushControl(.tryTable, bt)
        case (.catch, .index(let tag)):
            let kind = controls[controls.count - 1].kind
            guard kind == .try || kind == .catch else {
                throw WasmParserError(.invalid, kind == .catchAll ? "catch after catch_all" : "catch without try", offset: offset)
            }
            let payload = try context.tagType(tag, at: offset)
            let frame = try popControl(at: offset)
            controls.append(ControlFrame(kind: .catch, blockType: frame.blockType, height: operands.count,
                                         unreachable: false, initializationHeight: initialized.count))
            for t in payload.parameters { push(t) }
        case (.catchAll, _):
            let kind = controls[controls.count - 1].kind
            guard kind == .try || kind == .catch else {
                throw WasmParserError(.invalid, kind == .catchAll ? "catch_all after catch_all" : "catch_all without try", offset: offset)
            }
            let frame = try popControl(at: offset)
            controls.append(ControlFrame(kind: .catchAll, blockType: frame.blockType, height: operands.count,
                                         unreachable: false, initializationHeight: initialized.count))
        case (.delegate, .index(let depth)):
            guard controls[controls.count - 1].kind == .try else {
                throw WasmParserError(.invalid, "delegate without try", offset: offset)
            }
            let frame = try popControl(at: offset)
            // The label is counted from outside the try block.
            _ = try label(depth, at: offset)
            pushTypes(of: frame.blockType, results: true)
        case (.rethrow, .index(let depth)):
            let frame = try label(depth, at: offset)
            guard frame.kind == .catch || frame.kind == .catchAll else {
                throw WasmParserError(.invalid, "invalid rethrow label", offset: offset)
            }
            markUnreachable()
        case (let opcode, _) where Self.isGC(opcode):
            try validateGC(instruction, at: offset)
        default:
            // The decoder pairs every opcode with its immediate kind, so this cannot happen for decoded input.
            throw WasmParserError(.malformed, "unexpected immediate for \(instruction.opcode.mnemonic)", offset: offset)
        }
    }

    /// The callee type of `call_indirect` through a table that must hold function references.
    func indirectCallee(_ typeIndex: UInt32, table tableIndex: UInt32, at offset: Int) throws(WasmParserError) -> (FunctionType, index: ValueType) {
        let table = try context.table(tableIndex, at: offset)
        guard context.isSubtype(table.elementType, of: .funcref) else {
            throw typeMismatch("call_indirect needs a table of functions, found \(table.elementType)", at: offset)
        }
        return (try context.functionType(at: typeIndex, offset: offset), table.is64 ? .i64 : .i32)
    }

    /// A tail call returns the callee's results as the caller's own.
    func checkTailCallResults(_ callee: FunctionType, at offset: Int) throws(WasmParserError) {
        guard callee.results.count == type.results.count,
              zip(callee.results, type.results).allSatisfy({ context.isSubtype($0, of: $1) }) else {
            throw typeMismatch("tail call to a function returning \(callee.results) from one returning \(type.results)", at: offset)
        }
    }

    /// A `try_table` handler: the values it passes (payload, then `exnref` for the `_ref` forms) must suit its label.
    func checkCatch(_ clause: CatchClause, at offset: Int) throws(WasmParserError) {
        var passed: [ValueType] = []
        if !clause.kind.catchesAll { passed = try context.tagType(clause.tag, at: offset).parameters }
        if clause.kind.passesReference { passed.append(.ref(ReferenceType(nullable: false, .exn))) }
        let frame = try label(clause.label, at: offset)
        let expected = labelTypes(frame)
        guard passed.count == expected.count, zip(passed, expected).allSatisfy({ context.isSubtype($0, of: $1) }) else {
            throw typeMismatch("\(clause.kind.mnemonic) passes \(passed) to a label of \(expected)", at: offset)
        }
    }

    mutating func markInitialized(_ index: UInt32, _ type: ValueType) {
        guard !type.isDefaultable, isInitialized[index] == nil else { return }
        isInitialized[index] = true
        initialized.append(index)
    }
}

/// The types of a function's locals (parameters first), without expanding runs of millions of locals.
struct LocalTypes {
    /// The parameters' types, then every declared local's when there are few (up to `expansionLimit`);
    /// beyond that, locals are looked up by binary search in `runEnds`.
    let flat: [ValueType]
    let runEnds: [UInt64]
    let runTypes: [ValueType]
    let total: UInt64

    static let expansionLimit: UInt32 = 4096

    init(parameters: [ValueType], groups: [LocalGroup], total: UInt32) {
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
            flat = parameters + groups.flatMap { [ValueType](repeating: $0.type, count: Int($0.count)) }
        } else {
            flat = parameters
        }
    }

    /// (No optional array is unwrapped here: binding one costs a retain and a release per lookup, and the
    /// validator looks up a local at every `local.get`, `local.set` and `local.tee`.)
    subscript(index: UInt32) -> ValueType? {
        let i = Int(index)
        if i < flat.count { return flat[i] }
        guard UInt64(index) < total else { return nil }
        var low = 0, high = runEnds.count - 1
        while low < high {
            let mid = (low + high) / 2
            if runEnds[mid] > UInt64(index) { high = mid } else { low = mid + 1 }
        }
        return runTypes[low]
    }
}
