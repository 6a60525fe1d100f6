import Synchronization

/// Threaded dispatch for the interpreter's simple instructions.
///
/// Each simple op (arithmetic, comparisons, loads and stores, branches, data movement) is a handler: a thin
/// function (a bare code address, no context) that runs its instruction and then calls the next instruction's handler from a table
/// indexed by op. Under `-O` that call is a tail call (`jmp *`), so every handler ends in its own indirect
/// jump — one dispatch site per op kind instead of the single `switch` jump all ops shared, which a branch
/// predictor could only learn from a long history (see DESIGN.md, "Dispatch"). Ops that touch the store
/// (calls, returns, exceptions, memory growth, GC) have no handler: the exit handler returns their pc to
/// `Store.run`, whose `switch` runs them and comes back.
///
/// Swift does not guarantee tail calls, so a chain of handlers is cut after `threadedBudget` instructions
/// (the exit back to the loop costs a call and a return, a few ns per 256 instructions): the host stack
/// stays bounded even where the compiler makes real calls (debug builds), and guest code can never
/// overflow it.
///
/// State that handlers read rarely (fuel, the instance context, the interrupt flag, a trap's reason) is in
/// `ThreadedState`, in memory; what every instruction uses (pc, frame, memory base and size) is passed in
/// registers — six integer argument registers on x86-64 and arm64. (`@convention(c)` compiles the same but
/// adds a thunk per handler, one more jump per instruction.) A handler returns
/// the address where the loop goes on, or 0 for a trap (an integer: returning an optional pointer made the
/// compiler give up the tail call).
typealias Handler = @convention(thin) (
    _ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
    _ memSize: UInt64, _ vm: UnsafeMutableRawPointer, _ budget: Int
) -> Int

/// Instructions a chain of handlers runs before returning to `Store.run` (bounds host stack use).
let threadedBudget = 256

struct ThreadedState {
    /// The handler table (first: `next` loads it at offset 0).
    let table: UnsafePointer<Handler>
    /// Fuel left; branches charge it (the loop's register copy is stored here on entry and read back on exit).
    var fuel: Int64 = 0
    var context: UnsafeMutablePointer<InstanceContext>? = nil
    let interrupt: Unmanaged<InterruptHandle>
    /// Why the chain stopped when a handler returned nil.
    var trap: Trap.Reason = .unreachable

    @inline(__always) var interrupted: Bool {
        interrupt._withUnsafeGuaranteedRef { $0.flag.load(ordering: .relaxed) }
    }
}

@inline(__always) func state(_ vm: UnsafeMutableRawPointer) -> UnsafeMutablePointer<ThreadedState> {
    vm.assumingMemoryBound(to: ThreadedState.self)
}

/// Dispatches the instruction at `pc`: a tail call to its handler, or back to the loop when the budget is spent.
@inline(__always) func next(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                            _ memSize: UInt64, _ vm: UnsafeMutableRawPointer, _ budget: Int) -> Int {
    if budget == 0 { return Int(bitPattern: pc) }
    let table = vm.load(as: UnsafePointer<Handler>.self)
    return table[Int(UInt8(truncatingIfNeeded: pc.pointee))](pc, fp, memBase, memSize, vm, budget &- 1)
}

/// Stops the chain with a trap (the loop throws it with the guest's backtrace).
@inline(never) func trap(_ vm: UnsafeMutableRawPointer, _ reason: Trap.Reason) -> Int {
    state(vm).pointee.trap = reason
    return 0
}

/// Takes the branch whose target word `pc` points at (see `Store.takeBranch`); false when it must trap
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

/// The handler of every op that `Store.run`'s switch executes: hands its pc back.
private let exitHandler: Handler = { pc, _, _, _, _, _ in Int(bitPattern: pc) }

/// One table for the process, built once.
nonisolated(unsafe) let handlerTable: UnsafePointer<Handler> = {
    let table = UnsafeMutablePointer<Handler>.allocate(capacity: 256)
    table.initialize(repeating: exitHandler, count: 256)
    installHandlers(table)
    return UnsafePointer(table)
}()
