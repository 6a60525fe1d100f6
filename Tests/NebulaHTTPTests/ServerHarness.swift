import Foundation
import WasmParser
import WasmTestSupport
import XCTest
@testable import NebulaHTTP
#if canImport(Glibc)
import Glibc
#endif

/// A server on an ephemeral loopback port, serving the repository's functions plus purpose-built ones.
final class ServerHarness: @unchecked Sendable {
    let server: HTTPServer
    let thread: Thread
    let directory: URL
    let port: Int
    let platform: FunctionPlatform
    let logs = LogLines()
    let stopped = DispatchSemaphore(value: 0)

    /// Every log line of the platform and the server, thread-safe.
    final class LogLines: @unchecked Sendable {
        let lock = NSLock()
        var lines: [String] = []
        func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    var logLines: [String] { logs.all }

    init(history: CallHistory? = nil, energy: EnergySettings = EnergySettings(), configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let functions = repository.appendingPathComponent("functions")
        for file in try FileManager.default.contentsOfDirectory(atPath: functions.path) where file.hasSuffix(".wasm") || file.hasSuffix(".wat") {
            try FileManager.default.copyItem(at: functions.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        for (name, manifest) in [("wagi", #"{"wagi": true}"#), ("small", #"{"maxOutputBytes": 4, "contentType": "text/x-small"}"#),
                                 ("configured", #"{"args": ["--flag"], "env": {"MODE": "test"}}"#)] {
            let source = name == "configured" ? "env" : "echo"
            try FileManager.default.copyItem(at: repository.appendingPathComponent("functions/\(source).wasm"),
                                             to: directory.appendingPathComponent("\(name).wasm"))
            try Data(manifest.utf8).write(to: directory.appendingPathComponent("\(name).json"))
        }
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Tests/Fixtures/wasi-checks.wasm"),
                                         to: directory.appendingPathComponent("checks.wasm"))
        try ServerHarness.writeAbusiveFunctions(to: directory)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.functionsDirectory = directory.path
        configuration.workers = 2
        configure(&configuration)
        let logs = self.logs
        platform = FunctionPlatform(history: history, energy: energy, log: { line in logs.append(line) })
        try platform.load(directory: directory.path)
        server = HTTPServer(configuration: configuration, platform: platform, log: { line in logs.append(line) })
        port = try server.start()
        let server = self.server, stopped = self.stopped
        thread = Thread { server.run(); stopped.signal() }
        thread.start()
    }

    /// Shuts the server down; false when it did not stop within 15 seconds.
    @discardableResult
    func stop() -> Bool {
        server.requestShutdown()
        let result = stopped.wait(timeout: .now() + 15)
        try? FileManager.default.removeItem(at: directory)
        return result == .success
    }

    /// `_start` commands that misbehave, plus manifests giving them short deadlines.
    static func writeAbusiveFunctions(to directory: URL) throws {
        func write(_ name: String, _ module: TestModule, manifest: String? = nil) throws {
            try Data(module.bytes).write(to: directory.appendingPathComponent("\(name).wasm"))
            if let manifest { try Data(manifest.utf8).write(to: directory.appendingPathComponent("\(name).json")) }
        }
        var spin = TestModule()
        spin.function([], [], export: "_start", [block(.loop), op(.br, .index(0)), end])
        try write("spin", spin, manifest: #"{"timeoutMs": 300}"#)
        var deep = TestModule()
        deep.function([], [], export: "_start", [call(0)])
        try write("deep", deep)
        // A text function whose exception escapes `_start` after unwinding through a second function.
        let throwing = """
            (module
              (tag $oops (param i32 i64))
              (func $inner (throw $oops (i32.const 7) (i64.const -1)))
              (func (export "_start") (call $inner)))
            """
        try Data(throwing.utf8).write(to: directory.appendingPathComponent("throws.wat"))
        var bomb = TestModule()
        bomb.memory = Limits(min: 1)
        // Grow one page at a time until refused, then trap: the guest decides what to do when memory runs out.
        bomb.function([], [], export: "_start", [
            block(.loop), i32(1), op(.memoryGrow), i32(-1), op(.i32Ne), op(.brIf, .index(0)), end, op(.unreachable),
        ])
        try write("bomb", bomb, manifest: #"{"maxMemory": 4194304}"#)
        // Keeps every 64 KiB array it allocates in a linked list: the GC heap only grows, to its 1 MiB limit.
        // `gclist` builds and drops a list of 1,000 structs, then prints "ok".
        let hoard = """
            (module
              (type $chunk (array (mut i8)))
              (type $link (struct (field (ref $chunk)) (field (ref null $link))))
              (func (export "_start") (local $list (ref null $link))
                (loop $more
                  (local.set $list (struct.new $link (array.new_default $chunk (i32.const 65536)) (local.get $list)))
                  (br $more))))
            """
        try Data(hoard.utf8).write(to: directory.appendingPathComponent("gchoard.wat"))
        try Data(#"{"maxGCHeap": 1048576}"#.utf8).write(to: directory.appendingPathComponent("gchoard.json"))
        let list = #"""
            (module
              (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 16) "ok")
              (data (i32.const 0) "\10\00\00\00\02\00\00\00")
              (type $node (struct (field i32) (field (ref null $node))))
              (func (export "_start") (local $i i32) (local $list (ref null $node))
                (loop $build
                  (local.set $list (struct.new $node (local.get $i) (local.get $list)))
                  (br_if $build (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1000))))
                (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))))
            """#
        try Data(list.utf8).write(to: directory.appendingPathComponent("gclist.wat"))
        // Counts its calls in a global: a fresh instance per request always prints "1".
        var counter = TestModule()
        counter.importFunction("wasi_snapshot_preview1", "fd_write", [.i32, .i32, .i32, .i32], [.i32])
        counter.memory = Limits(min: 1)
        counter.exports = [("memory", .memory, 0)]
        counter.globals = [(GlobalType(valueType: .i32, mutability: .variable), i32(0))]
        counter.data = [(offset: 0, bytes: [16, 0, 0, 0, 1, 0, 0, 0])]
        counter.function([], [], export: "_start", [
            op(.globalGet, .index(0)), i32(1), op(.i32Add), op(.globalSet, .index(0)),
            i32(16), op(.globalGet, .index(0)), i32(48), op(.i32Add), load(.i32Store8),
            i32(1), i32(0), i32(1), i32(32), call(0), op(.drop),
        ])
        try write("counter", counter)
        // Reports what a fresh instance must see, then spoils all of it (see ServerTests.testNoStateCrossesRequests):
        // a data byte (memory 0 comes from a copy-on-write image once the function has run twice), a byte past
        // the data, a mutable global, a table slot, the memory size, a byte of a page it grows, a passive data
        // segment and a passive element segment (both dropped at the end), and the table's size (grown).
        let isolation = """
            (module
              (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 2)
              (global $g (mut i32) (i32.const 0))
              (type $r (func (result i32)))
              (table $t 2 funcref)
              (elem (i32.const 0) $one $one)
              (elem $e func $two)
              (data $p "7")
              (func $one (result i32) (i32.const 1))
              (func $two (result i32) (i32.const 2))
              (func $report (param $at i32) (param $value i32) (i32.store8 (local.get $at) (i32.add (i32.const 48) (local.get $value))))
              (func (export "_start")
                (call $report (i32.const 0) (i32.sub (i32.load8_u (i32.const 1024)) (i32.const 48)))
                (call $report (i32.const 1) (i32.load8_u (i32.const 100000)))
                (call $report (i32.const 2) (global.get $g))
                (call $report (i32.const 3) (call_indirect (type $r) (i32.const 1)))
                (call $report (i32.const 4) (memory.size))
                (drop (memory.grow (i32.const 1)))
                (call $report (i32.const 5) (i32.load8_u (i32.const 140000)))
                (memory.init $p (i32.const 200) (i32.const 0) (i32.const 1))
                (call $report (i32.const 6) (i32.sub (i32.load8_u (i32.const 200)) (i32.const 48)))
                (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 1))
                (call $report (i32.const 7) (call_indirect (type $r) (i32.const 0)))
                (call $report (i32.const 8) (table.size $t))
                (i32.store8 (i32.const 9) (i32.const 10))
                (i32.store8 (i32.const 1024) (i32.const 90))
                (i32.store8 (i32.const 100000) (i32.const 7))
                (i32.store8 (i32.const 140000) (i32.const 7))
                (global.set $g (i32.const 5))
                (table.set $t (i32.const 1) (ref.func $two))
                (drop (table.grow $t (ref.func $two) (i32.const 3)))
                (data.drop $p)
                (elem.drop $e)
                (i32.store (i32.const 16) (i32.const 0))
                (i32.store (i32.const 20) (i32.const 10))
                (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))))
              (data (i32.const 1024) "\(String(repeating: "a", count: 70_000))"))
            """
        try Data(isolation.utf8).write(to: directory.appendingPathComponent("isolation.wat"))
        // Writes "flood" to stdout (fd 1) or stderr (fd 2) forever, ignoring errors.
        for (name, fd) in [("floodout", Int32(1)), ("flooderr", Int32(2))] {
            var flood = TestModule()
            flood.importFunction("wasi_snapshot_preview1", "fd_write", [.i32, .i32, .i32, .i32], [.i32])
            flood.memory = Limits(min: 1)
            flood.exports = [("memory", .memory, 0)]
            flood.data = [(offset: 0, bytes: [16, 0, 0, 0, 64, 0, 0, 0]), (offset: 16, bytes: Array(String(repeating: "flood", count: 13).utf8.prefix(64)))]
            flood.function([], [], export: "_start", [
                block(.loop), i32(fd), i32(0), i32(1), i32(32), call(0), op(.drop), op(.br, .index(0)), end,
            ])
            try write(name, flood, manifest: #"{"maxOutputBytes": 65536, "timeoutMs": 20000}"#)
        }
        // The same infinite loop as `spin`, stopped by fuel instead of the clock.
        try write("fuelspin", spin, manifest: #"{"fuel": 5000000, "timeoutMs": 20000}"#)
        // A table of 100 million elements (over the store's limit), and one asking table.grow for 2^31.
        var bigTable = TestModule()
        bigTable.table = TableType(elementType: .funcref, limits: Limits(min: 100_000_000))
        bigTable.function([], [], export: "_start", [])
        try write("bigtable", bigTable)
        var growTable = TestModule()
        growTable.table = TableType(elementType: .funcref, limits: Limits(min: 0))
        growTable.function([], [], export: "_start", [
            op(.refNull, .heapType(.abstract(.func))), i32(Int32.max), op(.tableGrow, .index(0)), i32(-1), op(.i32Eq),
            op(.brIf, .index(0)), op(.unreachable),
        ])
        try write("growtable", growTable)
        // An active data segment that ends past the memory: instantiation traps.
        var pastMemory = TestModule()
        pastMemory.memory = Limits(min: 1)
        pastMemory.data = [(offset: 65_530, bytes: Array(repeating: 7, count: 10))]
        pastMemory.function([], [], export: "_start", [])
        try write("datapast", pastMemory)
        // 100,000 nested blocks: translated and run without host recursion.
        var nested = TestModule()
        nested.function([], [], export: "_start",
                        Array(repeating: block(.block), count: 100_000) + Array(repeating: end, count: 100_000))
        try write("nested", nested)
        // 2^32 - 1 locals: rejected at load (the module is skipped, the others serve).
        var locals = [UInt8]("\0asm".utf8) + [1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0]
        locals += [10, 9, 1, 7, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7F, 0x0B]
        try Data(locals).write(to: directory.appendingPathComponent("manylocals.wasm"))
        try Data("not wasm".utf8).write(to: directory.appendingPathComponent("broken.wasm"))
        try write("badmanifest", spin, manifest: #"{"timeoutMs": "soon"}"#)
    }
}

/// A test case with a server per test: subclasses create `harness` in `setUpWithError`; it stops after each test.
class HarnessTestCase: XCTestCase {
    var harness: ServerHarness!
    var port: Int { harness.port }

    override func tearDown() {
        harness?.stop()
        super.tearDown()
    }

    /// Whether `condition` holds within `seconds`, polled every 50 ms (for what the server does on its own time).
    func eventually(_ seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }
}

/// A minimal HTTP client over a raw socket, so tests control every byte.
final class RawClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw NSError(domain: "connect", code: Int(errno)) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Sends a whole request and reads its response.
    func request(_ text: String) -> (status: Int, headers: [String: String], body: String)? {
        send(text)
        return response()
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    var buffer: [UInt8] = []

    /// Reads one response (status, headers, body by Content-Length); nil if the connection closed first.
    func response(head: Bool = false) -> (status: Int, headers: [String: String], body: String)? {
        while true {
            if let end = find([13, 10, 13, 10]) {
                let headText = String(decoding: buffer[0..<end], as: UTF8.self)
                var lines = headText.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = (head || status == 100) ? 0 : Int(headers["content-length"] ?? "0") ?? 0
                while buffer.count < end + 4 + length { if !fill() { return nil } }
                let body = String(decoding: buffer[(end + 4)..<(end + 4 + length)], as: UTF8.self)
                buffer.removeFirst(end + 4 + length)
                return (status, headers, body)
            }
            if !fill() { return nil }
        }
    }

    /// True once the server has closed the connection (reads return 0).
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }

    func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { return false }
        buffer += chunk[0..<n]
        return true
    }

    func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for i in 0...(buffer.count - pattern.count) where Array(buffer[i..<(i + pattern.count)]) == pattern { return i }
        return nil
    }
}

func post(_ port: Int, _ path: String, _ body: String, headers: String = "") throws -> (status: Int, headers: [String: String], body: String)? {
    let client = try RawClient(port: port)
    client.send("POST \(path) HTTP/1.1\r\nHost: test\r\nContent-Length: \(body.utf8.count)\r\n\(headers)\r\n\(body)")
    return client.response()
}
