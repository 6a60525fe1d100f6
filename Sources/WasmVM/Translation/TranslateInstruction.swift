import WasmParser

/// The translation of each Wasm instruction (see `FunctionTranslator` for the model).
extension FunctionTranslator {
    /// Translates a whole body. The module must already be validated.
    static func translate(context: ValidationContext, functionIndex: UInt32, body: FunctionBody, bytes: [UInt8],
                          tracksReferences: Bool = false) throws -> CompiledFunction {
        var translator = try FunctionTranslator(context: context, functionIndex: functionIndex, body: body,
                                                tracksReferences: tracksReferences)
        var reader = ByteReader(bytes: bytes, offset: body.range.lowerBound, limit: body.range.upperBound, features: context.features)
        while !translator.controls.isEmpty {
            let offset = reader.offset
            let instruction = try reader.readInstruction()
            try translator.translate(instruction)
            try translator.types?.validate(instruction, at: offset)
        }
        return try translator.finish()
    }

    mutating func translate(_ instruction: Instruction) throws(TranslationError) {
        instructionCount += 1
        let opcode = instruction.opcode
        if !emitting {
            translateStructureOnly(instruction)
            return
        }
        if var op = InternalOp.registerForm[Int(opcode.rawValue)] {
            let signature = opcode.info.signature!
            var y: Location? = signature.paramCount == 2 ? pop() : nil
            let x = pop()
            // x - c is x + (-c) for wrapping integers: it can then fuse with a following compare-and-branch.
            if op == .i32Sub || op == .i64Sub, case .constant(let index)? = y {
                let negated = op == .i32Sub ? UInt64(UInt32(truncatingIfNeeded: 0 &- constants[index])) : 0 &- constants[index]
                y = constant(negated)
                op = op == .i32Sub ? .i32Add : .i64Add
            }
            if let y, fuseXorRotl(op, x, y) { return }
            if let y, fuseMulAdd(op, x, y) { return }
            if let y, fusePair(op, x, y) { return }
            if let y, fuseLoad(op, x, y) { return }
            let previousBinary = lastBinary
            let previousCompare = lastCompare
            let fixupIndex = fixups.count
            let at = emitProducer(op, x, y)
            if op == .i32Add { plainAdds.append(at) }
            if Self.isFusableComparison(op) {
                lastCompare = Comparison(word: at, op: op, x: x, y: y, before: previousBinary?.word == at - 1 ? previousBinary : nil,
                                         destinationFixup: fixupIndex)
                if op == .i32Eqz, let previous = previousCompare, previous.word == at - 1, previous.destinationFixup < fixups.count,
                   fixups[previous.destinationFixup].location == x {
                    comparisonUnderEqz = previous
                } else {
                    comparisonUnderEqz = nil
                }
            }
            if op == .i32Add || op == .i64Add || op == .f32Add || op == .f64Add || op == .i32And, let y {
                lastBinary = BinaryInfo(word: at, op: op, x: x, y: y, destinationFixup: fixupIndex)
            }
            return
        }
        if opcode.info.prefix == 0xFD {
            translateSIMD(instruction)
            return
        }
        switch (opcode, instruction.immediate) {
        case (.nop, _):
            break
        case (.unreachable, _):
            emit(.trapUnreachable)
            current.unreachable = true
        case (.block, .blockType(let bt)), (.loop, .blockType(let bt)):
            materializeLocalReferences()
            var control = blockControl(opcode == .loop ? .loop : .block, bt)
            if opcode == .loop {
                materializeTop(control.paramCount)
                bindLabel()
                control.loopStart = code.count
                control.loopInstructionCount = instructionCount
            }
            controls.append(control)
        case (.if, .blockType(let bt)):
            let condition = pop()
            materializeLocalReferences()
            var control = blockControl(.if, bt)
            materializeTop(control.paramCount)
            for k in 0..<control.paramCount {
                let slot = scratchSlot()
                emit(.copy, .constant(slot), .temporary(control.height + k))
                control.savedParams.append(slot)
            }
            let branch = emitConditionalBranch(condition, negated: true)
            control.elseBranch = (code.count, branch.instruction)
            let word = code.count
            emitWord(0)
            fillTarget(word, of: branch)
            controls.append(control)
        case (.else, _):
            elseOfLiveFrame()
        case (.end, _):
            endOfLiveFrame()
        case (.br, .index(let depth)):
            branch(depth: Int(depth))
            current.unreachable = true
        case (.brIf, .index(let depth)):
            branchIf(depth: Int(depth))
        case (.brTable, .brTable(let targets, let defaultTarget)):
            branchTable(targets.map(Int.init) + [Int(defaultTarget)])
            current.unreachable = true
        case (.return, _):
            emitReturn()
            current.unreachable = true
        case (.call, .index(let function)):
            let callee = functionType(Int(context.functionTypeIndices[Int(function)]))
            call(callee) { t in
                t.emitWord(UInt64(function))
                t.directCalls.append((t.code.count, function))
                t.emitWord(0)  // the callee's template record, when the module defines it (CompiledModule fills it in)
            }
        case (.callIndirect, .indexPair(let typeIndex, let table)):
            let callee = functionType(Int(typeIndex))
            // The table index sits above the arguments, and is read before the callee's frame is set up.
            let index = pop()
            call(callee, op: .callIndirect, extra: index, flags: tableFlags(table)) { t in
                t.emitWord(UInt64(typeIndex) | UInt64(table) << 32)
            }
        case (.callRef, .index(let typeIndex)):
            let reference = pop()
            // An unused immediate word keeps the layout of `call` (the interpreter shares its code).
            call(functionType(Int(typeIndex)), op: .callRef, extra: reference) { t in t.emitWord(0) }
        case (.returnCall, .index(let function)):
            let callee = functionType(Int(context.functionTypeIndices[Int(function)]))
            tailCall(callee, op: .returnCall, extra: nil) { t in t.emitWord(UInt64(function)) }
        case (.returnCallIndirect, .indexPair(let typeIndex, let table)):
            let index = pop()
            tailCall(functionType(Int(typeIndex)), op: .returnCallIndirect, extra: index, flags: tableFlags(table)) { t in
                t.emitWord(UInt64(typeIndex) | UInt64(table) << 32)
            }
        case (.returnCallRef, .index(let typeIndex)):
            let reference = pop()
            tailCall(functionType(Int(typeIndex)), op: .returnCallRef, extra: reference) { t in t.emitWord(0) }
        case (.i32TruncSatF32S, _), (.i32TruncSatF32U, _), (.i32TruncSatF64S, _), (.i32TruncSatF64U, _),
             (.i64TruncSatF32S, _), (.i64TruncSatF32U, _), (.i64TruncSatF64S, _), (.i64TruncSatF64U, _):
            let x = pop()
            let at = emitProducer(.truncSat, x)
            code[at] |= UInt64(opcode.rawValue - Opcode.i32TruncSatF32S.rawValue) << 8
        case (.drop, _):
            popValue()
            // The dropped value's producer and comparison must not be mistaken for the new top's.
            lastProducer = nil
            lastCompare = nil
            lastBinary = nil
        case (.select, _), (.selectTyped, _):
            let condition = pop()
            if topIsWide {
                // Two selects, one per half; each reads its operands' half before writing the destination.
                let second = popWide(), first = popWide()
                let d = Location.temporary(stack.count)
                emit(.select, d, first, second)
                emitSlotWord(condition)
                emit(.select, d.next, first.next, second.next)
                emitSlotWord(condition)
                pushWide(d)
                return
            }
            let second = pop()
            let first = pop()
            if fuseCompareIntoSelect(condition, first, second) { break }
            _ = emitProducer(.select, first, second)
            emitSlotWord(condition)
        case (.localGet, .index(let index)):
            if isWide(local: Int(index)) {
                pushWide(.local(slot(ofLocal: Int(index))))
            } else {
                push(.local(slot(ofLocal: Int(index))))
            }
        case (.localSet, .index(let index)):
            setLocal(Int(index), keep: false)
        case (.localTee, .index(let index)):
            setLocal(Int(index), keep: true)
        case (.globalGet, .index(let index)):
            if context.globals[Int(index)].valueType == .v128 {
                _ = emitWideProducer(.v128Global)
            } else {
                let fixup = fixups.count
                let at = emitProducer(.globalGet)
                lastGlobalGet = GlobalGet(word: at, index: UInt64(index), destinationFixup: fixup)
            }
            emitWord(UInt64(index))
        case (.globalSet, .index(let index)):
            if context.globals[Int(index)].valueType == .v128 {
                code[emit(.v128Global, nil, popWide())] |= SIMDExecution.globalSet
            } else {
                setGlobal(pop(), index: UInt64(index))
            }
            emitWord(UInt64(index))
        case (.i32Const, .i32(let v)):
            push(constant(UInt64(UInt32(bitPattern: v))))
        case (.i64Const, .i64(let v)):
            push(constant(UInt64(bitPattern: v)))
        case (.f32Const, .f32(let bits)):
            push(constant(UInt64(bits)))
        case (.f64Const, .f64(let bits)):
            push(constant(bits))
        case (_, .memArg(let memArg)) where memArg.memory != 0:
            otherMemoryAccess(opcode, memory: memArg.memory, offset: memArg.offset)
        case (_, .memArg(let memArg)) where Self.loadOp(opcode) != nil:
            // Offsets below 0xFFFF sit in the instruction's free field; 0xFFFF means "in the next word".
            let address = pop()
            if !isMemory64(0), fuseAddIntoLoad(Self.loadOp(opcode)!, address: address, offset: memArg.offset) { break }
            let at = emitProducer(Self.loadOp(opcode)!.onMemory(is64: isMemory64(0)), address)
            code[at] |= min(memArg.offset, 0xFFFF) << 48
            if memArg.offset >= 0xFFFF { emitWord(memArg.offset) }
            if let producer = lastProducer { lastLoad = (at, address, producer.fixup) }
        case (_, .memArg(let memArg)) where Self.storeOp(opcode) != nil:
            let value = pop()
            let address = pop()
            if !isMemory64(0), fuseStore(Self.storeOp(opcode)!, address: address, value: value, offset: memArg.offset) { break }
            if !isMemory64(0), fuseAddIntoStore(Self.storeOp(opcode)!, address: address, value: value, offset: memArg.offset) { break }
            let at = emit(Self.storeOp(opcode)!.onMemory(is64: isMemory64(0)), nil, address, value)
            code[at] |= min(memArg.offset, 0xFFFF) << 16
            if memArg.offset >= 0xFFFF { emitWord(memArg.offset) }
        case (.memorySize, .index(let memory)) where memory != 0 || isMemory64(memory),
             (.memoryGrow, .index(let memory)) where memory != 0 || isMemory64(memory),
             (.memoryFill, .index(let memory)) where memory != 0 || isMemory64(memory):
            otherMemoryAccess(opcode, memory: memory, offset: 0)
        case (.memoryCopy, .indexPair(let destination, let source)) where destination != 0 || source != 0 || isMemory64(0):
            otherMemoryAccess(opcode, memory: destination, offset: UInt64(source))
        case (.memoryInit, .indexPair(let segment, let memory)) where memory != 0 || isMemory64(memory):
            otherMemoryAccess(opcode, memory: memory, offset: UInt64(segment))
        case (.memorySize, _):
            _ = emitProducer(.memorySize)
        case (.memoryGrow, _):
            let delta = pop()
            _ = emitProducer(.memoryGrow, delta)
        case (.memoryFill, _), (.memoryCopy, _):
            let n = pop(), value = pop(), destination = pop()
            emit(opcode == .memoryFill ? .memoryFill : .memoryCopy, destination, value, n)
        case (.memoryInit, .indexPair(let segment, _)):
            let n = pop(), source = pop(), destination = pop()
            emit(.memoryInit, destination, source, n)
            emitWord(UInt64(segment))
        case (.dataDrop, .index(let segment)):
            emit(.dataDrop)
            emitWord(UInt64(segment))
        case (.tableGet, .index(let table)):
            let index = pop()
            code[emitProducer(.tableGet, index)] |= tableFlags(table)
            emitWord(UInt64(table))
        case (.tableSet, .index(let table)):
            let value = pop(), index = pop()
            code[emit(.tableSet, nil, index, value)] |= tableFlags(table)
            emitWord(UInt64(table))
        case (.tableSize, .index(let table)):
            _ = emitProducer(.tableSize)
            emitWord(UInt64(table))
        case (.tableGrow, .index(let table)):
            let n = pop(), value = pop()
            code[emitProducer(.tableGrow, value, n)] |= tableFlags(table)
            emitWord(UInt64(table))
        case (.tableFill, .index(let table)):
            let n = pop(), value = pop(), index = pop()
            code[emit(.tableFill, index, value, n)] |= tableFlags(table)
            emitWord(UInt64(table))
        case (.tableCopy, .indexPair(let destination, let source)):
            let n = pop(), s = pop(), d = pop()
            code[emit(.tableCopy, d, s, n)] |= tableFlags(destination) | tableFlags(source) << 1
            emitWord(UInt64(destination) | UInt64(source) << 32)
        case (.tableInit, .indexPair(let element, let table)):
            let n = pop(), s = pop(), d = pop()
            code[emit(.tableInit, d, s, n)] |= tableFlags(table)
            emitWord(UInt64(element) | UInt64(table) << 32)
        case (.elemDrop, .index(let element)):
            emit(.elemDrop)
            emitWord(UInt64(element))
        case (.refNull, _):
            push(constant(0))
        case (.refIsNull, _):
            let value = pop()
            _ = emitProducer(.refIsNull, value)
        case (.refFunc, .index(let function)):
            _ = emitProducer(.refFunc)
            emitWord(UInt64(function))
        case (.refAsNonNull, _):
            let value = pop()
            _ = emitProducer(.refAsNonNull, value)
        case (.brOnNull, .index(let depth)):
            branchOnNull(depth: Int(depth))
        case (.brOnNonNull, .index(let depth)):
            branchOnNonNull(depth: Int(depth))
        case (.tryTable, .tryTable(let bt, let clauses)):
            tryTable(bt, clauses)
        case (.try, .blockType(let bt)):
            materializeLocalReferences()
            var control = blockControl(.try, bt)
            control.exceptionSlot = scratchSlot()
            control.handler = openHandler()
            control.tryHandler = control.handler
            forgetLastInstruction()
            controls.append(control)
        case (.catch, .index(let tag)):
            catchOfLiveFrame(tag: tag)
        case (.catchAll, _):
            catchOfLiveFrame(tag: nil)
        case (.delegate, .index(let depth)):
            delegateOfLiveFrame(depth: Int(depth))
        case (.throw, .index(let tag)):
            let payload = functionType(Int(context.tagTypeIndices[Int(tag)])).parameters
            let slots = Self.slotCount(payload)
            materializeTop(slots)
            emit(.throw, .temporary(stack.count - slots))
            emitWord(UInt64(tag))
            current.unreachable = true
        case (.throwRef, _):
            emit(.throwRef, nil, pop())
            current.unreachable = true
        case (.rethrow, .index(let depth)):
            emit(.throwRef, nil, .constant(controls[controls.count - 1 - Int(depth)].exceptionSlot))
            current.unreachable = true
        case (let opcode, _) where opcode.info.prefix == 0xFB || opcode == .refEq:
            try translateGC(instruction)
        default:
            throw error("\(opcode.mnemonic) is not supported by the interpreter yet")
        }
    }

