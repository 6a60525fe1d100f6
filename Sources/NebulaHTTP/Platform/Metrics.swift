import Foundation

/// Server-wide counters, and the Prometheus text exposition (format 0.0.4) of everything: `GET /metrics`.
public final class Metrics: @unchecked Sendable {
    let lock = NSLock()
    var responses: [Int: Int] = [:]
    var instantiation = Histogram()

    func countResponse(_ status: Int) {
        lock.lock()
        responses[status, default: 0] += 1
        lock.unlock()
    }

    func observeInstantiation(_ seconds: Double) {
        lock.lock()
        instantiation.observe(seconds)
        lock.unlock()
    }

    /// Gauges sampled at scrape time.
    struct Gauges {
        var inFlight: Int
        var queued: Int
        var openConnections: Int
    }

    func exposition(functions: [DeployedFunction], gauges: Gauges) -> String {
        var out: [String] = []
        func family(_ name: String, _ type: String, _ help: String) {
            out.append("# HELP \(name) \(help)")
            out.append("# TYPE \(name) \(type)")
        }
        let sorted = functions.sorted { $0.name < $1.name }
        family("nebula_invocations_total", "counter", "Function invocations by outcome (ok, error, timeout, rejected).")
        for f in sorted {
            f.stats.lock.lock()
            for (outcome, n) in f.stats.outcomes.sorted(by: { $0.key < $1.key }) {
                out.append("nebula_invocations_total{function=\(Metrics.label(f.name)),outcome=\(Metrics.label(outcome))} \(n)")
            }
            f.stats.lock.unlock()
        }
        family("nebula_invocation_duration_seconds", "histogram", "Wall time per invocation, start-up included.")
        for f in sorted {
            f.stats.lock.lock()
            out += f.stats.duration.lines("nebula_invocation_duration_seconds", labels: "function=\(Metrics.label(f.name))")
            f.stats.lock.unlock()
        }
        family("nebula_instructions_total", "counter", "Wasm instructions executed.")
        for f in sorted {
            f.stats.lock.lock()
            out.append("nebula_instructions_total{function=\(Metrics.label(f.name))} \(f.stats.instructions)")
            f.stats.lock.unlock()
        }
        family("nebula_cpu_seconds_total", "counter", "Worker-thread CPU time spent in invocations.")
        for f in sorted {
            f.stats.lock.lock()
            out.append("nebula_cpu_seconds_total{function=\(Metrics.label(f.name))} \(Metrics.number(f.stats.cpuSeconds))")
            f.stats.lock.unlock()
        }
        family("nebula_energy_joules_total", "counter",
               "Energy of invocations: source=\"rapl\" measured (package energy apportioned by CPU time), source=\"model\" estimated; absent when neither.")
        for f in sorted {
            f.stats.lock.lock()
            if f.stats.energyMeasured, let source = f.stats.energySource {
                out.append("nebula_energy_joules_total{function=\(Metrics.label(f.name)),source=\"\(source.rawValue)\"} \(Metrics.number(f.stats.energyJoules))")
            }
            f.stats.lock.unlock()
        }
        lock.lock()
        family("nebula_instantiation_duration_seconds", "histogram", "WASI set-up and instantiation per invocation.")
        out += instantiation.lines("nebula_instantiation_duration_seconds", labels: "")
        family("nebula_http_responses_total", "counter", "HTTP responses by status code.")
        for (code, n) in responses.sorted(by: { $0.key < $1.key }) {
            out.append("nebula_http_responses_total{code=\"\(code)\"} \(n)")
        }
        lock.unlock()
        family("nebula_invocations_in_flight", "gauge", "Invocations running on workers now.")
        out.append("nebula_invocations_in_flight \(gauges.inFlight)")
        family("nebula_invocations_queued", "gauge", "Invocations waiting for a worker.")
        out.append("nebula_invocations_queued \(gauges.queued)")
        family("nebula_open_connections", "gauge", "Open client connections.")
        out.append("nebula_open_connections \(gauges.openConnections)")
        family("nebula_functions_deployed", "gauge", "Functions currently served.")
        out.append("nebula_functions_deployed \(functions.count)")
        family("process_resident_memory_bytes", "gauge", "Resident memory of the server process.")
        out.append("process_resident_memory_bytes \(Metrics.residentBytes())")
        return out.joined(separator: "\n") + "\n"
    }

    /// A label value, quoted and escaped as the exposition format requires.
    static func label(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    static func number(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
