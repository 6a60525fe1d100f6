import Foundation
import WASI
import WasmParser
import WasmTestSupport
import WasmVM
import XCTest

/// WASI preview1 as a guest sees it, through hand-assembled modules calling the imports directly.
final class WASITests: XCTestCase {
    /// A module importing `functions` from wasi_snapshot_preview1 (in order), with one page of memory
    /// exported as "memory" and an export "run" with `body` returning an i32.
    func guest(_ functions: [(String, [ValueType], [ValueType])], data: [(Int32, [UInt8])] = [], _ body: [Instruction]) -> TestModule {
        var m = TestModule()
        for (name, params, results) in functions { m.importFunction("wasi_snapshot_preview1", name, params, results) }
        m.memory = Limits(min: 1)
        m.exports = [("memory", .memory, 0)]
        m.data = data.map { (offset: $0.0, bytes: $0.1) }
        m.function([], [.i32], export: "run", body)
        return m
    }

    struct Run {
        var result: Int32?
        var exitCode: Int32?
        var memory: Memory
        var stdout: OutputBuffer
    }

    func run(_ module: TestModule, configure: (inout WASI.Configuration) -> Void = { _ in }) throws -> Run {
        var configuration = WASI.Configuration()
        let stdout = OutputBuffer(limit: 1 << 20)
        configuration.stdout = .buffer(stdout)
        configure(&configuration)
        let wasi = try WASI(configuration)
        let store = Store()
        let compiled = try CompiledModule(bytes: module.bytes)
        var imports = Imports()
        wasi.define(in: &imports, store: store, for: compiled.module)
        let instance = try compiled.instantiate(store: store, imports: imports)
        let memory = instance.memory("memory")!
        let outcome: Result<[Value], Trap>
        do throws(Trap) {
            outcome = .success(try instance.function("run")!.invoke())
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success(let values):
            guard case .i32(let v)? = values.first else { return Run(result: nil, exitCode: nil, memory: memory, stdout: stdout) }
            return Run(result: Int32(bitPattern: v), exitCode: nil, memory: memory, stdout: stdout)
        case .failure(let trap):
            guard case .exit(let code) = trap.reason else { throw trap }
            return Run(result: nil, exitCode: code, memory: memory, stdout: stdout)
        }
    }

    let i32 = ValueType.i32
    var fdWrite: (String, [ValueType], [ValueType]) { ("fd_write", [i32, i32, i32, i32], [i32]) }

    func testFdWriteGathersIovecsIntoStdout() throws {
        // iovecs at 0: {16, 5} {32, 6}; "hello" at 16, " world" at 32; nwritten at 48.
        let module = guest([fdWrite], data: [(0, [16, 0, 0, 0, 5, 0, 0, 0, 32, 0, 0, 0, 6, 0, 0, 0]),
                                             (16, Array("hello".utf8)), (32, Array(" world".utf8))],
                           [WasmTestSupport.i32(1), WasmTestSupport.i32(0), WasmTestSupport.i32(2), WasmTestSupport.i32(48), call(0)])
        let r = try run(module)
        XCTAssertEqual(r.result, 0)
        XCTAssertEqual(String(decoding: r.stdout.bytes, as: UTF8.self), "hello world")
        XCTAssertEqual(try r.memory.loadUInt32(at: 48), 11)
    }

    func testOutputBufferKeepsItsLimit() throws {
        let module = guest([fdWrite], data: [(0, [16, 0, 0, 0, 10, 0, 0, 0]), (16, Array("0123456789".utf8))],
                           [WasmTestSupport.i32(1), WasmTestSupport.i32(0), WasmTestSupport.i32(1), WasmTestSupport.i32(48), call(0)])
        let small = OutputBuffer(limit: 4)
        let r = try run(module) { $0.stdout = .buffer(small) }
        XCTAssertEqual(r.result, 0, "the guest is told everything was written")
        XCTAssertEqual(small.bytes, Array("0123".utf8))
        XCTAssertEqual(small.droppedByteCount, 6)
    }

