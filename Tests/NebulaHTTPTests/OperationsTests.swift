import Foundation
import WasmParser
import WasmTestSupport
import XCTest
@testable import NebulaHTTP

/// Running nebula-serve for real: hot reload, the admin API, metrics, logs, footprint, status page, history.
final class OperationsTests: HarnessTestCase {
    static let token = "test-token-0123456789abcdef"
    var historyPath: String!

    override func setUpWithError() throws {
        historyPath = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-history-\(UUID().uuidString).jsonl").path
        harness = try ServerHarness(history: try CallHistory(path: historyPath)) { configuration in
            configuration.adminToken = OperationsTests.token
        }
    }

    override func tearDown() {
        super.tearDown()
        try? FileManager.default.removeItem(atPath: historyPath)
        try? FileManager.default.removeItem(atPath: historyPath + ".1")
    }

    /// A `_start` that counts to `loops` and then prints `text`.
    static func printer(_ text: String, loops: Int32 = 0) -> [UInt8] {
        var m = TestModule()
        m.importFunction("wasi_snapshot_preview1", "fd_write", [.i32, .i32, .i32, .i32], [.i32])
        m.memory = Limits(min: 1)
        m.exports = [("memory", .memory, 0)]
        let bytes = Array(text.utf8)
        m.data = [(offset: 0, bytes: [16, 0, 0, 0] + withUnsafeBytes(of: UInt32(bytes.count).littleEndian, Array.init)),
                  (offset: 16, bytes: bytes)]
        m.function([], [], locals: [.i32], export: "_start", [
            block(.block), block(.loop),
            get(0), i32(loops), op(.i32GeS), op(.brIf, .index(1)),
            get(0), i32(1), op(.i32Add), set(0), op(.br, .index(0)),
            end, end,
            i32(1), i32(0), i32(1), i32(32), call(0), op(.drop),
        ])
        return m.bytes
    }

