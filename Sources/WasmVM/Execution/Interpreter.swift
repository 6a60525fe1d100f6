import WasmParser

/// The interpreter: one loop over register-form code. Calls between Wasm functions push a `CallFrame` on a
/// side stack and continue in the same loop, so guest recursion never consumes host stack; its depth is
/// bounded by `ResourceLimits.maxCallDepth` and the value stack's size.
///
/// The loop keeps its registers (pc, frame pointer, instance context, memory base and size, fuel) in locals.
/// Everything it reads is raw memory owned by the store: no reference counting, no existentials, no
/// allocation, no dictionary lookups per instruction.
extension Store {
    func invoke(_ address: Int, _ arguments: [Value]) throws(Trap) -> [Value] {
        guard address >= 0, address < functionCount else { throw Trap(.host("no function at address \(address)")) }
        let type = self.type(ofFunction: address)
        // An object that is gone (or another store's) is named as such, not as a type mismatch.
        for argument in arguments {
            if case .anyref(.object?) = argument { _ = try slot(for: argument) }
            if case .externref(.object?) = argument { _ = try slot(for: argument) }
        }
        guard arguments.count == type.parameters.count,
              zip(arguments, type.parameters).allSatisfy({ matches($0, $1) }) else {
            throw Trap(.host("arguments \(arguments) do not match parameters \(type.parameters)"))
        }
        prepareStack()
        guard let stack else { throw Trap(.callStackExhausted) }
        let fp = stack + stackInUse
        let needed = max(FunctionTranslator.slotCount(type.parameters), FunctionTranslator.slotCount(type.results))
        guard fp + needed <= stackLimit else { throw Trap(.callStackExhausted) }
        try store(arguments, to: fp)
        // The last call's results were roots until now: the caller has passed on what it still needs.
        if stackInUse == 0 { gcHeap.recent.removeAll(keepingCapacity: true) }
        interruptHandle.reset()
        try call(address, fp: fp)
        let results = load(type.results, from: fp)
        pinExceptions(in: results)
        return results
    }

    /// Takes stacks sized by the current limits. Limits changed between calls take effect at the next
    /// outermost call; a host function's nested call keeps the stacks in use.
    func prepareStack() {
        // Clamped so the byte sizes cannot overflow; beyond these the mapping fails anyway.
        limits.stackSlots = min(max(limits.stackSlots, 16), 1 << 36)
        limits.maxCallDepth = min(max(limits.maxCallDepth, 1), 1 << 30)
        if let held = stacks {
            if held.valueCount == limits.stackSlots && held.frameCount == limits.maxCallDepth + 1 || stackInUse > 0 { return }
            StackPool.shared.recycle(held)
            stacks = nil
            stack = nil
            frames = nil
        }
        guard let taken = StackPool.shared.take(valueCount: limits.stackSlots, frameCount: limits.maxCallDepth + 1) else { return }
        stacks = taken
        stack = taken.values
        frames = taken.frames
        framesBase = taken.frames
        stackLimit = taken.values + taken.valueCount
        callDepthLimit = taken.frameCount - 1
    }

    /// Calls the function at `address` with its arguments at `fp` (results are written there).
    func call(_ address: Int, fp: UnsafeMutablePointer<UInt64>) throws(Trap) {
        let function = functions[address]
        if function.code == nil {
            let recorded = recordHostCall(HostCall(function: address, arguments: fp, callerPC: nil, callerFP: fp))
            defer { if recorded { hostCalls.removeLast() } }
            try hostFunctions[function.hostIndex](Caller(store: self, context: nil), fp)
            return
        }
        try execute(address, fp: fp)
    }

    /// The guest's call stack, innermost first: each call frame records its callee; `entry` is the outermost.
    func backtrace(depth: Int, entryDepth: Int, entry: Int) -> [Trap.Frame] {
        func frame(_ address: Int) -> Trap.Frame {
            let f = functions[address]
            let name = f.namesIndex >= 0 ? names[f.namesIndex]?.functionNames[f.functionIndex] : nil
            return Trap.Frame(functionIndex: f.functionIndex, name: name)
        }
        var frames: [Trap.Frame] = []
        var d = depth
        while d > entryDepth {
            d -= 1
            frames.append(frame(framesBase[d].function))
        }
        frames.append(frame(entry))
        return frames
    }

