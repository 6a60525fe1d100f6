import WasmParser

/// Translates one validated function body into the interpreter's register-form code.
///
/// It walks the body once, keeping a model of the operand stack in which each entry says where its value
/// lives: a temporary (the canonical slot of its stack position), a local (read in place: `local.get` emits
/// nothing), or a constant (a slot preloaded on entry: `i32.const` emits nothing). Instructions then name
/// their operands' slots directly, so `(i32.add (local.get 0) (i32.const 1))` is one dispatch. Values are
/// moved into canonical slots only where control flow merges (branches, block ends, calls).
///
/// Slot numbers of temporaries and constants are only known at the end (they depend on how many constants
/// the function uses), so every such field is recorded in `fixups` and patched in `finish()`.
struct FunctionTranslator {
    enum Location: Equatable {
        case temporary(Int)  // stack position
        case local(Int)
        case constant(Int)   // index among constants and scratch slots

        /// The slot after this one: where a v128's high half lives.
        var next: Location {
            switch self {
            case .temporary(let p): return .temporary(p + 1)
            case .local(let i): return .local(i + 1)
            case .constant(let i): return .constant(i + 1)
            }
        }
    }

    struct Control {
        /// `try` is a legacy try block in its body, `catch` one in a catch or catch_all body.
        enum Kind { case function, block, loop, `if`, `else`, tryTable, `try`, `catch` }
        var kind: Kind
        var height: Int
        /// Parameter and result sizes in slots (a v128 takes two), and their types.
        var paramCount: Int
        var resultCount: Int
        var paramTypes: [ValueType] = []
        var resultTypes: [ValueType] = []
        /// Words to patch with this label's position (forward branches), as (target word, instruction start).
        var pending: [(word: Int, instruction: Int)] = []
        /// For `if`: the branch to the else part, patched at `else` or `end`.
        var elseBranch: (word: Int, instruction: Int)?
        /// For `if` with parameters: scratch slots holding the parameters for the else part.
        var savedParams: [Int] = []
        var loopStart = 0
        var loopInstructionCount = 0
        /// The frame was entered in unreachable code: nothing inside is emitted.
        var dead = false
        /// The rest of this frame is unreachable (after br, return, unreachable, br_table).
        var unreachable = false
        /// Exception handlers (`try_table` clauses) whose target is this label, patched when it is bound.
        var pendingCatches: [(handler: Int, clause: Int)] = []
        /// The handler covering this frame's body while it is open (`try_table`, and legacy `try` until
        /// its first `catch`); nil for other frames.
        var handler: Int?
        /// Legacy `try`: its handler (also after its body, for later catch clauses), and the scratch slot
        /// where a catch keeps the caught exception for `rethrow`.
        var tryHandler: Int?
        var exceptionSlot = 0

        var labelArity: Int { kind == .loop ? paramCount : resultCount }
    }

    /// An exception handler under construction (see `ExceptionHandler`); slots resolve at `finish()`.
    struct HandlerBuilder {
        var start: Int
        var end = 0
        var parent: Int
        var clauses: [ClauseBuilder] = []
    }

    struct ClauseBuilder {
        var tag: UInt32?
        /// Code offset of the landing (patched when a forward label is bound); `returnTarget` for the function's label.
        var target = 0
        var payload: Location?
        var reference: Location?
    }

    struct Fixup {
        var word: Int
        var shift: UInt64
        var location: Location
    }

    let context: ValidationContext
    let functionIndex: UInt32
    let type: FunctionType
    /// Slots of parameters and declared locals (a v128 local takes two).
    let localCount: Int
    let paramSlotCount: Int
    let resultSlotCount: Int
    /// Each local's first slot and whether it is a v128; both empty when every local takes one slot.
    let localSlotTable: [Int]
    let localWideTable: [Bool]
    var code: [UInt64] = []
    /// The operand stack, one entry per slot: a v128 value is two entries, the second marked in `highHalf`.
    var stack: [Location] = []
    var highHalf: [Bool] = []
    var localReferences = 0
    var maxHeight = 0
    var controls: [Control] = []
    var constants: [UInt64] = []
    var constantIndex: [UInt64: Int] = [:]
    var constantPairIndex: [V128: Int] = [:]
    var fixups: [Fixup] = []
    /// The last instruction, if it wrote the stack top's temporary: (word, fixup index of its destination).
    var lastProducer: (word: Int, fixup: Int)?
    var lastProducerWide = false
    /// The last instruction, if it was a comparison (or `eqz`) whose result is the stack top; `add` is the
    /// instruction before it when that was an add (candidates for a fused add-and-branch).
    var lastCompare: Comparison?
    /// When the last instruction is an `i32.eqz` of the comparison just before it, that comparison: a branch on
    /// the `eqz` is a branch on the comparison, negated (`f64.le; i32.eqz; if`, a loop's exit test).
    var comparisonUnderEqz: Comparison?