    func request(_ method: String, _ path: String, body: [UInt8] = [], token: String? = OperationsTests.token) throws
        -> (status: Int, headers: [String: String], body: String) {
        let client = try RawClient(port: port)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.count)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        client.send(Array((head + "\r\n").utf8) + body)
        return try XCTUnwrap(client.response())
    }

    // MARK: Hot reload

    func testHotReloadAddsChangesKeepsOnBreakageAndRemoves() throws {
        harness.platform.watch(every: 0.1)
        let file = harness.directory.appendingPathComponent("greeting.wasm")
        try Data(Self.printer("v1")).write(to: file)
        XCTAssertTrue(try eventually { try post(port, "/functions/greeting", "")?.body == "v1" }, "a new module is served")
        try Data(Self.printer("v2")).write(to: file)
        XCTAssertTrue(try eventually { try post(port, "/functions/greeting", "")?.body == "v2" }, "a changed module is served")
        try Data("garbage".utf8).write(to: file)
        XCTAssertTrue(eventually { self.harness.logLines.contains { $0.contains("\"reject\"") && $0.contains("greeting") } })
        XCTAssertEqual(try post(port, "/functions/greeting", "")?.body, "v2", "a broken version leaves the previous one serving")
        let rejection = try XCTUnwrap(harness.logLines.last { $0.contains("\"reject\"") && $0.contains("greeting") })
        XCTAssertTrue(rejection.contains("the previous version"), rejection)
        try Data("{\"contentType\": \"text/x-v2\"}".utf8).write(to: harness.directory.appendingPathComponent("greeting.json"))
        try Data(Self.printer("v3")).write(to: file)
        XCTAssertTrue(try eventually { try post(port, "/functions/greeting", "")?.headers["content-type"] == "text/x-v2" },
                      "a manifest change is picked up")
        try FileManager.default.removeItem(at: file)
        XCTAssertTrue(try eventually { try post(port, "/functions/greeting", "")?.status == 404 }, "a removed module is gone")
    }

    func testRequestsInFlightFinishOnTheirVersion() throws {
        let file = harness.directory.appendingPathComponent("slow.wasm")
        try Data(Self.printer("old", loops: 3_000_000)).write(to: file)
        harness.platform.reload()
        let result = Collected<String>()
        let done = DispatchSemaphore(value: 0)
        let port = self.port
        Thread { result.append((try? post(port, "/functions/slow", ""))?.body ?? "failed"); done.signal() }.start()
        Thread.sleep(forTimeInterval: 0.05)
        try Data(Self.printer("new")).write(to: file)
        harness.platform.reload()
        XCTAssertEqual(try post(port, "/functions/slow", "")?.body, "new", "new requests get the new version at once")
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(result.items, ["old"], "the request in flight finished on the version it started with")
    }

    // MARK: Admin API

    func testAdminAPIRequiresTheToken() throws {
        XCTAssertEqual(try request("GET", "/admin/functions", token: nil).status, 401)
        let wrong = try request("GET", "/admin/functions", token: "test-token-0123456789abcdeX")
        XCTAssertEqual(wrong.status, 401)
        XCTAssertEqual(wrong.headers["www-authenticate"], "Bearer")
        XCTAssertEqual(try request("GET", "/admin/functions", token: String(Self.token.dropLast())).status, 401, "a prefix is not the token")
        XCTAssertEqual(try request("GET", "/admin/functions").status, 200)
    }

    func testAdminDeploysValidatesListsAndDeletes() throws {
        let bad = try request("PUT", "/admin/functions/newfn", body: [0, 0x61, 0x73, 0x6D, 1, 0, 0, 0, 1, 5])
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.body.contains("malformed module at offset"), bad.body)
        XCTAssertFalse(FileManager.default.fileExists(atPath: harness.directory.appendingPathComponent("newfn.wasm").path),
                       "nothing is written for an invalid module")
        for name in ["..", ".hidden", "a%2Fb", "%2e%2e", "-x", String(repeating: "n", count: 65)] {
            XCTAssertEqual(try request("PUT", "/admin/functions/\(name)", body: Self.printer("x")).status, 400, name)
        }
        XCTAssertNotEqual(try request("PUT", "/admin/functions/../escape", body: Self.printer("x")).status, 201)
        XCTAssertFalse(FileManager.default.fileExists(atPath: harness.directory.deletingLastPathComponent().appendingPathComponent("escape.wasm").path))

        let module = Self.printer("deployed")
        let created = try request("PUT", "/admin/functions/newfn", body: module)
        XCTAssertEqual(created.status, 201, created.body)
        XCTAssertTrue(created.body.contains("\"sha256\": \"\(SHA256.hex(module))\""), created.body)
        XCTAssertEqual(try post(port, "/functions/newfn", "")?.body, "deployed")
        let replaced = try request("PUT", "/admin/functions/newfn", body: Self.printer("replaced"))
        XCTAssertEqual(replaced.status, 200)
        XCTAssertEqual(try post(port, "/functions/newfn", "")?.body, "replaced")
        let manifest = try request("PUT", "/admin/functions/newfn/manifest", body: Array(#"{"contentType": "text/x-admin"}"#.utf8))
        XCTAssertEqual(manifest.status, 200, manifest.body)
        XCTAssertEqual(try post(port, "/functions/newfn", "")?.headers["content-type"], "text/x-admin")
        XCTAssertEqual(try request("PUT", "/admin/functions/newfn/manifest", body: Array(#"{"timeoutMs": "x"}"#.utf8)).status, 400)

        let listing = try request("GET", "/admin/functions")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(listing.body.utf8)) as? [String: Any])
        let functions = try XCTUnwrap(json["functions"] as? [[String: Any]])
        let entry = try XCTUnwrap(functions.first { $0["name"] as? String == "newfn" })
        for key in ["size", "sha256", "imports", "exports", "limits", "deployedAt", "stats"] { XCTAssertNotNil(entry[key], key) }
        XCTAssertEqual(entry["imports"] as? [String], ["wasi_snapshot_preview1.fd_write"])
        XCTAssertEqual((entry["stats"] as? [String: Any])?["count"] as? Int, 3, "three calls so far")

        XCTAssertEqual(try request("DELETE", "/admin/functions/newfn").status, 200)
        XCTAssertEqual(try post(port, "/functions/newfn", "")?.status, 404)
        XCTAssertEqual(try request("DELETE", "/admin/functions/newfn").status, 404)
        XCTAssertFalse(FileManager.default.fileExists(atPath: harness.directory.appendingPathComponent("newfn.wasm").path))
    }

    /// A text module uploads like a binary one (compiled once, at deploy), is kept as NAME.wat, and a binary
    /// upload of the same name replaces it (NAME.wat goes, NAME.wasm comes).
    func testAdminDeploysTextModules() throws {
        let text = """
            (module
              (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
              (memory 1)
              (data (i32.const 16) "from text")
              (func (export "_start")
                (i32.store (i32.const 0) (i32.const 16))
                (i32.store (i32.const 4) (i32.const 9))
                (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
            """
        let directory = harness.directory
        let created = try request("PUT", "/admin/functions/textfn", body: Array(text.utf8))
        XCTAssertEqual(created.status, 201, created.body)
        XCTAssertTrue(created.body.contains("\"format\": \"text\""), created.body)
        XCTAssertEqual(try post(port, "/functions/textfn", "")?.body, "from text")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("textfn.wat").path))
        harness.platform.reload()
        XCTAssertFalse(harness.logLines.contains { $0.contains("\"reload\"") && $0.contains("textfn") }, "the upload is not compiled twice")

        let broken = try request("PUT", "/admin/functions/textfn", body: Array("(module (func (i32.add)))".utf8))
        XCTAssertEqual(broken.status, 400)
        XCTAssertTrue(broken.body.contains("type mismatch"), broken.body)
        let unparsable = try request("PUT", "/admin/functions/textfn", body: Array("(module (fnuc))".utf8))
        XCTAssertEqual(unparsable.status, 400)
        XCTAssertTrue(unparsable.body.contains("1:10"), "text errors carry line:column: \(unparsable.body)")
        XCTAssertEqual(try post(port, "/functions/textfn", "")?.body, "from text", "rejected uploads change nothing")

        XCTAssertEqual(try request("PUT", "/admin/functions/textfn", body: Self.printer("binary now")).status, 200)
        XCTAssertEqual(try post(port, "/functions/textfn", "")?.body, "binary now")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("textfn.wat").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("textfn.wasm").path))
        XCTAssertEqual(try request("DELETE", "/admin/functions/textfn").status, 200)
        XCTAssertEqual(try post(port, "/functions/textfn", "")?.status, 404)
    }

    /// NAME.wat on disk is served and hot-reloaded like NAME.wasm; both at once is an error that leaves the
    /// serving version in place.
    func testTextFunctionsOnDiskAndAmbiguousNames() throws {
        func module(_ word: String) -> String {
            """
            (module
              (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
              (memory 1)
              (data (i32.const 16) "\(word)")
              (func (export "_start")
                (i32.store (i32.const 0) (i32.const 16))
                (i32.store (i32.const 4) (i32.const \(word.utf8.count)))
                (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
            """
        }
        let wat = harness.directory.appendingPathComponent("disk.wat")
        try Data(module("one").utf8).write(to: wat)
        harness.platform.reload()
        XCTAssertEqual(try post(port, "/functions/disk", "")?.body, "one")
        try Data(module("two").utf8).write(to: wat)
        harness.platform.reload()
        XCTAssertEqual(try post(port, "/functions/disk", "")?.body, "two", "a changed .wat is reloaded")
        try Data(Self.printer("three")).write(to: harness.directory.appendingPathComponent("disk.wasm"))
        harness.platform.reload()
        let rejection = try XCTUnwrap(harness.logLines.last { $0.contains("\"reject\"") && $0.contains("disk") })
        XCTAssertTrue(rejection.contains("both disk.wasm and disk.wat exist"), rejection)
        XCTAssertEqual(try post(port, "/functions/disk", "")?.body, "two", "the serving version stays")
        try FileManager.default.removeItem(at: wat)
        harness.platform.reload()
        XCTAssertEqual(try post(port, "/functions/disk", "")?.body, "three", "with the .wat gone the .wasm is served")
    }

    func testAtomicReplaceUnderLoad() throws {
        XCTAssertEqual(try request("PUT", "/admin/functions/flip", body: Self.printer("A")).status, 201)
        let answers = Collected<String>()
        let stop = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        let port = self.port
        for _ in 0..<4 {
            group.enter()
            Thread {
                while stop.wait(timeout: .now()) == .timedOut {
                    let r = try? post(port, "/functions/flip", "")
                    answers.append(r.map { "\($0.status) \($0.body)" } ?? "no response")
                }
                stop.signal()
                group.leave()
            }.start()
        }
        for i in 0..<20 { XCTAssertEqual(try request("PUT", "/admin/functions/flip", body: Self.printer(i % 2 == 0 ? "B" : "A")).status, 200) }
        stop.signal()
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertGreaterThan(answers.items.count, 20)
        XCTAssertEqual(Set(answers.items).subtracting(["200 A", "200 B"]), [], "every request got one whole version")
    }

    func testStatsAndHistory() throws {
        for _ in 0..<5 { XCTAssertEqual(try post(port, "/functions/fib", "7")?.status, 200) }
        XCTAssertEqual(try post(port, "/functions/add", "nope")?.status, 500)
        let stats = try request("GET", "/admin/functions/fib/stats")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stats.body.utf8)) as? [String: Any])
        let s = try XCTUnwrap(json["stats"] as? [String: Any])
        XCTAssertEqual(s["count"] as? Int, 5)
        XCTAssertEqual((s["outcomes"] as? [String: Int])?["ok"], 5)
        for key in ["p50Ms", "p95Ms", "p99Ms", "meanCpuMs", "meanInstructions"] { XCTAssertNotNil(s[key] as? Double, key) }
        XCTAssertTrue(s["totalEnergyJoules"] is NSNull || s["totalEnergyJoules"] is Double)
        XCTAssertEqual(try request("GET", "/admin/functions/nope/stats").status, 404)

        let history = try request("GET", "/admin/history?function=fib&limit=3")
        let records = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(history.body.utf8)) as? [String: Any])?["records"] as? [[String: Any]])
        XCTAssertEqual(records.count, 3)
        XCTAssertTrue(records.allSatisfy { $0["function"] as? String == "fib" && $0["inputBytes"] as? Int == 1 && $0["status"] as? Int == 200 })
        for key in ["timestamp", "startupMs", "durationMs", "cpuMs", "instructions", "memoryBytes", "energyJoules"] {
            XCTAssertNotNil(records[0][key], key)
        }
        let all = try request("GET", "/admin/history?limit=100")
        XCTAssertTrue(all.body.contains("\"function\": \"add\""), "other functions' records are there too")
        XCTAssertEqual(try request("GET", "/admin/history?limit=0").status, 400)
    }

    func testHistoryRotatesAndSurvivesReopening() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-rotate-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: path + ".1") }
        let history = try CallHistory(path: path, maxBytes: 2000)
        for i in 0..<40 { history.append(function: "f\(i)", inputBytes: i, status: 200, footprint: Footprint()) }
        let size = { (p: String) in (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
        XCTAssertLessThanOrEqual(size(path), 2000)
        XCTAssertGreaterThan(size(path + ".1"), 0, "the previous file is kept once")
        let reopened = try CallHistory(path: path, maxBytes: 2000)
        XCTAssertEqual(reopened.records(function: "f39", limit: 10).count, 1, "records survive a restart")
        XCTAssertEqual(reopened.records(function: "f0", limit: 10).count, 0, "the oldest were rotated away")
    }

    // MARK: Observability

    func testFootprintHeadersArePresentAndPlausible() throws {
        let r = try XCTUnwrap(try post(port, "/functions/fib", "20"))
        XCTAssertEqual(r.status, 200)
        let wall = try XCTUnwrap(Double(r.headers["x-nebula-duration-ms"] ?? ""))
        let cpu = try XCTUnwrap(Double(r.headers["x-nebula-cpu-ms"] ?? ""))
        let startup = try XCTUnwrap(Double(r.headers["x-nebula-startup-ms"] ?? ""))
        let instructions = try XCTUnwrap(Int(r.headers["x-nebula-instructions"] ?? ""))
        let memory = try XCTUnwrap(Int(r.headers["x-nebula-memory-bytes"] ?? ""))
        XCTAssertGreaterThan(instructions, 1000)
        XCTAssertGreaterThan(wall, 0)
        XCTAssertLessThanOrEqual(cpu, wall + 5, "thread CPU cannot exceed wall time (plus clock slack)")
        XCTAssertLessThanOrEqual(startup, wall)
        XCTAssertGreaterThanOrEqual(memory, 65536, "fib.wasm has at least one page")
        XCTAssertEqual(memory % 65536, 0)
        // RAPL where readable, else the default power model: a figure either way, labelled with its source.
        XCTAssertNotNil(Double(try XCTUnwrap(r.headers["x-nebula-energy-joules"])))
        XCTAssertEqual(r.headers["x-nebula-energy-source"], EnergyMeter().available ? "rapl" : "model")
        // A bigger input executes more instructions.
        let more = try XCTUnwrap(Int(try XCTUnwrap(try post(port, "/functions/fib", "60")).headers["x-nebula-instructions"] ?? ""))
        XCTAssertGreaterThan(more, instructions)
    }

    func testLogLinesAreJSONWithTheFootprint() throws {
        XCTAssertEqual(try post(port, "/functions/fib", "5")?.status, 200)
        XCTAssertEqual(try post(port, "/functions/checks", "", headers: "")?.status != nil, true)
        XCTAssertTrue(eventually { self.harness.logLines.contains { $0.contains("\"path\": \"/functions/fib\"") } })
        for line in harness.logLines {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line.utf8)), "not JSON: \(line)")
        }
        let line = try XCTUnwrap(harness.logLines.last { $0.contains("\"path\": \"/functions/fib\"") })
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        for key in ["timestamp", "method", "path", "function", "status", "durationMs", "cpuMs", "instructions", "memoryBytes",
                    "energyJoules", "bytesIn", "bytesOut"] {
            XCTAssertNotNil(object[key], "\(key) in \(line)")
        }
        XCTAssertTrue(harness.logLines.contains { $0.contains("\"event\": \"load\"") && $0.contains("\"timestamp\"") })
    }

    func testGuestStderrExcerptIsLogged() throws {
        let r = try XCTUnwrap(try post(port, "/functions/add", "nope"))
        XCTAssertEqual(r.status, 500)
        XCTAssertTrue(eventually { self.harness.logLines.contains { $0.contains("\"path\": \"/functions/add\"") && $0.contains("\"stderr\": ") } })
    }

    func testMetricsParseAsPrometheusExposition() throws {
        for _ in 0..<3 { _ = try post(port, "/functions/fib", "5") }
        _ = try post(port, "/functions/spin", "")
        let r = try XCTUnwrap(try RawClient(port: port).request("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"))
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        let families = try PrometheusText.parse(r.body)
        let invocations = try XCTUnwrap(families["nebula_invocations_total"])
        XCTAssertEqual(invocations.type, "counter")
        XCTAssertEqual(invocations.value(["function": "fib", "outcome": "ok"]), 3)
        XCTAssertEqual(invocations.value(["function": "spin", "outcome": "timeout"]), 1)
        let duration = try XCTUnwrap(families["nebula_invocation_duration_seconds"])
        XCTAssertEqual(duration.type, "histogram")
        let buckets = duration.samples.filter { $0.name.hasSuffix("_bucket") && $0.labels["function"] == "fib" }
        XCTAssertEqual(buckets.last?.labels["le"], "+Inf")
        XCTAssertEqual(buckets.last?.value, 3)
        XCTAssertEqual(zip(buckets, buckets.dropFirst()).allSatisfy { $0.value <= $1.value }, true, "cumulative buckets")
        XCTAssertGreaterThan(try XCTUnwrap(families["nebula_instructions_total"]?.value(["function": "fib"])), 0)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(families["nebula_http_responses_total"]?.value(["code": "200"])), 3)
        for name in ["nebula_instantiation_duration_seconds", "nebula_invocations_in_flight", "nebula_invocations_queued",
                     "nebula_open_connections", "process_resident_memory_bytes", "nebula_cpu_seconds_total"] {
            XCTAssertNotNil(families[name], name)
        }
        XCTAssertGreaterThan(try XCTUnwrap(families["process_resident_memory_bytes"]?.value([:])), 1_000_000)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(families["nebula_open_connections"]?.value([:])), 1)
    }

    func testStatusPageHealthAndReadiness() throws {
        _ = try post(port, "/functions/fib", "5")
        let page = try XCTUnwrap(try RawClient(port: port).request("GET / HTTP/1.1\r\nHost: t\r\n\r\n"))
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.body.hasPrefix("<!doctype html>"))
        XCTAssertTrue(page.body.contains("<code>fib</code></a></td><td>1</td>"), "live counts in the table")
        XCTAssertTrue(page.body.contains("<form id=\"invoke\" method=\"get\" action=\"/\">") && page.body.contains("<option>fib</option>"))
        XCTAssertTrue(page.body.contains("<svg class=\"sparkline\""), "a sparkline per function")
        XCTAssertTrue(page.body.contains("<form id=\"compare\""))
        XCTAssertFalse(page.body.contains("http://") || page.body.contains("https://"), "no external assets")
        XCTAssertEqual(try RawClient(port: port).request("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n")?.status, 200)
        XCTAssertEqual(try RawClient(port: port).request("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")?.status, 405)
    }

    func page(_ target: String, accept: String? = nil, method: String = "GET") throws -> (status: Int, headers: [String: String], body: String) {
        let client = try RawClient(port: port)
        client.send("\(method) \(target) HTTP/1.1\r\nHost: t\r\n\(accept.map { "Accept: \($0)\r\n" } ?? "")\r\n")
        return try XCTUnwrap(client.response(head: method == "HEAD"))
    }

    func occurrences(_ text: String, _ pattern: String) -> Int { text.components(separatedBy: pattern).count - 1 }

    /// The invoke form's result, as its GET link gives it: 7 calls run on the server, each a bar split into
    /// start-up and run, the footprint charted per call, every call's figures in a table, all counted.
    func testStatusPageRunsCallsAndChartsThem() throws {
        for _ in 0..<3 { _ = try post(port, "/functions/fib", "5") }
        let r = try page("/?invoke=fib&input=10&calls=7")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers["cache-control"], "no-store")
        let perCall = try XCTUnwrap(r.body.range(of: "<figure id=\"per-call\">").map { String(r.body[$0.upperBound...]) })
        XCTAssertTrue(perCall.hasPrefix("<svg class=\"chart bars wide\""), String(perCall.prefix(80)))
        XCTAssertTrue(perCall.prefix(300).contains("data-bars=\"7\""))
        XCTAssertEqual(occurrences(perCall.components(separatedBy: "</svg>")[0], "<rect class=\"hit\""), 7, "a hover target per call")
        XCTAssertTrue(perCall.contains("<title>call 7: status 200, start-up "))
        XCTAssertEqual(occurrences(r.body, "<tr class=\"call\">"), 7)
        XCTAssertEqual(occurrences(r.body, "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]"), 7, "every call's output")
        XCTAssertTrue(r.body.contains("7 calls of fib(“10”)"))
        for figure in ["Instructions", "Peak memory", "CPU time"] {
            XCTAssertTrue(r.body.contains("<figure><figcaption>\(figure)</figcaption><svg"), figure)
        }
        XCTAssertTrue(r.body.contains("id=\"energy-unmeasured\"") || r.body.contains("Energy (RAPL)"))
        XCTAssertTrue(r.body.contains("<option selected>fib</option>"), "the form keeps what was asked")
        XCTAssertFalse(r.body.contains("http://") || r.body.contains("https://"), "no external assets")
        XCTAssertEqual(harness.platform.function(named: "fib")?.stats.summary.count, 10, "page calls count like any other")
    }

    func testStatusPageComparesTwoSamples() throws {
        let r = try page("/?compare=1&a=fib&ainput=5&b=fib&binput=12&calls=4")
        XCTAssertEqual(r.status, 200)
        let result = try XCTUnwrap(r.body.range(of: "<div class=\"result\" id=\"comparison\">").map { String(r.body[$0.upperBound...]) })
        XCTAssertTrue(result.contains("fib(“5”) against fib(“12”)"))
        XCTAssertEqual(occurrences(result, "data-samples=\"2\""), 2, "total time and start-up, both samples on one scale")
        XCTAssertTrue(result.contains("<figure id=\"compare-total\">") && result.contains("<figure id=\"compare-startup\">"))
        XCTAssertTrue(result.contains("<td><span class=\"key a\"></span>fib(“5”)</td><td>4</td>"))
        XCTAssertTrue(result.contains("<td><span class=\"key b\"></span>fib(“12”)</td><td>4</td>"))
        XCTAssertTrue(result.contains("Median of B / median of A"))
        XCTAssertEqual(harness.platform.function(named: "fib")?.stats.summary.count, 8)
        let missing = try page("/?invoke=nope&calls=3")
        XCTAssertEqual(missing.status, 200)
        XCTAssertTrue(missing.body.contains("no function called nope"))
        XCTAssertEqual(try page("/?invoke=fib", method: "DELETE").status, 405)
    }

    /// One page run at a time: a second one while the first runs is told to come back, then succeeds.
    func testOnePageRunAtATime() throws {
        let port = self.port
        let first = Collected<Int>()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let client = try? RawClient(port: port)
            client?.send("GET /?invoke=spin&calls=4 HTTP/1.1\r\nHost: t\r\n\r\n")
            first.append(client?.response()?.status ?? 0)
            done.signal()
        }
        XCTAssertTrue(eventually { self.harness.server.pageRuns.holders == 1 }, "the first run starts")
        XCTAssertEqual(try page("/?invoke=fib&calls=1").status, 503, "refused while the first runs")
        let busy = try page("/?compare=1&a=fib&calls=1")
        XCTAssertEqual(busy.status, 503)
        XCTAssertEqual(busy.headers["retry-after"], "5")
        XCTAssertTrue(busy.body.contains("already in progress"))
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success)
        XCTAssertEqual(first.items, [200])
        XCTAssertEqual(try page("/?invoke=fib&calls=1").status, 200, "the gate opens again")
    }

    /// A browser asking for a function gets its page; API clients, and browsers asking a WAGI function, get
    /// the function as before.
    func testFunctionPageByAccept() throws {
        for input in ["5", "10", "x"] { _ = try post(port, "/functions/fib", input) }
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        let r = try page("/functions/fib", accept: browser)
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertEqual(r.headers["vary"], "Accept")
        for id in ["latency", "rate", "errors", "cpu", "instructions"] {
            XCTAssertTrue(r.body.contains("<figure id=\"\(id)\">"), id)
        }
        XCTAssertTrue(r.body.contains("<li>calls<strong>3</strong></li>"))
        XCTAssertTrue(r.body.contains("data-points=\"\(LatencyTimeline.slotCount)\""))
        XCTAssertTrue(r.body.contains("<table id=\"intervals\">"), "the charts' data as a table")
        XCTAssertEqual(harness.platform.function(named: "fib")?.stats.summary.count, 3, "showing the page runs nothing")
        for accept in [nil, "*/*", "application/json", "text/html;q=0, */*"] as [String?] {
            let invoked = try page("/functions/fib", accept: accept)
            XCTAssertEqual(invoked.status, 200)
            XCTAssertFalse(invoked.body.contains("<!doctype html>"), "\(accept ?? "no Accept") invokes")
        }
        XCTAssertEqual(harness.platform.function(named: "fib")?.stats.summary.count, 7)
        let wagi = try page("/functions/wagi", accept: browser)
        XCTAssertFalse(wagi.body.contains("<!doctype html>"), "a WAGI function serves browsers itself")
        XCTAssertEqual(try page("/functions/fib", accept: browser, method: "HEAD").status, 200)
    }

    func testAdminAPIIsOffWithoutAToken() throws {
        let plain = try ServerHarness()
        defer { plain.stop() }
        let client = try RawClient(port: plain.port)
        let r = try XCTUnwrap(client.request("GET /admin/functions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer anything-at-all-here\r\n\r\n"))
        XCTAssertEqual(r.status, 404)
        XCTAssertTrue(r.body.contains("the admin API is off"))
    }
}