    /// In unreachable code only the block structure matters: nothing is emitted until the frame ends.
    mutating func translateStructureOnly(_ instruction: Instruction) {
        switch instruction.opcode {
        case .block, .loop, .if, .tryTable, .try:
            var control = Control(kind: .block, height: stack.count, paramCount: 0, resultCount: 0)
            control.dead = true
            controls.append(control)
        case .else:
            if current.dead { return }
            elseOfLiveFrame()
        case .catch, .catchAll:
            if current.dead { return }
            catchOfLiveFrame(tag: instruction.opcode == .catch ? instruction.index : nil)
        case .delegate:
            if current.dead {
                controls.removeLast()
                return
            }
            delegateOfLiveFrame(depth: Int(instruction.index))
        case .end:
            if current.dead {
                controls.removeLast()
                return
            }
            endOfLiveFrame()
        default:
            break
        }
    }

    mutating func elseOfLiveFrame() {
        var frame = current
        if !frame.unreachable {
            moveBranchValues(toHeight: frame.height, arity: frame.resultCount)
            let at = emit(.br)
            frame.pending.append((code.count, at))
            emitWord(segmentCost << 32)
        }
        bindLabel()
        if let elseBranch = frame.elseBranch { patch(elseBranch, to: code.count) }
        frame.elseBranch = nil
        truncateStack(to: frame.height)
        pushTemporaries(frame.paramTypes)
        for k in 0..<frame.paramCount {
            emit(.copy, .temporary(frame.height + k), .constant(frame.savedParams[k]))
        }
        frame.kind = .else
        frame.unreachable = false
        current = frame
    }

