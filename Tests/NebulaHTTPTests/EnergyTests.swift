import Foundation
import XCTest
@testable import NebulaHTTP

/// Energy per call: RAPL where readable, the power model elsewhere, `null` when the model is off; the source
/// labelled wherever energy is shown; carbon from a grid intensity.
final class EnergyModelTests: XCTestCase {
    func testModelArithmetic() {
        let model = PowerModel(cpuWattsPerCore: 4, memoryWattsPerGB: 0.5)
        // 2 ms of CPU at 4 W = 8 mJ; 2 GB for 10 ms at 0.5 W/GB = 10 mJ.
        XCTAssertEqual(model.joules(cpuSeconds: 0.002, memoryBytes: 2_000_000_000, wallSeconds: 0.010), 0.018, accuracy: 1e-12)
        XCTAssertEqual(model.joules(cpuSeconds: 0, memoryBytes: 0, wallSeconds: 1), 0)
        XCTAssertEqual(model.joules(cpuSeconds: -1, memoryBytes: 0, wallSeconds: -1), 0, "clock slack never gives negative energy")
        XCTAssertEqual(PowerModel.cloudAverage, PowerModel(cpuWattsPerCore: 3.5, memoryWattsPerGB: 0.392))
    }

    /// Header figures are printed by integer arithmetic; they must read exactly as `%.Nf` would print them.
    func testFixedDecimalsMatchPrintf() {
        var generator = SplitMix(state: 42)
        var values: [Double] = [0, 1, 0.5, 1e-10, 4.9999999999e-10, 5e-10, 123.456789012, 8.9e8, 1e12, -0.25, -1e-13, -0.0, .infinity]
        for _ in 0..<2000 { values.append(Double(bitPattern: generator.next() >> 2 | 0x3000_0000_0000_0000).truncatingRemainder(dividingBy: 1e6)) }
        for value in values {
            for decimals in [3, 9, 12] {
                XCTAssertEqual(Footprint.fixed(value, decimals: decimals), String(format: "%.\(decimals)f", value), "\(value) with \(decimals)")
            }
        }
        XCTAssertEqual(["0.000", "0.021", "1500.000", "12345678.901"],
                       [0, 0.0000214, 1.5, 12345.678901].map(Footprint.milliseconds))
    }

    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func testParsing() throws {
        XCTAssertNil(try PowerModel.parse("off"))
        XCTAssertEqual(try PowerModel.parse("default"), .cloudAverage)
        XCTAssertEqual(try PowerModel.parse("cpu=10,memory=1"), PowerModel(cpuWattsPerCore: 10, memoryWattsPerGB: 1))
        XCTAssertEqual(try PowerModel.parse("cpu=2"), PowerModel(cpuWattsPerCore: 2, memoryWattsPerGB: 0.392))
        for bad in ["cpu", "cpu=-1", "cpu=nan", "gpu=3", "cpu=1,memory=x", "cpu=inf"] {
            XCTAssertThrowsError(try PowerModel.parse(bad), bad)
        }
        XCTAssertEqual(EnergySettings.parseCarbonIntensity("400"), 400)
        XCTAssertNil(EnergySettings.parseCarbonIntensity("-3"))
    }

    func footprint() -> Footprint {
        var f = Footprint()
        f.cpuSeconds = 0.001
        f.wallSeconds = 0.002
        f.memoryBytes = 1_000_000_000
        return f
    }

    func testModelWhereRAPLIsUnreadableWithCarbon() {
        var settings = EnergySettings(model: PowerModel(cpuWattsPerCore: 3, memoryWattsPerGB: 1), carbonGramsPerKWh: 360)
        settings.powercapRoot = "/nonexistent"
        let accountant = EnergyAccountant(settings)
        XCTAssertEqual(accountant.source, .model)
        var f = footprint()
        accountant.finish(accountant.start(), &f)
        XCTAssertEqual(f.energySource, .model)
        XCTAssertEqual(try XCTUnwrap(f.energyJoules), 0.003 + 0.002, accuracy: 1e-12)
        // 5 mJ at 360 g/kWh: 0.005 / 3.6e6 × 360 g.
        XCTAssertEqual(try XCTUnwrap(f.carbonGrams), 0.005 / 3_600_000 * 360, accuracy: 1e-18)
        XCTAssertTrue(f.headers.contains { $0 == ("X-Nebula-Energy-Source", "model") })
        XCTAssertTrue(f.headers.contains { $0.0 == "X-Nebula-Energy-Joules" && $0.1 == "0.005000000" }, "\(f.headers)")
        XCTAssertTrue(f.headers.contains { $0.0 == "X-Nebula-Carbon-Grams" && $0.1 == "0.000000500000" }, "\(f.headers)")
        XCTAssertTrue(f.jsonFields.contains("\"energySource\": \"model\""))
        XCTAssertTrue(accountant.methodDescription.hasPrefix("estimated"))
    }

