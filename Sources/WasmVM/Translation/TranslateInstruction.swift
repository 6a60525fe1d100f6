import WasmParser

/// The translation of each Wasm instruction (see `FunctionTranslator` for the model).
extension FunctionTranslator {
    /// Translates a whole body. The module must already be validated.
    static func translate(context: ValidationContext, functionIndex: UInt32, body: FunctionBody, bytes: [UInt8]) throws -> CompiledFunction {
        var translator = try FunctionTranslator(context: context, functionIndex: functionIndex, body: body)
        var reader = ByteReader(bytes: bytes, offset: body.range.lowerBound, limit: body.range.upperBound)
        while !translator.controls.isEmpty {
            let instruction = try reader.readInstruction()
            try translator.translate(instruction)
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
            let previousAdd = lastAdd
            let fixupIndex = fixups.count
            let at = emitProducer(op, x, y)
            if Self.isFusableComparison(op) {
                lastCompare = (at, op, x, y, previousAdd?.word == at - 1 ? previousAdd : nil)
            }
            if op == .i32Add || op == .i64Add, let y { lastAdd = AddInfo(word: at, op: op, x: x, y: y, destinationFixup: fixupIndex) }
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
            if let operand = branch.operand { code[word] |= field(operand, word: word, shift: 32) }
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
            let callee = context.types[Int(context.functionTypeIndices[Int(function)])]
            call(callee) { t in t.emitWord(UInt64(function)) }
        case (.callIndirect, .indexPair(let typeIndex, let table)):
            let callee = context.types[Int(typeIndex)]
            // The table index sits above the arguments, and is read before the callee's frame is set up.
            let index = pop()
            call(callee, op: .callIndirect, extra: index) { t in
                t.emitWord(UInt64(typeIndex) | UInt64(table) << 32)
            }
        case (.drop, _):
            popValue()
            // The dropped value's producer and comparison must not be mistaken for the new top's.
            lastProducer = nil
            lastCompare = nil
            lastAdd = nil
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
                code[emitWideProducer(.v128)] |= SIMDExecution.globalGet
            } else {
                _ = emitProducer(.globalGet)
            }
            emitWord(UInt64(index))
        case (.globalSet, .index(let index)):
            if context.globals[Int(index)].valueType == .v128 {
                code[emit(.v128, nil, popWide())] |= SIMDExecution.globalSet
            } else {
                emit(.globalSet, nil, pop())
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
        case (_, .memArg(let memArg)) where Self.loadOp(opcode) != nil:
            // Offsets below 0xFFFF sit in the instruction's free field; 0xFFFF means "in the next word".
            let address = pop()
            let at = emitProducer(Self.loadOp(opcode)!, address)
            code[at] |= min(memArg.offset, 0xFFFF) << 48
            if memArg.offset >= 0xFFFF { emitWord(memArg.offset) }
        case (_, .memArg(let memArg)) where Self.storeOp(opcode) != nil:
            let value = pop()
            let address = pop()
            let at = emit(Self.storeOp(opcode)!, nil, address, value)
            code[at] |= min(memArg.offset, 0xFFFF) << 16
            if memArg.offset >= 0xFFFF { emitWord(memArg.offset) }
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
            _ = emitProducer(.tableGet, index)
            emitWord(UInt64(table))
        case (.tableSet, .index(let table)):
            let value = pop(), index = pop()
            emit(.tableSet, nil, index, value)
            emitWord(UInt64(table))
        case (.tableSize, .index(let table)):
            _ = emitProducer(.tableSize)
            emitWord(UInt64(table))
        case (.tableGrow, .index(let table)):
            let n = pop(), value = pop()
            _ = emitProducer(.tableGrow, value, n)
            emitWord(UInt64(table))
        case (.tableFill, .index(let table)):
            let n = pop(), value = pop(), index = pop()
            emit(.tableFill, index, value, n)
            emitWord(UInt64(table))
        case (.tableCopy, .indexPair(let destination, let source)):
            let n = pop(), s = pop(), d = pop()
            emit(.tableCopy, d, s, n)
            emitWord(UInt64(destination) | UInt64(source) << 32)
        case (.tableInit, .indexPair(let element, let table)):
            let n = pop(), s = pop(), d = pop()
            emit(.tableInit, d, s, n)
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
        default:
            throw error("\(opcode.mnemonic) is not supported by the interpreter yet")
        }
    }

