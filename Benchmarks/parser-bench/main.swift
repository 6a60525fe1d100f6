import Foundation
import WasmParser

/// Throughput of the front end, on each module file given, repeated (median of the runs, MB/s):
/// a binary is decoded + validated; a text module is parsed + encoded as a binary (what `wasm-tools parse`
/// does). Used by `Benchmarks/parser-bench.sh`, which times `wasm-tools validate` / `parse` in the same run.
let arguments = Array(CommandLine.arguments.dropFirst())
var runs = 20
var paths: [String] = []
var index = 0
while index < arguments.count {
    if arguments[index] == "--runs", index + 1 < arguments.count, let n = Int(arguments[index + 1]), n > 0 {
        runs = n
        index += 2
    } else {
        paths.append(arguments[index])
        index += 1
    }
}
guard !paths.isEmpty else {
    print("usage: parser-bench [--runs N] FILE.wasm...")
    exit(2)
}

for path in paths {
    guard let data = FileManager.default.contents(atPath: path) else {
        print("parser-bench: cannot read \(path)")
        exit(1)
    }
    let bytes = [UInt8](data)
    var seconds: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            if Module.isText(bytes) {
                _ = try Module.parse(text: bytes).encode()
            } else {
                _ = try Module.load(bytes)
            }
        } catch {
            print("parser-bench: \(path): \(error)")
            exit(1)
        }
        seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    seconds.sort()
    let median = seconds[seconds.count / 2]
    let megabytes = Double(bytes.count) / 1_000_000
    print(String(format: "%@ %@: %.2f MB, median %.2f ms, %.1f MB/s", Module.isText(bytes) ? "parse+encode" : "decode+validate", (path as NSString).lastPathComponent, megabytes, median * 1000, megabytes / median))
}