    /// Runs `entry` with its arguments at `entryFP`, in the loop below. Keeps the store's bookkeeping
    /// (stack and depth in use, instructions executed) right on every exit.
    func execute(_ entry: Int, fp entryFP: UnsafeMutablePointer<UInt64>) throws(Trap) {
        let savedDepth = depthInUse, savedStack = stackInUse
        let startFuel = limits.fuel.map { $0 - instructionsExecuted } ?? Int64.max
        fuelLeft = startFuel
        defer {
            instructionsExecuted &+= startFuel &- fuelLeft
            depthInUse = savedDepth
            stackInUse = savedStack
        }
        try run(entry, fp: entryFP, fuel: startFuel)
    }

    /// Builds a trap with the guest's backtrace, recording the fuel left (the loop keeps it in a register).
    @inline(never)
    func fault(_ reason: Trap.Reason, fuel: Int64) -> Trap {
        fuelLeft = fuel
        return Trap(reason, backtrace: backtrace(depth: runDepth, entryDepth: runEntryDepth, entry: runEntry))
    }

    /// Calls a host function with its arguments (and room for results) at `fp`. Returns true when the host
    /// threw a Wasm exception: it is in `pendingException`, to be raised at the call site.
    @inline(never)
    func callHost(_ function: UnsafeMutablePointer<FunctionInstance>, _ fp: UnsafeMutablePointer<UInt64>,
                  context: UnsafeMutablePointer<InstanceContext>, fuel: Int64,
                  caller: UnsafePointer<UInt64>?, callerFP: UnsafeMutablePointer<UInt64>) throws(Trap) -> Bool {
        let savedDepth = depthInUse, savedStack = stackInUse
        let recorded = recordHostCall(HostCall(function: function - functions, arguments: fp, callerPC: caller, callerFP: callerFP))
        depthInUse = runDepth
        stackInUse = (fp - stack.unsafelyUnwrapped) + function.pointee.frameSize
        fuelLeft = fuel
        // The host may call back into the guest, which runs its own loop with its own bookkeeping.
        let (entryDepth, depth, entry) = (runEntryDepth, runDepth, runEntry)
        defer {
            (runEntryDepth, runDepth, runEntry) = (entryDepth, depth, entry)
            depthInUse = savedDepth
            stackInUse = savedStack
            if recorded { hostCalls.removeLast() }
        }
        do {
            try hostFunctions[function.pointee.hostIndex](Caller(store: self, context: context), fp)
            return false
        } catch {
            switch error.reason {
            case .exit: throw error
            case .exception(let exception):
                pendingException = try adopt(exception)
                return true
            default: throw fault(error.reason, fuel: fuel)
            }
        }
    }

    /// Records a host call for the collector (its arguments, and the guest frame waiting on it); returns
    /// whether it did. Only when objects exist: without any, neither can hold a reference to one, and a
    /// server's WASI calls cost no bookkeeping.
    @inline(__always)
    func recordHostCall(_ call: HostCall) -> Bool {
        guard !gcHeap.objects.isEmpty else { return false }
        hostCalls.append(call)
        return true
    }

    /// Copies a frame's initial locals and constants, in 32-byte blocks (templates are padded to whole
    /// blocks; unaligned vector loads and stores, as frames are only 8-byte aligned).
    @inline(__always)
    static func initializeFrame(_ destination: UnsafeMutablePointer<UInt64>, _ template: UnsafePointer<UInt64>?, _ count: Int) {
        guard let template else { return }
        var source = UnsafeRawPointer(template)
        var target = UnsafeMutableRawPointer(destination)
        let end = source + count * 8
        repeat {
            target.storeBytes(of: source.loadUnaligned(as: SIMD4<UInt64>.self), as: SIMD4<UInt64>.self)
            source += 32
            target += 32
        } while source < end
    }

