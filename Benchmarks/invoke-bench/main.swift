import Foundation
import NebulaHTTP

/// The cost of one invocation as nebula-serve performs it (a kept instance reset after each request where the
/// module allows it, else a fresh store and instantiation; WASI; `_start`),
/// in-process: `invoke-bench [FUNCTION.wasm] [BODY] [ITERATIONS] [--stages] [--rss]`.
/// `invoke-bench --data-mib N [BODY] [ITERATIONS]` generates the function instead: N MiB of data segments, of
/// which `_start` reads three bytes and writes one page (what start-up costs when the data is large).
var arguments = CommandLine.arguments.filter { !$0.hasPrefix("--") || $0 == "--data-mib" }
if let flag = arguments.firstIndex(of: "--data-mib"), flag + 1 < arguments.count, let mib = Int(arguments[flag + 1]) {
    arguments.replaceSubrange(flag...(flag + 1), with: [try generateDataFunction(mebibytes: mib)])
}
let path = arguments.count > 1 ? arguments[1] : "functions/fib.wasm"
let body = arguments.count > 2 ? arguments[2] : "10"
let iterations = arguments.count > 3 ? Int(arguments[3]) ?? 2000 : 2000
let directory = (path as NSString).deletingLastPathComponent
let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
let platform = FunctionPlatform(log: { _ in })
try platform.load(directory: directory.isEmpty ? "." : directory)
guard let function = platform.function(named: name) else {
    print("invoke-bench: no function \(name) in \(directory)")
    exit(1)
}
let request = HTTPRequest(method: "POST", target: "/functions/\(name)", path: "/functions/\(name)", query: "", minorVersion: 1,
                          headers: [("Host", "bench")], body: Array(body.utf8))
let invocation = Invocation(request: request, serverName: "127.0.0.1", serverPort: 8080, remoteAddress: "127.0.0.1")
var output = platform.invoke(function, invocation).response
print("response \(output.status): \(String(decoding: output.body, as: UTF8.self).prefix(80))")
let start = DispatchTime.now().uptimeNanoseconds
for _ in 0..<iterations { output = platform.invoke(function, invocation).response }
let micros = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(iterations)
print(String(format: "%@: %.1f µs per invocation (%d iterations)", name, micros, iterations))

// Stage breakdown (the work FunctionPlatform.invoke does, timed piecewise), for both ways to a fresh instance.
import WASI
import WasmVM
if CommandLine.arguments.contains("--stages") {
    func configuration() -> WASI.Configuration {
        var configuration = WASI.Configuration()
        configuration.stdin = .bytes(Array(body.utf8))
        configuration.stdout = .buffer(OutputBuffer(limit: 1 << 20))
        return configuration
    }
    let n = Double(iterations) * 1e3
    // Instantiated per request: a store, WASI's functions defined in it, the module instantiated, all freed after.
    var t = [Double](repeating: 0, count: 4)
    for _ in 0..<iterations {
        var c = DispatchTime.now().uptimeNanoseconds
        func lap(_ i: Int) { let n = DispatchTime.now().uptimeNanoseconds; t[i] += Double(n - c); c = n }
        do {
            let store = Store()
            let wasi = try WASI(configuration())
            let values = wasi.importValues(function.wasiPlan!, store: store)
            lap(0)
            let instance = try function.module.instantiate(store: store, importValues: values)
            lap(1)
            _ = try wasi.start(instance)
            lap(2)
        }
        lap(3)
    }
    print(String(format: "instantiated per request: setup %.2f µs, instantiate %.2f µs, run %.2f µs, teardown %.2f µs",
                 t[0] / n, t[1] / n, t[2] / n, t[3] / n))
    // Kept and reset (what nebula-serve does when the module allows it): setup is the request's WASI context
    // routed to a kept instance; "instantiate" is the reset that makes the instance fresh again (memory,
    // globals, tables, segments as instantiation left them); teardown hands the instance back.
    let router = WASI.Router()
    guard let kept = try ReusableInstance.make(function.module, imports: { router.importValues(function.wasiPlan!, store: $0) }) else {
        print("kept and reset: \(name) cannot be reset (see ReusableInstance)")
        exit(0)
    }
    t = [Double](repeating: 0, count: 4)
    for _ in 0..<iterations {
        var c = DispatchTime.now().uptimeNanoseconds
        func lap(_ i: Int) { let n = DispatchTime.now().uptimeNanoseconds; t[i] += Double(n - c); c = n }
        do {
            let wasi = try WASI(configuration())
            router.current = wasi
            lap(0)
            _ = try wasi.start(kept.instance)
            lap(2)
            router.current = nil
        }
        lap(3)
        guard kept.reset() else { print("reset refused"); exit(1) }
        lap(1)
    }
    print(String(format: "kept and reset:           setup %.2f µs, reset %.2f µs, run %.2f µs, teardown %.2f µs",
                 t[0] / n, t[1] / n, t[2] / n, t[3] / n))
}
if CommandLine.arguments.contains("--rss") {
    print("resident memory after \(iterations + 1) invocations: \(residentMebibytes()) MiB")
}

func residentMebibytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return -1 }
    return (Int(line.split(separator: " ")[1]) ?? 0) / 1024
}

/// Writes `bigdata.wat` to a temporary folder: N MiB of data in memory 0, `_start` prints the first, middle
/// and last data bytes and overwrites one byte.
func generateDataFunction(mebibytes: Int) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("invoke-bench-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let count = mebibytes << 20
    var data = [UInt8](repeating: 0, count: count)
    for i in 0..<count { data[i] = UInt8(ascii: "a") + UInt8(i % 26) }
    let pages = (count + 65536 + 65535) / 65536
    let text = """
        (module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") \(pages))
          (func (export "_start")
            (i32.store8 (i32.const 0) (i32.load8_u (i32.const 65536)))
            (i32.store8 (i32.const 1) (i32.load8_u (i32.const \(65536 + count / 2))))
            (i32.store8 (i32.const 2) (i32.load8_u (i32.const \(65536 + count - 1))))
            (i32.store8 (i32.const 3) (i32.const 10))
            (i32.store8 (i32.const 65536) (i32.const 90))
            (i32.store (i32.const 16) (i32.const 0))
            (i32.store (i32.const 20) (i32.const 4))
            (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))))
          (data (i32.const 65536) "\(String(decoding: data, as: UTF8.self))"))
        """
    let file = directory.appendingPathComponent("bigdata.wat")
    try Data(text.utf8).write(to: file)
    return file.path
}
