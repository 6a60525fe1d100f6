import Foundation

/// Where a call's energy figure comes from.
public enum EnergySource: String, Sendable {
    /// Measured: RAPL package energy apportioned by CPU share (see `EnergyMeter`).
    case rapl
    /// Estimated from the call's CPU time and memory with a `PowerModel`.
    case model
}

/// A power model for machines without a readable energy meter (most VMs and containers), after the
/// per-vCPU and per-GB coefficients Cloud Carbon Footprint publishes for cloud instances:
///
///     energy = CPU seconds × watts per busy core + memory GB × watts per GB × wall seconds
///
/// The defaults are CCF's averages for AWS: 3.5 W per vCPU at full load (a call's CPU time is time at full
/// load on one core) and 0.392 W per GB of memory. They are coefficients of a fleet average, not of this
/// machine: calibrate them against RAPL where it is readable (`Utilities/calibrate-power-model.py`).
public struct PowerModel: Sendable, Equatable, CustomStringConvertible {
    public var cpuWattsPerCore: Double
    public var memoryWattsPerGB: Double

    public static let cloudAverage = PowerModel(cpuWattsPerCore: 3.5, memoryWattsPerGB: 0.392)

    public init(cpuWattsPerCore: Double, memoryWattsPerGB: Double) {
        self.cpuWattsPerCore = cpuWattsPerCore
        self.memoryWattsPerGB = memoryWattsPerGB
    }

    public func joules(cpuSeconds: Double, memoryBytes: Int, wallSeconds: Double) -> Double {
        let gigabytes = Double(memoryBytes) / 1_000_000_000
        return max(0, cpuSeconds) * cpuWattsPerCore + gigabytes * memoryWattsPerGB * max(0, wallSeconds)
    }

    public var description: String { "cpu=\(cpuWattsPerCore),memory=\(memoryWattsPerGB)" }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// `off` (no model: energy is `null` where nothing measures it), `default`, or `cpu=W,memory=W` (either
    /// may be left out and keeps its default). Watts must be finite and not negative.
    public static func parse(_ text: String) throws(ParseError) -> PowerModel? {
        switch text {
        case "off": return nil
        case "default": return .cloudAverage
        default: break
        }
        var model = PowerModel.cloudAverage
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, let watts = Double(pair[1]), watts.isFinite, watts >= 0 else {
                throw ParseError(description: "power model: expected off, default or cpu=W,memory=W; got \(text)")
            }
            switch pair[0] {
            case "cpu": model.cpuWattsPerCore = watts
            case "memory": model.memoryWattsPerGB = watts
            default: throw ParseError(description: "power model: unknown coefficient \(pair[0]) (cpu, memory)")
            }
        }
        return model
    }
}

/// How a server or a run accounts energy: RAPL when readable, else the model (unless it is off), and
/// optionally carbon from a grid intensity.
public struct EnergySettings: Sendable {
    /// nil: no estimate; energy is `null` unless RAPL measures it.
    public var model: PowerModel? = .cloudAverage
    /// Grams of CO2e per kWh of the grid the machine draws from; nil: no carbon figure.
    public var carbonGramsPerKWh: Double?
    /// Where to look for RAPL (tests point it at a fake tree).
    public var powercapRoot = "/sys/class/powercap"

    public init(model: PowerModel? = .cloudAverage, carbonGramsPerKWh: Double? = nil) {
        self.model = model
        self.carbonGramsPerKWh = carbonGramsPerKWh
    }

    /// Parses a grid intensity in g/kWh (finite, not negative).
    public static func parseCarbonIntensity(_ text: String) -> Double? {
        guard let value = Double(text), value.isFinite, value >= 0 else { return nil }
        return value
    }
}

/// Energy of one call: the meter's reading around it, or the model's estimate from its footprint.
public final class EnergyAccountant: @unchecked Sendable {
    public let settings: EnergySettings
    let meter: EnergyMeter

    public init(_ settings: EnergySettings = EnergySettings()) {
        self.settings = settings
        meter = EnergyMeter(root: settings.powercapRoot)
    }

    /// What a call's energy figures will come from.
    public var source: EnergySource? { meter.available ? .rapl : settings.model == nil ? nil : .model }

    /// A reading to take before the call (nil without a meter).
    public func start() -> EnergyMeter.Reading? { meter.read() }

    /// Fills the footprint's energy, source and carbon from the reading taken before the call; the footprint's
    /// CPU time, memory and wall time must be final.
    public func finish(_ start: EnergyMeter.Reading?, _ footprint: inout Footprint) {
        footprint.energyJoules = nil
        footprint.energySource = nil
        footprint.carbonGrams = nil
        if let start, let end = meter.read() {
            footprint.energyJoules = meter.joules(from: start, to: end, cpuSeconds: footprint.cpuSeconds)
            footprint.energySource = .rapl
        } else if let model = settings.model {
            footprint.energyJoules = model.joules(cpuSeconds: footprint.cpuSeconds, memoryBytes: footprint.memoryBytes,
                                                  wallSeconds: footprint.wallSeconds)
            footprint.energySource = .model
        }
        if let joules = footprint.energyJoules, let intensity = settings.carbonGramsPerKWh {
            footprint.carbonGrams = joules / 3_600_000 * intensity
        }
    }

    /// One line for people: how energy is obtained here.
    public var methodDescription: String {
        switch source {
        case .rapl: return "measured: RAPL package energy apportioned by CPU time"
        case .model:
            let m = settings.model!
            return "estimated: \(m.cpuWattsPerCore) W per busy core and \(m.memoryWattsPerGB) W per GB of memory (RAPL is not readable here)"
        case nil: return "not measured (RAPL is not readable here and the power model is off)"
        }
    }
}