    struct Comparison {
        var word: Int
        var op: InternalOp
        var x: Location
        var y: Location?
        /// The instruction before the comparison, if an add or i32.and (see `lastBinary`).
        var before: BinaryInfo?
        var destinationFixup: Int
    }
    /// The last instruction, if it was a `global.get` of an i32 or i64 global (its word, index and destination's
    /// fixup); and the instruction before the last, if it was one (a `global.set` of the same global after an add
    /// takes both in: see `setGlobal`). No label lies between them and now: labels clear both.
    var lastGlobalGet: GlobalGet?
    var globalGetBeforeLast: GlobalGet?

    struct GlobalGet {
        var word: Int
        var index: UInt64
        var destinationFixup: Int
    }
    /// The last instruction, if it was a copy or a copy pair: its word and moves, in order (a call right after it
    /// takes it in when it filled the last arguments; see `takeArgumentMove`).
    var lastMoves: Moves?
    /// The last instruction's word, if it was a single copy (not yet paired): a second copy pairs with it, a `br`
    /// takes it in (see `branch(depth:)`).
    var lastCopy: Int? {
        guard let moves = lastMoves, moves.second == nil else { return nil }
        return moves.word
    }
    /// The last instruction, if it was a plain `i32.add` (not rewritten into something else since): the ones that
    /// take in an add (`setGlobal`, `takeArgumentMove`, `emitReturn`) start from it.
    var lastPlainAdd: BinaryInfo? {
        guard let add = lastBinary, add.op == .i32Add, add.word == code.count - 1,
              InternalOp.decode(code[add.word]) == .i32Add else { return nil }
        return add
    }

    struct Moves {
        var word: Int
        var first: (destination: Location, source: Location)
        var second: (destination: Location, source: Location)?
    }
    /// The last instruction, if it was an add (any type: a loop's step, an address) or an i32.and (a flag
    /// test): its word, operands and destination's fixup, for fusing it into what uses it.
    var lastBinary: BinaryInfo?
    /// The last plain load emitted and its address (a fused load-and-operate keeps its word): a store back to the
    /// same address can become an update in place (see `fuseStore`).
    var lastLoad: (word: Int, address: Location, destinationFixup: Int)?

    struct BinaryInfo {
        var word: Int
        var op: InternalOp
        var x: Location
        var y: Location
        var destinationFixup: Int
    }
    /// Where plain `i32.add` words were emitted (ascending; dropped with the code after them): candidates for
    /// `pairAdds`.
    var plainAdds: [Int] = []
    var instructionCount = 0
    var segmentStart = 0
    var handlers: [HandlerBuilder] = []
    /// The validator run in lockstep, for the operand types at safepoints (modules with GC references only;
    /// see `StackMaps.swift`), the safepoints recorded (code offset, temporaries' stack positions), and the
    /// declared locals.
    var types: FunctionValidator?
    var safepoints: [(Int, [Int])] = []
    var directCalls: [(word: Int, callee: UInt32)] = []
    let localGroups: [LocalGroup]

    init(context: ValidationContext, functionIndex: UInt32, body: FunctionBody, tracksReferences: Bool = false) throws(TranslationError) {
        self.context = context
        self.functionIndex = functionIndex
        localGroups = tracksReferences ? body.locals : []
        if tracksReferences {
            do throws(WasmParserError) {
                types = try FunctionValidator(context: context, functionIndex: functionIndex, body: body)
            } catch {
                throw TranslationError(functionIndex: functionIndex, message: error.description)
            }
        }
        let typeIndex = context.functionTypeIndices[Int(functionIndex)]
        type = context.types[Int(typeIndex)].functionType!
        localCount = try Self.localSlotCount(type, body, functionIndex: functionIndex)
        paramSlotCount = Self.slotCount(type.parameters)
        resultSlotCount = Self.slotCount(type.results)
        if type.parameters.contains(.v128) || body.locals.contains(where: { $0.type == .v128 }) {
            var slots: [Int] = [], wide: [Bool] = []
            var next = 0
            func add(_ t: ValueType) {
                slots.append(next)
                wide.append(t == .v128)
                next += t == .v128 ? 2 : 1
            }
            type.parameters.forEach(add)
            for group in body.locals { for _ in 0..<group.count { add(group.type) } }
            localSlotTable = slots
            localWideTable = wide
        } else {
            localSlotTable = []
            localWideTable = []
        }
        var function = Control(kind: .function, height: 0, paramCount: 0, resultCount: resultSlotCount)
        function.resultTypes = type.results
        controls.append(function)
        code.reserveCapacity(Int(body.range.count))
    }

    // MARK: Encoding

    var temporariesStart: Int { localCount + constants.count }

    func error(_ message: String) -> TranslationError {
        TranslationError(functionIndex: functionIndex, message: message)
    }

    /// Encodes a location into the field at `shift` of word `word` (fields of temporaries and constants are fixed up later).
    mutating func field(_ location: Location, word: Int, shift: UInt64) -> UInt64 {
        switch location {
        case .local(let index):
            return UInt64(index) << shift
        case .temporary, .constant:
            fixups.append(Fixup(word: word, shift: shift, location: location))
            return 0
        }
    }