    func testBadPointersAreEFAULTNotCrashes() throws {
        // An iovec pointing past the end of memory.
        let module = guest([fdWrite], data: [(0, [0xF0, 0xFF, 0, 0, 0x20, 0, 0, 0])],
                           [WasmTestSupport.i32(1), WasmTestSupport.i32(0), WasmTestSupport.i32(1), WasmTestSupport.i32(48), call(0)])
        XCTAssertEqual(try run(module).result, Int32(WASIErrno.fault.rawValue))
        let nwrittenOutside = guest([fdWrite], [WasmTestSupport.i32(1), WasmTestSupport.i32(0), WasmTestSupport.i32(0), WasmTestSupport.i32(-1), call(0)])
        XCTAssertEqual(try run(nwrittenOutside).result, Int32(WASIErrno.fault.rawValue))
    }

    func testFdReadFromRequestBytes() throws {
        let module = guest([("fd_read", [i32, i32, i32, i32], [i32])], data: [(0, [16, 0, 0, 0, 4, 0, 0, 0])],
                           [WasmTestSupport.i32(0), WasmTestSupport.i32(0), WasmTestSupport.i32(1), WasmTestSupport.i32(48), call(0)])
        let r = try run(module) { $0.stdin = .bytes(Array("abcdef".utf8)) }
        XCTAssertEqual(r.result, 0)
        XCTAssertEqual(try r.memory.read(at: 16, count: 4), Array("abcd".utf8))
        XCTAssertEqual(try r.memory.loadUInt32(at: 48), 4)
    }

    func testArgumentsAndEnvironment() throws {
        let module = guest([("args_sizes_get", [i32, i32], [i32]), ("environ_get", [i32, i32], [i32])], [
            WasmTestSupport.i32(0), WasmTestSupport.i32(4), call(0), op(.drop),
            WasmTestSupport.i32(100), WasmTestSupport.i32(200), call(1),
        ])
        let r = try run(module) {
            $0.arguments = ["prog", "a=1", "b"]
            $0.environment = [("REQUEST_METHOD", "POST")]
        }
        XCTAssertEqual(r.result, 0)
        XCTAssertEqual(try r.memory.loadUInt32(at: 0), 3)
        XCTAssertEqual(try r.memory.loadUInt32(at: 4), UInt32("prog\0a=1\0b\0".utf8.count))
        XCTAssertEqual(try r.memory.loadUInt32(at: 100), 200)
        XCTAssertEqual(try r.memory.read(at: 200, count: 20), Array("REQUEST_METHOD=POST\0".utf8))
    }

    /// Every entry NUL-terminated, one after another, each pointer at its own first byte; names and values
    /// copied as UTF-8 bytes (a multi-byte character, an empty value); arguments likewise.
    func testEnvironmentAndArgumentsArePackedWithTheirPointers() throws {
        let module = guest([("environ_get", [i32, i32], [i32]), ("args_get", [i32, i32], [i32])], [
            WasmTestSupport.i32(100), WasmTestSupport.i32(200), call(0), op(.drop),
            WasmTestSupport.i32(300), WasmTestSupport.i32(400), call(1),
        ])
        let r = try run(module) {
            $0.arguments = ["prog", "", "naïve"]
            $0.environment = [("A", "1"), ("CAFÉ", "crème"), ("EMPTY", "")]
        }
        XCTAssertEqual(r.result, 0)
        let environment = Array("A=1\0CAFÉ=crème\0EMPTY=\0".utf8)
        XCTAssertEqual(try r.memory.read(at: 200, count: environment.count), environment)
        XCTAssertEqual(try (0..<3).map { try r.memory.loadUInt32(at: 100 + 4 * $0) },
                       [200, 204, UInt32(204 + "CAFÉ=crème\0".utf8.count)])
        let arguments = Array("prog\0\0naïve\0".utf8)
        XCTAssertEqual(try r.memory.read(at: 400, count: arguments.count), arguments)
        XCTAssertEqual(try (0..<3).map { try r.memory.loadUInt32(at: 300 + 4 * $0) }, [400, 405, 406])
    }

