import Foundation
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

/// A function ready to serve: its module translated once, its settings.
public final class DeployedFunction: @unchecked Sendable {
    public let name: String
    public let module: CompiledModule
    public let settings: FunctionSettings
    let running = NSLock()
    var inFlight = 0

    init(name: String, module: CompiledModule, settings: FunctionSettings) {
        self.name = name
        self.module = module
        self.settings = settings
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

/// Loads the functions directory and runs functions, a fresh instance per request.
public final class FunctionPlatform: @unchecked Sendable {
    public private(set) var functions: [String: DeployedFunction] = [:]
    let watchdog = Watchdog()
    let log: (String) -> Void

    /// Settings of functions whose manifest does not say otherwise.
    let defaults: FunctionSettings

    public init(defaults: FunctionSettings = FunctionSettings(), log: @escaping (String) -> Void) {
        self.defaults = defaults
        self.log = log
    }

    /// Loads every `*.wasm` in `directory`; a module or manifest that fails is logged and skipped.
    public func load(directory: String) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".wasm") }.sorted()
        for file in names {
            let name = String(file.dropLast(5))
            let path = "\(directory)/\(file)"
            guard let data = FileManager.default.contents(atPath: path) else {
                log("{\"event\": \"reject\", \"function\": \(jsonString(name)), \"error\": \"cannot read the file\"}")
                continue
            }
            var settings = defaults
            if let manifest = FileManager.default.contents(atPath: "\(directory)/\(name).json") {
                do {
                    try settings.apply(manifest: manifest)
                } catch {
                    log("{\"event\": \"reject\", \"function\": \(jsonString(name)), \"error\": \(jsonString("bad manifest \(name).json: \(error)"))}")
                    continue
                }
            }
            do {
                let module = try CompiledModule(bytes: [UInt8](data))
                functions[name] = DeployedFunction(name: name, module: module, settings: settings)
                log("{\"event\": \"load\", \"function\": \(jsonString(name)), \"bytes\": \(data.count)}")
            } catch {
                log("{\"event\": \"reject\", \"function\": \(jsonString(name)), \"error\": \(jsonString("\(error)"))}")
            }
        }
    }

    /// Runs `function` for one request on the calling (worker) thread.
    public func invoke(_ function: DeployedFunction, _ invocation: Invocation) -> HTTPResponse {
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
        do {
            let wasi = try WASI(configuration)
            var imports = Imports()
            wasi.define(in: &imports, store: store, for: function.module.module)
            let deadline = watchdog.watch(store.interruptHandle, milliseconds: settings.timeoutMilliseconds)
            defer { watchdog.cancel(deadline) }
            let instance = try function.module.instantiate(store: store, imports: imports)
            outcome = Result { () throws(Trap) -> Int32 in try wasi.start(instance) }
        } catch let trap as Trap {
            outcome = .failure(trap)
        } catch {
            return .error(500, "cannot start the function: \(error)", function: function.name)
        }
        let errorTail = String(decoding: stderr.bytes.suffix(2048), as: UTF8.self)
        if !stderr.bytes.isEmpty {
            log("{\"event\": \"stderr\", \"function\": \(jsonString(function.name)), \"excerpt\": \(jsonString(String(errorTail.trimmingCharacters(in: .whitespacesAndNewlines).prefix(500))))}")
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