    mutating func endOfLiveFrame() {
        let frame = current
        if frame.kind == .function {
            if !frame.unreachable { emitReturn() }
            controls.removeLast()
            return
        }
        if let handler = frame.handler { handlers[handler].end = code.count }
        if !frame.unreachable { moveBranchValues(toHeight: frame.height, arity: frame.resultCount) }
        controls.removeLast()
        bindLabel()
        for branch in frame.pending { patch(branch, to: code.count) }
        for pending in frame.pendingCatches { handlers[pending.handler].clauses[pending.clause].target = code.count }
        if let elseBranch = frame.elseBranch { patch(elseBranch, to: code.count) }
        truncateStack(to: frame.height)
        pushTemporaries(frame.resultTypes)
    }

    // MARK: Exceptions

    /// The innermost handler open around the current position (a `try_table`, or a `try` in its body).
    func activeHandler(below limit: Int? = nil) -> Int {
        for i in stride(from: (limit ?? controls.count) - 1, through: 0, by: -1) {
            if let handler = controls[i].handler { return handler }
        }
        return -1
    }

    /// Starts a handler covering the code from here; its parent is the handler around it.
    mutating func openHandler() -> Int {
        handlers.append(HandlerBuilder(start: code.count, parent: activeHandler()))
        return handlers.count - 1
    }