    @discardableResult
    mutating func emit(_ op: InternalOp, _ d: Location? = nil, _ x: Location? = nil, _ y: Location? = nil) -> Int {
        globalGetBeforeLast = lastGlobalGet
        lastGlobalGet = nil
        let at: Int
        if op == .copy, let d, let x, let previous = lastCopy, previous == code.count - 1 {
            // A copy right after a copy (arguments moved into place for a call, values into a block's result
            // slots): the first becomes a pair, this one's slots in the word after it.
            code[previous] |= InternalOp.copyPairFlag
            code.append(field(d, word: code.count, shift: 0) | field(x, word: code.count, shift: 16))
            at = previous
            lastMoves?.second = (d, x)
        } else {
            at = code.count
            var word = UInt64(op.rawValue)
            if let d { word |= field(d, word: at, shift: 16) }
            if let x { word |= field(x, word: at, shift: 32) }
            if let y { word |= field(y, word: at, shift: 48) }
            code.append(word)
            if op == .copy, let d, let x { lastMoves = Moves(word: at, first: (d, x)) } else { lastMoves = nil }
        }
        lastProducer = nil
        lastCompare = nil
        lastBinary = nil
        return at
    }

    mutating func emitWord(_ word: UInt64) { code.append(word) }

    mutating func emitSlotWord(_ location: Location) {
        let at = code.count
        code.append(field(location, word: at, shift: 0))
    }

    // MARK: Operand stack model

    /// The frame slots of a function's parameters and declared locals (a v128 takes two), or an error when
    /// they are beyond what the code's 16-bit slot numbers reach. Checked at load for every function, also
    /// those translated at their first call.
    static func localSlotCount(_ type: FunctionType, _ body: FunctionBody, functionIndex: UInt32) throws(TranslationError) -> Int {
        try localSlotCount(parameterCount: type.parameters.count, parameterSlots: slotCount(type.parameters), body,
                           functionIndex: functionIndex)
    }

    static func localSlotCount(parameterCount: Int, parameterSlots: Int, _ body: FunctionBody,
                               functionIndex: UInt32) throws(TranslationError) -> Int {
        let locals = UInt64(parameterCount) + UInt64(body.localCount)
        guard locals < 60_000 else {
            throw TranslationError(functionIndex: functionIndex, message: "\(locals) locals; the interpreter supports fewer than 60000")
        }
        let slots = parameterSlots + body.locals.reduce(0) { $0 + Int($1.count) * ($1.type == .v128 ? 2 : 1) }
        guard slots < 60_000 else {
            throw TranslationError(functionIndex: functionIndex, message: "\(slots) local slots; the interpreter supports fewer than 60000")
        }
        return slots
    }

    static func slotCount(_ types: [ValueType]) -> Int {
        types.reduce(0) { $0 + ($1 == .v128 ? 2 : 1) }
    }

    func slot(ofLocal index: Int) -> Int { localSlotTable.isEmpty ? index : localSlotTable[index] }
    func isWide(local index: Int) -> Bool { !localWideTable.isEmpty && localWideTable[index] }

    mutating func push(_ location: Location, highHalf isHigh: Bool = false) {
        if case .local = location { localReferences += 1 }
        stack.append(location)
        highHalf.append(isHigh)
        if stack.count > maxHeight { maxHeight = stack.count }
    }

    /// Pushes a v128 whose low half is at `location` and high half in the slot after it.
    mutating func pushWide(_ location: Location) {
        push(location)
        push(location.next, highHalf: true)
    }

    mutating func pop() -> Location {
        let location = stack.removeLast()
        highHalf.removeLast()
        if case .local = location { localReferences -= 1 }
        return location
    }

    /// Pops a v128 and returns where its low half is; the high half is in the slot after it.
    mutating func popWide() -> Location {
        let top = stack.count - 1
        if stack[top] != stack[top - 1].next {
            // Never expected (halves move together), but an operand must be two adjacent slots.
            materialize(at: top - 1)
            materialize(at: top)
        }
        _ = pop()
        return pop()
    }

    /// Pops one value of either width (for `drop`).
    mutating func popValue() {
        if highHalf[stack.count - 1] { _ = pop() }
        _ = pop()
    }

    var topIsWide: Bool { highHalf.last ?? false }

    /// Pushes temporaries for values of `types` at the top (block results, call results).
    mutating func pushTemporaries(_ types: [ValueType]) {
        for t in types {
            if t == .v128 { pushWide(.temporary(stack.count)) } else { _ = pushTemporary() }
        }
    }

    mutating func truncateStack(to height: Int) {
        while stack.count > height { _ = pop() }
    }

    /// Pushes a temporary at the new top and returns it (the destination of the instruction being emitted).
    mutating func pushTemporary() -> Location {
        let location = Location.temporary(stack.count)
        push(location)
        return location
    }