    func testOffGivesNull() {
        var settings = EnergySettings(model: nil, carbonGramsPerKWh: 400)
        settings.powercapRoot = "/nonexistent"
        let accountant = EnergyAccountant(settings)
        XCTAssertNil(accountant.source)
        var f = footprint()
        accountant.finish(accountant.start(), &f)
        XCTAssertNil(f.energyJoules)
        XCTAssertNil(f.carbonGrams, "no energy, no carbon")
        XCTAssertTrue(f.headers.contains { $0 == ("X-Nebula-Energy-Joules", "null") })
        XCTAssertTrue(f.headers.contains { $0 == ("X-Nebula-Energy-Source", "none") })
        XCTAssertFalse(f.headers.contains { $0.0 == "X-Nebula-Carbon-Grams" })
        XCTAssertTrue(f.jsonFields.contains("\"energyJoules\": null, \"energySource\": null"))
    }

    /// A readable RAPL counter is used even with a model configured; what it reads is what the call gets.
    func testRAPLWinsWhenReadable() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("powercap-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let package = root.appendingPathComponent("intel-rapl:0")
        try FileManager.default.createDirectory(at: package, withIntermediateDirectories: true)
        try "1000000000\n".write(to: package.appendingPathComponent("max_energy_range_uj"), atomically: true, encoding: .utf8)
        try "5000\n".write(to: package.appendingPathComponent("energy_uj"), atomically: true, encoding: .utf8)
        var settings = EnergySettings(model: .cloudAverage)
        settings.powercapRoot = root.path
        let accountant = EnergyAccountant(settings)
        XCTAssertEqual(accountant.source, .rapl)
        let start = accountant.start()
        try "5800\n".write(to: package.appendingPathComponent("energy_uj"), atomically: true, encoding: .utf8)
        var f = footprint()
        f.cpuSeconds = 1e9  // more than the machine's busy time over the call: the whole 800 µJ are ours
        accountant.finish(start, &f)
        XCTAssertEqual(f.energySource, .rapl)
        XCTAssertEqual(try XCTUnwrap(f.energyJoules), 0.0008, accuracy: 1e-12)
        XCTAssertTrue(accountant.methodDescription.hasPrefix("measured"))
    }
}

/// The source label over HTTP: headers, log line, history, stats, metrics and the status page.
final class EnergyLabelTests: HarnessTestCase {
    var historyPath = ""

    override func setUpWithError() throws {
        historyPath = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-energy-\(UUID().uuidString).jsonl").path
        var energy = EnergySettings(model: PowerModel(cpuWattsPerCore: 5, memoryWattsPerGB: 0.4), carbonGramsPerKWh: 300)
        energy.powercapRoot = "/nonexistent"
        harness = try ServerHarness(history: try CallHistory(path: historyPath), energy: energy) { configuration in
            configuration.adminToken = OperationsTests.token
        }
    }

    override func tearDown() {
        super.tearDown()
        try? FileManager.default.removeItem(atPath: historyPath)
    }

    func testEveryPlaceShowsTheEstimateAndItsSource() throws {
        let r = try XCTUnwrap(try post(port, "/functions/fib", "20"))
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers["x-nebula-energy-source"], "model")
        let joules = try XCTUnwrap(Double(r.headers["x-nebula-energy-joules"] ?? ""))
        let cpu = try XCTUnwrap(Double(r.headers["x-nebula-cpu-ms"] ?? "")) / 1000
        XCTAssertGreaterThanOrEqual(joules, cpu * 5 * 0.99, "at least the CPU term of the model")
        let grams = try XCTUnwrap(Double(r.headers["x-nebula-carbon-grams"] ?? ""))
        XCTAssertEqual(grams, joules / 3_600_000 * 300, accuracy: 1e-11)

        XCTAssertTrue(eventually { self.harness.logLines.contains { $0.contains("\"path\": \"/functions/fib\"") } })
        let line = try XCTUnwrap(harness.logLines.last { $0.contains("\"path\": \"/functions/fib\"") })
        XCTAssertTrue(line.contains("\"energySource\": \"model\"") && line.contains("\"carbonGrams\""), line)
        XCTAssertTrue(try String(contentsOfFile: historyPath, encoding: .utf8).contains("\"energySource\": \"model\""))

        let client = try RawClient(port: port)
        client.send("GET /admin/functions/fib/stats HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(OperationsTests.token)\r\n\r\n")
        let stats = try XCTUnwrap(client.response())
        XCTAssertTrue(stats.body.contains("\"energySource\": \"model\""), stats.body)
        let metrics = try XCTUnwrap(RawClient(port: port).request("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"))
        XCTAssertTrue(metrics.body.contains("nebula_energy_joules_total{function=\"fib\",source=\"model\"}"), metrics.body)
        let page = try XCTUnwrap(RawClient(port: port).request("GET / HTTP/1.1\r\nHost: t\r\n\r\n"))
        XCTAssertTrue(page.body.contains("estimated: 5.0 W per busy core"), "the method is named")
        XCTAssertTrue(page.body.contains("mJ, estimated"), "the total is marked as an estimate")
        XCTAssertTrue(page.body.contains("carbon at 300.0 g CO2e/kWh"))
    }
}