    /// `try_table`: a block whose body is covered by a handler with one clause per catch. A clause delivers
    /// its values where its label expects them (the label's canonical slots, or the result slots when the
    /// label is the function's) and continues at the label.
    mutating func tryTable(_ blockType: BlockType, _ clauses: [CatchClause]) {
        materializeLocalReferences()
        var control = blockControl(.tryTable, blockType)
        let handler = openHandler()
        for clause in clauses {
            let targetIndex = controls.count - 1 - Int(clause.label)
            let target = controls[targetIndex]
            var builder = ClauseBuilder(tag: clause.kind.catchesAll ? nil : clause.tag)
            let payloadSlots = clause.kind.catchesAll ? 0 : Self.slotCount(functionType(Int(context.tagTypeIndices[Int(clause.tag)])).parameters)
            let base: Location = target.kind == .function ? .local(0) : .temporary(target.height)
            func at(_ k: Int) -> Location {
                switch base {
                case .local(let i): return .local(i + k)
                case .temporary(let p): return .temporary(p + k)
                case .constant(let i): return .constant(i + k)
                }
            }
            if payloadSlots > 0 { builder.payload = base }
            if clause.kind.passesReference { builder.reference = at(payloadSlots) }
            if target.kind == .function {
                builder.target = Int(HandlerClause.returnTarget)
            } else if target.kind == .loop {
                builder.target = target.loopStart
            } else {
                controls[targetIndex].pendingCatches.append((handler, handlers[handler].clauses.count))
            }
            handlers[handler].clauses.append(builder)
        }
        control.handler = handler
        forgetLastInstruction()
        controls.append(control)
    }

    /// Legacy `catch`/`catch_all`: ends the `try` body (or the previous catch) like `else`, and starts a
    /// landing that receives the payload in the block's slots and keeps the exception for `rethrow`.
    mutating func catchOfLiveFrame(tag: UInt32?) {
        var frame = current
        if let handler = frame.handler { handlers[handler].end = code.count }
        if !frame.unreachable {
            moveBranchValues(toHeight: frame.height, arity: frame.resultCount)
            let at = emit(.br)
            frame.pending.append((code.count, at))
            emitWord(segmentCost << 32)
        }
        bindLabel()
        // The try's handler (kept from its body) gets a clause landing here.
        truncateStack(to: frame.height)
        if let handlerIndex = frame.tryHandler {
            var clause = ClauseBuilder(tag: tag, target: code.count)
            clause.reference = .constant(frame.exceptionSlot)
            if let tag {
                let payload = functionType(Int(context.tagTypeIndices[Int(tag)])).parameters
                if !payload.isEmpty { clause.payload = .temporary(frame.height) }
                pushTemporaries(payload)
            }
            handlers[handlerIndex].clauses.append(clause)
        } else if let tag {
            pushTemporaries(functionType(Int(context.tagTypeIndices[Int(tag)])).parameters)
        }
        frame.handler = nil
        frame.kind = .catch
        frame.unreachable = false
        current = frame
    }

    /// Legacy `delegate l`: ends the `try`; exceptions from its body go on at the handler around label `l`
    /// (counted outside the try), or to the caller when `l` is the function.
    mutating func delegateOfLiveFrame(depth: Int) {
        if let handler = current.handler {
            handlers[handler].end = code.count
            let labelIndex = controls.count - 2 - depth
            handlers[handler].parent = activeHandler(below: labelIndex + 1)
        }
        endOfLiveFrame()
    }

    /// `br_on_null l`: branches (dropping the reference) when it is null; otherwise the reference stays.
    mutating func branchOnNull(depth: Int) {
        let reference = pop()
        let target = controls[controls.count - 1 - depth]
        if target.kind != .function && !branchNeedsMoves(toHeight: target.height, arity: target.labelArity) {
            let at = emit(.brIfNull, nil, reference)
            emitTarget(depth: depth, instruction: at)
        } else {
            let skip = emit(.brIfNonNull, nil, reference)
            let skipWord = code.count
            emitWord(0)
            branch(depth: depth)
            bindLabel()
            patch((skipWord, skip), to: code.count)
        }
        push(reference)
    }

    /// `br_on_non_null l`: branches with the reference when it is not null; otherwise drops it.
    mutating func branchOnNonNull(depth: Int) {
        let target = controls[controls.count - 1 - depth]
        let reference = stack[stack.count - 1]
        if target.kind != .function && !branchNeedsMoves(toHeight: target.height, arity: target.labelArity) {
            let at = emit(.brIfNonNull, nil, reference)
            emitTarget(depth: depth, instruction: at)
        } else {
            let skip = emit(.brIfNull, nil, reference)
            let skipWord = code.count
            emitWord(0)
            branch(depth: depth)
            bindLabel()
            patch((skipWord, skip), to: code.count)
        }
        _ = pop()
    }

    mutating func branch(depth: Int) {
        let target = controls[controls.count - 1 - depth]
        if target.kind == .function {
            emitReturn()
            return
        }
        moveBranchValues(toHeight: target.height, arity: target.labelArity)
        let at: Int
        if let copy = lastCopy, copy == code.count - 1 {
            // `copy; br` (a block's result or a loop variable moved on the way out, the commonest pair before a
            // jump): the copy's word becomes a `br` flagged to copy first, its slot fields (and their fixups) kept.
            at = copy
            code[at] = code[at] & ~0xFF | UInt64(InternalOp.br.rawValue) | InternalOp.branchCopyFlag
            lastMoves = nil
        } else {
            at = emit(.br)
        }
        emitTarget(depth: depth, instruction: at)
    }

    mutating func branchIf(depth: Int) {
        let condition = pop()
        let target = controls[controls.count - 1 - depth]
        if target.kind != .function && !branchNeedsMoves(toHeight: target.height, arity: target.labelArity) {
            let branch = emitConditionalBranch(condition, negated: false)
            emitConditionalTarget(branch, depth: depth)
            return
        }
        // Values must move (or the function returns): skip over the moves and the branch when not taken.
        let skip = emitConditionalBranch(condition, negated: true)
        let skipWord = code.count
        emitWord(0)
        fillTarget(skipWord, of: skip)
        branch(depth: depth)
        bindLabel()
        patch((skipWord, skip.instruction), to: code.count)
    }