    func testProcExitUnwindsWithTheCode() throws {
        let module = guest([("proc_exit", [i32], [])], [WasmTestSupport.i32(7), call(0), WasmTestSupport.i32(0)])
        XCTAssertEqual(try run(module).exitCode, 7)
    }

    func testNoPreopensMeansNoFiles() throws {
        let module = guest([("fd_prestat_get", [i32, i32], [i32])], [WasmTestSupport.i32(3), WasmTestSupport.i32(0), call(0)])
        XCTAssertEqual(try run(module).result, Int32(WASIErrno.badf.rawValue))
    }

    func testUnknownWASIFunctionsLinkAsENOSYSAndOtherModulesDoNot() throws {
        let module = guest([("sock_open_v2_future", [i32], [i32])], [WasmTestSupport.i32(0), call(0)])
        XCTAssertEqual(try run(module).result, Int32(WASIErrno.nosys.rawValue))
        var other = TestModule()
        other.importFunction("env", "foo", [], [])
        XCTAssertThrowsError(try run(other)) { XCTAssertEqual("\($0)", "unknown import: env.foo") }
    }

    /// The server's way to link: an import plan made once per module, functions defined by position per
    /// instance. It must give what `define` gives, ENOSYS stubs included, and check types all the same.
    func testImportPlanLinksLikeDefine() throws {
        let module = guest([("args_sizes_get", [i32, i32], [i32]), ("environ_get", [i32, i32], [i32]),
                            ("sock_open_v2_future", [i32], [i32]), fdWrite], data: [(300, [104, 105]), (16, [44, 1, 0, 0, 2, 0, 0, 0])], [
            WasmTestSupport.i32(0), WasmTestSupport.i32(4), call(0), op(.drop),
            WasmTestSupport.i32(100), WasmTestSupport.i32(200), call(1), op(.drop),
            WasmTestSupport.i32(1), WasmTestSupport.i32(16), WasmTestSupport.i32(1), WasmTestSupport.i32(24), call(3), op(.drop),
            WasmTestSupport.i32(0), call(2),
        ])
        let compiled = try CompiledModule(bytes: module.bytes)
        let plan = try XCTUnwrap(WASI.plan(for: compiled))
        for _ in 0..<3 {
            var configuration = WASI.Configuration()
            let stdout = OutputBuffer(limit: 1 << 20)
            configuration.stdout = .buffer(stdout)
            configuration.arguments = ["prog", "x"]
            configuration.environment = [("K", "v")]
            let wasi = try WASI(configuration), store = Store()
            let instance = try compiled.instantiate(store: store, importValues: wasi.importValues(plan, store: store))
            XCTAssertEqual(try instance.function("run")!.invoke(), [.i32(UInt32(WASIErrno.nosys.rawValue))])
            let memory = instance.memory("memory")!
            XCTAssertEqual(try memory.loadUInt32(at: 0), 2)
            XCTAssertEqual(try memory.read(at: 200, count: 4), Array("K=v\0".utf8))
            XCTAssertEqual(stdout.bytes, Array("hi".utf8))
        }

        var other = TestModule()
        other.importFunction("env", "foo", [], [])
        other.importFunction("wasi_snapshot_preview1", "fd_write", [i32, i32, i32, i32], [i32])
        XCTAssertNil(WASI.plan(for: try CompiledModule(bytes: other.bytes)), "a non-WASI import: link by name, which names it")

        var wrongType = TestModule()
        wrongType.importFunction("wasi_snapshot_preview1", "fd_write", [i32], [i32])
        let wrong = try CompiledModule(bytes: wrongType.bytes)
        let wasi = try WASI(WASI.Configuration()), store = Store()
        XCTAssertThrowsError(try wrong.instantiate(store: store, importValues: wasi.importValues(XCTUnwrap(WASI.plan(for: wrong)), store: store))) {
            XCTAssertTrue("\($0)".hasPrefix("incompatible import type for wasi_snapshot_preview1.fd_write"), "\($0)")
        }
        XCTAssertThrowsError(try wrong.instantiate(store: store, importValues: [])) {
            XCTAssertEqual("\($0)", "expected 1 import values, got 0")
        }
    }