    /// Emits an instruction that writes the stack top, remembering it so a following `local.set` can retarget it.
    mutating func emitProducer(_ op: InternalOp, _ x: Location? = nil, _ y: Location? = nil) -> Int {
        let d = pushTemporary()
        let fixupIndex = fixups.count
        let at = emit(op, d, x, y)
        lastProducer = (at, fixupIndex)
        lastProducerWide = false
        return at
    }

    /// Like `emitProducer`, for an instruction whose result is a v128 (written to two slots from `d`).
    mutating func emitWideProducer(_ op: InternalOp, _ x: Location? = nil, _ y: Location? = nil) -> Int {
        let d = Location.temporary(stack.count)
        pushWide(d)
        let fixupIndex = fixups.count
        let at = emit(op, d, x, y)
        lastProducer = (at, fixupIndex)
        lastProducerWide = true
        return at
    }

    /// The last instruction's destination fixup, if it wrote the value on top of the stack (of the given width).
    func producerOfTop(wide: Bool) -> Int? {
        guard let producer = lastProducer, lastProducerWide == wide else { return nil }
        let position = stack.count - (wide ? 2 : 1)
        guard position >= 0, fixups[producer.fixup].location == .temporary(position),
              stack[position] == .temporary(position) else { return nil }
        return producer.fixup
    }

    mutating func constantPair(_ value: V128) -> Location {
        if let index = constantPairIndex[value] { return .constant(index) }
        let index = constants.count
        constants.append(value.low)
        constants.append(value.high)
        constantPairIndex[value] = index
        return .constant(index)
    }

    mutating func constant(_ bits: UInt64) -> Location {
        if let index = constantIndex[bits] { return .constant(index) }
        let index = constants.count
        constants.append(bits)
        constantIndex[bits] = index
        return .constant(index)
    }

    /// A slot of the constant area that the code writes (its initial value is irrelevant).
    mutating func scratchSlot() -> Int {
        constants.append(0)
        return constants.count - 1
    }

    /// Moves the value at stack position `position` into its canonical temporary, if it is elsewhere.
    mutating func materialize(at position: Int) {
        let location = stack[position]
        if location == .temporary(position) { return }
        emit(.copy, .temporary(position), location)
        if case .local = location { localReferences -= 1 }
        stack[position] = .temporary(position)
    }

    /// Makes every stack entry that reads a local in place (optionally only local `index`) a temporary, before
    /// the local changes or control flow makes the in-place read unsafe.
    mutating func materializeLocalReferences(only index: Int? = nil, below limit: Int? = nil) {
        guard localReferences > 0 else { return }
        for position in 0..<(limit ?? stack.count) {
            if case .local(let i) = stack[position], index == nil || i == index {
                materialize(at: position)
            }
        }
    }

    mutating func materializeTop(_ count: Int) {
        for position in (stack.count - count)..<stack.count { materialize(at: position) }
    }

    // MARK: Labels and branches

    var current: Control {
        get { controls[controls.count - 1] }
        set { controls[controls.count - 1] = newValue }
    }

    /// Whether the current instruction emits code. Read in place: as an out-of-line getter it copied the whole
    /// translator (648 bytes, for exclusivity) at every instruction.
    @inline(__always)
    var emitting: Bool {
        let last = controls.count - 1
        return !controls[last].dead && !controls[last].unreachable
    }

    /// The cost charged (as fuel and instruction count) by a branch or return at this point.
    var segmentCost: UInt64 { UInt64(max(1, instructionCount - segmentStart)) }

    /// Marks the current position as a branch target: instructions before it can no longer be retargeted.
    mutating func bindLabel() {
        forgetLastInstruction()
        segmentStart = instructionCount
    }

    /// Instructions before this point can no longer be retargeted or fused with what follows.
    mutating func forgetLastInstruction() {
        lastProducer = nil
        lastCompare = nil
        lastBinary = nil
        // A load before a label must not be fused with a branch after it: other paths reach the label, and the
        // label would then point into the fused instruction.
        lastLoad = nil
        lastMoves = nil
        lastGlobalGet = nil
        globalGetBeforeLast = nil
    }

    mutating func patch(_ branch: (word: Int, instruction: Int), to target: Int) {
        let relative = UInt64(UInt32(bitPattern: Int32(target - branch.instruction)))
        code[branch.word] = (code[branch.word] & 0xFFFF_FFFF_0000_0000) | relative
    }

    /// Emits the target word of a branch starting at `instruction` to the label of `depth`: the relative
    /// target in the low 32 bits and the fuel cost at `costShift` (48 for fused add-and-branch, whose
    /// bits 32..<48 hold the comparison's second operand).
    mutating func emitTarget(depth: Int, instruction: Int, costShift: UInt64 = 32) {
        let frame = controls.count - 1 - depth
        let word = code.count
        let costLimit: UInt64 = costShift == 32 ? 0xFFFF_FFFF : 0xFFFF
        if controls[frame].kind == .loop {
            let cost = min(costLimit, UInt64(max(1, instructionCount - controls[frame].loopInstructionCount)))
            let relative = UInt64(UInt32(bitPattern: Int32(controls[frame].loopStart - instruction)))
            emitWord(cost << costShift | relative)
        } else {
            emitWord(min(costLimit, segmentCost) << costShift)
            controls[frame].pending.append((word, instruction))
        }
    }