    mutating func branchTable(_ depths: [Int]) {
        let index = pop()
        let at: Int
        if let candidate = lastBinary, candidate.op == .i32Add, let add = take(candidate, producing: index) {
            // `br_table` on a sum (a C `switch` whose first case is not 0 subtracts it, which the translator made
            // an add): one instruction, flagged in the sub-field, that adds, writes the sum where the add did (a
            // local may keep it) and branches on it.
            at = emit(.brTable, index, add.x, add.y)
            code[at] |= InternalOp.brTableAddFlag
        } else {
            at = emit(.brTable, nil, index)
        }
        emitWord(UInt64(depths.count - 1))
        let tableStart = code.count
        for _ in depths { emitWord(0) }
        // Each entry jumps straight to its label, or to a stub that moves the values first.
        var stubs: [(entry: Int, depth: Int)] = []
        for (i, depth) in depths.enumerated() {
            let target = controls[controls.count - 1 - depth]
            if target.kind != .function && !branchNeedsMoves(toHeight: target.height, arity: target.labelArity) {
                let word = tableStart + i
                if target.kind == .loop {
                    let cost = UInt64(max(1, instructionCount - target.loopInstructionCount))
                    code[word] = cost << 32 | UInt64(UInt32(bitPattern: Int32(target.loopStart - at)))
                } else {
                    code[word] = segmentCost << 32
                    controls[controls.count - 1 - depth].pending.append((word, at))
                }
            } else {
                stubs.append((tableStart + i, depth))
            }
        }
        for stub in stubs {
            bindLabel()
            code[stub.entry] = UInt64(UInt32(bitPattern: Int32(code.count - at)))
            branch(depth: stub.depth)
        }
    }

    func functionType(_ typeIndex: Int) -> FunctionType { context.types[typeIndex].functionType! }

    func isMemory64(_ memory: UInt32) -> Bool { context.memories[Int(memory)].is64 }

    /// Bit 8 of a table instruction's word: the table takes i64 indices (see the interpreter's `tableIndex`).
    func tableFlags(_ table: UInt32) -> UInt64 { context.tables[Int(table)].is64 ? 0x100 : 0 }

    /// A memory instruction on a memory other than 0, or a bulk one on a 64-bit memory 0: `memoryOther`,
    /// with the opcode and memory index, then `extra` (offset, source memory or data segment).
    mutating func otherMemoryAccess(_ opcode: Opcode, memory: UInt32, offset extra: UInt64) {
        let at: Int
        switch opcode {
        case .memorySize:
            at = emitProducer(.memoryOther)
        case .memoryGrow:
            at = emitProducer(.memoryOther, pop())
        case .memoryFill, .memoryCopy, .memoryInit:
            let n = pop(), source = pop(), destination = pop()
            at = emit(.memoryOther, destination, source, n)
        default:
            if opcode.info.signature?.result == nil {
                let value = pop(), address = pop()
                at = emit(.memoryOther, nil, address, value)
            } else {
                at = emitProducer(.memoryOther, pop())
            }
        }
        _ = at
        emitWord(UInt64(opcode.rawValue) | UInt64(memory) << 32)
        emitWord(extra)
    }

    /// `return_call*`: the arguments become the current frame's parameters (moved to its base at run time),
    /// so the call stack does not grow. The word after the immediates is the fuel charge, as for `return`.
    mutating func tailCall(_ callee: FunctionType, op: InternalOp, extra: Location?, flags: UInt64 = 0,
                           immediate: (inout FunctionTranslator) -> Void) {
        let params = Self.slotCount(callee.parameters)
        materializeTop(params)
        let base = stack.count - params
        code[emit(op, .temporary(base), extra)] |= flags
        immediate(&self)
        emitWord(segmentCost)
        truncateStack(to: base)
        current.unreachable = true
    }

    mutating func call(_ callee: FunctionType, op: InternalOp = .call, extra: Location? = nil, flags: UInt64 = 0,
                       immediate: (inout FunctionTranslator) -> Void) {
        let params = Self.slotCount(callee.parameters)
        let results = Self.slotCount(callee.results)
        materializeTop(params)
        let base = stack.count - params
        // The callee's frame starts at the first argument: it must be the top of this frame.
        if let move = takeArgumentMove(op, base: base, params: params) {
            code[emit(op, .temporary(base), op == .callIndirect ? extra : move.x, op == .callIndirect ? move.x : move.y)] |= flags | move.flags
        } else {
            code[emit(op, .temporary(base), extra)] |= flags
        }
        immediate(&self)
        // A safepoint: what lies below the arguments (and the table index or reference) waits for the callee.
        addSafepoint(referencePositions(values: validatorHeight - callee.parameters.count - (extra == nil ? 0 : 1)))
        truncateStack(to: base)
        pushTemporaries(callee.results)
        if base + max(params, results) > maxHeight { maxHeight = base + max(params, results) }
    }

    /// `global.set` of a value an `i32.add` just computed: the add's word becomes the `global.set`, flagged to add
    /// (`InternalOp.globalSetAddFlag`), its slot fields and their fixups kept; otherwise a plain `global.set`.
    /// When the add's other operand is a `global.get` of this global just before it, that is taken in too
    /// (`InternalOp.globalSetAddGlobalFlag`). The global's index word follows either way.
    mutating func setGlobal(_ value: Location, index: UInt64) {
        if let add = lastPlainAdd, fixups[add.destinationFixup].location == value {
            if let get = globalGetBeforeLast, get.word + 2 == add.word, get.index == index,
               InternalOp.decode(code[get.word]) == .globalGet, add.x != add.y {
                let fetched = fixups[get.destinationFixup].location
                // Only a temporary the add consumed: nothing else reads it. (A `local.tee` of the fetched value made
                // it a local, which must still be written.)
                if case .temporary = fetched, fetched == add.x || fetched == add.y {
                    let other = fetched == add.x ? add.y : add.x
                    dropInstructions(from: get.word)
                    code[emit(.globalSet, value, nil, other)] |= InternalOp.globalSetAddGlobalFlag
                    forgetLastInstruction()
                    return
                }
            }
            code[add.word] = code[add.word] & ~0xFFFF | UInt64(InternalOp.globalSet.rawValue) | InternalOp.globalSetAddFlag
            forgetLastInstruction()
            return
        }
        emit(.globalSet, nil, value)
    }