    // MARK: Sandbox

    func withSandbox(_ body: (String, String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-wasi-\(UUID().uuidString)")
        let inside = root.appendingPathComponent("inside")
        try FileManager.default.createDirectory(at: inside.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("secret".utf8).write(to: root.appendingPathComponent("outside.txt"))
        try Data("visible".utf8).write(to: inside.appendingPathComponent("file.txt"))
        try FileManager.default.createSymbolicLink(atPath: inside.appendingPathComponent("escape").path, withDestinationPath: "../outside.txt")
        try FileManager.default.createSymbolicLink(atPath: inside.appendingPathComponent("absolute").path, withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: inside.appendingPathComponent("sub/back").path, withDestinationPath: "../file.txt")
        defer { try? FileManager.default.removeItem(at: root) }
        try body(root.path, inside.path)
    }

    /// path_open(3, follow, path, oflags 0, rights read, fdflags 0) -> errno; the new fd at 500.
    func open(_ path: String, in dir: String, follow: Bool = true) throws -> (Int32?, Run) {
        let bytes = Array(path.utf8)
        let module = guest([("path_open", [i32, i32, i32, i32, i32, .i64, .i64, i32, i32], [i32])], data: [(100, bytes)], [
            WasmTestSupport.i32(3), WasmTestSupport.i32(follow ? 1 : 0), WasmTestSupport.i32(100), WasmTestSupport.i32(Int32(bytes.count)),
            WasmTestSupport.i32(0), WasmTestSupport.i64(2), WasmTestSupport.i64(0), WasmTestSupport.i32(0), WasmTestSupport.i32(500), call(0),
        ])
        let r = try run(module) { $0.preopens = [(host: dir, guest: "/data")] }
        return (r.result, r)
    }

    func testPathsStayInsideThePreopen() throws {
        try withSandbox { _, inside in
            XCTAssertEqual(try open("file.txt", in: inside).0, 0)
            XCTAssertEqual(try open("sub/back", in: inside).0, 0, "a link that stays inside is followed")
            XCTAssertEqual(try open("sub/../file.txt", in: inside).0, 0)
            let notcapable = Int32(WASIErrno.notcapable.rawValue)
            XCTAssertEqual(try open("../outside.txt", in: inside).0, notcapable)
            XCTAssertEqual(try open("/etc/passwd", in: inside).0, notcapable)
            XCTAssertEqual(try open("escape", in: inside).0, notcapable, "a link pointing outside is refused")
            XCTAssertEqual(try open("absolute", in: inside).0, notcapable)
            XCTAssertEqual(try open("missing.txt", in: inside).0, Int32(WASIErrno.noent.rawValue))
        }
    }

    func testPrestatNamesThePreopen() throws {
        try withSandbox { _, inside in
            let module = guest([("fd_prestat_get", [i32, i32], [i32]), ("fd_prestat_dir_name", [i32, i32, i32], [i32])], [
                WasmTestSupport.i32(3), WasmTestSupport.i32(0), call(0), op(.drop),
                WasmTestSupport.i32(3), WasmTestSupport.i32(16), WasmTestSupport.i32(5), call(1),
            ])
            let r = try run(module) { $0.preopens = [(host: inside, guest: "/data")] }
            XCTAssertEqual(r.result, 0)
            XCTAssertEqual(try r.memory.loadUInt32(at: 4), 5)
            XCTAssertEqual(try r.memory.read(at: 16, count: 5), Array("/data".utf8))
        }
    }
}