    /// Copies the top `arity` values of the stack into the label's canonical slots (ascending order is safe:
    /// each source sits at or above its target, and locals and constants never alias temporaries).
    mutating func moveBranchValues(toHeight height: Int, arity: Int) {
        let top = stack.count
        for k in 0..<arity {
            let source = stack[top - arity + k]
            let target = Location.temporary(height + k)
            if source != target { emit(.copy, target, source) }
        }
    }

    func branchNeedsMoves(toHeight height: Int, arity: Int) -> Bool {
        let top = stack.count
        for k in 0..<arity where stack[top - arity + k] != .temporary(height + k) { return true }
        return false
    }

    /// Copies the results into slots 0..<n and returns. Leaves the stack model untouched: this may be one
    /// path of several (a `br_if` or `br_table` stub), and the others must not assume its moves happened.
    mutating func emitReturn() {
        let n = resultSlotCount
        let top = stack.count
        if n == 1 {
            // One result: let the instruction that computed it write slot 0, or fuse the copy into the return.
            if let producer = producerOfTop(wide: false) {
                if let add = lastPlainAdd, add.destinationFixup == producer {
                    // `return x + y`: the add's word becomes the return (`InternalOp.returnAddFlag`). Nothing runs
                    // after this return, so no other path reads the add's temporary.
                    dropInstructions(from: add.word)
                    code[emit(.return, nil, add.x, add.y)] |= InternalOp.returnAddFlag
                } else {
                    fixups[producer].location = .local(0)
                    emit(.return)
                }
            } else {
                emit(.returnValue, nil, stack[top - 1])
            }
            emitWord(segmentCost)
            return
        }
        var sources = Array(stack[(top - n)..<top])
        if n > 1 {
            // Results go to the frame's first slots, where locals and constants live: read those first,
            // into the entries' own temporaries (ascending copies from temporaries are then safe).
            for k in 0..<n where sources[k] != .temporary(top - n + k) {
                emit(.copy, .temporary(top - n + k), sources[k])
                sources[k] = .temporary(top - n + k)
            }
        }
        for k in 0..<n {
            let at = code.count
            var word = UInt64(InternalOp.copy.rawValue) | UInt64(k) << 16
            word |= field(sources[k], word: at, shift: 32)
            code.append(word)
        }
        emit(.return)
        emitWord(segmentCost)
    }

    /// A conditional branch just emitted: where it starts, where its target word's fuel cost goes (32, or 48
    /// for fused forms that keep an operand in bits 32..<48), that operand's slot, and bits for the target word
    /// (a fused load's offset).
    struct ConditionalBranch {
        var instruction: Int
        var costShift: UInt64 = 32
        var operand: Location? = nil
        var targetBits: UInt64 = 0
    }

    /// Puts a conditional branch's operand and bits (besides the target and the cost) into its target word.
    mutating func fillTarget(_ word: Int, of branch: ConditionalBranch) {
        if let operand = branch.operand { code[word] |= field(operand, word: word, shift: 32) }
        code[word] |= branch.targetBits
    }