    /// The instruction before a `call` (or `call_indirect`), when it only put the last argument(s) in place: a
    /// copy, a copy pair into consecutive argument slots, or (`call` only) an `i32.add` computing one. It is taken
    /// out of the code for the call to make (`InternalOp.callArgumentCopy`); returns the call's flags and the
    /// move's sources. nil (and nothing changed) otherwise.
    mutating func takeArgumentMove(_ op: InternalOp, base: Int, params: Int) -> (flags: UInt64, x: Location, y: Location?)? {
        guard op == .call || op == .callIndirect else { return nil }
        /// The argument slot (from the frame base) of a move to `destination` of `count` slots, if it is one.
        func argumentSlot(_ destination: Location, count: Int) -> UInt64? {
            guard case .temporary(let position) = destination, position >= base, position + count <= base + params,
                  position - base < InternalOp.callArgumentSlotLimit else { return nil }
            return UInt64(position - base) << InternalOp.callArgumentSlotShift
        }
        if let moves = lastMoves, InternalOp.decode(code[moves.word]) == .copy {
            if let second = moves.second {
                guard op == .call, moves.word + 2 == code.count, let slot = argumentSlot(moves.first.destination, count: 2),
                      case .temporary(let position) = moves.first.destination,
                      second.destination == .temporary(position + 1) else { return nil }
                dropInstructions(from: moves.word)
                return (InternalOp.callArgumentCopyPair | slot, moves.first.source, second.source)
            }
            guard moves.word + 1 == code.count, let slot = argumentSlot(moves.first.destination, count: 1) else { return nil }
            dropInstructions(from: moves.word)
            let flag = op == .call ? InternalOp.callArgumentCopy : InternalOp.callIndirectArgumentCopy
            return (flag | slot, moves.first.source, nil)
        }
        guard op == .call, let add = lastPlainAdd else { return nil }
        let destination = fixups[add.destinationFixup].location
        guard let slot = argumentSlot(destination, count: 1), take(add, producing: destination) != nil else { return nil }
        return (InternalOp.callArgumentAdd | slot, add.x, add.y)
    }

    /// `x = a + b; load(x + offset)` where the add was the previous instruction and its result is used only
    /// here (the address of `base[index]`) becomes one `loadAdd…`: the add's word is dropped, the load reads
    /// a and b and wraps their sum to 32 bits as the add would; the offset follows in the next word.
    /// Returns false if not applicable.
    mutating func fuseAddIntoLoad(_ load: InternalOp, address: Location, offset: UInt64) -> Bool {
        guard case .temporary = address, let candidate = lastBinary, candidate.op == .i32Add, let fused = Self.loadAddOp(load),
              let add = take(candidate, producing: address) else { return false }
        _ = emitProducer(fused, add.x, add.y)
        emitWord(offset)
        return true
    }

    /// The same for a store (of 4 or 1 bytes): `memory[u32(a + b) + offset] = value`, the value in the d field.
    /// A store of a value the previous instruction computed (a temporary used only here): an arithmetic op
    /// becomes one that stores its result (`InternalOp.fusedStore`, the address's slot in its d field, the offset
    /// in the next word); a fused load-and-operate whose address (the same local or constant) and offset are the
    /// store's becomes an update of memory in place (`InternalOp.fusedUpdate`). Returns false if not applicable.
    mutating func fuseStore(_ store: InternalOp, address: Location, value: Location, offset: UInt64) -> Bool {
        guard case .temporary = value, let producer = lastProducer, !lastProducerWide,
              fixups[producer.fixup].location == value, let produced = InternalOp.decode(code[producer.word]),
              producer.word + 1 + produced.extraWords == code.count else { return false }
        if let update = InternalOp.fusedUpdate(produced, store) {
            // The load-and-operate is `op | d | x address | y offset`, its z word after it.
            guard let load = lastLoad, load.word == producer.word, load.address == address, offset < 0xFFFF,
                  code[producer.word] >> 48 == offset else { return false }
            switch address {
            case .local, .constant: break
            case .temporary: return false  // another computation's value, whatever its position
            }
            code[producer.word] = code[producer.word] & ~0xFFFF | UInt64(update.rawValue)
            forgetLastInstruction()
            return true
        }
        guard let fused = InternalOp.fusedStore(produced, store) else { return false }
        fixups[producer.fixup].location = address
        code[producer.word] = code[producer.word] & ~0xFFFF | UInt64(fused.rawValue)
        emitWord(offset)
        forgetLastInstruction()
        return true
    }

    mutating func fuseAddIntoStore(_ store: InternalOp, address: Location, value: Location, offset: UInt64) -> Bool {
        guard case .temporary = address, let candidate = lastBinary, candidate.op == .i32Add,
              let fused: InternalOp = store == .storeI32 ? .storeAddI32 : store == .store8 ? .storeAdd8 : nil,
              let add = take(candidate, producing: address) else { return false }
        emit(fused, value, add.x, add.y)
        emitWord(offset)
        return true
    }

    static func loadAddOp(_ load: InternalOp) -> InternalOp? {
        switch load {
        case .loadI32: return .loadAddI32
        case .loadI64: return .loadAddI64
        case .loadI328s: return .loadAddI328s
        case .loadI328u: return .loadAddI328u
        case .loadI3216s: return .loadAddI3216s
        case .loadI3216u: return .loadAddI3216u
        default: return nil
        }
    }

