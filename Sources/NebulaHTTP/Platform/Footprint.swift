import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What one invocation cost. Measured on the worker thread that ran it; see docs/footprint.md for the method
/// and its limits.
public struct Footprint: Sendable {
    public init() {}
    /// From taking the request off the queue to the response being ready.
    public var wallSeconds = 0.0
    /// Of which start-up: WASI set-up and instantiation (the module was decoded and translated at deploy).
    public var startupSeconds = 0.0
    /// CPU time of the worker thread (`CLOCK_THREAD_CPUTIME_ID`): the guest, WASI calls and our own work.
    public var cpuSeconds = 0.0
    /// Wasm instructions executed, as the interpreter charges them (see WasmVM's DESIGN.md).
    public var instructions: Int64 = 0
    /// Peak linear memory (memories never shrink: their size at the end).
    public var memoryBytes = 0
    /// Peak bytes of GC objects (structs and arrays; 0 for modules that allocate none).
    public var gcHeapBytes = 0
    /// The invocation's energy: its share of the package energy over its run (RAPL), or the power model's
    /// estimate where RAPL is unreadable; nil when neither applies (model off).
    public var energyJoules: Double?
    /// Where `energyJoules` comes from.
    public var energySource: EnergySource?
    /// Grams of CO2e: energy × the configured grid intensity; nil when no intensity is set.
    public var carbonGrams: Double?

    /// Response headers carrying the footprint.
    var headers: [(String, String)] {
        var headers = [("X-Nebula-Duration-Ms", Footprint.milliseconds(wallSeconds)),
                       ("X-Nebula-Startup-Ms", Footprint.milliseconds(startupSeconds)),
                       ("X-Nebula-Cpu-Ms", Footprint.milliseconds(cpuSeconds)),
                       ("X-Nebula-Instructions", "\(instructions)"),
                       ("X-Nebula-Memory-Bytes", "\(memoryBytes)"),
                       ("X-Nebula-GC-Heap-Bytes", "\(gcHeapBytes)"),
                       ("X-Nebula-Energy-Joules", energyJoules.map(Footprint.joules) ?? "null"),
                       ("X-Nebula-Energy-Source", energySource?.rawValue ?? "none")]
        if let carbonGrams { headers.append(("X-Nebula-Carbon-Grams", Footprint.grams(carbonGrams))) }
        return headers
    }

    /// The footprint as JSON object members (no braces), for log lines and history records.
    var jsonFields: String {
        "\"durationMs\": \(Footprint.milliseconds(wallSeconds)), \"startupMs\": \(Footprint.milliseconds(startupSeconds)), "
            + "\"cpuMs\": \(Footprint.milliseconds(cpuSeconds)), \"instructions\": \(instructions), "
            + "\"memoryBytes\": \(memoryBytes), \"gcHeapBytes\": \(gcHeapBytes), \"energyJoules\": \(energyJoules.map(Footprint.joules) ?? "null"), "
            + "\"energySource\": \(energySource.map { "\"\($0.rawValue)\"" } ?? "null")"
            + (carbonGrams.map { ", \"carbonGrams\": \(Footprint.grams($0))" } ?? "")
    }

    /// Joules with nine decimals (nanojoules): a model estimate of a 20 µs call is tens of microjoules.
    static func joules(_ value: Double) -> String { fixed(value, decimals: 9) }

    /// Grams with twelve decimals: a call's carbon is micrograms or less.
    static func grams(_ value: Double) -> String { fixed(value, decimals: 12) }

    /// `value` with `decimals` digits after the point, as `%.Nf` gives it, by integer arithmetic where the
    /// scaled value fits 63 bits (`String(format:)` costs microseconds, on every call's headers).
    static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard value.isFinite, scaled < 9.0e18 else { return String(format: "%.\(decimals)f", value) }
        return decimal(Int(scaled), decimals: decimals, negative: value.sign == .minus)
    }

    /// Milliseconds with three decimals (by integer arithmetic: `String(format:)` costs microseconds per call).
    static func milliseconds(_ seconds: Double) -> String {
        decimal(max(0, Int((seconds * 1e6).rounded())), decimals: 3)
    }

    /// `n` / 10^`decimals` written out with exactly `decimals` digits after the point (`n` ≥ 0, decimals ≤ 18),
    /// digit by digit into one buffer: a footprint's eight headers are formatted on every call, and building
    /// each from interpolated pieces cost a microsecond a call.
    static func decimal(_ n: Int, decimals: Int, negative: Bool = false) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            var end = buffer.count, rest = n
            for i in 0..<Swift.max(decimals + 1, 1) {
                if i == decimals && decimals > 0 { end -= 1; buffer[end] = UInt8(ascii: ".") }
                end -= 1
                buffer[end] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            while rest > 0 {
                end -= 1
                buffer[end] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            if negative { end -= 1; buffer[end] = UInt8(ascii: "-") }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[end...]), as: UTF8.self)
        }
    }

    static func digits(_ value: Int, _ count: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, count - text.count)) + text
    }

    public static func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}

/// Package energy from Linux RAPL (`/sys/class/powercap/intel-rapl:N/energy_uj`), with counter wrap-around,
/// and the machine's busy CPU time from `/proc/stat` to apportion it: an invocation is charged the package
/// energy over its run times its thread's share of all CPU time spent on the machine meanwhile.
public final class EnergyMeter: @unchecked Sendable {
    struct Domain {
        var energyPath: String
        var range: UInt64
    }

    public struct Reading: Sendable {
        var microjoules: [UInt64]
        var busyCPUSeconds: Double
    }

    let domains: [Domain]
    public var available: Bool { !domains.isEmpty }

    public init(root: String = "/sys/class/powercap") {
        var found: [Domain] = []
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        // Package domains only (intel-rapl:0, intel-rapl:1, ...): their sub-domains are parts of them.
        for entry in entries.sorted() where entry.hasPrefix("intel-rapl:") && entry.split(separator: ":").count == 2 {
            let path = "\(root)/\(entry)"
            guard EnergyMeter.readNumber("\(path)/energy_uj") != nil,
                  let range = EnergyMeter.readNumber("\(path)/max_energy_range_uj"), range > 0 else { continue }
            found.append(Domain(energyPath: "\(path)/energy_uj", range: range))
        }
        domains = found
    }

    func read() -> Reading? {
        guard available else { return nil }
        var values: [UInt64] = []
        for domain in domains {
            guard let v = EnergyMeter.readNumber(domain.energyPath) else { return nil }
            values.append(v)
        }
        return Reading(microjoules: values, busyCPUSeconds: EnergyMeter.busyCPUSeconds() ?? 0)
    }

    /// Joules charged to a run between `start` and `end` that used `cpuSeconds` of CPU.
    func joules(from start: Reading, to end: Reading, cpuSeconds: Double) -> Double {
        var microjoules: UInt64 = 0
        for (i, domain) in domains.enumerated() {
            let a = start.microjoules[i], b = end.microjoules[i]
            microjoules &+= b >= a ? b - a : (domain.range - a) &+ b  // the counter wrapped once
        }
        let busy = end.busyCPUSeconds - start.busyCPUSeconds
        let share = busy > 0 ? min(1, cpuSeconds / busy) : 1
        return Double(microjoules) / 1e6 * share
    }

    static func readNumber(_ path: String) -> UInt64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Busy CPU seconds of the whole machine since boot (user, nice, system, irq, softirq, steal).
    static func busyCPUSeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return nil }
        let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