    @inline(never)
    func run(_ entry: Int, fp entryFP: UnsafeMutablePointer<UInt64>, fuel startFuel: Int64) throws(Trap) {
        guard let stack, frames != nil else { throw Trap(.callStackExhausted) }
        // Only the hottest state lives in locals (registers): pc, fp, context, memory, fuel. Call depth and
        // the current function are touched by calls and returns only, so they live in the store.
        runEntryDepth = depthInUse
        runDepth = depthInUse
        runEntry = entry
        runMemoryMoved = false
        var fp = entryFP
        var fuel = startFuel
        let entryFunction = functions + entry
        var context = entryFunction.pointee.context.unsafelyUnwrapped
        var memBase = context.pointee.memory?.pointee.base ?? UnsafeMutableRawPointer(stack)
        var memSize = UInt64(context.pointee.memory?.pointee.byteCount ?? 0)

        guard fp + entryFunction.pointee.frameSize <= stackLimit else {
            throw fault(.callStackExhausted, fuel: fuel)
        }
        Store.initializeFrame(fp + entryFunction.pointee.paramSlots, entryFunction.pointee.initTemplate, entryFunction.pointee.initCount)
        var pc = entryFunction.pointee.code.unsafelyUnwrapped

        let threaded = threadedState
        threaded.pointee.frames = framesBase
        threaded.pointee.stackLimit = stackLimit
        threaded.pointee.depthLimit = callDepthLimit
        let vm = UnsafeMutableRawPointer(threaded)
        while true {
            // The threaded ops run in their handlers until one reaches an op of this switch, a trap, or the
            // end of its budget.
            threaded.pointee.fuel = fuel
            threaded.pointee.context = context
            threaded.pointee.functions = functions
            threaded.pointee.depth = runDepth
            threaded.pointee.entryDepth = runEntryDepth
            threaded.pointee.memoryMoved = runMemoryMoved
            threaded.pointee.budget = threadedBudget
            threaded.pointee.memSize = memSize
            let handlers = threaded.pointee.table
            let reached = handlers[Int(UInt16(truncatingIfNeeded: pc.pointee))](pc, fp, memBase, vm, UnsafeRawPointer(handlers))
            fuel = threaded.pointee.fuel
            runDepth = threaded.pointee.depth
            guard let reached = UnsafePointer<UInt64>(bitPattern: reached) else { throw fault(threaded.pointee.trap, fuel: fuel) }
            pc = reached
            fp = threaded.pointee.fp.unsafelyUnwrapped
            let start = pc
            let w = pc.pointee
            pc += 1
            let d = Int(truncatingIfNeeded: (w >> 16) & 0xFFFF)
            let x = Int(truncatingIfNeeded: (w >> 32) & 0xFFFF)
            let y = Int(truncatingIfNeeded: w >> 48)
            switch InternalOp.oneByte(w) {
            case .return, .returnValue:
                if InternalOp.oneByte(w) == .returnValue {
                    fp[0] = fp[x]
                } else if w & InternalOp.returnAddFlag != 0 {
                    fp[0] = add32(fp[x], fp[y])
                }
                fuel &-= Int64(pc.pointee)
                if runDepth == runEntryDepth {
                    fuelLeft = fuel
                    return
                }
                if fuel < 0 { throw fault(.fuelExhausted, fuel: fuel) }
                runDepth &-= 1
                let frame = framesBase + runDepth
                pc = frame.pointee.pc
                fp = frame.pointee.fp
                if frame.pointee.context != context || runMemoryMoved {
                    context = frame.pointee.context
                    memBase = context.pointee.memory?.pointee.base ?? UnsafeMutableRawPointer(fp)
                    memSize = UInt64(context.pointee.memory?.pointee.byteCount ?? 0)
                    runMemoryMoved = false
                }
            case .call, .callIndirect, .callRef:
                // A move of the last argument(s) the call took in; a handler hands the call back before making it.
                if w & 0xFF00 != 0 { moveCallArguments(w, fp) }
                let immediate = pc.pointee
                pc += 1
                let callee: Int
                switch InternalOp.oneByte(w) {
                case .call:
                    callee = context.pointee.functions[Int(truncatingIfNeeded: immediate)]
                    pc += 1  // the callee's template word (see the `call` handler)
                case .callRef:
                    let reference = fp[x]
                    guard reference != 0 else { throw fault(.nullFunctionReference, fuel: fuel) }
                    callee = Int(truncatingIfNeeded: reference &- 1)
                default:
                    callee = try indirectCallee(context, immediate, tableIndex(w, fp[x], 8), fuel: fuel)
                }
                let calleeFP = fp + d
                let function = functions + callee
                if interruptHandle.flag.load(ordering: .relaxed) { throw fault(.interrupted, fuel: fuel) }
                guard let code = function.pointee.code else {
                    // Host function: arguments and results in place at the callee's frame.
                    if try callHost(function, calleeFP, context: context, fuel: fuel, caller: pc, callerFP: fp) {
                        let landing = try raise(pendingException, pc: pc, fp: fp, fuel: fuel)
                        (pc, fp, context) = (landing.pc, landing.fp, landing.context)
                    }
                    memBase = context.pointee.memory?.pointee.base ?? UnsafeMutableRawPointer(fp)
                    memSize = UInt64(context.pointee.memory?.pointee.byteCount ?? 0)
                    runMemoryMoved = true
                    continue
                }
                guard runDepth < callDepthLimit, calleeFP + function.pointee.frameSize <= stackLimit else {
                    throw fault(.callStackExhausted, fuel: fuel)
                }
                let frame = framesBase + runDepth
                frame.pointee.pc = pc
                frame.pointee.fp = fp
                frame.pointee.context = context
                frame.pointee.function = callee
                runDepth &+= 1
                fp = calleeFP
                Store.initializeFrame(fp + function.pointee.paramSlots, function.pointee.initTemplate, function.pointee.initCount)
                pc = code
                let calleeContext = function.pointee.context.unsafelyUnwrapped
                if calleeContext != context {
                    context = calleeContext
                    memBase = context.pointee.memory?.pointee.base ?? UnsafeMutableRawPointer(fp)
                    memSize = UInt64(context.pointee.memory?.pointee.byteCount ?? 0)
                    runMemoryMoved = true
                }
            // Tail calls: the arguments move to the frame's base and the callee replaces the current function;
            // the call stack does not grow. Charged and checked like a return (a tail-recursive loop meets a check).
            case .returnCall, .returnCallIndirect, .returnCallRef:
                let immediate = pc.pointee
                fuel &-= Int64(pc[1])
                pc += 2
                let callee: Int
                switch InternalOp.oneByte(w) {
                case .returnCall:
                    callee = context.pointee.functions[Int(truncatingIfNeeded: immediate)]
                case .returnCallRef:
                    let reference = fp[x]
                    guard reference != 0 else { throw fault(.nullFunctionReference, fuel: fuel) }
                    callee = Int(truncatingIfNeeded: reference &- 1)
                default:
                    callee = try indirectCallee(context, immediate, tableIndex(w, fp[x], 8), fuel: fuel)
                }
                if fuel < 0 || interruptHandle.flag.load(ordering: .relaxed) {
                    throw fault(fuel < 0 ? .fuelExhausted : .interrupted, fuel: fuel)
                }
                let function = functions + callee
                var i = 0
                let argumentCount = function.pointee.paramSlots
                while i < argumentCount {
                    fp[i] = fp[d + i]
                    i += 1
                }
                guard let code = function.pointee.code else {
                    // A host function returns its results at the frame's base; then this function returns.
                    if try callHost(function, fp, context: context, fuel: fuel, caller: nil, callerFP: fp) {
                        let landing = try raise(pendingException, pc: pc, fp: fp, fuel: fuel)
                        (pc, fp, context) = (landing.pc, landing.fp, landing.context)
                    } else {
                        pc = Store.returnStub
                    }
                    memBase = context.pointee.memory?.pointee.base ?? UnsafeMutableRawPointer(fp)
                    memSize = UInt64(context.pointee.memory?.pointee.byteCount ?? 0)
                    runMemoryMoved = true
                    continue
                }
                guard fp + function.pointee.frameSize <= stackLimit else { throw fault(.callStackExhausted, fuel: fuel) }
                if runDepth == runEntryDepth { runEntry = callee } else { framesBase[runDepth - 1].function = callee }
                Store.initializeFrame(fp + function.pointee.paramSlots, function.pointee.initTemplate, function.pointee.initCount)
                pc = code
                let calleeContext = function.pointee.context.unsafelyUnwrapped
                if calleeContext != context {
                    context = calleeContext
                    memBase = context.pointee.memory?.pointee.base ?? UnsafeMutableRawPointer(fp)
                    memSize = UInt64(context.pointee.memory?.pointee.byteCount ?? 0)
                    runMemoryMoved = true
                }
            case .memoryOther:
                if let reason = memoryInstruction(w, pc, fp, context) { throw fault(reason, fuel: fuel) }
                pc += 2
                memBase = context.pointee.memory?.pointee.base ?? UnsafeMutableRawPointer(fp)
                memSize = UInt64(context.pointee.memory?.pointee.byteCount ?? 0)
                runMemoryMoved = true
            case .memoryGrow:
                if let memory = context.pointee.memory, let old = memory.pointee.grow(by: UInt64(u32(fp[x]))) {
                    fp[d] = UInt64(old)
                    memBase = memory.pointee.base
                    memSize = UInt64(memory.pointee.byteCount)
                    runMemoryMoved = true
                } else {
                    fp[d] = 0xFFFF_FFFF
                }
            case .tableGrow:
                let table = context.pointee.tables[Int(truncatingIfNeeded: pc.pointee)]
                pc += 1
                let is64 = w & 0x100 != 0
                fp[d] = table.pointee.grow(by: tableIndex(w, fp[y], 8), fill: fp[x]).map { UInt64($0) } ?? (is64 ? .max : 0xFFFF_FFFF)

            // MARK: exceptions
            case .throw:
                let tag = context.pointee.tags[Int(truncatingIfNeeded: pc.pointee)]
                pc += 1
                let exception = newException(tag: tag, payload: fp + d, fp: fp)
                let landing = try raise(exception, pc: pc, fp: fp, fuel: fuel)
                (pc, fp, context) = (landing.pc, landing.fp, landing.context)
                memBase = context.pointee.memory?.pointee.base ?? UnsafeMutableRawPointer(fp)
                memSize = UInt64(context.pointee.memory?.pointee.byteCount ?? 0)
            case .throwRef:
                let reference = fp[x]
                guard reference != 0 else { throw fault(.nullExceptionReference, fuel: fuel) }
                let landing = try raise(Int(truncatingIfNeeded: reference &- 1), pc: pc, fp: fp, fuel: fuel)
                (pc, fp, context) = (landing.pc, landing.fp, landing.context)
                memBase = context.pointee.memory?.pointee.base ?? UnsafeMutableRawPointer(fp)
                memSize = UInt64(context.pointee.memory?.pointee.byteCount ?? 0)
            case .gc:
                pc = try executeGC(w, pc, fp, context, fuel: fuel)
            default:
                if w & 0xFFFF == UInt64(InternalOp.enterUntranslated.rawValue) {
                    pc = try enterUntranslated(w, stub: start, fp: fp, fuel: fuel)
                } else {
                    // A threaded op: the handlers returned here because their budget ran out.
                    pc = start
                }
            }
        }
    }
}