    /// `a * b + c`, `c + a * b` and `a * b - c` (f32 or f64) where the multiply was the previous instruction and
    /// its product is used only here become one `f…MulAdd`/`f…MulSub`: the multiply's word gets the fused op
    /// and c's slot follows it; the result goes where the sum's would (the top of the stack after both
    /// operands). Each operation still rounds on its own, as the two instructions do (no fused multiply-add).
    mutating func fuseMulAdd(_ op: InternalOp, _ x: Location, _ y: Location) -> Bool {
        let multiply: InternalOp, fused: InternalOp
        switch op {
        case .f32Add: (multiply, fused) = (.f32Mul, .f32MulAdd)
        case .f64Add: (multiply, fused) = (.f64Mul, .f64MulAdd)
        case .f32Sub: (multiply, fused) = (.f32Mul, .f32MulSub)
        case .f64Sub: (multiply, fused) = (.f64Mul, .f64MulSub)
        default: return false
        }
        guard let producer = lastProducer, !lastProducerWide, producer.word == code.count - 1,
              InternalOp.decode(code[producer.word]) == multiply else { return false }
        let product = fixups[producer.fixup].location
        guard case .temporary = product else { return false }
        let addend: Location
        if product == x {
            addend = y
        } else if product == y && (op == .f32Add || op == .f64Add) {
            addend = x  // addition commutes (and rounds the same either way)
        } else {
            return false
        }
        rewriteLastProducer(producer, as: fused, with: addend)
        return true
    }

    /// `second(first(a, b), c)` where `first` was the previous instruction, its result a temporary used only
    /// here, and the pair has a fused op (`InternalOp.fusedPair`: shift-and-xor, rotate-and-xor, add-and-add,
    /// ... the steps of hashes and checksums, and float recurrences): `first`'s word gets the fused op and c's
    /// slot follows it. Returns false if not applicable.
    mutating func fusePair(_ op: InternalOp, _ x: Location, _ y: Location) -> Bool {
        guard let producer = lastProducer, !lastProducerWide, producer.word == code.count - 1,
              let first = InternalOp.decode(code[producer.word]) else { return false }
        let value = fixups[producer.fixup].location
        guard case .temporary = value, value == x || value == y,
              let fused = InternalOp.fusedPair(first, op, firstOnLeft: value == x) else { return false }
        rewriteLastProducer(producer, as: fused, with: value == x ? y : x)
        return true
    }

    /// Makes the last instruction (which computed a value used only by the one being translated) the fused op
    /// `fused`, with `other` (the second instruction's other operand) in the word after it; its result goes
    /// where the second instruction's would, the top of the stack after both operands.
    mutating func rewriteLastProducer(_ producer: (word: Int, fixup: Int), as fused: InternalOp, with other: Location) {
        let result = Location.temporary(stack.count)
        fixups[producer.fixup].location = result
        code[producer.word] = code[producer.word] & ~0xFFFF | UInt64(fused.rawValue)
        emitSlotWord(other)
        push(result)
        lastProducer = producer
        lastProducerWide = false
        lastBinary = nil
        lastCompare = nil
    }

    /// `op(load, c)` or `op(c, load)` where the load (4 or 8 bytes of a 32-bit memory 0, offset in its word) was
    /// the previous instruction and its value is used only here: the load's word gets the fused op
    /// (`InternalOp.fusedLoad`), which keeps its address and offset, and c's slot follows it. Returns false if not
    /// applicable.
    mutating func fuseLoad(_ op: InternalOp, _ x: Location, _ y: Location) -> Bool {
        guard let producer = lastProducer, !lastProducerWide, producer.word == code.count - 1,
              code[producer.word] >> 48 != 0xFFFF, let load = InternalOp.decode(code[producer.word]) else { return false }
        let value = fixups[producer.fixup].location
        guard case .temporary = value, value == x || value == y,
              let fused = InternalOp.fusedLoad(load, op, loadFirst: value == x) else { return false }
        rewriteLastProducer(producer, as: fused, with: value == x ? y : x)
        return true
    }

    /// `rotl(a ^ b, k)` where the xor was the previous instruction and its result is used only here becomes
    /// one `xorRotl`: the xor's word gets the fused op and k's slot follows it. Returns false if not applicable.
    mutating func fuseXorRotl(_ op: InternalOp, _ x: Location, _ k: Location) -> Bool {
        guard op == .i32Rotl || op == .i64Rotl, case .temporary(let position) = x, let producer = lastProducer,
              !lastProducerWide, producer.word == code.count - 1, fixups[producer.fixup].location == x,
              InternalOp.decode(code[producer.word]) == (op == .i32Rotl ? InternalOp.i32Xor : InternalOp.i64Xor) else {
            return false
        }
        let fused = op == .i32Rotl ? InternalOp.i32XorRotl : InternalOp.i64XorRotl
        code[producer.word] = code[producer.word] & ~0xFF | UInt64(fused.rawValue)
        emitSlotWord(k)
        // The fused instruction writes the same slot the xor did; it is the new top's producer.
        push(.temporary(position))
        lastProducer = producer
        lastProducerWide = false
        return true
    }

    mutating func setLocal(_ index: Int, keep: Bool) {
        if isWide(local: index) {
            setWideLocal(slot(ofLocal: index), keep: keep)
            return
        }
        let local = slot(ofLocal: index)
        if stack[stack.count - 1] == .local(local) {
            if !keep { _ = pop() }
            return
        }
        // Entries below that read this local in place must get their value before it changes: before the
        // instruction that computed the new value, when there is one, so that it can still write the local.
        if producerOfTop(wide: false) != nil { materializeBeforeLastProducer(only: local) }
        materializeLocalReferences(only: local, below: stack.count - 1)
        if let producer = producerOfTop(wide: false) {
            // Retarget the instruction that computed the value: it writes the local directly.
            fixups[producer].location = .local(local)
            lastProducer = nil
            lastCompare = nil
            _ = pop()
        } else {
            let value = pop()
            emit(.copy, .local(local), value)
        }
        if keep { push(.local(local)) }
    }

