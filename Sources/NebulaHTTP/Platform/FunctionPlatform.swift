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

/// A function ready to serve: its module translated once, its settings, what it is, and how it has done.
/// A new version is a new object: requests in flight keep the version they started with.
public final class DeployedFunction: @unchecked Sendable {
    public let name: String
    public let module: CompiledModule
    public let settings: FunctionSettings
    public let sha256: String
    public let size: Int
    public let deployedAt: Date
    /// Shared by all versions of the function, so counts survive a redeploy.
    public let stats: FunctionStats
    /// The files it came from, to notice changes (hot reload). Set before the function is installed, never after.
    var fingerprint: FileFingerprint
    let running = NSLock()
    var inFlight = 0

    init(name: String, module: CompiledModule, settings: FunctionSettings, bytes: [UInt8], stats: FunctionStats,
         fingerprint: FileFingerprint) {
        self.name = name
        self.module = module
        self.settings = settings
        sha256 = SHA256.hex(bytes)
        size = bytes.count
        deployedAt = Date()
        self.stats = stats
        self.fingerprint = fingerprint
    }

    /// The listing entry of `GET /admin/functions`.
    var json: String {
        let m = module.module
        let imports = m.imports.map { jsonString("\($0.module).\($0.name)") }.joined(separator: ", ")
        let exports = m.exports.map { jsonString($0.name) }.joined(separator: ", ")
        let limits = "{\"timeoutMs\": \(settings.timeoutMilliseconds), \"maxMemory\": \(settings.maxMemoryBytes), "
            + "\"maxOutputBytes\": \(settings.maxOutputBytes), \"fuel\": \(settings.fuel.map(String.init) ?? "null"), "
            + "\"maxConcurrency\": \(settings.maxConcurrency.map(String.init) ?? "null")}"
        return "{\"name\": \(jsonString(name)), \"size\": \(size), \"sha256\": \"\(sha256)\", \"imports\": [\(imports)], "
            + "\"exports\": [\(exports)], \"limits\": \(limits), \"deployedAt\": \(jsonString(Timestamp.iso8601(deployedAt))), "
            + "\"stats\": \(stats.json)}"
    }

    /// Reserves a concurrency slot (false when `maxConcurrency` is reached).
    func acquire() -> Bool {
        running.lock()
        defer { running.unlock() }
        if let limit = settings.maxConcurrency, inFlight >= limit { return false }
        inFlight += 1
        return true
    }

    func release() {
        running.lock()
        inFlight -= 1
        running.unlock()
    }
}

/// The facts of an HTTP request a function sees (WAGI/CGI conventions).
public struct Invocation: Sendable {
    public var request: HTTPRequest
    public var serverName: String
    public var serverPort: Int
    public var remoteAddress: String

