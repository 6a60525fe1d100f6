import Synchronization

/// Threaded dispatch for the interpreter's simple instructions.
///
/// Each simple op (arithmetic, comparisons, loads and stores, branches, data movement) is a handler: a thin
/// function (a bare code address, no context) that runs its instruction and then calls the next
/// instruction's handler from a table indexed by op. Under `-O` that call is a tail call (`jmp *`), so every
/// handler ends in its own indirect jump — one dispatch site per op kind instead of the single `switch` jump
/// all ops shared, which a branch predictor could only learn from a long history (see DESIGN.md, "The loop"). Ops that touch the store
/// (exceptions, memory growth, GC, host calls) have no handler: the exit handler returns their pc to
/// `Store.run`, whose `switch` runs them and comes back. Calls and returns between functions of the same
/// instance have handlers; every other case of them (a host callee, another instance, the run's outermost
/// return, a trap to report) is handed back unexecuted to the switch's full implementation.
///
/// Swift does not guarantee tail calls. Optimized builds make them (`Utilities/check-tail-calls.sh`, run by
/// CI, fails if any handler calls the next one instead of jumping); debug builds do not, so there a chain of
/// handlers returns to `Store.run` after `threadedBudget` instructions, which calls the next one again: the
/// host stack holds at most that many handler frames, whatever the guest runs.
///
/// State that handlers read rarely (fuel, the instance context, the interrupt flag, a trap's reason) is in
/// `ThreadedState`, in memory; what every instruction uses (pc, frame, memory base, the table) is passed in
/// registers. The memory's size is in the state too: a bounds check compares with memory as cheaply as with
/// a register, and a sixth argument left simple ops one scratch register short (a push and pop of `rbx` in
/// each). (`@convention(c)` compiles the same but
/// adds a thunk per handler, one more jump per instruction.) A handler returns
/// the address where the loop goes on, or 0 for a trap (an integer: returning an optional pointer made the
/// compiler give up the tail call).
typealias Handler = @convention(thin) (
    _ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
    _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer
) -> Int

/// Instructions a chain of handlers runs before returning to `Store.run` in a debug build (bounds host stack use).
let threadedBudget = 256

struct ThreadedState {
    /// The handler table (also passed to every handler, in a register).
    let table: UnsafePointer<Handler>
    /// Instructions left before a debug build's chain returns to the loop.
    var budget = 0
    /// Bytes of memory 0 (bounds of loads and stores; changes only in the loop's cases, which write it here).
    var memSize: UInt64 = 0
    /// Fuel left; branches charge it (the loop's register copy is stored here on entry and read back on exit).
    var fuel: Int64 = 0
    var context: UnsafeMutablePointer<InstanceContext>? = nil
    let interrupt: Unmanaged<InterruptHandle>
    /// Why the chain stopped when a handler returned 0.
    var trap: Trap.Reason = .unreachable
    // What calls and returns between functions of one instance need (see `callHandler`); the loop writes
    // them on every entry, since a host call may have run a nested loop on the same stacks meanwhile.
    /// The frame in use when the chain returned to the loop.
    var fp: UnsafeMutablePointer<UInt64>? = nil
    var functions: UnsafeMutablePointer<FunctionInstance>? = nil
    var frames: UnsafeMutablePointer<CallFrame>? = nil
    var stackLimit: UnsafeMutablePointer<UInt64>? = nil
    var depthLimit = 0
    var depth = 0
    var entryDepth = 0
    var memoryMoved = false

    @inline(__always) var interrupted: Bool {
        interrupt._withUnsafeGuaranteedRef { $0.flag.load(ordering: .relaxed) }
    }
}

@inline(__always) func state(_ vm: UnsafeMutableRawPointer) -> UnsafeMutablePointer<ThreadedState> {
    vm.assumingMemoryBound(to: ThreadedState.self)
}

/// Dispatches the instruction at `pc`: a tail call to its handler (in a debug build, back to the loop when the
/// budget is spent).
@inline(__always) func next(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                            _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer) -> Int {
    #if DEBUG
    state(vm).pointee.budget &-= 1
    if state(vm).pointee.budget <= 0 { return exit(pc, fp, vm) }
    #endif
    #if NEBULA_OP_PAIRS
    OpPairCounter.count(UnsafeRawPointer(pc).load(as: UInt16.self), UnsafeRawPointer(pc).load(as: UInt64.self))
    #endif
    // The table is indexed by the word's low 16 bits (op byte and sub-field, or 0xFF and an extended op's
    // number): one 16-bit load (`movzwl`), not the word truncated (a load and a `movzbl`).
    let handler = handlers.load(fromByteOffset: Int(UnsafeRawPointer(pc).load(as: UInt16.self)) &* 8, as: Handler.self)
    return handler(pc, fp, memBase, vm, handlers)
}

