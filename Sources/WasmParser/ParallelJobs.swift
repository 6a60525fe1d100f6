import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Independent jobs over a module's function bodies (validating, translating), run on several threads when
/// there are enough of them to pay for it.
public enum ParallelJobs {
    /// Threads for `count` jobs: one below 256 (a server loads small modules often, and handing them to
    /// threads costs more than it saves), else one per processor, at most 8.
    public static func workers(for count: Int) -> Int {
        count >= 256 ? min(max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))), 8) : 1
    }

    /// `job(i)` for every i in 0..<count, results in job order whatever the threads did. Jobs are dealt out
    /// interleaved, so that each thread gets a mix of large and small bodies. Once a job's result `isFailure`,
    /// jobs after it that have not started are skipped and the results end at the first failure (every job
    /// before it ran: a thread stops only past a failed index).
    public static func run<T>(count: Int, workers: Int? = nil, isFailure: @Sendable (T) -> Bool,
                              _ job: @Sendable (Int) -> T) -> [T] {
        let workers = workers ?? Self.workers(for: count)
        guard workers > 1 else {
            var results: [T] = []
            for i in 0..<count {
                results.append(job(i))
                if isFailure(results[i]) { break }
            }
            return results
        }
        var results = [T?](repeating: nil, count: count)
        let failed = Atomic<Int>(Int.max)
        results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var i = worker
                while i < count && i < failed.load(ordering: .relaxed) {
                    let result = job(i)
                    if isFailure(result) { failed.min(i, ordering: .relaxed) }
                    slots[i] = result
                    i += workers
                }
            }
        }
        let firstFailure = failed.load(ordering: .relaxed)
        return results[..<(firstFailure == Int.max ? count : firstFailure + 1)].map { $0! }
    }
}
