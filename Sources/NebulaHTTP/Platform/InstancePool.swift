import Foundation
import WASI
import WasmParser
import WasmVM

/// One function's instances kept between requests: a request takes one (or the pool makes one), its WASI
/// context is routed in for the run, and afterwards the instance is reset to the state instantiation left
/// (`ReusableInstance.reset`) and put back. A request thus gets a fresh instance — memory, globals,
/// tables, segments as after instantiation — without instantiating. Modules that cannot be reset exactly
/// (see `ReusableInstance`) are instantiated per request as before.
final class InstancePool: @unchecked Sendable {
    struct Entry {
        let reusable: ReusableInstance
        let router: WASI.Router
    }

    private let module: CompiledModule
    private let plan: WASI.ImportPlan?
    private let limits: ResourceLimits
    private let lock = NSLock()
    private var idle: [Entry] = []
    /// Whether the module qualifies; known after the first attempt.
    private var qualifies: Bool?
    /// Instances kept at most (more run at once only under a burst; those are dropped after it).
    let capacity: Int

    init(module: CompiledModule, plan: WASI.ImportPlan?, limits: ResourceLimits, capacity: Int) {
        self.module = module
        self.plan = plan
        self.limits = limits
        self.capacity = capacity
        if plan == nil { qualifies = false }
    }

    /// A ready instance, or nil when the module cannot be reused (instantiate it per request then).
    func take() throws -> Entry? {
        lock.lock()
        if let entry = idle.popLast() {
            lock.unlock()
            return entry
        }
        let known = qualifies
        lock.unlock()
        guard known != false, let plan else { return nil }
        let router = WASI.Router()
        let made = try ReusableInstance.make(module, limits: limits) { router.importValues(plan, store: $0) }
        lock.lock()
        qualifies = made != nil
        lock.unlock()
        return made.map { Entry(reusable: $0, router: router) }
    }

    /// Resets `entry` and keeps it, unless it cannot be reset or the pool is full (then it is dropped).
    func putBack(_ entry: Entry) {
        entry.router.current = nil
        guard entry.reusable.reset() else { return }
        lock.lock()
        if idle.count < capacity { idle.append(entry) }
        lock.unlock()
    }

    /// Instances kept now (for tests and `/admin/functions`).
    var idleCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return idle.count
    }
}