extension Store {
    /// The first call of a function not yet translated (its record's code is the stub at `stub`; the frame is
    /// pushed and holds the arguments): translates it, completes the running function's record in this store
    /// so its next calls go straight to the code, sets up the frame as a call does, and returns the first
    /// instruction.
    @inline(never)
    func enterUntranslated(_ w: UInt64, stub: UnsafePointer<UInt64>, fp: UnsafeMutablePointer<UInt64>,
                           fuel: Int64) throws(Trap) -> UnsafePointer<UInt64> {
        let owner = Unmanaged<TranslatedFunctions>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(stub[1])).unsafelyUnwrapped)
            .takeUnretainedValue()
        let template: FunctionInstance
        do throws(TranslationError) {
            template = try owner.resolve(Int(truncatingIfNeeded: w >> 32)).pointee
        } catch {
            throw fault(.translationFailed(error.description), fuel: fuel)
        }
        let record = functions + (runDepth == runEntryDepth ? runEntry : framesBase[runDepth - 1].function)
        record.pointee.code = template.code
        record.pointee.initTemplate = template.initTemplate
        record.pointee.initCount = template.initCount
        record.pointee.frameSize = template.frameSize
        guard fp + template.frameSize <= stackLimit else { throw fault(.callStackExhausted, fuel: fuel) }
        Store.initializeFrame(fp + template.paramSlots, template.initTemplate, template.initCount)
        return template.code.unsafelyUnwrapped
    }
}