final class FootprintMethodTests: XCTestCase {
    func testEnergyCounterWrapAndApportioning() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("powercap-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let package = root.appendingPathComponent("intel-rapl:0")
        try FileManager.default.createDirectory(at: package, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("intel-rapl:0:0"), withIntermediateDirectories: true)
        try "1000000\n".write(to: package.appendingPathComponent("max_energy_range_uj"), atomically: true, encoding: .utf8)
        try "999000\n".write(to: package.appendingPathComponent("energy_uj"), atomically: true, encoding: .utf8)
        let meter = EnergyMeter(root: root.path)
        XCTAssertTrue(meter.available)
        XCTAssertEqual(meter.domains.count, 1, "sub-domains (intel-rapl:0:0) are parts of the package, not counted again")
        let start = EnergyMeter.Reading(microjoules: [999_000], busyCPUSeconds: 10)
        let wrapped = EnergyMeter.Reading(microjoules: [3_000], busyCPUSeconds: 12)
        XCTAssertEqual(meter.joules(from: start, to: wrapped, cpuSeconds: 2), 0.004, accuracy: 1e-12, "wrapped: 1000 + 3000 µJ, all CPU ours")
        XCTAssertEqual(meter.joules(from: start, to: wrapped, cpuSeconds: 0.5), 0.001, accuracy: 1e-12, "a quarter of the CPU, a quarter of the energy")
        XCTAssertFalse(EnergyMeter(root: "/nonexistent").available)
    }