    public init(request: HTTPRequest, serverName: String, serverPort: Int, remoteAddress: String) {
        self.request = request
        self.serverName = serverName
        self.serverPort = serverPort
        self.remoteAddress = remoteAddress
    }
}

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
    let energy = EnergyMeter()
    public let metrics = Metrics()
    var history: CallHistory?
    let log: (String) -> Void

    /// Settings of functions whose manifest does not say otherwise.
    let defaults: FunctionSettings

    public init(defaults: FunctionSettings = FunctionSettings(), history: CallHistory? = nil, log: @escaping (String) -> Void) {
        self.defaults = defaults
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

    var energyAvailable: Bool { energy.available }

    /// Loads every `*.wasm` in `directory`; a module or manifest that fails is logged and skipped.
    public func load(directory: String) throws {
        _ = try FileManager.default.contentsOfDirectory(atPath: directory)
        self.directory = directory
        reload()
    }

    /// Brings the served functions in line with the directory: new and changed modules (or manifests) are
    /// loaded, removed ones dropped. A version that fails to load is logged and the previous one keeps serving.
    public func reload() {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let names = Set(files.filter { $0.hasSuffix(".wasm") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) })
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
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(name).wasm") else {
            return .failure(LoadError(status: 500, message: "cannot read \(name).wasm"))
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

    // MARK: Deploying through the admin API

    /// Function names: a safe set of characters, so a name is always one file in the directory.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count), let first = name.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-") else {
            return false
        }
        return name.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
        }
    }

    /// Validates and installs a module (and optionally a new manifest; otherwise the current one stays), writing
    /// the files atomically. Returns the new function and whether the name is new.
    func deploy(_ name: String, module bytes: [UInt8]?, manifest: Data?) -> Result<(DeployedFunction, created: Bool), LoadError> {
        registryLock.lock()
        let existing = registry[name]
        registryLock.unlock()
        guard let moduleBytes = bytes ?? (FileManager.default.contents(atPath: "\(directory)/\(name).wasm").map { [UInt8]($0) }) else {
            return .failure(LoadError(status: 404, message: "no such function"))
        }
        let manifestData = manifest ?? FileManager.default.contents(atPath: "\(directory)/\(name).json")
        // Validate (and translate) everything before touching the directory.
        let function: DeployedFunction
        switch compile(name, bytes: moduleBytes, manifest: manifestData, fingerprint: FileFingerprint()) {
        case .success(let compiled): function = compiled
        case .failure(let error): return .failure(error)
        }
        do {
            if let manifest { try FunctionPlatform.writeAtomically(manifest, to: "\(directory)/\(name).json") }
            if let bytes { try FunctionPlatform.writeAtomically(Data(bytes), to: "\(directory)/\(name).wasm") }
        } catch {
            return .failure(LoadError(status: 500, message: "cannot write the function: \(error)"))
        }
        // The files as written: the reload watcher then sees no change to load again.
        function.fingerprint = FileFingerprint(directory: directory, name: name)
        install(function)
        log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \"deploy\", \"function\": \(jsonString(name)), "
            + "\"bytes\": \(function.size), \"sha256\": \"\(function.sha256)\"}")
        return .success((function, existing == nil))
    }

    /// Removes a function and its files.
    func undeploy(_ name: String) -> Bool {
        registryLock.lock()
        let existed = registry.removeValue(forKey: name) != nil
        registryLock.unlock()
        let fileExisted = FileManager.default.fileExists(atPath: "\(directory)/\(name).wasm")
        try? FileManager.default.removeItem(atPath: "\(directory)/\(name).wasm")
        try? FileManager.default.removeItem(atPath: "\(directory)/\(name).json")
        if existed || fileExisted {
            log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \"undeploy\", \"function\": \(jsonString(name))}")
        }
        return existed || fileExisted
    }

    /// Writes to a temporary file in the same directory, then renames it over the target: readers (and the
    /// reload watcher) see the old file or the new one, never a partial one.
    static func writeAtomically(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        try data.write(to: temporary)
        guard rename(temporary.path, path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// The outcome of one invocation: the response (with footprint headers) and what it cost.
    public struct Outcome: Sendable {
        public var response: HTTPResponse
        public var footprint: Footprint
        /// The start of the guest's stderr (at most 500 characters), for the log.
        public var stderrExcerpt: String
    }

    /// Runs `function` for one request on the calling (worker) thread, measuring its footprint, recording it in
    /// the function's stats, the metrics and the call history.
    public func invoke(_ function: DeployedFunction, _ invocation: Invocation) -> Outcome {
        let wallStart = DispatchTime.now().uptimeNanoseconds
        let cpuStart = Footprint.threadCPUSeconds()
        let energyStart = energy.read()
        var footprint = Footprint()
        var stderrExcerpt = ""
        var response = run(function, invocation, footprint: &footprint, stderrExcerpt: &stderrExcerpt)
        footprint.cpuSeconds = Footprint.threadCPUSeconds() - cpuStart
        footprint.wallSeconds = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
        if let energyStart, let energyEnd = energy.read() {
            footprint.energyJoules = energy.joules(from: energyStart, to: energyEnd, cpuSeconds: footprint.cpuSeconds)
        }
        response.headers += footprint.headers
        function.stats.record(status: response.status, footprint: footprint)
        metrics.observeInstantiation(footprint.startupSeconds)
        history?.append(function: function.name, inputBytes: invocation.request.body.count, status: response.status, footprint: footprint)
        return Outcome(response: response, footprint: footprint, stderrExcerpt: stderrExcerpt)
    }

    func run(_ function: DeployedFunction, _ invocation: Invocation, footprint: inout Footprint, stderrExcerpt: inout String) -> HTTPResponse {
        guard function.acquire() else {
            return .error(503, "too many concurrent invocations", function: function.name, extra: [])
                .with(header: ("Retry-After", "1"))
        }
        defer { function.release() }
        let settings = function.settings
        var limits = ResourceLimits()
        limits.maxMemoryPages = max(1, settings.maxMemoryBytes / MemoryType.pageSize)
        limits.fuel = settings.fuel
        let store = Store(limits: limits)
        // A guest is stopped as soon as its output passes the limit (stdout) or 1 MiB (stderr, of which the
        // first 16 KiB are kept for the log and the error body).
        let stdout = OutputBuffer(limit: settings.maxOutputBytes + 1, stopAfter: settings.maxOutputBytes)
        let stderr = OutputBuffer(limit: 16 * 1024, stopAfter: PlatformLimits.maxErrorOutputBytes)
        let request = invocation.request

        var configuration = WASI.Configuration()
        var arguments = [function.name] + settings.arguments
        arguments += request.query.split(separator: "&", omittingEmptySubsequences: true).map { percentDecoded(String($0)) }
        configuration.arguments = arguments
        var environment = settings.environment
        environment += [
            ("REQUEST_METHOD", request.method), ("PATH_INFO", request.path), ("QUERY_STRING", request.query),
            ("CONTENT_TYPE", request.header("content-type") ?? ""), ("CONTENT_LENGTH", "\(request.body.count)"),
            ("SERVER_NAME", invocation.serverName), ("SERVER_PORT", "\(invocation.serverPort)"),
            ("REMOTE_ADDR", invocation.remoteAddress), ("SERVER_PROTOCOL", "HTTP/1.\(request.minorVersion)"),
        ].map { (name: $0.0, value: $0.1) }
        for (name, value) in request.headers {
            let key = "HTTP_" + name.uppercased().map { $0 == "-" ? "_" : $0 }.map(String.init).joined()
            environment.append((name: key, value: value))
        }
        configuration.environment = environment
        configuration.stdin = .bytes(request.body)
        configuration.stdout = .buffer(stdout)
        configuration.stderr = .buffer(stderr)

        let outcome: Result<Int32, Trap>
        let startupBegan = DispatchTime.now().uptimeNanoseconds
        do {
            let wasi = try WASI(configuration)
            var imports = Imports()
            wasi.define(in: &imports, store: store, for: function.module.module)
            let deadline = watchdog.watch(store.interruptHandle, milliseconds: settings.timeoutMilliseconds)
            defer { watchdog.cancel(deadline) }
            let instance = try function.module.instantiate(store: store, imports: imports)
            footprint.startupSeconds = Double(DispatchTime.now().uptimeNanoseconds - startupBegan) / 1e9
            outcome = Result { () throws(Trap) -> Int32 in try wasi.start(instance) }
        } catch let trap as Trap {
            footprint.startupSeconds = Double(DispatchTime.now().uptimeNanoseconds - startupBegan) / 1e9
            outcome = .failure(trap)
        } catch {
            return .error(500, "cannot start the function: \(error)", function: function.name)
        }
        footprint.instructions = store.instructionsExecuted
        footprint.memoryBytes = store.linearMemoryBytes
        let errorTail = String(decoding: stderr.bytes.suffix(2048), as: UTF8.self)
        if !stderr.bytes.isEmpty {
            stderrExcerpt = String(String(decoding: stderr.bytes.prefix(2048), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).prefix(500))
        }
        if stdout.bytes.count > settings.maxOutputBytes || stdout.droppedByteCount > 0 {
            return .error(502, "output larger than \(settings.maxOutputBytes) bytes", function: function.name)
        }
        if stderr.isFlooded {
            return .error(502, "error output larger than \(PlatformLimits.maxErrorOutputBytes) bytes", function: function.name)
        }
        switch outcome {
        case .failure(let trap):
            switch trap.reason {
            case .interrupted:
                return .error(504, "deadline of \(settings.timeoutMilliseconds) ms exceeded", function: function.name)
            case .fuelExhausted:
                return .error(504, "fuel exhausted", function: function.name)
            default:
                return .error(500, "wasm trap: \(trap.message)", function: function.name,
                              extra: trap.backtrace.first.map { [("at", $0.description)] } ?? [])
            }
        case .success(let code) where code != 0:
            return .error(500, "function exited with code \(code)", function: function.name, extra: [("stderr", errorTail)])
        case .success:
            break
        }
        var response = HTTPResponse(status: 200, headers: [("Content-Type", settings.contentType)], body: stdout.bytes)
        if settings.wagi { response = WAGI.parse(stdout.bytes, defaultContentType: settings.contentType) }
        return response
    }
}

/// Modification times and sizes of a function's module and manifest: a change means a new version.
struct FileFingerprint: Equatable, Sendable {
    var module: [Int] = []
    var manifest: [Int] = []

    init() {}

    init(directory: String, name: String) {
        module = FileFingerprint.stamp("\(directory)/\(name).wasm")
        manifest = FileFingerprint.stamp("\(directory)/\(name).json")
    }

    static func stamp(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec), Int(info.st_size), Int(info.st_ino)]
    }
}

