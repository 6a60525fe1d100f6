import Foundation
#if canImport(Glibc)
import Glibc
#endif
import WASI
import WasmParser
import WasmVM

/// Loads the functions directory and runs functions, a fresh instance per request. The directory is the only
/// state: functions are (re)loaded from it by `reload()` (hot reload) and written to it by `deploy`.
public final class FunctionPlatform: @unchecked Sendable {
    let registryLock = NSLock()
    var registry: [String: DeployedFunction] = [:]
    /// Fingerprints of files that failed to load, so a broken version is reported once, not every second.
    var rejected: [String: FileFingerprint] = [:]
    var statsByName: [String: FunctionStats] = [:]
    public private(set) var directory = "."
    let watchdog = Watchdog()
    public let energy: EnergyAccountant
    public let metrics = Metrics()
    var history: CallHistory?
    let log: (String) -> Void

    /// Settings of functions whose manifest does not say otherwise.
    let defaults: FunctionSettings

    public init(defaults: FunctionSettings = FunctionSettings(), history: CallHistory? = nil,
                energy: EnergySettings = EnergySettings(), log: @escaping (String) -> Void) {
        self.defaults = defaults
        self.energy = EnergyAccountant(energy)
        self.history = history
        self.log = log
    }

    /// The function served under `name` now.
    public func function(named name: String) -> DeployedFunction? {
        registryLock.lock()
        defer { registryLock.unlock() }
        return registry[name]
    }

    /// Every function served now.
    public var functions: [DeployedFunction] {
        registryLock.lock()
        defer { registryLock.unlock() }
        return registry.values.sorted { $0.name < $1.name }
    }

    /// A function's module is `NAME.wasm` (binary) or `NAME.wat` (text), never both.
    static let moduleExtensions = ["wasm", "wat"]

    /// The module file of `name`: the one of `NAME.wasm` and `NAME.wat` that exists (409 when both do).
    func moduleFile(_ name: String) -> Result<String, LoadError> {
        let present = FunctionPlatform.moduleExtensions.map { "\(directory)/\(name).\($0)" }
            .filter { FileManager.default.fileExists(atPath: $0) }
        switch present.count {
        case 0: return .failure(LoadError(status: 404, message: "no such function"))
        case 1: return .success(present[0])
        default: return .failure(LoadError(status: 409, message: "both \(name).wasm and \(name).wat exist: remove one"))
        }
    }

    /// Loads every `*.wasm` and `*.wat` in `directory`; a module or manifest that fails is logged and skipped.
    public func load(directory: String) throws {
        _ = try FileManager.default.contentsOfDirectory(atPath: directory)
        self.directory = directory
        reload()
    }

    /// Brings the served functions in line with the directory: new and changed modules (or manifests) are
    /// loaded, removed ones dropped. A version that fails to load is logged and the previous one keeps serving.
    public func reload() {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let names = Set(files.compactMap { file -> String? in
            guard !file.hasPrefix("."), let dot = file.lastIndex(of: "."),
                  FunctionPlatform.moduleExtensions.contains(String(file[file.index(after: dot)...])) else { return nil }
            return String(file[..<dot])
        })
        for name in names.sorted() {
            let fingerprint = FileFingerprint(directory: directory, name: name)
            registryLock.lock()
            let current = registry[name], failed = rejected[name]
            registryLock.unlock()
            if current?.fingerprint == fingerprint || failed == fingerprint { continue }
            switch loadFunction(name, fingerprint: fingerprint) {
            case .success(let function):
                install(function)
                log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \(current == nil ? "\"load\"" : "\"reload\""), "
                    + "\"function\": \(jsonString(name)), \"bytes\": \(function.size), \"sha256\": \"\(function.sha256)\"}")
            case .failure(let error):
                registryLock.lock()
                rejected[name] = fingerprint
                registryLock.unlock()
                log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \"reject\", \"function\": \(jsonString(name)), "
                    + "\"error\": \(jsonString(error.message))\(current == nil ? "" : ", \"serving\": \"the previous version\"")}")
            }
        }
        registryLock.lock()
        let removed = registry.keys.filter { !names.contains($0) }
        for name in removed { registry[name] = nil }
        rejected = rejected.filter { names.contains($0.key) }
        registryLock.unlock()
        for name in removed.sorted() {
            log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \"remove\", \"function\": \(jsonString(name))}")
        }
    }

    /// Calls `reload()` every `interval` seconds on a thread of its own.
    public func watch(every interval: Double) {
        let thread = Thread { [weak self] in
            while let self {
                Thread.sleep(forTimeInterval: interval)
                self.reload()
            }
        }
        thread.name = "nebula-reload"
        thread.start()
    }

    struct LoadError: Error {
        var status: Int
        var message: String
    }

    func stats(for name: String) -> FunctionStats {
        registryLock.lock()
        defer { registryLock.unlock() }
        if let stats = statsByName[name] { return stats }
        let stats = FunctionStats()
        statsByName[name] = stats
        return stats
    }

    func install(_ function: DeployedFunction) {
        registryLock.lock()
        registry[function.name] = function
        rejected[function.name] = nil
        registryLock.unlock()
    }

    func loadFunction(_ name: String, fingerprint: FileFingerprint) -> Result<DeployedFunction, LoadError> {
        let path: String
        switch moduleFile(name) {
        case .success(let file): path = file
        case .failure(let error): return .failure(error)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(LoadError(status: 500, message: "cannot read \((path as NSString).lastPathComponent)"))
        }
        let manifest = FileManager.default.contents(atPath: "\(directory)/\(name).json")
        return compile(name, bytes: [UInt8](data), manifest: manifest, fingerprint: fingerprint)
    }

    func compile(_ name: String, bytes: [UInt8], manifest: Data?, fingerprint: FileFingerprint) -> Result<DeployedFunction, LoadError> {
        var settings = defaults
        if let manifest {
            do {
                try settings.apply(manifest: manifest)
            } catch {
                return .failure(LoadError(status: 400, message: "bad manifest \(name).json: \(error)"))
            }
        }
        do {
            let module = try CompiledModule(bytes: bytes)
            return .success(DeployedFunction(name: name, module: module, settings: settings, bytes: bytes,
                                             stats: stats(for: name), fingerprint: fingerprint))
        } catch {
            return .failure(LoadError(status: 400, message: "\(error)"))
        }
    }
}