    /// Emits a conditional branch taken when `condition` is true (or false, if `negated`), fusing a preceding
    /// integer comparison. Returns the instruction start; its target word follows it directly.
    mutating func emitConditionalBranch(_ condition: Location, negated: Bool) -> ConditionalBranch {
        if case .temporary(let position) = condition, var compare = lastCompare,
           compare.word == code.count - 1, position == stack.count {
            var negated = negated
            if compare.op == .i32Eqz, let inner = comparisonUnderEqz, inner.word == compare.word - 1 {
                // Branch on the comparison with the sense flipped (for floats the outcome mask's complement:
                // not `a <= b` is `a > b` or unordered).
                compare = inner
                negated.toggle()
            }
            // Drop the comparison and branch on its operands instead.
            dropInstructions(from: compare.word)
            guard let y = compare.y else {
                // eqz: branch if zero, or if non-zero when negated. brIfZ/brIfNz test 32 bits, so i64.eqz
                // compares all 64 bits with a zero constant instead.
                if compare.op == .i64Eqz {
                    return ConditionalBranch(instruction: emit(negated ? .brIfI64Ne : .brIfI64Eq, nil, compare.x, constant(0)))
                }
                if let test = bitTest(compare.before, compare.x, ifZero: !negated) { return test }
                if let fused = fuseLoadIntoZeroTest(compare.x, ifZero: !negated) { return fused }
                return ConditionalBranch(instruction: emit(negated ? .brIfNz : .brIfZ, nil, compare.x))
            }
            if let mask = Self.floatComparisonMask(compare.op) {
                let is32 = compare.op.rawValue <= InternalOp.f32Ge.rawValue
                let bits = UInt64(negated ? mask ^ 0b1111 : mask) << 8
                if let candidate = compare.before, candidate.op == (is32 ? .f32Add : .f64Add), let add = take(candidate, producing: compare.x) {
                    // `s = a + b; if s <cmp> y` (a float loop's test on a sum) becomes one instruction.
                    let at = emit(is32 ? .addBrIfF32 : .addBrIfF64, compare.x, add.x, add.y)
                    code[at] |= bits
                    return ConditionalBranch(instruction: at, costShift: 48, operand: y)
                }
                let at = emit(is32 ? .brIfF32 : .brIfF64, nil, compare.x, y)
                code[at] |= bits
                return ConditionalBranch(instruction: at)
            }
            let branch = negated ? Self.negatedComparison(compare.op) : Self.fusedComparison(compare.op)
            if let candidate = compare.before, candidate.op == .i32Add || candidate.op == .i64Add,
               (candidate.op == .i32Add) == (compare.op.rawValue <= InternalOp.i32GeU.rawValue) {
                // `x = a + b; if x <cmp> y` (a loop's step and test) becomes one instruction; so does
                // `if y <cmp> x` (`n != ++i`), with the comparison mirrored: the sum is the fused op's left side.
                var fusedBranch: (add: BinaryInfo, branch: InternalOp, sum: Location, other: Location)?
                if let add = take(candidate, producing: compare.x) {
                    fusedBranch = (add, branch, compare.x, y)
                } else if let add = take(candidate, producing: y) {
                    fusedBranch = (add, Self.mirroredComparison(branch), y, compare.x)
                }
                if let (add, fusedOp, sum, other) = fusedBranch {
                    let fused = InternalOp(rawValue: fusedOp.rawValue - InternalOp.brIfI32Eq.rawValue + InternalOp.addBrIfI32Eq.rawValue)!
                    return ConditionalBranch(instruction: emit(fused, sum, add.x, add.y), costShift: 48, operand: other)
                }
            }
            if let fused = fuseLoadIntoBranch(branch, compare.x, y) { return fused }
            return ConditionalBranch(instruction: emit(branch, nil, compare.x, y))
        }
        if let test = bitTest(lastBinary, condition, ifZero: negated) { return test }
        if let fused = fuseLoadIntoZeroTest(condition, ifZero: negated) { return fused }
        return ConditionalBranch(instruction: emit(negated ? .brIfZ : .brIfNz, nil, condition))
    }

    /// `br_if d` (or on `d == 0`, `ifZero`) where d was just loaded (`if (p->next)`, `while (*s)`): the load's
    /// compare-and-branch against a zero constant (`fuseLoadIntoBranch`). The zero is taken only when a load is
    /// the last instruction, so no constant slot is spent where nothing fuses.
    mutating func fuseLoadIntoZeroTest(_ condition: Location, ifZero: Bool) -> ConditionalBranch? {
        guard let load = lastLoad, load.word == code.count - 1, load.destinationFixup < fixups.count,
              fixups[load.destinationFixup].location == condition, code[load.word] >> 48 != 0xFFFF,
              let loadOp = InternalOp.decode(code[load.word]),
              InternalOp.fusedLoadBranch(loadOp, ifZero ? .brIfI32Eq : .brIfI32Ne) != nil else { return nil }
        return fuseLoadIntoBranch(ifZero ? .brIfI32Eq : .brIfI32Ne, condition, constant(0))
    }

    /// `br_if (x & y) != 0` (or `== 0`, `ifZero`) when `condition` is the result of an i32.and that is the last
    /// instruction: the and is dropped and the branch computes it, writing it where the and did (a local kept
    /// by `local.tee`, else a dead temporary).
    mutating func bitTest(_ candidate: BinaryInfo?, _ condition: Location, ifZero: Bool) -> ConditionalBranch? {
        guard let candidate, candidate.op == .i32And, let and = take(candidate, producing: condition) else { return nil }
        return ConditionalBranch(instruction: emit(ifZero ? .brIfAndZ : .brIfAndNz, condition, and.x, and.y))
    }

    /// `d = load(x + offset); if d <cmp> y` where the load (4 bytes, or a byte zero-extended, offset in its word)
    /// is the last instruction: the load's word becomes the fused `load…BrIf…` (d and the address kept, y in its
    /// y field) and the offset moves to the target word. The load's value is still written: it is often a local
    /// used after the loop. A load on the comparison's right compares mirrored (`y < d` is `d > y`).
    mutating func fuseLoadIntoBranch(_ branch: InternalOp, _ x: Location, _ y: Location) -> ConditionalBranch? {
        guard let load = lastLoad, load.word == code.count - 1, load.destinationFixup < fixups.count,
              code[load.word] >> 48 != 0xFFFF, let loadOp = InternalOp.decode(code[load.word]) else { return nil }
        let destination = fixups[load.destinationFixup].location
        let condition: InternalOp, other: Location
        if destination == x {
            (condition, other) = (branch, y)
        } else if destination == y {
            (condition, other) = (Self.mirroredComparison(branch), x)
        } else {
            return nil
        }
        guard let fused = InternalOp.fusedLoadBranch(loadOp, condition) else { return nil }
        let offset = code[load.word] >> 48
        code[load.word] = code[load.word] & 0x0000_FFFF_FFFF_0000 | UInt64(fused.rawValue)
        code[load.word] |= field(other, word: load.word, shift: 48)
        forgetLastInstruction()
        return ConditionalBranch(instruction: load.word, costShift: 48, targetBits: offset << 32)
    }

