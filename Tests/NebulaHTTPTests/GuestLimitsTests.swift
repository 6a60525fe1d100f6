import Foundation
import XCTest
@testable import NebulaHTTP

/// Every way a guest can try to exhaust the server ends with a clear error for that request, and the server
/// keeps serving everyone else (each abuse is followed by a normal request).
final class GuestLimitsTests: HarnessTestCase {
    override func setUpWithError() throws {
        harness = try ServerHarness { configuration in
            configuration.limits.maxBodyBytes = 1 << 20
        }
    }

    func assertStillServing(file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try post(port, "/functions/fib", "5")?.body, "[0, 1, 1, 2, 3]\n", "still serving", file: file, line: line)
    }

    func expect(_ function: String, _ status: Int, _ fragment: String, within seconds: Double,
                file: StaticString = #filePath, line: UInt = #line) throws {
        let start = Date()
        let response = try XCTUnwrap(try post(port, "/functions/\(function)", ""), file: file, line: line)
        XCTAssertEqual(response.status, status, response.body, file: file, line: line)
        XCTAssertTrue(response.body.contains(fragment), response.body, file: file, line: line)
        XCTAssertTrue(response.body.hasPrefix("{\"error\": "), "errors are JSON", file: file, line: line)
        XCTAssertLessThan(Date().timeIntervalSince(start), seconds, file: file, line: line)
        try assertStillServing(file: file, line: line)
    }

    func testInfiniteLoopsStopByDeadlineAndByFuel() throws {
        try expect("spin", 504, "deadline of 300 ms exceeded", within: 5)
        try expect("fuelspin", 504, "fuel exhausted", within: 10)
    }

    func testMillionDeepRecursionTraps() throws {
        try expect("deep", 500, "wasm trap: call stack exhausted", within: 10)
    }

    func testMemoryAndTableGrowthStopAtTheLimits() throws {
        try expect("bomb", 500, "wasm trap: unreachable", within: 10)  // memory.grow returned -1 at the limit
        // table.grow by 2^31 - 1 elements returns -1 (the guest then returns normally; it traps if it got them).
        XCTAssertEqual(try post(port, "/functions/growtable", "")?.status, 200)
        try assertStillServing()
    }

    /// Structs and arrays (WasmGC) are bounded by the manifest's `maxGCHeap`; what a call allocated is reported.
    func testTheGCHeapStopsAtItsLimitAndIsReported() throws {
        try expect("gchoard", 500, "wasm trap: GC heap exhausted", within: 10)
        let list = try XCTUnwrap(try post(port, "/functions/gclist", ""))
        XCTAssertEqual(list.status, 200, list.body)
        XCTAssertEqual(list.body, "ok")
        // 1,000 structs of a header, an i32 and a reference: 32 bytes each.
        XCTAssertEqual(list.headers["x-nebula-gc-heap-bytes"], "32000")
        XCTAssertEqual(try post(port, "/functions/fib", "5")?.headers["x-nebula-gc-heap-bytes"], "0")
    }

    func testHugeTablesAndDataPastMemoryFailAtInstantiation() throws {
        try expect("bigtable", 500, "table of 100000000 elements exceeds the limit of 10000000 elements", within: 5)
        try expect("datapast", 500, "out of bounds memory access", within: 5)
    }

    func testDeepNestingRunsAndHostileModulesAreRefusedAtLoad() throws {
        let nested = try XCTUnwrap(try post(port, "/functions/nested", ""))
        XCTAssertEqual(nested.status, 200, "100,000 nested blocks translate and run")
        XCTAssertEqual(try post(port, "/functions/manylocals", "")?.status, 404, "2^32-1 locals: skipped at load")
        try assertStillServing()
    }

    func testOutputFloodsAreStopped() throws {
        try expect("floodout", 502, "output larger than 65536 bytes", within: 5)
        try expect("flooderr", 502, "error output larger than 1048576 bytes", within: 5)
    }

    func testFiftyMegabyteRequestIsRefusedUnread() throws {
        let client = try RawClient(port: port)
        client.send("POST /functions/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 52428800\r\n\r\n")
        client.send([UInt8](repeating: 0x61, count: 1 << 20))
        let response = try XCTUnwrap(client.response())
        XCTAssertEqual(response.status, 413)
        XCTAssertTrue(response.body.contains("body larger than 1048576 bytes"), response.body)
        try assertStillServing()
    }
}