    /// Copies the stack entries below the top that read `local` in place into their temporaries *before* the
    /// last instruction (which computed the top), moving that instruction after the copies: `p = p + 1` with
    /// the old p still on the stack (a store's address) then costs one copy, not a copy and a second copy of
    /// the sum into p. The copies only read the local and write temporaries below the instruction's operands,
    /// so the order does not change what either computes. Not done where code offsets are recorded per
    /// instruction (GC safepoints).
    mutating func materializeBeforeLastProducer(only local: Int) {
        guard types == nil, localReferences > 0, let producer = lastProducer, !lastProducerWide,
              stack[0..<(stack.count - 1)].contains(.local(local)) else { return }
        let start = producer.word
        // Fixups are in word order and the instruction's are the last few: search from the end, not the start
        // (this runs at every such `local.set` of a large function).
        let firstFixup = (fixups.lastIndex { $0.word < start } ?? -1) + 1
        guard producer.fixup >= firstFixup else { return }
        let words = Array(code[start...])
        let moved = Array(fixups[firstFixup...])
        let load = lastLoad
        dropInstructions(from: start)
        materializeLocalReferences(only: local, below: stack.count - 1)
        let shift = code.count - start
        let base = fixups.count
        code.append(contentsOf: words)
        for fixup in moved { fixups.append(Fixup(word: fixup.word + shift, shift: fixup.shift, location: fixup.location)) }
        lastProducer = (start + shift, base + producer.fixup - firstFixup)
        lastProducerWide = false
        if let load, load.word == start, load.destinationFixup >= firstFixup {
            lastLoad = (start + shift, load.address, base + load.destinationFixup - firstFixup)
        }
        lastBinary = nil
        lastCompare = nil
    }

    /// `select(x, y, a <cmp> b)` where the i32 comparison was the last instruction and its result is the
    /// condition: one `selectI32…` with a's and b's slots in the next word. Returns false if not applicable.
    mutating func fuseCompareIntoSelect(_ condition: Location, _ first: Location, _ second: Location) -> Bool {
        guard case .temporary(let position) = condition, position == stack.count + 2, let compare = lastCompare,
              compare.word == code.count - 1, let y = compare.y, let fused = InternalOp.fusedSelect(compare.op),
              fixups[compare.destinationFixup].location == condition else { return false }
        dropInstructions(from: compare.word)
        _ = emitProducer(fused, first, second)
        let word = code.count
        code.append(field(compare.x, word: word, shift: 0) | field(y, word: word, shift: 16))
        return true
    }

    /// `local.set`/`local.tee` of a v128 local whose first slot is `local`.
    mutating func setWideLocal(_ local: Int, keep: Bool) {
        let top = stack.count
        if stack[top - 2] == .local(local) && stack[top - 1] == .local(local + 1) {
            if !keep { _ = popWide() }
            return
        }
        materializeLocalReferences(only: local, below: top - 2)
        materializeLocalReferences(only: local + 1, below: top - 2)
        if let producer = producerOfTop(wide: true) {
            fixups[producer].location = .local(local)
            lastProducer = nil
            _ = popWide()
        } else {
            let value = popWide()
            emit(.copy, .local(local), value)
            emit(.copy, .local(local + 1), value.next)
        }
        if keep { pushWide(.local(local)) }
    }

    /// The SIMD instructions: constants are preloaded slot pairs; everything else is a `v128` word carrying
    /// the Wasm opcode (see `SIMDExecution`).
    mutating func translateSIMD(_ instruction: Instruction) {
        let opcode = instruction.opcode
        let subcode = SIMDExecution.subcode(opcode)
        switch instruction.immediate {
        case .v128(let value) where opcode == .v128Const:
            pushWide(constantPair(value))
        case .memArg(let memArg):
            let at: Int
            if opcode == .v128Store {
                let value = popWide(), address = pop()
                at = emit(.v128, nil, address, value)
            } else {
                at = emitWideProducer(.v128, pop())
            }
            code[at] |= subcode
            emitWord(memArg.offset)
            emitWord(SIMDExecution.memoryWord(opcode, memory: memArg.memory, is64: isMemory64(memArg.memory), lane: 0))
        case .memArgLane(let memArg, let lane):
            let vector = popWide(), address = pop()
            let isStore = opcode.info.signature?.result == nil
            let at = isStore ? emit(.v128, nil, address, vector) : emitWideProducer(.v128, address, vector)
            code[at] |= subcode
            emitWord(memArg.offset)
            emitWord(SIMDExecution.memoryWord(opcode, memory: memArg.memory, is64: isMemory64(memArg.memory), lane: lane))
        default:
            let signature = opcode.info.signature!
            let count = Int(signature.paramCount)
            var operands = [Location](repeating: .local(0), count: count)
            for i in (0..<count).reversed() { operands[i] = signature.param(i) == .v128 ? popWide() : pop() }
            let x = operands.first, y = count > 1 ? operands[1] : nil
            let at = signature.result == .v128 ? emitWideProducer(.v128, x, y) : emitProducer(.v128, x, y)
            code[at] |= subcode
            if count == 3 { emitSlotWord(operands[2]) }
            switch instruction.immediate {
            case .lane(let lane): emitWord(UInt64(lane))
            case .v128(let lanes):
                emitWord(lanes.low)
                emitWord(lanes.high)
            default: break
            }
        }
    }

    static func loadOp(_ opcode: Opcode) -> InternalOp? {
        switch opcode {
        case .i32Load, .f32Load: return .loadI32
        case .i64Load, .f64Load: return .loadI64
        case .i32Load8S: return .loadI328s
        case .i32Load8U: return .loadI328u
        case .i32Load16S: return .loadI3216s
        case .i32Load16U: return .loadI3216u
        case .i64Load8S: return .loadI648s
        case .i64Load8U: return .loadI328u  // the same zero-extended slot (see instructions.py)
        case .i64Load16S: return .loadI6416s
        case .i64Load16U: return .loadI3216u
        case .i64Load32S: return .loadI6432s
        case .i64Load32U: return .loadI32
        default: return nil
        }
    }

    static func storeOp(_ opcode: Opcode) -> InternalOp? {
        switch opcode {
        case .i32Store, .f32Store, .i64Store32: return .storeI32
        case .i64Store, .f64Store: return .storeI64
        case .i32Store8, .i64Store8: return .store8
        case .i32Store16, .i64Store16: return .store16
        default: return nil
        }
    }
}

extension InternalOp {
    /// The load or store op for memory 0, or its memory64 twin (the same order, 17 ops further).
    func onMemory(is64: Bool) -> InternalOp {
        is64 ? InternalOp(rawValue: rawValue + InternalOp.load64I32.rawValue - InternalOp.loadI32.rawValue)! : self
    }
}
