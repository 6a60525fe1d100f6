import Foundation

/// One function's recent history in fixed intervals (`interval` seconds, the last `slotCount` of them): calls,
/// errors, CPU, instructions and a log-scale latency histogram per interval, from which p50 and p99 are read.
/// Recording is a logarithm and a few increments inside the lock the request path already takes for the
/// function's stats; memory is fixed (about 17 KiB per function), whatever the traffic.
///
/// Percentiles come from histogram buckets ten to a decade (each 26% wide), reported at the bucket's
/// geometric middle: within ±13% of the exact value, which is what a chart of the last minutes needs (the
/// exact percentiles since start are in the summary and in `/admin/functions/NAME/stats`).
struct LatencyTimeline: Sendable {
    static let interval = 10.0
    static let slotCount = 60
    static let bucketsPerDecade = 10.0
    /// The lowest bucket's upper bound; latencies below it count there.
    static let lowest = 10e-6
    /// 10 µs to 100 s.
    static let bucketCount = 70

    struct Slot: Sendable {
        /// Which interval (monotonic seconds / interval) this slot holds; -1: never used.
        var epoch = -1
        var calls = 0
        var errors = 0
        var cpuSeconds = 0.0
        var instructions: Int64 = 0
        var histogram = [UInt32](repeating: 0, count: LatencyTimeline.bucketCount)
    }

    /// What one interval looked like (nil figures: no calls in it).
    struct Point: Sendable, Equatable {
        var calls: Int
        var errors: Int
        var callsPerSecond: Double
        var p50Ms: Double?
        var p99Ms: Double?
        var meanCPUMs: Double?
        var meanInstructions: Double?
    }

    var slots = [Slot](repeating: Slot(), count: LatencyTimeline.slotCount)

    static func bucket(_ seconds: Double) -> Int {
        guard seconds > lowest else { return 0 }
        let index = Int((log10(seconds / lowest) * bucketsPerDecade).rounded(.up))
        return min(max(index, 0), bucketCount - 1)
    }

    /// The middle of a bucket, in milliseconds.
    static func bucketMiddleMs(_ index: Int) -> Double {
        lowest * pow(10, (Double(index) - 0.5) / bucketsPerDecade) * 1000
    }

    /// `now`: monotonic seconds (`LatencyTimeline.now()` outside tests).
    mutating func record(now: Double, seconds: Double, error: Bool, cpuSeconds: Double, instructions: Int64) {
        let epoch = Int(now / LatencyTimeline.interval)
        let index = epoch % LatencyTimeline.slotCount
        if slots[index].epoch != epoch {
            slots[index].epoch = epoch
            slots[index].calls = 0
            slots[index].errors = 0
            slots[index].cpuSeconds = 0
            slots[index].instructions = 0
            for b in 0..<LatencyTimeline.bucketCount { slots[index].histogram[b] = 0 }
        }
        slots[index].calls += 1
        if error { slots[index].errors += 1 }
        slots[index].cpuSeconds += cpuSeconds
        slots[index].instructions += instructions
        slots[index].histogram[LatencyTimeline.bucket(seconds)] &+= 1
    }

    /// The last `slotCount` intervals, oldest first, the current (partial) one last.
    func points(now: Double) -> [Point] {
        let current = Int(now / LatencyTimeline.interval)
        return ((current - LatencyTimeline.slotCount + 1)...current).map { epoch in
            let slot = slots[((epoch % LatencyTimeline.slotCount) + LatencyTimeline.slotCount) % LatencyTimeline.slotCount]
            guard slot.epoch == epoch, slot.calls > 0 else {
                return Point(calls: 0, errors: 0, callsPerSecond: 0)
            }
            // The current interval has only run for part of its length.
            let elapsed = epoch == current ? max(1, now - Double(epoch) * LatencyTimeline.interval) : LatencyTimeline.interval
            return Point(calls: slot.calls, errors: slot.errors, callsPerSecond: Double(slot.calls) / elapsed,
                         p50Ms: LatencyTimeline.percentileMs(slot.histogram, slot.calls, 0.50),
                         p99Ms: LatencyTimeline.percentileMs(slot.histogram, slot.calls, 0.99),
                         meanCPUMs: slot.cpuSeconds / Double(slot.calls) * 1000,
                         meanInstructions: Double(slot.instructions) / Double(slot.calls))
        }
    }

    static func percentileMs(_ histogram: [UInt32], _ count: Int, _ p: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((p * Double(count)).rounded(.up)))
        var seen = 0
        for (i, c) in histogram.enumerated() {
            seen += Int(c)
            if seen >= rank { return bucketMiddleMs(i) }
        }
        return bucketMiddleMs(histogram.count - 1)
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
