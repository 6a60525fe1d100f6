import Foundation

/// A Prometheus-style cumulative histogram with fixed bucket bounds (seconds).
struct Histogram: Sendable {
    static let latencyBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    let bounds: [Double]
    var counts: [Int]
    var sum = 0.0
    var count = 0

    init(bounds: [Double] = Histogram.latencyBounds) {
        self.bounds = bounds
        counts = [Int](repeating: 0, count: bounds.count)
    }

    mutating func observe(_ value: Double) {
        for (i, bound) in bounds.enumerated() where value <= bound { counts[i] += 1 }
        sum += value
        count += 1
    }

    /// Exposition lines for `name` with `labels` (e.g. `function="fib"`), buckets cumulative as Prometheus wants.
    func lines(_ name: String, labels: String) -> [String] {
        let prefix = labels.isEmpty ? "" : labels + ","
        var out = zip(bounds, counts).map { "\(name)_bucket{\(prefix)le=\"\(Metrics.number($0))\"} \($1)" }
        out.append("\(name)_bucket{\(prefix)le=\"+Inf\"} \(count)")
        out.append("\(name)_sum\(labels.isEmpty ? "" : "{\(labels)}") \(Metrics.number(sum))")
        out.append("\(name)_count\(labels.isEmpty ? "" : "{\(labels)}") \(count)")
        return out
    }
}

/// Counts and footprint totals of one function since the server started (or since it was first deployed).
public final class FunctionStats: @unchecked Sendable {
    public struct Summary: Sendable {
        public var count: Int
        public var outcomes: [String: Int]
        public var p50Ms: Double?
        public var p95Ms: Double?
        public var p99Ms: Double?
        public var meanCPUMs: Double?
        public var meanInstructions: Double?
        public var totalEnergyJoules: Double?
        public var energySource: EnergySource?
    }

    let lock = NSLock()
    var outcomes: [String: Int] = [:]
    var duration = Histogram()
    var instructions: Int64 = 0
    var cpuSeconds = 0.0
    var energyJoules = 0.0
    var energyMeasured = false
    var energySource: EnergySource?
    /// The latest durations (a ring), for percentiles.
    var recent: [Double] = []
    var recentNext = 0
    static let recentCapacity = 4096
    /// The last ten minutes in ten-second intervals, for the status pages' charts.
    var timeline = LatencyTimeline()

    /// ok (2xx/3xx), timeout (504), rejected (503: busy), error (any other status).
    static func outcome(status: Int) -> String {
        switch status {
        case 200..<400: return "ok"
        case 504: return "timeout"
        case 503: return "rejected"
        default: return "error"
        }
    }

    func record(status: Int, footprint: Footprint, now: Double = LatencyTimeline.now()) {
        lock.lock()
        defer { lock.unlock() }
        let outcome = FunctionStats.outcome(status: status)
        outcomes[outcome, default: 0] += 1
        timeline.record(now: now, seconds: footprint.wallSeconds, error: outcome != "ok", cpuSeconds: footprint.cpuSeconds,
                        instructions: footprint.instructions)
        duration.observe(footprint.wallSeconds)
        instructions += footprint.instructions
        cpuSeconds += footprint.cpuSeconds
        if let joules = footprint.energyJoules {
            energyJoules += joules
            energyMeasured = true
            energySource = footprint.energySource
        }
        if recent.count < FunctionStats.recentCapacity {
            recent.append(footprint.wallSeconds)
        } else {
            recent[recentNext] = footprint.wallSeconds
            recentNext = (recentNext + 1) % FunctionStats.recentCapacity
        }
    }

    /// The last minutes, interval by interval, oldest first.
    func timelinePoints(now: Double = LatencyTimeline.now()) -> [LatencyTimeline.Point] {
        lock.lock()
        defer { lock.unlock() }
        return timeline.points(now: now)
    }

    public var summary: Summary {
        lock.lock()
        defer { lock.unlock() }
        let sorted = recent.sorted()
        func percentile(_ p: Double) -> Double? { Chart.percentile(sorted, p).map { $0 * 1000 } }
        let n = duration.count
        return Summary(count: n, outcomes: outcomes, p50Ms: percentile(0.50), p95Ms: percentile(0.95), p99Ms: percentile(0.99),
                       meanCPUMs: n > 0 ? cpuSeconds / Double(n) * 1000 : nil,
                       meanInstructions: n > 0 ? Double(instructions) / Double(n) : nil,
                       totalEnergyJoules: energyMeasured ? energyJoules : nil, energySource: energyMeasured ? energySource : nil)
    }

    /// The summary as a JSON object.
    var json: String {
        let s = summary
        func value(_ d: Double?) -> String { d.map { String(format: "%.3f", $0) } ?? "null" }
        let outcomes = s.outcomes.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)): \($0.value)" }.joined(separator: ", ")
        return "{\"count\": \(s.count), \"outcomes\": {\(outcomes)}, \"p50Ms\": \(value(s.p50Ms)), \"p95Ms\": \(value(s.p95Ms)), "
            + "\"p99Ms\": \(value(s.p99Ms)), \"meanCpuMs\": \(value(s.meanCPUMs)), \"meanInstructions\": \(value(s.meanInstructions)), "
            + "\"totalEnergyJoules\": \(s.totalEnergyJoules.map(Footprint.joules) ?? "null"), "
            + "\"energySource\": \(s.energySource.map { "\"\($0.rawValue)\"" } ?? "null")}"
    }
}
