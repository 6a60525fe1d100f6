import Foundation

/// A counting gate: `tryEnter` succeeds while fewer than `capacity` holders are inside. Caps the open
/// connections over all loops, the status page runs, and each function's concurrent invocations.
final class Gate: @unchecked Sendable {
    let capacity: Int
    private let lock = NSLock()
    private var inside = 0

    init(capacity: Int) { self.capacity = capacity }

    func tryEnter() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard inside < capacity else { return false }
        inside += 1
        return true
    }

    func leave() {
        lock.lock()
        inside -= 1
        lock.unlock()
    }

    var holders: Int {
        lock.lock()
        defer { lock.unlock() }
        return inside
    }
}
