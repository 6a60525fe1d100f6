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

    func testSIMDProgramsAndV128Arguments() throws {
        // A C program built with -msimd128 (f32x4, u8x16, i16x8 kernels, shuffles); output as wasmtime prints it.
        let kernels = Self.repository.appendingPathComponent("Benchmarks/simd/simd_kernels.wasm").path
        let run = try wasmrun([kernels, "3"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "simd_kernels: checksum 687749202657, ysum 1572413.152\n")

        var m = TestModule()
        m.function([.v128, .v128], [.v128], export: "add", [get(0), get(1), op(.i32x4Add)])
        let path = try temporaryModule(m)
        let lanes = try wasmrun(["--invoke", "add", path, "i32x4:1,2,3,-1", "0x0000000100000001000000010000000a"])
        XCTAssertEqual(lanes.status, 0, lanes.stderr)
        XCTAssertEqual(lanes.stdout, "0x0000000000000004000000030000000b\n")
        let floats = try wasmrun(["--invoke", "add", path, "f32x4:1.5,0,0,0", "i8x16:0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"])
        XCTAssertEqual(floats.stdout, "0x0000000000000000000000003fc00000\n")
        let bad = try wasmrun(["--invoke", "add", path, "i32x4:1,2,3", "0x1"])
        XCTAssertEqual(bad.status, 2, "three lanes for i32x4 is a usage error")
    }

    func testTrapsAndLimitsEndWithAClearError() throws {
        var m = TestModule()
        m.function([], [], export: "spin", [block(.loop), op(.br, .index(0)), end])
        m.function([.i32], [.i32], export: "deep", [get(0), call(1)])
        let path = try temporaryModule(m)
        let fuel = try wasmrun(["--fuel", "1000", "--invoke", "spin", path])
        XCTAssertEqual(fuel.status, 134)
        XCTAssertTrue(fuel.stderr.hasPrefix("error: wasm trap: fuel exhausted\n    at func 0"), fuel.stderr)
        let deep = try wasmrun(["--max-call-depth", "1000", "--invoke", "deep", path, "1"])
        XCTAssertEqual(deep.status, 134)
        XCTAssertTrue(deep.stderr.contains("error: wasm trap: call stack exhausted"), deep.stderr)
        XCTAssertTrue(deep.stderr.contains("more frames"), "a long backtrace is cut short")
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
        XCTAssertTrue(inspect.stdout.contains("memory 0: i32 min 1, max 2 pages"), inspect.stdout)

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

    /// Text modules wherever a module is taken (told by content, not by name), `print`, `wat2wasm`, features.
    func testTextModulesPrintAndWat2wasm() throws {
        let json = Self.repository.appendingPathComponent("functions/json-check.wat").path
        let ran = try wasmrun([json], stdin: #"{"a": [1, 2.5e3, true]}"#)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(ran.stdout, #"{"valid": true, "values": 5, "depth": 2}"# + "\n")
        let off = try wasmrun(["validate", "--features", "2.0", json])
        XCTAssertEqual(off.status, 1)
        XCTAssertTrue(off.stderr.contains("needs the exceptions feature"), off.stderr)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-text-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // A text module named .wasm is still text; the binary it becomes prints back to equivalent text.
        let source = directory.appendingPathComponent("add.wasm")
        try Data("(module (func (export \"add\") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))".utf8).write(to: source)
        XCTAssertEqual(try wasmrun(["--invoke", "add", source.path, "2", "40"]).stdout, "42\n")
        let binary = directory.appendingPathComponent("add.bin")
        XCTAssertEqual(try wasmrun(["wat2wasm", source.path, "-o", binary.path]).status, 0)
        XCTAssertEqual(try Data(contentsOf: binary).prefix(4), Data([0, 0x61, 0x73, 0x6D]))
        XCTAssertEqual(try wasmrun(["--invoke", "add", binary.path, "2", "40"]).stdout, "42\n")
        let printed = try wasmrun(["print", binary.path])
        XCTAssertTrue(printed.stdout.contains("(func (;0;) (type 0) (param i32 i32) (result i32)"), printed.stdout)
        XCTAssertTrue(printed.stdout.contains("i32.add"), printed.stdout)
        let again = directory.appendingPathComponent("printed.wat")
        XCTAssertEqual(try wasmrun(["print", binary.path, "-o", again.path]).status, 0)
        XCTAssertEqual(try wasmrun(["--invoke", "add", again.path, "20", "22"]).stdout, "42\n")
        let notText = try wasmrun(["wat2wasm", binary.path, "-o", directory.appendingPathComponent("x").path])
        XCTAssertEqual(notText.status, 1)
        XCTAssertTrue(notText.stderr.contains("binary module already"), notText.stderr)

        let bad = directory.appendingPathComponent("bad.wat")
        try Data("(module\n  (func (i32.const 1) (i32.addd)))".utf8).write(to: bad)
        let rejected = try wasmrun(["validate", bad.path])
        XCTAssertEqual(rejected.status, 1)
        XCTAssertTrue(rejected.stderr.contains("2:24: unknown operator i32.addd"), rejected.stderr)
    }

    /// An exception no handler catches ends the run like a trap: a clear message and 134.
    func testUncaughtExceptionEndsWith134() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-throw-\(UUID().uuidString).wat")
        try Data("""
            (module
              (tag $e (param i32 f64))
              (func $deep (param i32)
                (if (local.get 0) (then (call $deep (i32.sub (local.get 0) (i32.const 1))) (return)))
                (throw $e (i32.const 42) (f64.const 1.5)))
              (func (export "_start") (call $deep (i32.const 1000))))
            """.utf8).write(to: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try wasmrun([directory.path])
        XCTAssertEqual(result.status, 134)
        XCTAssertTrue(result.stderr.contains("error: uncaught wasm exception: tag 0, payload [i32:42, f64:1.5]"), result.stderr)
    }

    func testUsageErrorsAndHelp() throws {
        let help = try wasmrun(["--help"])
        XCTAssertEqual(help.status, 0)
        for flag in ["--invoke", "--env", "--dir", "--fuel", "--max-memory", "--max-gc-heap", "--max-call-depth", "--stats", "--version"] {
            XCTAssertTrue(help.stdout.contains(flag), "help documents \(flag)")
        }
        XCTAssertEqual(try wasmrun(["--bogus", "x.wasm"]).status, 2)
        XCTAssertEqual(try wasmrun([]).status, 2)
        XCTAssertEqual(try wasmrun(["--max-memory", "lots", "x.wasm"]).status, 2)
        XCTAssertEqual(try wasmrun(["--max-gc-heap", "0", "x.wasm"]).status, 2)
    }

    /// A WasmGC module: `--stats` reports its heap; `--max-gc-heap` bounds it (a trap, exit 134).
    func testGCHeapLimitAndStats() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gc-\(UUID().uuidString).wat")
        try Data("""
            (module
              (type $bytes (array (mut i8)))
              (func (export "_start") (param) (local $i i32) (local $keep (ref null $bytes))
                (loop $l
                  (local.set $keep (array.new_default $bytes (i32.const 100000)))
                  (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))))
            """.utf8).write(to: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        let stats = try wasmrun(["--stats", directory.path])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        // 100 arrays of 100 kB, one live at a time: collections keep the heap near the 1 MiB first threshold.
        XCTAssertTrue(stats.stderr.contains("GC heap: peak "), stats.stderr)
        XCTAssertTrue(stats.stderr.contains(" collections"), stats.stderr)
        let limited = try wasmrun(["--max-gc-heap", "64KiB", directory.path])
        XCTAssertEqual(limited.status, 134)
        XCTAssertTrue(limited.stderr.contains("GC heap exhausted"), limited.stderr)
    }

    func testEnvironmentAndStats() throws {
        let fib = Self.repository.appendingPathComponent("functions/fib.wasm").path
        let r = try wasmrun(["--stats", "--env", "A=1", fib], stdin: "5")
        XCTAssertEqual(r.stdout, "[0, 1, 1, 2, 3]\n")
        XCTAssertTrue(r.stderr.contains("instructions executed:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("translate time:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("peak memory:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("cpu time:"), r.stderr)
        let rapl = FileManager.default.fileExists(atPath: "/sys/class/powercap/intel-rapl:0/energy_uj")
        let modelled = try wasmrun(["--stats", "--power-model", "cpu=1000", "--carbon-intensity", "100", fib], stdin: "5")
        XCTAssertTrue(modelled.stderr.contains(rapl ? "(measured by RAPL)" : "(estimated by the power model cpu=1000.0,memory=0.392)"), modelled.stderr)
        XCTAssertTrue(modelled.stderr.contains("carbon: ") && modelled.stderr.contains("(at 100 g/kWh)"), modelled.stderr)
        if !rapl {
            let off = try wasmrun(["--stats", "--power-model", "off", fib], stdin: "5")
            XCTAssertTrue(off.stderr.contains("energy: not measured"), off.stderr)
        }
        XCTAssertEqual(try wasmrun(["--power-model", "cpu=-1", fib]).status, 2)
    }

    // MARK: Every example function

    func function(_ name: String) -> String { Self.repository.appendingPathComponent("functions/\(name).wasm").path }

    func testEveryExampleFunction() throws {
        let cases: [(String, String, String)] = [
            ("fib", "10", "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]\n"),
            ("fib", "not a number", "[0]\n"),
            ("fib", "100000", try wasmrun([function("fib")], stdin: "93").stdout),
            ("add", "2 40", "42\n"),
            ("factorial", "20", "2432902008176640000\n"),
            ("factorial", "1000", "295232799039604140847618609643520000000\n"),
            ("exponential", "0", "1\n"),
            ("fibonacci-recursive", "25", "75025\n"),
            ("prime-number", "1000", "7919\n"),
            ("mc-estimate-pi", "10000", try wasmrun([function("mc-estimate-pi")], stdin: "10000").stdout),
            ("hello", "", "Hello from Nebula!\n"),
            ("echo", "any bytes\n\u{1}", "any bytes\n\u{1}"),
        ]
        for (name, input, expected) in cases {
            let r = try wasmrun([function(name)], stdin: input)
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            XCTAssertEqual(r.stdout, expected, name)
        }
        let pi = Double(try wasmrun([function("mc-estimate-pi")], stdin: "100000").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertEqual(pi, 3.14, accuracy: 0.05)
        let bad = try wasmrun([function("add")], stdin: "one")
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("expected two integers"), bad.stderr)
        let env = try wasmrun(["--env", "GREETING=hi", function("env"), "a", "b c"])
        XCTAssertEqual(env.stdout, "arg[0]=\(function("env"))\narg[1]=a\narg[2]=b c\nenv GREETING=hi\n")
    }

    // MARK: WASI behaviour, through Tests/Fixtures/wasi-checks.c

    var checks: String { Self.repository.appendingPathComponent("Tests/Fixtures/wasi-checks.wasm").path }

    func testClocksRandomAndSleep() throws {
        XCTAssertEqual(try wasmrun([checks, "clocks"]).stdout, "monotonic ok\nrealtime ok\nresolution ok\n")
        XCTAssertEqual(try wasmrun([checks, "random"]).stdout, "random ok\n")
        XCTAssertEqual(try wasmrun([checks, "sleep"]).stdout, "slept ok\n")
    }

    func testStreamsExitCodesTrapsAndENOSYS() throws {
        let streams = try wasmrun([checks, "stderr"])
        XCTAssertEqual(streams.stdout, "to stdout\n")
        XCTAssertEqual(streams.stderr, "to stderr\n")
        XCTAssertEqual(try wasmrun([checks, "exit", "3"]).status, 3)
        let trap = try wasmrun([checks, "trap"])
        XCTAssertEqual(trap.status, 134)
        XCTAssertTrue(trap.stderr.hasPrefix("error: wasm trap: integer divide by zero\n    at main (func"), trap.stderr)
        XCTAssertEqual(try wasmrun([checks, "enosys"]).stdout, "sock_accept: 52\n")
    }

    func testPreopenedDirectoryAndRefusedEscapes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-cli-\(UUID().uuidString)")
        let inside = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try Data("from the host\n".utf8).write(to: inside.appendingPathComponent("given.txt"))
        try Data("secret\n".utf8).write(to: root.appendingPathComponent("outside.txt"))
        try FileManager.default.createSymbolicLink(atPath: inside.appendingPathComponent("link-out").path, withDestinationPath: "../outside.txt")
        let r = try wasmrun(["--dir", "\(inside.path)::/data", checks, "files"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            read back: written by the guest
            host file: from the host
            mkdir and rename ok
            size 21
            entry moved.txt
            unlink and rmdir ok
            escape with ..: Capabilities insufficient
            escape by symlink: Capabilities insufficient
            absolute path outside: Capabilities insufficient

            """)
        XCTAssertFalse(FileManager.default.fileExists(atPath: inside.appendingPathComponent("new.txt").path))
        XCTAssertEqual(try wasmrun([checks, "no-files"]).stdout, "without --dir: Capabilities insufficient\n")
    }
}
