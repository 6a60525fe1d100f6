import Foundation
import WasmParser
import WasmTestSupport
import XCTest

/// `wasmrun` as a user runs it: the built binary, real files, exit codes and output.
final class WasmrunTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func wasmrun(_ arguments: [String], stdin: String = "") throws -> Result {
        let binary = Bundle.main.bundleURL.appendingPathComponent("wasmrun")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    func temporaryModule(_ module: TestModule) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-\(UUID().uuidString).wasm")
        try Data(module.bytes).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testFibonacciFunctionFromTheReadme() throws {
        let fib = Self.repository.appendingPathComponent("functions/fib.wasm").path
        let r = try wasmrun([fib], stdin: "10\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]\n")
        let bad = try wasmrun([fib], stdin: "ten")
        XCTAssertEqual(bad.status, 1, "the guest's exit code")
        XCTAssertTrue(bad.stderr.contains("expected a whole number"), bad.stderr)
    }

    func testInvokeParsesArgumentsAndPrintsResults() throws {
        var m = TestModule()
        m.function([.i32, .i64], [.i64, .f64], export: "mix", [get(1), get(0), op(.i64ExtendI32S), op(.i64Add), f64(1.5)])
        let path = try temporaryModule(m)
        let r = try wasmrun(["--invoke", "mix", path, "-2", "0x10"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "14\n1.5\n")
        let wrongCount = try wasmrun(["--invoke", "mix", path, "1"])
        XCTAssertEqual(wrongCount.status, 2)
        XCTAssertTrue(wrongCount.stderr.contains("takes 2 arguments"), wrongCount.stderr)
        let missing = try wasmrun(["--invoke", "nope", path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("has no exported function nope"), missing.stderr)
    }

    func testTrapsAndLimitsEndWithAClearError() throws {
        var m = TestModule()
        m.function([], [], export: "spin", [block(.loop), op(.br, .index(0)), end])
        m.function([.i32], [.i32], export: "deep", [get(0), call(1)])
        let path = try temporaryModule(m)
        let fuel = try wasmrun(["--fuel", "1000", "--invoke", "spin", path])
        XCTAssertEqual(fuel.status, 1)
        XCTAssertTrue(fuel.stderr.contains("fuel exhausted"), fuel.stderr)
        let deep = try wasmrun(["--max-call-depth", "1000", "--invoke", "deep", path, "1"])
        XCTAssertEqual(deep.status, 1)
        XCTAssertTrue(deep.stderr.contains("call stack exhausted"), deep.stderr)
    }

    func testValidateAndInspect() throws {
        var m = TestModule()
        m.memory = Limits(min: 1, max: 2)
        m.function([.i32], [.i32], export: "id", [get(0)])
        let path = try temporaryModule(m)
        let valid = try wasmrun(["validate", path])
        XCTAssertEqual(valid.status, 0)
        XCTAssertEqual(valid.stdout, "valid\n")
        let inspect = try wasmrun(["inspect", path])
        XCTAssertEqual(inspect.status, 0)
        XCTAssertTrue(inspect.stdout.contains("id: func 0 [i32] -> [i32]"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("memory: min 1, max 2 pages"), inspect.stdout)

        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-broken-\(UUID().uuidString).wasm")
        try Data([0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01]).write(to: broken)
        defer { try? FileManager.default.removeItem(at: broken) }
        let invalid = try wasmrun(["validate", broken.path])
        XCTAssertEqual(invalid.status, 1)
        XCTAssertTrue(invalid.stderr.contains("malformed module at offset 0x9: length out of bounds"), invalid.stderr)
        let missing = try wasmrun(["validate", "/nonexistent.wasm"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no such file"), missing.stderr)
    }

    func testUsageErrorsAndHelp() throws {
        let help = try wasmrun(["--help"])
        XCTAssertEqual(help.status, 0)
        for flag in ["--invoke", "--env", "--dir", "--fuel", "--max-memory", "--max-call-depth", "--stats", "--version"] {
            XCTAssertTrue(help.stdout.contains(flag), "help documents \(flag)")
        }
        XCTAssertEqual(try wasmrun(["--bogus", "x.wasm"]).status, 2)
        XCTAssertEqual(try wasmrun([]).status, 2)
        XCTAssertEqual(try wasmrun(["--max-memory", "lots", "x.wasm"]).status, 2)
    }

    func testEnvironmentAndStats() throws {
        let fib = Self.repository.appendingPathComponent("functions/fib.wasm").path
        let r = try wasmrun(["--stats", "--env", "A=1", fib], stdin: "5")
        XCTAssertEqual(r.stdout, "[0, 1, 1, 2, 3]\n")
        XCTAssertTrue(r.stderr.contains("instructions executed:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("translate time:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("peak memory:"), r.stderr)
    }
}