    /// In unreachable code only the block structure matters: nothing is emitted until the frame ends.
    mutating func translateStructureOnly(_ instruction: Instruction) {
        switch instruction.opcode {
        case .block, .loop, .if:
            var control = Control(kind: .block, height: stack.count, paramCount: 0, resultCount: 0)
            control.dead = true
            controls.append(control)
        case .else:
            if current.dead { return }
            elseOfLiveFrame()
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
        if !frame.unreachable { moveBranchValues(toHeight: frame.height, arity: frame.resultCount) }
        controls.removeLast()
        bindLabel()
        for branch in frame.pending { patch(branch, to: code.count) }
        if let elseBranch = frame.elseBranch { patch(elseBranch, to: code.count) }
        truncateStack(to: frame.height)
        pushTemporaries(frame.resultTypes)
    }

    mutating func branch(depth: Int) {
        let target = controls[controls.count - 1 - depth]
        if target.kind == .function {
            emitReturn()
            return
        }
        moveBranchValues(toHeight: target.height, arity: target.labelArity)
        let at = emit(.br)
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
        if let operand = skip.operand { code[skipWord] |= field(operand, word: skipWord, shift: 32) }
        branch(depth: depth)
        bindLabel()
        patch((skipWord, skip.instruction), to: code.count)
    }

    mutating func branchTable(_ depths: [Int]) {
        let index = pop()
        let at = emit(.brTable, nil, index)
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

    mutating func call(_ callee: FunctionType, op: InternalOp = .call, extra: Location? = nil,
                       immediate: (inout FunctionTranslator) -> Void) {
        let params = Self.slotCount(callee.parameters)
        let results = Self.slotCount(callee.results)
        materializeTop(params)
        let base = stack.count - params
        // The callee's frame starts at the first argument: it must be the top of this frame.
        emit(op, .temporary(base), extra)
        immediate(&self)
        truncateStack(to: base)
        pushTemporaries(callee.results)
        if base + max(params, results) > maxHeight { maxHeight = base + max(params, results) }
    }

    /// `rotl(a ^ b, k)` where the xor was the previous instruction and its result is used only here becomes
    /// one `xorRotl`: the xor's word gets the fused op and k's slot follows it. Returns false if not applicable.
    mutating func fuseXorRotl(_ op: InternalOp, _ x: Location, _ k: Location) -> Bool {
        guard op == .i32Rotl || op == .i64Rotl, case .temporary(let position) = x, let producer = lastProducer,
              !lastProducerWide, producer.word == code.count - 1, fixups[producer.fixup].location == x,
              UInt16(code[producer.word] & 0xFF) == (op == .i32Rotl ? InternalOp.i32Xor : InternalOp.i64Xor).rawValue else {
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
        // Entries below that read this local in place must get their value before it changes.
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
            emitWord(SIMDExecution.memoryWord(offset: memArg.offset, opcode))
        case .memArgLane(let memArg, let lane):
            let vector = popWide(), address = pop()
            let isStore = opcode.info.signature?.result == nil
            let at = isStore ? emit(.v128, nil, address, vector) : emitWideProducer(.v128, address, vector)
            code[at] |= subcode
            emitWord(SIMDExecution.memoryWord(offset: memArg.offset, opcode))
            emitWord(UInt64(lane))
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
        case .i64Load8U: return .loadI648u
        case .i64Load16S: return .loadI6416s
        case .i64Load16U: return .loadI6416u
        case .i64Load32S: return .loadI6432s
        case .i64Load32U: return .loadI6432u
        default: return nil
        }
    }

    static func storeOp(_ opcode: Opcode) -> InternalOp? {
        switch opcode {
        case .i32Store, .f32Store, .i64Store32: return opcode == .i64Store32 ? .store32 : .storeI32
        case .i64Store, .f64Store: return .storeI64
        case .i32Store8, .i64Store8: return .store8
        case .i32Store16, .i64Store16: return .store16
        default: return nil
        }
    }
}