    /// The branch on `b <cmp> a` that `branch` makes on `a <cmp> b`.
    static func mirroredComparison(_ branch: InternalOp) -> InternalOp {
        switch branch {
        case .brIfI32LtS: return .brIfI32GtS
        case .brIfI32LtU: return .brIfI32GtU
        case .brIfI32GtS: return .brIfI32LtS
        case .brIfI32GtU: return .brIfI32LtU
        case .brIfI32LeS: return .brIfI32GeS
        case .brIfI32LeU: return .brIfI32GeU
        case .brIfI32GeS: return .brIfI32LeS
        case .brIfI32GeU: return .brIfI32LeU
        case .brIfI64LtS: return .brIfI64GtS
        case .brIfI64LtU: return .brIfI64GtU
        case .brIfI64GtS: return .brIfI64LtS
        case .brIfI64GtU: return .brIfI64LtU
        case .brIfI64LeS: return .brIfI64GeS
        case .brIfI64LeU: return .brIfI64GeU
        case .brIfI64GeS: return .brIfI64LeS
        case .brIfI64GeU: return .brIfI64LeU
        default: return branch  // eq, ne
        }
    }

    /// Removes the instructions from `word` on (with their fixups): the caller emits one that absorbs them.
    mutating func dropInstructions(from word: Int) {
        code.removeSubrange(word...)
        if let moves = lastMoves, moves.word >= word { lastMoves = nil }
        if let get = lastGlobalGet, get.word >= word { lastGlobalGet = nil }
        if let get = globalGetBeforeLast, get.word >= word { globalGetBeforeLast = nil }
        while let last = plainAdds.last, last >= word { plainAdds.removeLast() }
        while let last = fixups.last, last.word >= word { fixups.removeLast() }
    }

    /// Takes `add` out of the code when it is the last instruction and wrote `location`, for the caller to fuse
    /// it into the instruction it emits next; nil (and nothing changed) otherwise.
    mutating func take(_ add: BinaryInfo, producing location: Location) -> BinaryInfo? {
        guard add.word == code.count - 1, fixups[add.destinationFixup].location == location else { return nil }
        dropInstructions(from: add.word)
        return add
    }

    /// Emits the target word after a conditional branch, with the fused add-and-branch's comparison operand.
    mutating func emitConditionalTarget(_ branch: ConditionalBranch, depth: Int) {
        let word = code.count
        emitTarget(depth: depth, instruction: branch.instruction, costShift: branch.costShift)
        fillTarget(word, of: branch)
    }

    static func fusedComparison(_ op: InternalOp) -> InternalOp {
        switch op {
        case .i32Eq: return .brIfI32Eq
        case .i32Ne: return .brIfI32Ne
        case .i32LtS: return .brIfI32LtS
        case .i32LtU: return .brIfI32LtU
        case .i32GtS: return .brIfI32GtS
        case .i32GtU: return .brIfI32GtU
        case .i32LeS: return .brIfI32LeS
        case .i32LeU: return .brIfI32LeU
        case .i32GeS: return .brIfI32GeS
        case .i32GeU: return .brIfI32GeU
        case .i64Eq: return .brIfI64Eq
        case .i64Ne: return .brIfI64Ne
        case .i64LtS: return .brIfI64LtS
        case .i64LtU: return .brIfI64LtU
        case .i64GtS: return .brIfI64GtS
        case .i64GtU: return .brIfI64GtU
        case .i64LeS: return .brIfI64LeS
        case .i64LeU: return .brIfI64LeU
        case .i64GeS: return .brIfI64GeS
        default: return .brIfI64GeU
        }
    }

    static func negatedComparison(_ op: InternalOp) -> InternalOp {
        switch op {
        case .i32Eq: return .brIfI32Ne
        case .i32Ne: return .brIfI32Eq
        case .i32LtS: return .brIfI32GeS
        case .i32LtU: return .brIfI32GeU
        case .i32GtS: return .brIfI32LeS
        case .i32GtU: return .brIfI32LeU
        case .i32LeS: return .brIfI32GtS
        case .i32LeU: return .brIfI32GtU
        case .i32GeS: return .brIfI32LtS
        case .i32GeU: return .brIfI32LtU
        case .i64Eq: return .brIfI64Ne
        case .i64Ne: return .brIfI64Eq
        case .i64LtS: return .brIfI64GeS
        case .i64LtU: return .brIfI64GeU
        case .i64GtS: return .brIfI64LeS
        case .i64GtU: return .brIfI64LeU
        case .i64LeS: return .brIfI64GtS
        case .i64LeU: return .brIfI64GtU
        case .i64GeS: return .brIfI64LtS
        default: return .brIfI64LtU
        }
    }