/// Stops the chain with a trap (the loop throws it with the guest's backtrace).
@inline(never) func trap(_ vm: UnsafeMutableRawPointer, _ reason: Trap.Reason) -> Int {
    state(vm).pointee.trap = reason
    return 0
}

/// Takes the branch whose target word `pc` points at: the low 32 bits are the offset from the branch
/// instruction `start`, the bits from `costShift` the fuel it charges. Backward branches (and jumps to the
/// instruction itself) check fuel and the interrupt flag, so every loop meets a check. False when it must trap
/// (fuel exhausted or interrupted on a backward branch), with the reason recorded.
@inline(__always) func branch(_ pc: inout UnsafePointer<UInt64>, _ start: UnsafePointer<UInt64>,
                              _ vm: UnsafeMutableRawPointer, costShift: UInt64) -> Bool {
    let target = pc.pointee
    pc = start + Int(Int32(truncatingIfNeeded: target))
    let s = state(vm)
    s.pointee.fuel &-= Int64(target >> costShift)
    if Int32(truncatingIfNeeded: target) <= 0, s.pointee.fuel < 0 || s.pointee.interrupted {
        s.pointee.trap = s.pointee.fuel < 0 ? .fuelExhausted : .interrupted
        return false
    }
    return true
}

@inline(__always) func op(_ op: InternalOp) -> Int { Int(op.rawValue) }

/// The 16-bit slot field at byte `offset` (2: d, 4: x, 6: y) of the instruction word before `pc`, shifted out
/// of the whole word: a handler loads its word once, not once per field. A field read with its own 16-bit
/// load (`movzwl`) costs two or three ALU instructions less, but a load-queue entry more, and it is the load
/// queue that fills behind a cache miss in guest memory: with three loads per handler instead of one, the
/// out-of-order window reached about a sixth fewer handlers past the miss, and hashmap (a miss per probe)
/// ran 16-20% slower on an AMD EPYC (Zen 4); ALU-bound sha256 runs up to 7% faster that way (DESIGN.md).
@inline(__always) func operand(_ pc: UnsafePointer<UInt64>, _ offset: Int) -> Int {
    Int(truncatingIfNeeded: ((pc - 1).pointee >> UInt64(offset &* 8)) & 0xFFFF)
}

/// The handler of every op that `Store.run`'s switch executes: hands its pc back.
private let exitHandler: Handler = { pc, fp, _, vm, _ in exit(pc, fp, vm) }

/// Leaves the chain for `Store.run` at `pc`, with the frame the chain ended in (calls and returns move it).
@inline(__always) func exit(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ vm: UnsafeMutableRawPointer) -> Int {
    state(vm).pointee.fp = fp
    return Int(bitPattern: pc)
}

/// Entries of the handler table: one per value of a word's low 16 bits.
let handlerTableCount = 1 << 16

/// One table for the process, built once (512 KiB). An op with a one-byte code has the same handler at every
/// value of bits 8..<16, its sub-field (a SIMD code, table flags): the handler reads it, the dispatch does not
/// have to mask it off; the float compare-and-branch ops have a handler per outcome mask instead. Extended ops
/// (op byte 0xFF) have one entry each.
nonisolated(unsafe) let handlerTable: UnsafePointer<Handler> = {
    let table = UnsafeMutablePointer<Handler>.allocate(capacity: handlerTableCount)
    table.initialize(repeating: exitHandler, count: handlerTableCount)
    installHandlers(table)
    for high in stride(from: 0x100, to: handlerTableCount, by: 0x100) {
        (table + high).update(from: table, count: InternalOp.oneByteOpCount)
    }
    installFloatBranchHandlers(table)
    installFlaggedHandlers(table)
    return UnsafePointer(table)
}()

extension InternalOp {
    /// The op of an instruction word.
    static func decode(_ word: UInt64) -> InternalOp? {
        let byte = word & 0xFF
        return InternalOp(rawValue: UInt16(truncatingIfNeeded: byte == extendedOpByte ? word & 0xFFFF : byte))
    }

    /// The op of a word known to hold a one-byte op (what `Store.run`'s switch executes), without a lookup: the
    /// one-byte ops are the enum's first cases in code order. An extended op's word gives the first extended
    /// case, which the switch's default sends back to the handlers.
    @inline(__always) static func oneByte(_ word: UInt64) -> InternalOp {
        unsafeBitCast(UInt16(truncatingIfNeeded: word & 0xFF), to: InternalOp.self)
    }

    /// Whether this op is extended (op byte 0xFF, its number in bits 8..<16).
    var isExtended: Bool { UInt64(rawValue & 0xFF) == Self.extendedOpByte }
}