@inline(__always) func u32(_ slot: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: slot) }

/// `a + b` as `i32.add` computes it: wrapped to 32 bits, zero-extended into a slot.
@inline(__always) func add32(_ a: UInt64, _ b: UInt64) -> UInt64 { UInt64(u32(a) &+ u32(b)) }

/// The `i32.add` of the x and y slots of the word before `pc`: what the ops that took in an add compute.
@inline(__always) func sumOfOperands(_ fp: UnsafeMutablePointer<UInt64>, _ pc: UnsafePointer<UInt64>) -> UInt64 {
    add32(fp[operand(pc, 4)], fp[operand(pc, 6)])
}

/// A table index operand: the whole slot for a 64-bit table (flag `bit` of the word set), else its low 32 bits.
@inline(__always) func tableIndex(_ w: UInt64, _ slot: UInt64, _ bit: UInt64) -> UInt64 {
    (w >> bit) & 1 != 0 ? slot : UInt64(UInt32(truncatingIfNeeded: slot))
}

/// The address of a `width`-byte access at `base + offset` in a 64-bit memory of `size` bytes, or nil when it
/// is out of bounds (including when the sum wraps around).
@inline(__always) func address64(_ base: UInt64, _ offset: UInt64, _ width: UInt64, _ size: UInt64) -> UInt64? {
    // Memory sizes stay below 2^48 bytes, so `end` can only wrap if `address` did.
    let (address, overflow) = base.addingReportingOverflow(offset)
    let end = address &+ width
    return !overflow && end <= size && end >= address ? address : nil
}
@inline(__always) func s32(_ slot: UInt64) -> Int32 { Int32(truncatingIfNeeded: slot) }
@inline(__always) func s64(_ slot: UInt64) -> Int64 { Int64(bitPattern: slot) }
@inline(__always) func rotl(_ v: UInt32, _ k: UInt32) -> UInt32 { (v &<< k) | (v &>> (32 &- (k & 31))) }
@inline(__always) func rotl(_ v: UInt64, _ k: UInt64) -> UInt64 { (v &<< k) | (v &>> (64 &- (k & 63))) }

/// Linear-memory access at a byte address already bounds-checked by the caller. Wasm addresses need not be
/// aligned; x86-64 and arm64 load and store scalars at any address. (The standard library's
/// `loadUnaligned` is not inlined into the interpreter's large loop, which costs a call per access.)
@inline(__always) func loadRaw<T: FixedWidthInteger>(_ base: UnsafeMutableRawPointer, _ address: UInt64, _: T.Type) -> T {
    (base + Int(truncatingIfNeeded: address)).assumingMemoryBound(to: T.self).pointee
}

@inline(__always) func storeRaw<T: FixedWidthInteger>(_ base: UnsafeMutableRawPointer, _ address: UInt64, _ value: T) {
    (base + Int(truncatingIfNeeded: address)).assumingMemoryBound(to: T.self).pointee = value
}