    /// For a float comparison, the outcomes (bit 0 less, 1 equal, 2 greater, 3 unordered) where it is true.
    static func floatComparisonMask(_ op: InternalOp) -> UInt8? {
        switch op {
        case .f32Eq, .f64Eq: return 0b0010
        case .f32Ne, .f64Ne: return 0b1101
        case .f32Lt, .f64Lt: return 0b0001
        case .f32Gt, .f64Gt: return 0b0100
        case .f32Le, .f64Le: return 0b0011
        case .f32Ge, .f64Ge: return 0b0110
        default: return nil
        }
    }

    static func isFusableComparison(_ op: InternalOp) -> Bool {
        switch op {
        case .i32Eq, .i32Ne, .i32LtS, .i32LtU, .i32GtS, .i32GtU, .i32LeS, .i32LeU, .i32GeS, .i32GeU,
             .i64Eq, .i64Ne, .i64LtS, .i64LtU, .i64GtS, .i64GtU, .i64LeS, .i64LeU, .i64GeS, .i64GeU,
             .i32Eqz, .i64Eqz, .f32Eq, .f32Ne, .f32Lt, .f32Gt, .f32Le, .f32Ge, .f64Eq, .f64Ne, .f64Lt, .f64Gt, .f64Le, .f64Ge:
            return true
        default:
            return false
        }
    }

    // MARK: Block types

    func blockSignature(_ blockType: BlockType) -> (params: [ValueType], results: [ValueType]) {
        switch blockType {
        case .empty: return ([], [])
        case .value(let t): return ([], [t])
        case .typeIndex(let i):
            let t = context.types[Int(i)].functionType!
            return (t.parameters, t.results)
        }
    }

    /// A block's control entry; its height is where its parameters start.
    func blockControl(_ kind: Control.Kind, _ blockType: BlockType) -> Control {
        let (params, results) = blockSignature(blockType)
        let paramSlots = Self.slotCount(params)
        var control = Control(kind: kind, height: stack.count - paramSlots, paramCount: paramSlots,
                              resultCount: Self.slotCount(results))
        control.paramTypes = params
        control.resultTypes = results
        return control
    }

    // MARK: Finishing

    /// Flags each plain `i32.add` followed by another (`InternalOp.addPairFlag`). Each recorded word still starts
    /// a one-word instruction (drops forget the words they remove), so the word after it starts the next one; an
    /// add since rewritten into something else no longer reads as a plain `i32.add`.
    mutating func pairAdds() {
        let add = UInt64(InternalOp.i32Add.rawValue)
        for word in plainAdds where word + 1 < code.count && code[word] & 0xFFFF == add && code[word + 1] & 0xFFFF == add {
            code[word] |= InternalOp.addPairFlag
        }
    }

    mutating func finish() throws(TranslationError) -> CompiledFunction {
        // Room for the operand stack, for results beyond the parameters, and for the frame initialization's
        // 4-word blocks (which may write a few slots past the constants).
        let initialized = (localCount - paramSlotCount + constants.count + 3) / 4 * 4
        let frameSize = max(temporariesStart + maxHeight + max(paramSlotCount, resultSlotCount),
                            paramSlotCount + initialized)
        guard frameSize < 65_536 else {
            throw error("needs \(frameSize) value slots; the interpreter supports 65535")
        }
        let base = temporariesStart
        for fixup in fixups {
            let slot: Int
            switch fixup.location {
            case .temporary(let position): slot = base + position
            case .constant(let index): slot = localCount + index
            case .local(let index): slot = index
            }
            code[fixup.word] |= UInt64(slot) << fixup.shift
        }
        pairAdds()
        func slot(_ location: Location?) -> Int32 {
            switch location {
            case .temporary(let position)?: return Int32(base + position)
            case .constant(let index)?: return Int32(localCount + index)
            case .local(let index)?: return Int32(index)
            case nil: return -1
            }
        }
        let exceptionHandlers = handlers.map { h in
            ExceptionHandler(start: Int32(h.start), end: Int32(h.end), parent: Int32(h.parent), clauses: h.clauses.map { c in
                HandlerClause(tag: c.tag, target: Int32(c.target), payloadSlot: slot(c.payload), referenceSlot: slot(c.reference))
            })
        }
        return CompiledFunction(code: code, paramSlots: paramSlotCount, resultSlots: resultSlotCount,
                                localsEnd: localCount, constants: constants, frameSize: frameSize,
                                functionIndex: functionIndex, handlers: exceptionHandlers,
                                stackMap: stackMap(temporariesAt: base), directCalls: directCalls)
    }
}
