import Foundation

/// A fixed set of threads running CPU-bound jobs (function invocations) from a bounded queue, so the I/O
/// loop never runs guest code and overload turns into 503 instead of unbounded memory.
final class WorkerPool: @unchecked Sendable {
    let condition = NSCondition()
    var jobs: [() -> Void] = []
    var head = 0
    let capacity: Int
    var running = 0
    var stopping = false
    var threads: [Thread] = []

    init(workers: Int, queueCapacity: Int) {
        capacity = queueCapacity
        for i in 0..<max(1, workers) {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "nebula-worker-\(i)"
            thread.stackSize = 8 << 20
            threads.append(thread)
            thread.start()
        }
    }

    /// Queues a job; false when the queue is full.
    func submit(_ job: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, jobs.count - head < capacity else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    func work() {
        while true {
            condition.lock()
            while head == jobs.count && !stopping { condition.wait() }
            if head == jobs.count && stopping {
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            running += 1
            condition.unlock()
            job()
            condition.lock()
            running -= 1
            condition.unlock()
        }
    }

    /// Jobs running now, and jobs waiting for a worker.
    var load: (running: Int, queued: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (running, jobs.count - head)
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }
}
