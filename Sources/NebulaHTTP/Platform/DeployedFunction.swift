import Foundation
#if canImport(Glibc)
import Glibc
#endif
import WASI
import WasmParser
import WasmVM

/// A function ready to serve: its module translated once, its settings, what it is, and how it has done.
/// A new version is a new object: requests in flight keep the version they started with.
public final class DeployedFunction: @unchecked Sendable {
    public let name: String
    public let module: CompiledModule
    public let settings: FunctionSettings
    public let sha256: String
    public let size: Int
    /// Whether the module came as a binary (`NAME.wasm`) or as text (`NAME.wat`).
    public let isText: Bool
    public let deployedAt: Date
    /// Shared by all versions of the function, so counts survive a redeploy.
    public let stats: FunctionStats
    /// The files it came from, to notice changes (hot reload). Set before the function is installed, never after.
    var fingerprint: FileFingerprint
    /// How WASI meets its imports, worked out at load (nil: it imports something else; each request then
    /// links by name, which reports what is missing).
    public let wasiPlan: WASI.ImportPlan?
    /// Invocations running now, at most `maxConcurrency`.
    let running: Gate
    /// What a store running this function may use (from its settings, once).
    let limits: ResourceLimits
    /// Instances kept ready for the next request (see `InstancePool`).
    let instances: InstancePool

    init(name: String, module: CompiledModule, settings: FunctionSettings, bytes: [UInt8], stats: FunctionStats,
         fingerprint: FileFingerprint) {
        self.name = name
        self.module = module
        self.settings = settings
        sha256 = SHA256.hex(bytes)
        size = bytes.count
        isText = Module.isText(bytes)
        deployedAt = Date()
        self.stats = stats
        self.fingerprint = fingerprint
        wasiPlan = WASI.plan(for: module)
        running = Gate(capacity: settings.maxConcurrency ?? Int.max)
        var limits = ResourceLimits()
        limits.maxMemoryPages = Swift.max(1, settings.maxMemoryBytes / MemoryType.pageSize)
        limits.maxGCHeapBytes = settings.maxGCHeapBytes
        limits.fuel = settings.fuel
        self.limits = limits
        instances = InstancePool(module: module, plan: wasiPlan, limits: limits,
                                 capacity: Swift.min(settings.maxConcurrency ?? Int.max, Swift.max(8, 2 * ProcessInfo.processInfo.activeProcessorCount)))
    }

    /// The listing entry of `GET /admin/functions`.
    var json: String {
        let m = module.module
        let imports = m.imports.map { jsonString("\($0.module).\($0.name)") }.joined(separator: ", ")
        let exports = m.exports.map { jsonString($0.name) }.joined(separator: ", ")
        let limits = "{\"timeoutMs\": \(settings.timeoutMilliseconds), \"maxMemory\": \(settings.maxMemoryBytes), "
            + "\"maxGCHeap\": \(settings.maxGCHeapBytes), "
            + "\"maxOutputBytes\": \(settings.maxOutputBytes), \"fuel\": \(settings.fuel.map(String.init) ?? "null"), "
            + "\"maxConcurrency\": \(settings.maxConcurrency.map(String.init) ?? "null")}"
        return "{\"name\": \(jsonString(name)), \"size\": \(size), \"sha256\": \"\(sha256)\", "
            + "\"format\": \"\(isText ? "text" : "binary")\", \"imports\": [\(imports)], "
            + "\"exports\": [\(exports)], \"limits\": \(limits), \"deployedAt\": \(jsonString(Timestamp.iso8601(deployedAt))), "
            + "\"keptInstances\": \(instances.idleCount), \"stats\": \(stats.json)}"
    }

    /// Reserves a concurrency slot (false when `maxConcurrency` is reached).
    func acquire() -> Bool { running.tryEnter() }

    func release() { running.leave() }
}

/// Modification times and sizes of a function's module (`.wasm` and `.wat`) and manifest: a change means a new version.
struct FileFingerprint: Equatable, Sendable {
    var module: [Int] = []
    var manifest: [Int] = []

    init() {}

    init(directory: String, name: String) {
        module = FunctionPlatform.moduleExtensions.flatMap { FileFingerprint.stamp("\(directory)/\(name).\($0)") + [-1] }
        manifest = FileFingerprint.stamp("\(directory)/\(name).json")
    }

    static func stamp(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec), Int(info.st_size), Int(info.st_ino)]
    }
}