    func testSHA256KnownAnswers() {
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

/// A small parser of the Prometheus text exposition format (0.0.4), strict enough to catch malformed output:
/// every sample belongs to a family declared with HELP and TYPE, label values are quoted and escaped, values
/// are numbers.
enum PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Family {
        var type = ""
        var help = ""
        var samples: [Sample] = []
        func value(_ labels: [String: String]) -> Double? {
            samples.first { $0.labels == labels && !$0.name.hasSuffix("_bucket") && !$0.name.hasSuffix("_sum") && !$0.name.hasSuffix("_count") }?.value
        }
    }

    struct Malformed: Error, CustomStringConvertible { var description: String }

    static func parse(_ text: String) throws -> [String: Family] {
        var families: [String: Family] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) where !line.isEmpty {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw Malformed(description: line) }
                if line.hasPrefix("# TYPE ") {
                    guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[1]) else { throw Malformed(description: line) }
                    families[parts[0], default: Family()].type = parts[1]
                } else {
                    families[parts[0], default: Family()].help = parts[1]
                }
                continue
            }
            guard !line.hasPrefix("#") else { continue }
            var name = "", labels: [String: String] = [:]
            var rest = Substring(line)
            name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
            rest = rest.dropFirst(name.count)
            guard !name.isEmpty else { throw Malformed(description: line) }
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" {
                    let key = String(rest.prefix { $0 != "=" })
                    rest = rest.dropFirst(key.count)
                    guard rest.hasPrefix("=\"") else { throw Malformed(description: line) }
                    rest = rest.dropFirst(2)
                    var value = ""
                    while let c = rest.first, c != "\"" {
                        if c == "\\" {
                            rest = rest.dropFirst()
                            guard let e = rest.first else { throw Malformed(description: line) }
                            value.append(e == "n" ? "\n" : e)
                        } else {
                            value.append(c)
                        }
                        rest = rest.dropFirst()
                    }
                    guard rest.first == "\"" else { throw Malformed(description: line) }
                    rest = rest.dropFirst()
                    labels[key] = value
                    if rest.first == "," { rest = rest.dropFirst() }
                    guard !rest.isEmpty else { throw Malformed(description: line) }
                }
                rest = rest.dropFirst()
            }
            guard rest.first == " ", let value = Double(rest.dropFirst()) ?? (rest.dropFirst() == "+Inf" ? Double.infinity : nil) else {
                throw Malformed(description: line)
            }
            let family = [name, String(name.dropLast(7)), String(name.dropLast(4)), String(name.dropLast(6))]
                .first { families[$0]?.type.isEmpty == false }
            guard let family else { throw Malformed(description: "sample without a TYPE: \(line)") }
            families[family]?.samples.append(Sample(name: name, labels: labels, value: value))
        }
        for (name, family) in families where family.help.isEmpty || family.type.isEmpty {
            throw Malformed(description: "family \(name) lacks HELP or TYPE")
        }
        return families
    }
}
