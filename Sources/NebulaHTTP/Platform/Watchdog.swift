import Foundation
#if canImport(Glibc)
import Glibc
#endif
import WASI
import WasmParser
import WasmVM

/// Interrupts guests whose deadline passed: one thread for all invocations.
final class Watchdog: @unchecked Sendable {
    struct Entry {
        var id: Int
        var deadline: UInt64
        var handle: InterruptHandle
    }

    let condition = NSCondition()
    var entries: [Entry] = []
    var nextID = 0
    var thread: Thread?

    func watch(_ handle: InterruptHandle, milliseconds: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        if thread == nil {
            let t = Thread { [weak self] in self?.run() }
            t.name = "nebula-watchdog"
            t.start()
            thread = t
        }
        nextID += 1
        entries.append(Entry(id: nextID, deadline: DispatchTime.now().uptimeNanoseconds + UInt64(milliseconds) * 1_000_000, handle: handle))
        return nextID
    }

    func cancel(_ id: Int) {
        condition.lock()
        entries.removeAll { $0.id == id }
        condition.unlock()
    }

    /// Checks deadlines every 10 ms: no per-request wake-up, and deadlines are met within 10 ms.
    func run() {
        condition.lock()
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            if entries.contains(where: { $0.deadline <= now }) {
                for entry in entries where entry.deadline <= now { entry.handle.interrupt() }
                entries.removeAll { $0.deadline <= now }
            }
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.01))
        }
    }
}
