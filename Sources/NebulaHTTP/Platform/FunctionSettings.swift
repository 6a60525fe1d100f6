import Foundation
#if canImport(Glibc)
import Glibc
#endif
import WASI
import WasmParser
import WasmVM

/// Per-function settings: defaults, overridden by `functions/{name}.json`.
public struct FunctionSettings: Sendable {
    public var environment: [(name: String, value: String)] = []
    public var arguments: [String] = []
    public var contentType = "text/plain; charset=utf-8"
    public var fuel: Int64?
    public var timeoutMilliseconds = 10_000
    public var maxMemoryBytes = 256 * 1024 * 1024
    /// Most bytes of GC objects (structs and arrays of WasmGC languages) one invocation may hold.
    public var maxGCHeapBytes = 256 * 1024 * 1024
    public var maxOutputBytes = 10 * 1024 * 1024
    public var maxConcurrency: Int?
    /// Read CGI headers (Content-Type:, Status:, Location:, ...) from the start of stdout.
    public var wagi = false

    public init() {}

    /// Applies a manifest's fields; unknown fields or wrong types are errors, not silently ignored.
    mutating func apply(manifest data: Data) throws {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ManifestError("a manifest must be a JSON object")
        }
        for (key, value) in object {
            switch key {
            case "env":
                guard let env = value as? [String: String] else { throw ManifestError("env must be an object of strings") }
                environment = env.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
            case "args":
                guard let args = value as? [String] else { throw ManifestError("args must be an array of strings") }
                arguments = args
            case "contentType":
                guard let type = value as? String, !type.isEmpty, !type.contains("\r"), !type.contains("\n") else {
                    throw ManifestError("contentType must be a header-safe string")
                }
                contentType = type
            case "fuel": fuel = Int64(try positive(key, value))
            case "timeoutMs": timeoutMilliseconds = try positive(key, value)
            case "maxMemory": maxMemoryBytes = try positive(key, value)
            case "maxGCHeap": maxGCHeapBytes = try positive(key, value)
            case "maxOutputBytes": maxOutputBytes = try positive(key, value)
            case "maxConcurrency": maxConcurrency = try positive(key, value)
            case "wagi":
                guard let flag = value as? Bool else { throw ManifestError("wagi must be true or false") }
                wagi = flag
            default:
                throw ManifestError("unknown field \"\(key)\"")
            }
        }
    }

    func positive(_ key: String, _ value: Any) throws -> Int {
        guard !(value is Bool), let number = value as? NSNumber, let n = Int(exactly: number.doubleValue), n > 0 else {
            throw ManifestError("\(key) must be a positive integer")
        }
        return n
    }
}

/// Limits the platform applies to every function, whatever its manifest says.
enum PlatformLimits {
    /// Error output a guest may write before it is stopped (only the first 16 KiB are kept).
    static let maxErrorOutputBytes = 1 << 20
}

struct ManifestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
