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

    /// Takes the branch whose target word `pc` points at: the low 32 bits are the offset from the branch
    /// instruction `start`, the bits from `costShift` the fuel it charges. Backward branches (and jumps to
    /// the instruction itself) check fuel and the interrupt flag, so every loop meets a check.
    @inline(__always)
    func takeBranch(_ pc: inout UnsafePointer<UInt64>, _ start: UnsafePointer<UInt64>, _ fuel: inout Int64,
                    costShift: UInt64) throws(Trap) {
        let target = pc.pointee
        pc = start + Int(Int32(truncatingIfNeeded: target))
        fuel &-= Int64(target >> costShift)
        if Int32(truncatingIfNeeded: target) <= 0, fuel < 0 || interruptHandle.flag.load(ordering: .relaxed) {
            throw fault(fuel < 0 ? .fuelExhausted : .interrupted, fuel: fuel)
        }
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

        while true {
            let start = pc
            let w = pc.pointee
            pc += 1
            let d = Int(truncatingIfNeeded: (w >> 16) & 0xFFFF)
            let x = Int(truncatingIfNeeded: (w >> 32) & 0xFFFF)
            let y = Int(truncatingIfNeeded: w >> 48)
            switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: InternalOp.self) {
            // MARK: i32
            case .i32Eqz: fp[d] = fp[x] & 0xFFFF_FFFF == 0 ? 1 : 0
            case .i32Eq: fp[d] = u32(fp[x]) == u32(fp[y]) ? 1 : 0
            case .i32Ne: fp[d] = u32(fp[x]) != u32(fp[y]) ? 1 : 0
            case .i32LtS: fp[d] = s32(fp[x]) < s32(fp[y]) ? 1 : 0
            case .i32LtU: fp[d] = u32(fp[x]) < u32(fp[y]) ? 1 : 0
            case .i32GtS: fp[d] = s32(fp[x]) > s32(fp[y]) ? 1 : 0
            case .i32GtU: fp[d] = u32(fp[x]) > u32(fp[y]) ? 1 : 0
            case .i32LeS: fp[d] = s32(fp[x]) <= s32(fp[y]) ? 1 : 0
            case .i32LeU: fp[d] = u32(fp[x]) <= u32(fp[y]) ? 1 : 0
            case .i32GeS: fp[d] = s32(fp[x]) >= s32(fp[y]) ? 1 : 0
            case .i32GeU: fp[d] = u32(fp[x]) >= u32(fp[y]) ? 1 : 0
            case .i32Clz: fp[d] = UInt64(u32(fp[x]).leadingZeroBitCount)
            case .i32Ctz: fp[d] = UInt64(u32(fp[x]).trailingZeroBitCount)
            case .i32Popcnt: fp[d] = UInt64(u32(fp[x]).nonzeroBitCount)
            case .i32Add: fp[d] = UInt64(u32(fp[x]) &+ u32(fp[y]))
            case .i32Sub: fp[d] = UInt64(u32(fp[x]) &- u32(fp[y]))
            case .i32Mul: fp[d] = UInt64(u32(fp[x]) &* u32(fp[y]))
            case .i32DivS:
                let a = s32(fp[x]), b = s32(fp[y])
                if b == 0 { throw fault(.integerDivideByZero, fuel: fuel) }
                if a == .min && b == -1 { throw fault(.integerOverflow, fuel: fuel) }
                fp[d] = UInt64(UInt32(bitPattern: a / b))
            case .i32DivU:
                let b = u32(fp[y])
                if b == 0 { throw fault(.integerDivideByZero, fuel: fuel) }
                fp[d] = UInt64(u32(fp[x]) / b)
            case .i32RemS:
                let a = s32(fp[x]), b = s32(fp[y])
                if b == 0 { throw fault(.integerDivideByZero, fuel: fuel) }
                fp[d] = b == -1 ? 0 : UInt64(UInt32(bitPattern: a % b))
            case .i32RemU:
                let b = u32(fp[y])
                if b == 0 { throw fault(.integerDivideByZero, fuel: fuel) }
                fp[d] = UInt64(u32(fp[x]) % b)
            case .i32And: fp[d] = UInt64(u32(fp[x]) & u32(fp[y]))
            case .i32Or: fp[d] = UInt64(u32(fp[x]) | u32(fp[y]))
            case .i32Xor: fp[d] = UInt64(u32(fp[x]) ^ u32(fp[y]))
            case .i32Shl: fp[d] = UInt64(u32(fp[x]) &<< u32(fp[y]))
            case .i32ShrS: fp[d] = UInt64(UInt32(bitPattern: s32(fp[x]) &>> s32(fp[y])))
            case .i32ShrU: fp[d] = UInt64(u32(fp[x]) &>> u32(fp[y]))
            case .i32Rotl: fp[d] = UInt64(rotl(u32(fp[x]), u32(fp[y])))
            case .i32XorRotl:
                fp[d] = UInt64(rotl(u32(fp[x]) ^ u32(fp[y]), u32(fp[Int(truncatingIfNeeded: pc.pointee & 0xFFFF)])))
                pc += 1
            case .i32Rotr: fp[d] = UInt64(rotl(u32(fp[x]), 32 &- (u32(fp[y]) & 31)))
            // MARK: i64
            case .i64Eqz: fp[d] = fp[x] == 0 ? 1 : 0
            case .i64Eq: fp[d] = fp[x] == fp[y] ? 1 : 0
            case .i64Ne: fp[d] = fp[x] != fp[y] ? 1 : 0
            case .i64LtS: fp[d] = s64(fp[x]) < s64(fp[y]) ? 1 : 0
            case .i64LtU: fp[d] = fp[x] < fp[y] ? 1 : 0
            case .i64GtS: fp[d] = s64(fp[x]) > s64(fp[y]) ? 1 : 0
            case .i64GtU: fp[d] = fp[x] > fp[y] ? 1 : 0
            case .i64LeS: fp[d] = s64(fp[x]) <= s64(fp[y]) ? 1 : 0
            case .i64LeU: fp[d] = fp[x] <= fp[y] ? 1 : 0
            case .i64GeS: fp[d] = s64(fp[x]) >= s64(fp[y]) ? 1 : 0
            case .i64GeU: fp[d] = fp[x] >= fp[y] ? 1 : 0
            case .i64Clz: fp[d] = UInt64(fp[x].leadingZeroBitCount)
            case .i64Ctz: fp[d] = UInt64(fp[x].trailingZeroBitCount)
            case .i64Popcnt: fp[d] = UInt64(fp[x].nonzeroBitCount)
            case .i64Add: fp[d] = fp[x] &+ fp[y]
            case .i64Sub: fp[d] = fp[x] &- fp[y]
            case .i64Mul: fp[d] = fp[x] &* fp[y]
            case .i64DivS:
                let a = s64(fp[x]), b = s64(fp[y])
                if b == 0 { throw fault(.integerDivideByZero, fuel: fuel) }
                if a == .min && b == -1 { throw fault(.integerOverflow, fuel: fuel) }
                fp[d] = UInt64(bitPattern: a / b)
            case .i64DivU:
                let b = fp[y]
                if b == 0 { throw fault(.integerDivideByZero, fuel: fuel) }
                fp[d] = fp[x] / b
            case .i64RemS:
                let a = s64(fp[x]), b = s64(fp[y])
                if b == 0 { throw fault(.integerDivideByZero, fuel: fuel) }
                fp[d] = b == -1 ? 0 : UInt64(bitPattern: a % b)
            case .i64RemU:
                let b = fp[y]
                if b == 0 { throw fault(.integerDivideByZero, fuel: fuel) }
                fp[d] = fp[x] % b
            case .i64And: fp[d] = fp[x] & fp[y]
            case .i64Or: fp[d] = fp[x] | fp[y]
            case .i64Xor: fp[d] = fp[x] ^ fp[y]
            case .i64Shl: fp[d] = fp[x] &<< fp[y]
            case .i64ShrS: fp[d] = UInt64(bitPattern: s64(fp[x]) &>> s64(fp[y]))
            case .i64ShrU: fp[d] = fp[x] &>> fp[y]
            case .i64Rotl: fp[d] = rotl(fp[x], fp[y])
            case .i64XorRotl:
                fp[d] = rotl(fp[x] ^ fp[y], fp[Int(truncatingIfNeeded: pc.pointee & 0xFFFF)])
                pc += 1
            case .i64Rotr: fp[d] = rotl(fp[x], 64 &- (fp[y] & 63))
            // MARK: f32
            case .f32Eq: fp[d] = Numerics.f32(fp[x]) == Numerics.f32(fp[y]) ? 1 : 0
            case .f32Ne: fp[d] = Numerics.f32(fp[x]) != Numerics.f32(fp[y]) ? 1 : 0
            case .f32Lt: fp[d] = Numerics.f32(fp[x]) < Numerics.f32(fp[y]) ? 1 : 0
            case .f32Gt: fp[d] = Numerics.f32(fp[x]) > Numerics.f32(fp[y]) ? 1 : 0
            case .f32Le: fp[d] = Numerics.f32(fp[x]) <= Numerics.f32(fp[y]) ? 1 : 0
            case .f32Ge: fp[d] = Numerics.f32(fp[x]) >= Numerics.f32(fp[y]) ? 1 : 0
            case .f32Abs: fp[d] = fp[x] & 0x7FFF_FFFF
            case .f32Neg: fp[d] = (fp[x] ^ 0x8000_0000) & 0xFFFF_FFFF
            case .f32Ceil: fp[d] = Numerics.slot(Numerics.f32(fp[x]).rounded(.up))
            case .f32Floor: fp[d] = Numerics.slot(Numerics.f32(fp[x]).rounded(.down))
            case .f32Trunc: fp[d] = Numerics.slot(Numerics.f32(fp[x]).rounded(.towardZero))
            case .f32Nearest: fp[d] = Numerics.slot(Numerics.f32(fp[x]).rounded(.toNearestOrEven))
            case .f32Sqrt: fp[d] = Numerics.slot(Numerics.f32(fp[x]).squareRoot())
            case .f32Add: fp[d] = Numerics.slot(Numerics.f32(fp[x]) + Numerics.f32(fp[y]))
            case .f32Sub: fp[d] = Numerics.slot(Numerics.f32(fp[x]) - Numerics.f32(fp[y]))
            case .f32Mul: fp[d] = Numerics.slot(Numerics.f32(fp[x]) * Numerics.f32(fp[y]))
            case .f32Div: fp[d] = Numerics.slot(Numerics.f32(fp[x]) / Numerics.f32(fp[y]))
            case .f32Min: fp[d] = Numerics.slot(Numerics.min(Numerics.f32(fp[x]), Numerics.f32(fp[y])))
            case .f32Max: fp[d] = Numerics.slot(Numerics.max(Numerics.f32(fp[x]), Numerics.f32(fp[y])))
            case .f32Copysign: fp[d] = (fp[x] & 0x7FFF_FFFF) | (fp[y] & 0x8000_0000)
            // MARK: f64
            case .f64Eq: fp[d] = Numerics.f64(fp[x]) == Numerics.f64(fp[y]) ? 1 : 0
            case .f64Ne: fp[d] = Numerics.f64(fp[x]) != Numerics.f64(fp[y]) ? 1 : 0
            case .f64Lt: fp[d] = Numerics.f64(fp[x]) < Numerics.f64(fp[y]) ? 1 : 0
            case .f64Gt: fp[d] = Numerics.f64(fp[x]) > Numerics.f64(fp[y]) ? 1 : 0
            case .f64Le: fp[d] = Numerics.f64(fp[x]) <= Numerics.f64(fp[y]) ? 1 : 0
            case .f64Ge: fp[d] = Numerics.f64(fp[x]) >= Numerics.f64(fp[y]) ? 1 : 0
            case .f64Abs: fp[d] = fp[x] & 0x7FFF_FFFF_FFFF_FFFF
            case .f64Neg: fp[d] = fp[x] ^ 0x8000_0000_0000_0000
            case .f64Ceil: fp[d] = Numerics.slot(Numerics.f64(fp[x]).rounded(.up))
            case .f64Floor: fp[d] = Numerics.slot(Numerics.f64(fp[x]).rounded(.down))
            case .f64Trunc: fp[d] = Numerics.slot(Numerics.f64(fp[x]).rounded(.towardZero))
            case .f64Nearest: fp[d] = Numerics.slot(Numerics.f64(fp[x]).rounded(.toNearestOrEven))
            case .f64Sqrt: fp[d] = Numerics.slot(Numerics.f64(fp[x]).squareRoot())
            case .f64Add: fp[d] = Numerics.slot(Numerics.f64(fp[x]) + Numerics.f64(fp[y]))
            case .f64Sub: fp[d] = Numerics.slot(Numerics.f64(fp[x]) - Numerics.f64(fp[y]))
            case .f64Mul: fp[d] = Numerics.slot(Numerics.f64(fp[x]) * Numerics.f64(fp[y]))
            case .f64Div: fp[d] = Numerics.slot(Numerics.f64(fp[x]) / Numerics.f64(fp[y]))
            case .f64Min: fp[d] = Numerics.slot(Numerics.min(Numerics.f64(fp[x]), Numerics.f64(fp[y])))
            case .f64Max: fp[d] = Numerics.slot(Numerics.max(Numerics.f64(fp[x]), Numerics.f64(fp[y])))
            case .f64Copysign: fp[d] = (fp[x] & 0x7FFF_FFFF_FFFF_FFFF) | (fp[y] & 0x8000_0000_0000_0000)
            // MARK: conversions
            case .i32WrapI64: fp[d] = fp[x] & 0xFFFF_FFFF
            case .i32TruncF32S:
                do { fp[d] = UInt64(UInt32(bitPattern: try Numerics.truncToI32(Numerics.f32(fp[x]), lower: -2147483904.0, upper: 2147483648.0))) }
                catch { throw fault(error.reason, fuel: fuel) }
            case .i32TruncF32U:
                do { fp[d] = UInt64(try Numerics.truncToU32(Numerics.f32(fp[x]))) } catch { throw fault(error.reason, fuel: fuel) }
            case .i32TruncF64S:
                do { fp[d] = UInt64(UInt32(bitPattern: try Numerics.truncToI32(Numerics.f64(fp[x]), lower: -2147483649.0, upper: 2147483648.0))) }
                catch { throw fault(error.reason, fuel: fuel) }
            case .i32TruncF64U:
                do { fp[d] = UInt64(try Numerics.truncToU32(Numerics.f64(fp[x]))) } catch { throw fault(error.reason, fuel: fuel) }
            case .i64ExtendI32S: fp[d] = UInt64(bitPattern: Int64(s32(fp[x])))
            case .i64ExtendI32U: fp[d] = fp[x] & 0xFFFF_FFFF
            case .i64TruncF32S:
                do { fp[d] = UInt64(bitPattern: try Numerics.truncToI64(Numerics.f32(fp[x]))) } catch { throw fault(error.reason, fuel: fuel) }
            case .i64TruncF32U:
                do { fp[d] = try Numerics.truncToU64(Numerics.f32(fp[x])) } catch { throw fault(error.reason, fuel: fuel) }
            case .i64TruncF64S:
                do { fp[d] = UInt64(bitPattern: try Numerics.truncToI64(Numerics.f64(fp[x]))) } catch { throw fault(error.reason, fuel: fuel) }
            case .i64TruncF64U:
                do { fp[d] = try Numerics.truncToU64(Numerics.f64(fp[x])) } catch { throw fault(error.reason, fuel: fuel) }
            case .f32ConvertI32S: fp[d] = Numerics.slot(Float(s32(fp[x])))
            case .f32ConvertI32U: fp[d] = Numerics.slot(Float(u32(fp[x])))
            case .f32ConvertI64S: fp[d] = Numerics.slot(Float(s64(fp[x])))
            case .f32ConvertI64U: fp[d] = Numerics.slot(Float(fp[x]))
            case .f32DemoteF64: fp[d] = Numerics.slot(Float(Numerics.f64(fp[x])))
            case .f64ConvertI32S: fp[d] = Numerics.slot(Double(s32(fp[x])))
            case .f64ConvertI32U: fp[d] = Numerics.slot(Double(u32(fp[x])))
            case .f64ConvertI64S: fp[d] = Numerics.slot(Double(s64(fp[x])))
            case .f64ConvertI64U: fp[d] = Numerics.slot(Double(fp[x]))
            case .f64PromoteF32: fp[d] = Numerics.slot(Double(Numerics.f32(fp[x])))
            case .i32ReinterpretF32, .f32ReinterpretI32: fp[d] = fp[x] & 0xFFFF_FFFF
            case .i64ReinterpretF64, .f64ReinterpretI64: fp[d] = fp[x]
            case .i32Extend8S: fp[d] = UInt64(UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: fp[x]))))
            case .i32Extend16S: fp[d] = UInt64(UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: fp[x]))))
            case .i64Extend8S: fp[d] = UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: fp[x])))
            case .i64Extend16S: fp[d] = UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: fp[x])))
            case .i64Extend32S: fp[d] = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: fp[x])))
            case .i32TruncSatF32S: fp[d] = UInt64(UInt32(bitPattern: Numerics.saturateI32(Numerics.f32(fp[x]))))
            case .i32TruncSatF32U: fp[d] = UInt64(Numerics.saturateU32(Numerics.f32(fp[x])))
            case .i32TruncSatF64S: fp[d] = UInt64(UInt32(bitPattern: Numerics.saturateI32(Numerics.f64(fp[x]))))
            case .i32TruncSatF64U: fp[d] = UInt64(Numerics.saturateU32(Numerics.f64(fp[x])))
            case .i64TruncSatF32S: fp[d] = UInt64(bitPattern: Numerics.saturateI64(Numerics.f32(fp[x])))
            case .i64TruncSatF32U: fp[d] = Numerics.saturateU64(Numerics.f32(fp[x]))
            case .i64TruncSatF64S: fp[d] = UInt64(bitPattern: Numerics.saturateI64(Numerics.f64(fp[x])))
            case .i64TruncSatF64U: fp[d] = Numerics.saturateU64(Numerics.f64(fp[x]))

            // MARK: data movement
            case .copy: fp[d] = fp[x]
            case .select:
                fp[d] = fp[Int(truncatingIfNeeded: pc.pointee)] & 0xFFFF_FFFF != 0 ? fp[x] : fp[y]
                pc += 1
            case .globalGet:
                fp[d] = context.pointee.globals[Int(truncatingIfNeeded: pc.pointee)].pointee
                pc += 1
            case .globalSet:
                context.pointee.globals[Int(truncatingIfNeeded: pc.pointee)].pointee = fp[x]
                pc += 1

            // MARK: control
            case .trapUnreachable:
                throw fault(.unreachable, fuel: fuel)
            case .br:
                try takeBranch(&pc, start, &fuel, costShift: 32)
            // Conditional branches: taken, they jump and charge fuel (checked on backward jumps).
            case .brIfNz:
                if fp[x] & 0xFFFF_FFFF != 0 {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfZ:
                if fp[x] & 0xFFFF_FFFF == 0 {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI32Eq:
                let a = fp[x], b = fp[y]
                if u32(a) == u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI32Ne:
                let a = fp[x], b = fp[y]
                if u32(a) != u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI32LtS:
                let a = fp[x], b = fp[y]
                if s32(a) < s32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI32LtU:
                let a = fp[x], b = fp[y]
                if u32(a) < u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI32GtS:
                let a = fp[x], b = fp[y]
                if s32(a) > s32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI32GtU:
                let a = fp[x], b = fp[y]
                if u32(a) > u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI32LeS:
                let a = fp[x], b = fp[y]
                if s32(a) <= s32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI32LeU:
                let a = fp[x], b = fp[y]
                if u32(a) <= u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI32GeS:
                let a = fp[x], b = fp[y]
                if s32(a) >= s32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI32GeU:
                let a = fp[x], b = fp[y]
                if u32(a) >= u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI64Eq:
                let a = fp[x], b = fp[y]
                if a == b {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI64Ne:
                let a = fp[x], b = fp[y]
                if a != b {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI64LtS:
                let a = fp[x], b = fp[y]
                if s64(a) < s64(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI64LtU:
                let a = fp[x], b = fp[y]
                if a < b {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI64GtS:
                let a = fp[x], b = fp[y]
                if s64(a) > s64(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI64GtU:
                let a = fp[x], b = fp[y]
                if a > b {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI64LeS:
                let a = fp[x], b = fp[y]
                if s64(a) <= s64(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI64LeU:
                let a = fp[x], b = fp[y]
                if a <= b {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI64GeS:
                let a = fp[x], b = fp[y]
                if s64(a) >= s64(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfI64GeU:
                let a = fp[x], b = fp[y]
                if a >= b {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            // Fused `d = x + y; if d <cmp> z`: z's slot sits in bits 32..<48 of the target word.
            case .addBrIfI32Eq:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if u32(a) == u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI32Ne:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if u32(a) != u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI32LtS:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if s32(a) < s32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI32LtU:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if u32(a) < u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI32GtS:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if s32(a) > s32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI32GtU:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if u32(a) > u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI32LeS:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if s32(a) <= s32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI32LeU:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if u32(a) <= u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI32GeS:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if s32(a) >= s32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI32GeU:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if u32(a) >= u32(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI64Eq:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if a == b {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI64Ne:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if a != b {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI64LtS:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if s64(a) < s64(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI64LtU:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if a < b {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI64GtS:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if s64(a) > s64(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI64GtU:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if a > b {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI64LeS:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if s64(a) <= s64(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI64LeU:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if a <= b {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI64GeS:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if s64(a) >= s64(b) {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .addBrIfI64GeU:
                let a = fp[x] &+ fp[y]
                fp[d] = a
                let b = fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]
                if a >= b {
                    try takeBranch(&pc, start, &fuel, costShift: 48)
                } else {
                    pc += 1
                }
            case .brTable:
                let last = UInt64(pc.pointee)
                let index = min(UInt64(u32(fp[x])), last)
                pc += 1 + Int(index)
                try takeBranch(&pc, start, &fuel, costShift: 32)
            case .return, .returnValue:
                if unsafeBitCast(UInt8(truncatingIfNeeded: w), to: InternalOp.self) == .returnValue { fp[0] = fp[x] }
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
                let immediate = pc.pointee
                pc += 1
                let callee: Int
                switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: InternalOp.self) {
                case .call:
                    callee = context.pointee.functions[Int(truncatingIfNeeded: immediate)]
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
                switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: InternalOp.self) {
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

            // MARK: memory
            case .loadI32:
                var address = UInt64(u32(fp[x])) &+ UInt64(y)
                if y == 0xFFFF { address = UInt64(u32(fp[x])) &+ pc.pointee; pc += 1 }
                guard address &+ 4 <= memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                fp[d] = UInt64(loadRaw(memBase, address, UInt32.self))
            case .loadI64:
                var address = UInt64(u32(fp[x])) &+ UInt64(y)
                if y == 0xFFFF { address = UInt64(u32(fp[x])) &+ pc.pointee; pc += 1 }
                guard address &+ 8 <= memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                fp[d] = loadRaw(memBase, address, UInt64.self)
            case .loadI328s, .loadI328u, .loadI648s, .loadI648u:
                var address = UInt64(u32(fp[x])) &+ UInt64(y)
                if y == 0xFFFF { address = UInt64(u32(fp[x])) &+ pc.pointee; pc += 1 }
                guard address < memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                let byte = loadRaw(memBase, address, UInt8.self)
                switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: InternalOp.self) {
                case .loadI328s: fp[d] = UInt64(UInt32(bitPattern: Int32(Int8(bitPattern: byte))))
                case .loadI648s: fp[d] = UInt64(bitPattern: Int64(Int8(bitPattern: byte)))
                default: fp[d] = UInt64(byte)
                }
            case .loadI3216s, .loadI3216u, .loadI6416s, .loadI6416u:
                var address = UInt64(u32(fp[x])) &+ UInt64(y)
                if y == 0xFFFF { address = UInt64(u32(fp[x])) &+ pc.pointee; pc += 1 }
                guard address &+ 2 <= memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                let half = loadRaw(memBase, address, UInt16.self)
                switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: InternalOp.self) {
                case .loadI3216s: fp[d] = UInt64(UInt32(bitPattern: Int32(Int16(bitPattern: half))))
                case .loadI6416s: fp[d] = UInt64(bitPattern: Int64(Int16(bitPattern: half)))
                default: fp[d] = UInt64(half)
                }
            case .loadI6432s, .loadI6432u:
                var address = UInt64(u32(fp[x])) &+ UInt64(y)
                if y == 0xFFFF { address = UInt64(u32(fp[x])) &+ pc.pointee; pc += 1 }
                guard address &+ 4 <= memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                let word = loadRaw(memBase, address, UInt32.self)
                fp[d] = unsafeBitCast(UInt8(truncatingIfNeeded: w), to: InternalOp.self) == .loadI6432s
                    ? UInt64(bitPattern: Int64(Int32(bitPattern: word))) : UInt64(word)
            case .storeI32:
                var address = UInt64(u32(fp[x])) &+ UInt64(d)
                if d == 0xFFFF { address = UInt64(u32(fp[x])) &+ pc.pointee; pc += 1 }
                guard address &+ 4 <= memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                storeRaw(memBase, address, u32(fp[y]))
            case .storeI64:
                var address = UInt64(u32(fp[x])) &+ UInt64(d)
                if d == 0xFFFF { address = UInt64(u32(fp[x])) &+ pc.pointee; pc += 1 }
                guard address &+ 8 <= memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                storeRaw(memBase, address, fp[y])
            case .store8:
                var address = UInt64(u32(fp[x])) &+ UInt64(d)
                if d == 0xFFFF { address = UInt64(u32(fp[x])) &+ pc.pointee; pc += 1 }
                guard address < memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                storeRaw(memBase, address, UInt8(truncatingIfNeeded: fp[y]))
            case .store16:
                var address = UInt64(u32(fp[x])) &+ UInt64(d)
                if d == 0xFFFF { address = UInt64(u32(fp[x])) &+ pc.pointee; pc += 1 }
                guard address &+ 2 <= memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                storeRaw(memBase, address, UInt16(truncatingIfNeeded: fp[y]))
            case .store32:
                var address = UInt64(u32(fp[x])) &+ UInt64(d)
                if d == 0xFFFF { address = UInt64(u32(fp[x])) &+ pc.pointee; pc += 1 }
                guard address &+ 4 <= memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                storeRaw(memBase, address, u32(fp[y]))
            // Memory64 (a 64-bit memory 0): the whole slot is the address, and address + offset must not wrap.
            case .load64I32:
                var offset = UInt64(y)
                if y == 0xFFFF { offset = pc.pointee; pc += 1 }
                guard let address = address64(fp[x], offset, 4, memSize) else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                fp[d] = UInt64(loadRaw(memBase, address, UInt32.self))
            case .load64I64:
                var offset = UInt64(y)
                if y == 0xFFFF { offset = pc.pointee; pc += 1 }
                guard let address = address64(fp[x], offset, 8, memSize) else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                fp[d] = loadRaw(memBase, address, UInt64.self)
            case .load64I328s, .load64I328u, .load64I648s, .load64I648u:
                var offset = UInt64(y)
                if y == 0xFFFF { offset = pc.pointee; pc += 1 }
                guard let address = address64(fp[x], offset, 1, memSize) else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                let byte = loadRaw(memBase, address, UInt8.self)
                switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: InternalOp.self) {
                case .load64I328s: fp[d] = UInt64(UInt32(bitPattern: Int32(Int8(bitPattern: byte))))
                case .load64I648s: fp[d] = UInt64(bitPattern: Int64(Int8(bitPattern: byte)))
                default: fp[d] = UInt64(byte)
                }
            case .load64I3216s, .load64I3216u, .load64I6416s, .load64I6416u:
                var offset = UInt64(y)
                if y == 0xFFFF { offset = pc.pointee; pc += 1 }
                guard let address = address64(fp[x], offset, 2, memSize) else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                let half = loadRaw(memBase, address, UInt16.self)
                switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: InternalOp.self) {
                case .load64I3216s: fp[d] = UInt64(UInt32(bitPattern: Int32(Int16(bitPattern: half))))
                case .load64I6416s: fp[d] = UInt64(bitPattern: Int64(Int16(bitPattern: half)))
                default: fp[d] = UInt64(half)
                }
            case .load64I6432s, .load64I6432u:
                var offset = UInt64(y)
                if y == 0xFFFF { offset = pc.pointee; pc += 1 }
                guard let address = address64(fp[x], offset, 4, memSize) else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                let word = loadRaw(memBase, address, UInt32.self)
                fp[d] = unsafeBitCast(UInt8(truncatingIfNeeded: w), to: InternalOp.self) == .load64I6432s
                    ? UInt64(bitPattern: Int64(Int32(bitPattern: word))) : UInt64(word)
            // One case per width, as for 32-bit memories: a shared case with a switch inside cost 12% on a
            // store-heavy loop (Benchmarks/memory64-bench.sh).
            case .store648:
                var offset = UInt64(d)
                if d == 0xFFFF { offset = pc.pointee; pc += 1 }
                guard let address = address64(fp[x], offset, 1, memSize) else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                storeRaw(memBase, address, UInt8(truncatingIfNeeded: fp[y]))
            case .store6416:
                var offset = UInt64(d)
                if d == 0xFFFF { offset = pc.pointee; pc += 1 }
                guard let address = address64(fp[x], offset, 2, memSize) else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                storeRaw(memBase, address, UInt16(truncatingIfNeeded: fp[y]))
            case .store64I32, .store6432:
                var offset = UInt64(d)
                if d == 0xFFFF { offset = pc.pointee; pc += 1 }
                guard let address = address64(fp[x], offset, 4, memSize) else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                storeRaw(memBase, address, u32(fp[y]))
            case .store64I64:
                var offset = UInt64(d)
                if d == 0xFFFF { offset = pc.pointee; pc += 1 }
                guard let address = address64(fp[x], offset, 8, memSize) else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                storeRaw(memBase, address, fp[y])
            case .memoryOther:
                if let reason = memoryInstruction(w, pc, fp, context) { throw fault(reason, fuel: fuel) }
                pc += 2
                memBase = context.pointee.memory?.pointee.base ?? UnsafeMutableRawPointer(fp)
                memSize = UInt64(context.pointee.memory?.pointee.byteCount ?? 0)
                runMemoryMoved = true
            case .memorySize:
                fp[d] = memSize / UInt64(MemoryType.pageSize)
            case .memoryGrow:
                if let memory = context.pointee.memory, let old = memory.pointee.grow(by: UInt64(u32(fp[x]))) {
                    fp[d] = UInt64(old)
                    memBase = memory.pointee.base
                    memSize = UInt64(memory.pointee.byteCount)
                    runMemoryMoved = true
                } else {
                    fp[d] = 0xFFFF_FFFF
                }
            case .memoryFill:
                let destination = UInt64(u32(fp[d])), count = UInt64(u32(fp[y]))
                guard destination &+ count <= memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                (memBase + Int(destination)).initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: fp[x]), count: Int(count))
            case .memoryCopy:
                let destination = UInt64(u32(fp[d])), source = UInt64(u32(fp[x])), count = UInt64(u32(fp[y]))
                guard destination &+ count <= memSize, source &+ count <= memSize else { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                (memBase + Int(destination)).copyMemory(from: memBase + Int(source), byteCount: Int(count))
            case .memoryInit:
                let segment = context.pointee.data + Int(truncatingIfNeeded: pc.pointee)
                pc += 1
                let destination = UInt64(u32(fp[d])), source = UInt64(u32(fp[x])), count = UInt64(u32(fp[y]))
                guard destination &+ count <= memSize, source &+ count <= UInt64(segment.pointee.count) else {
                    throw fault(.outOfBoundsMemoryAccess, fuel: fuel)
                }
                if count > 0 {
                    (memBase + Int(destination)).copyMemory(from: segment.pointee.pointer.unsafelyUnwrapped + Int(source), byteCount: Int(count))
                }
            case .dataDrop:
                context.pointee.data[Int(truncatingIfNeeded: pc.pointee)].count = 0
                pc += 1

            // MARK: tables and references
            // Tables: bits 8..<16 of the word are the index widths (bit 8: the table, or the destination, is
            // 64-bit; bit 9: the source table is), so i32 indices are read as their low 32 bits.
            case .tableGet:
                let table = context.pointee.tables[Int(truncatingIfNeeded: pc.pointee)]
                pc += 1
                let index = tableIndex(w, fp[x], 8)
                guard index < UInt64(table.pointee.count) else { throw fault(.outOfBoundsTableAccess, fuel: fuel) }
                fp[d] = table.pointee.elements[Int(index)]
            case .tableSet:
                let table = context.pointee.tables[Int(truncatingIfNeeded: pc.pointee)]
                pc += 1
                let index = tableIndex(w, fp[x], 8)
                guard index < UInt64(table.pointee.count) else { throw fault(.outOfBoundsTableAccess, fuel: fuel) }
                table.pointee.elements[Int(index)] = fp[y]
            case .tableSize:
                fp[d] = UInt64(context.pointee.tables[Int(truncatingIfNeeded: pc.pointee)].pointee.count)
                pc += 1
            case .tableGrow:
                let table = context.pointee.tables[Int(truncatingIfNeeded: pc.pointee)]
                pc += 1
                let is64 = w & 0x100 != 0
                fp[d] = table.pointee.grow(by: tableIndex(w, fp[y], 8), fill: fp[x]).map { UInt64($0) } ?? (is64 ? .max : 0xFFFF_FFFF)
            case .tableFill:
                let table = context.pointee.tables[Int(truncatingIfNeeded: pc.pointee)]
                pc += 1
                let index = tableIndex(w, fp[d], 8), count = tableIndex(w, fp[y], 8)
                guard index <= UInt64(table.pointee.count), count <= UInt64(table.pointee.count) - index else {
                    throw fault(.outOfBoundsTableAccess, fuel: fuel)
                }
                (table.pointee.elements + Int(index)).update(repeating: fp[x], count: Int(count))
            case .tableCopy:
                let immediate = pc.pointee
                pc += 1
                let destination = context.pointee.tables[Int(truncatingIfNeeded: immediate & 0xFFFF_FFFF)]
                let source = context.pointee.tables[Int(truncatingIfNeeded: immediate >> 32)]
                let d0 = tableIndex(w, fp[d], 8), s0 = tableIndex(w, fp[x], 9)
                let count = w & 0x300 == 0x300 ? fp[y] : UInt64(u32(fp[y]))
                guard d0 <= UInt64(destination.pointee.count), count <= UInt64(destination.pointee.count) - d0,
                      s0 <= UInt64(source.pointee.count), count <= UInt64(source.pointee.count) - s0 else {
                    throw fault(.outOfBoundsTableAccess, fuel: fuel)
                }
                (destination.pointee.elements + Int(d0)).update(from: source.pointee.elements + Int(s0), count: Int(count))
            case .tableInit:
                let immediate = pc.pointee
                pc += 1
                let segment = context.pointee.elements + Int(truncatingIfNeeded: immediate & 0xFFFF_FFFF)
                let table = context.pointee.tables[Int(truncatingIfNeeded: immediate >> 32)]
                let d0 = tableIndex(w, fp[d], 8), s0 = UInt64(u32(fp[x])), count = UInt64(u32(fp[y]))
                guard d0 <= UInt64(table.pointee.count), count <= UInt64(table.pointee.count) - d0,
                      s0 &+ count <= UInt64(segment.pointee.count) else {
                    throw fault(.outOfBoundsTableAccess, fuel: fuel)
                }
                if count > 0 {
                    let references = segment.pointee.pointer.unsafelyUnwrapped.assumingMemoryBound(to: UInt64.self)
                    (table.pointee.elements + Int(d0)).update(from: references + Int(s0), count: Int(count))
                }
            case .elemDrop:
                context.pointee.elements[Int(truncatingIfNeeded: pc.pointee)].count = 0
                pc += 1
            case .refFunc:
                fp[d] = UInt64(context.pointee.functions[Int(truncatingIfNeeded: pc.pointee)]) &+ 1
                pc += 1
            case .refIsNull:
                fp[d] = fp[x] == 0 ? 1 : 0
            case .refAsNonNull:
                let reference = fp[x]
                guard reference != 0 else { throw fault(.nullReference, fuel: fuel) }
                fp[d] = reference
            case .brIfNull:
                if fp[x] == 0 {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }
            case .brIfNonNull:
                if fp[x] != 0 {
                    try takeBranch(&pc, start, &fuel, costShift: 32)
                } else {
                    pc += 1
                }

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
            // MARK: SIMD and v128 globals (see SIMDExecution)
            case .v128:
                let consumed = SIMDExecution.execute(w, pc, fp, context, memBase, memSize)
                if consumed < 0 { throw fault(.outOfBoundsMemoryAccess, fuel: fuel) }
                pc += consumed
            case .v128Global:
                SIMDExecution.global(w, pc, fp, context)
                pc += 1
            case .gc:
                pc = try executeGC(w, pc, fp, context, fuel: fuel)
            }
        }
    }
}

@inline(__always) func u32(_ slot: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: slot) }

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