/// A call to a Wasm function of the same instance: pushes the caller's frame and runs the callee's first
/// instruction. Anything else (a host function, another instance, a full call or value stack, a pending
/// interrupt) returns the call's own address, for `Store.run` to execute it from the start.
@inline(__always) func callHandler(_ callee: Int, _ start: UnsafePointer<UInt64>, _ returnPC: UnsafePointer<UInt64>,
                                   _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                                   _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer,
                                   arguments: () -> Void = {}) -> Int {
    let s = state(vm)
    let function = s.pointee.functions.unsafelyUnwrapped + callee
    guard let code = function.pointee.code, function.pointee.context == s.pointee.context else { return exit(start, fp, vm) }
    return enter(function, code, callee: { callee }, start, returnPC, fp, memBase, vm, handlers, arguments: arguments)
}

/// `call` of a function the caller's module defines: the callee runs in the caller's instance, and its code,
/// frame size and locals come from the module's template record (named in the call), one load away; the
/// store's record is read only for the frame's function address (for backtraces), off the path to the callee's
/// first instruction. Saves `callHandler`'s chain of dependent loads (instance table, store record) and its
/// instance check.
@inline(__always) func directCallHandler(_ template: UnsafePointer<FunctionInstance>, _ start: UnsafePointer<UInt64>,
                                         _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                                         _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer,
                                         arguments: () -> Void = {}) -> Int {
    enter(template, template.pointee.code.unsafelyUnwrapped,
          callee: { state(vm).pointee.context.unsafelyUnwrapped.pointee.functions[Int(truncatingIfNeeded: start[1])] },
          start, start + 3, fp, memBase, vm, handlers, arguments: arguments)
}

/// Pushes the caller's frame (returning to `returnPC`, naming the store address `callee()` for backtraces) and
/// runs `record`'s first instruction in the caller's instance, when the call and value stacks have room and no
/// interrupt is pending; otherwise hands the call at `start` to `Store.run`. `arguments` is the argument move the
/// call took in (see `InternalOp.callArgumentCopy`): made only once the call goes ahead here, since the loop
/// makes it when the call is handed back.
@inline(__always) func enter(_ record: UnsafePointer<FunctionInstance>, _ code: UnsafePointer<UInt64>, callee: () -> Int,
                             _ start: UnsafePointer<UInt64>, _ returnPC: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                             _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer,
                             arguments: () -> Void = {}) -> Int {
    let s = state(vm)
    let calleeFP = fp + Int(truncatingIfNeeded: (start.pointee >> 16) & 0xFFFF)
    guard s.pointee.depth < s.pointee.depthLimit, calleeFP + record.pointee.frameSize <= s.pointee.stackLimit.unsafelyUnwrapped,
          !s.pointee.interrupted else {
        return exit(start, fp, vm)
    }
    arguments()
    let context = s.pointee.context.unsafelyUnwrapped
    s.pointee.frames.unsafelyUnwrapped[s.pointee.depth] = CallFrame(pc: returnPC, fp: fp, context: context, function: callee())
    s.pointee.depth &+= 1
    Store.initializeFrame(calleeFP + record.pointee.paramSlots, record.pointee.initTemplate, record.pointee.initCount)
    return next(code, calleeFP, memBase, vm, handlers)
}

/// `return`: pops the caller's frame when it belongs to the same instance and is inside this run (the run's
/// outermost return, and a return into another instance or after memory moved, go to `Store.run`).
@inline(__always) func returnHandler(_ start: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                     _ memBase: UnsafeMutableRawPointer,
                                     _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer, value: Bool,
                                     add: Bool = false) -> Int {
    let s = state(vm)
    let depth = s.pointee.depth
    guard depth != s.pointee.entryDepth, !s.pointee.memoryMoved else { return exit(start, fp, vm) }
    let frame = s.pointee.frames.unsafelyUnwrapped + (depth &- 1)
    guard frame.pointee.context == s.pointee.context.unsafelyUnwrapped else { return exit(start, fp, vm) }
    let w = start.pointee
    if value { fp[0] = fp[Int(truncatingIfNeeded: (w >> 32) & 0xFFFF)] }
    // `return x + y` (`InternalOp.returnAddFlag`), after the checks: a return handed back adds in the loop (x may be slot 0).
    if add { fp[0] = sumOfOperands(fp, start + 1) }
    s.pointee.fuel &-= Int64(bitPattern: start[1])
    if s.pointee.fuel < 0 { return trap(vm, .fuelExhausted) }
    s.pointee.depth = depth &- 1
    return next(frame.pointee.pc, frame.pointee.fp, memBase, vm, handlers)
}
