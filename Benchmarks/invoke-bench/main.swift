import Foundation
import NebulaHTTP

/// The cost of one invocation as nebula-serve performs it (fresh store, WASI, instantiate, run `_start`),
/// in-process: `invoke-bench [FUNCTION.wasm] [BODY] [ITERATIONS]`.
let arguments = CommandLine.arguments
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

// Stage breakdown (same work as FunctionPlatform.invoke, timed piecewise).
import WASI
import WasmVM
if CommandLine.arguments.contains("--stages") {
    var t = [Double](repeating: 0, count: 4)
    for _ in 0..<iterations {
        var c = DispatchTime.now().uptimeNanoseconds
        func lap(_ i: Int) { let n = DispatchTime.now().uptimeNanoseconds; t[i] += Double(n - c); c = n }
        do {
        let store = Store()
        var configuration = WASI.Configuration()
        configuration.stdin = .bytes(Array(body.utf8))
        configuration.stdout = .buffer(OutputBuffer(limit: 1 << 20))
        let wasi = try WASI(configuration)
        var imports = Imports()
        wasi.define(in: &imports, store: store, for: function.module.module)
        lap(0)
        let instance = try function.module.instantiate(store: store, imports: imports)
        lap(1)
        _ = try wasi.start(instance)
        lap(2)
        _ = store
        }
        lap(3)
    }
    let n = Double(iterations) * 1e3
    print(String(format: "setup %.1f µs, instantiate %.1f µs, run %.1f µs, teardown %.1f µs", t[0] / n, t[1] / n, t[2] / n, t[3] / n))
}