/// Timestamps for logs and records: ISO 8601 in UTC with milliseconds.
enum Timestamp {
    /// `2026-11-26T12:00:00.123Z`, formatted by hand: thread-safe and cheap (a formatter object per log line
    /// cost more than the invocation it describes).
    static func iso8601(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t.rounded(.down))
        let millis = min(999, Int((t - Double(seconds)) * 1000))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let d = Footprint.digits
        return "\(parts.tm_year + 1900)-\(d(Int(parts.tm_mon) + 1, 2))-\(d(Int(parts.tm_mday), 2))T\(d(Int(parts.tm_hour), 2)):"
            + "\(d(Int(parts.tm_min), 2)):\(d(Int(parts.tm_sec), 2)).\(d(millis, 3))Z"
    }

    static func now() -> String { iso8601(Date()) }
}

extension HTTPResponse {
    func with(header: (String, String)) -> HTTPResponse {
        var copy = self
        copy.headers.append(header)
        return copy
    }
}

func percentDecoded(_ s: String) -> String {
    let plus = s.replacingOccurrences(of: "+", with: " ")
    return plus.removingPercentEncoding ?? plus
}

/// WAGI output: CGI-style headers up to a blank line, then the body.
enum WAGI {
    static func parse(_ output: [UInt8], defaultContentType: String) -> HTTPResponse {
        var headers: [(name: String, value: String)] = []
        var status = 200
        var index = 0
        while index < output.count {
            guard let newline = output[index...].firstIndex(of: 10) else { break }
            var line = output[index..<newline]
            if line.last == 13 { line = line.dropLast() }
            index = newline + 1
            if line.isEmpty {
                var response = HTTPResponse(status: status, headers: headers, body: Array(output[index...]))
                if !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                    response.headers.append(("Content-Type", defaultContentType))
                }
                return response
            }
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { break }
            let name = text[..<colon].trimmingCharacters(in: .whitespaces)
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenCharacter) else { break }
            if name.lowercased() == "status" {
                status = Int(value.prefix(3)) ?? 500
            } else if !["content-length", "connection", "transfer-encoding", "date"].contains(name.lowercased()) {
                headers.append((name, value))
            }
            if name.lowercased() == "location" && status == 200 { status = 302 }
        }
        return .error(502, "function output has no WAGI header block")
    }
}

/// Interrupts guests whose deadline passed: one thread for all invocations.
final class Watchdog: @unchecked Sendable {
    struct Entry {
        var id: Int
        var deadline: UInt64
        var handle: InterruptHandle
    }

    let condition = NSCondition()
    var entries: [Entry] = []
    var nextID = 0
    var thread: Thread?

    func watch(_ handle: InterruptHandle, milliseconds: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        if thread == nil {
            let t = Thread { [weak self] in self?.run() }
            t.name = "nebula-watchdog"
            t.start()
            thread = t
        }
        nextID += 1
        entries.append(Entry(id: nextID, deadline: DispatchTime.now().uptimeNanoseconds + UInt64(milliseconds) * 1_000_000, handle: handle))
        return nextID
    }

    func cancel(_ id: Int) {
        condition.lock()
        entries.removeAll { $0.id == id }
        condition.unlock()
    }

    /// Checks deadlines every 10 ms: no per-request wake-up, and deadlines are met within 10 ms.
    func run() {
        condition.lock()
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            if entries.contains(where: { $0.deadline <= now }) {
                for entry in entries where entry.deadline <= now { entry.handle.interrupt() }
                entries.removeAll { $0.deadline <= now }
            }
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.01))
        }
    }
}
