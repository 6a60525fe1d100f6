import Foundation
#if canImport(Glibc)
import Glibc
#endif
import WASI
import WasmParser
import WasmVM

/// The facts of an HTTP request a function sees (WAGI/CGI conventions).
public struct Invocation: Sendable {
    /// `X-Request-Id` → `HTTP_X_REQUEST_ID` (RFC 3875 §4.1.18), byte by byte: header names are ASCII tokens
    /// (the parser refuses anything else), and going through `Character`s cost microseconds per request.
    static func cgiVariable(forHeader name: String) -> String {
        var bytes: [UInt8] = [72, 84, 84, 80, 95]  // "HTTP_"
        bytes.reserveCapacity(5 + name.utf8.count)
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "-"): bytes.append(UInt8(ascii: "_"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes.append(byte - 32)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

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

/// Running a function for one request: a fresh instance, WAGI/CGI environment, footprint, error mapping.
extension FunctionPlatform {
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
        let energyStart = energy.start()
        var footprint = Footprint()
        var stderrExcerpt = ""
        var response = run(function, invocation, footprint: &footprint, stderrExcerpt: &stderrExcerpt)
        footprint.cpuSeconds = Footprint.threadCPUSeconds() - cpuStart
        let wallEnd = DispatchTime.now().uptimeNanoseconds
        footprint.wallSeconds = Double(wallEnd - wallStart) / 1e9
        energy.finish(energyStart, &footprint)
        response.headers += footprint.headers
        function.stats.record(status: response.status, footprint: footprint, now: Double(wallEnd) / 1e9)
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
            environment.append((name: Invocation.cgiVariable(forHeader: name), value: value))
        }
        configuration.environment = environment
        configuration.stdin = .bytes(request.body)
        configuration.stdout = .buffer(stdout)
        configuration.stderr = .buffer(stderr)

        // A kept instance (reset after the previous request) when the module allows it, else a new one.
        var pooled: InstancePool.Entry?
        defer { if let pooled { function.instances.putBack(pooled) } }
        var store: Store?
        let outcome: Result<Int32, Trap>
        let startupBegan = DispatchTime.now().uptimeNanoseconds
        do {
            let wasi = try WASI(configuration)
            let instance: Instance
            var deadline: Int?
            defer { if let deadline { watchdog.cancel(deadline) } }
            if let entry = try function.instances.take() {
                pooled = entry
                entry.router.current = wasi
                store = entry.reusable.store
                instance = entry.reusable.instance
                deadline = watchdog.watch(entry.reusable.store.interruptHandle, milliseconds: settings.timeoutMilliseconds)
            } else {
                let fresh = Store(limits: function.limits)
                store = fresh
                // The deadline covers instantiation too: a start function may run long.
                deadline = watchdog.watch(fresh.interruptHandle, milliseconds: settings.timeoutMilliseconds)
                if let plan = function.wasiPlan {
                    instance = try function.module.instantiate(store: fresh, importValues: wasi.importValues(plan, store: fresh))
                } else {
                    var imports = Imports()
                    wasi.define(in: &imports, store: fresh, for: function.module.module)
                    instance = try function.module.instantiate(store: fresh, imports: imports)
                }
            }
            footprint.startupSeconds = Double(DispatchTime.now().uptimeNanoseconds - startupBegan) / 1e9
            outcome = Result { () throws(Trap) -> Int32 in try wasi.start(instance) }
        } catch let trap as Trap {
            footprint.startupSeconds = Double(DispatchTime.now().uptimeNanoseconds - startupBegan) / 1e9
            outcome = .failure(trap)
        } catch {
            return .error(500, "cannot start the function: \(error)", function: function.name)
        }
        // No store when making a kept instance failed (its instantiation trapped): nothing ran, nothing to count.
        if let store {
            footprint.instructions = store.instructionsExecuted
            footprint.memoryBytes = store.linearMemoryBytes
            footprint.gcHeapBytes = store.gcHeapPeakBytes
        }
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
            case .exception(let exception):
                return .error(500, "uncaught wasm exception: tag \(exception.tagAddress), payload [\(exception.payload.map(\.description).joined(separator: ", "))]",
                              function: function.name)
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
