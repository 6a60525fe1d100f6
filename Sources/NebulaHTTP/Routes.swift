#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What each path does: health, readiness, metrics, the status page and a function's page are answered on
/// the loop (they only read counters); function invocations, the calls a status page runs and the admin API
/// (which compiles uploads) run on a worker, and their responses come back through the loop's completion queue.
extension EventLoop {
    /// Routes a request to its answer (see the extension's comment for where each runs).
    func dispatch(_ request: HTTPRequest, on connection: Connection, now: UInt64) {
        let isHead = request.method == "HEAD"
        let keepAlive = request.keepAlive && shutdownStarted == nil
        func reply(_ response: HTTPResponse) {
            respond(connection, response, keepAlive: keepAlive, isHead: isHead, now: now)
            logRequest(request, status: response.status, bytesOut: response.body.count, started: now)
        }
        func readOnly(_ response: @autoclosure () -> HTTPResponse) {
            guard request.method == "GET" || isHead else {
                return reply(.error(405, "method \(request.method) not allowed").with(header: ("Allow", "GET, HEAD")))
            }
            reply(response())
        }
        switch request.path {
        case "/healthz":
            return readOnly(.text(200, "ok\n"))
        case "/readyz":
            return readOnly(shutdownStarted == nil ? .text(200, "ready\n") : .text(503, "shutting down\n"))
        case "/metrics":
            let load = workers.load
            return readOnly(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                                         body: Array(platform.metrics.exposition(functions: platform.functions, gauges: Metrics.Gauges(
                                            inFlight: load.running, queued: load.queued, openConnections: server.openConnections)).utf8)))
        case "/":
            guard request.method == "GET" || isHead else {
                return reply(.error(405, "method \(request.method) not allowed").with(header: ("Allow", "GET, HEAD")))
            }
            // Calls the page runs for its visitor go to a worker; the plain page is answered here.
            guard let experiment = PageExperiment.Request(query: request.query) else {
                return reply(StatusPage.response(StatusPage.html(functions: platform.functions, energy: platform.energy)))
            }
            // One page run at a time: a single request can ask for a thousand calls, and must not be a way to
            // occupy every worker.
            guard server.pageRuns.tryEnter() else {
                return reply(.error(503, "a status page run is already in progress; try again when it ends").with(header: ("Retry-After", "5")))
            }
            let runner = PageExperiment(platform: platform, serverName: configuration.host, serverPort: server.port,
                                        remoteAddress: connection.remoteAddress)
            let gate = server.pageRuns
            let submitted = runOnWorker(connection, keepAlive: keepAlive, isHead: isHead, function: nil) { [self] in
                defer { gate.leave() }
                let samples = runner.run(experiment)
                let response = StatusPage.response(StatusPage.html(functions: platform.functions, energy: platform.energy,
                                                                   request: experiment, samples: samples))
                logRequest(request, status: response.status, bytesOut: response.body.count, started: now)
                return response
            }
            if !submitted { gate.leave() }
            return
        default:
            break
        }
        if request.path.hasPrefix("/admin/") {
            guard let token = configuration.adminToken, !token.isEmpty else {
                return reply(.error(404, "the admin API is off (set NEBULA_ADMIN_TOKEN or --admin-token-file)"))
            }
            let admin = AdminAPI(token: Array(token.utf8), platform: platform)
            runOnWorker(connection, keepAlive: keepAlive, isHead: isHead, function: nil) { [self] in
                let response = admin.handle(request)
                logRequest(request, status: response.status, bytesOut: response.body.count, started: now)
                return response
            }
            return
        }
        let prefix = "/functions/"
        guard request.path.hasPrefix(prefix) else {
            return reply(.error(404, "no such path \(request.path)"))
        }
        let name = String(request.path.dropFirst(prefix.count))
        guard let function = platform.function(named: name) else {
            return reply(.error(404, "no such function", function: name))
        }
        if FunctionPage.wantsPage(request, function: function) {
            return reply(StatusPage.response(FunctionPage.html(function, energy: platform.energy)).with(header: ("Vary", "Accept")))
        }
        guard ["GET", "POST", "HEAD"].contains(request.method) else {
            return reply(.error(405, "method \(request.method) not allowed", function: name).with(header: ("Allow", "GET, POST, HEAD")))
        }
        let invocation = Invocation(request: request, serverName: configuration.host, serverPort: server.port, remoteAddress: connection.remoteAddress)
        runOnWorker(connection, keepAlive: keepAlive, isHead: isHead, function: name) { [self] in
            let outcome = platform.invoke(function, invocation)
            logRequest(request, status: outcome.response.status, bytesOut: outcome.response.body.count, started: now,
                       function: name, footprint: outcome.footprint, stderr: outcome.stderrExcerpt)
            return outcome.response
        }
    }

    /// Runs `job` on a worker and sends its response when done; 503 when the work queue is full.
    /// Returns false when the queue was full (the 503 is sent; `job` will never run).
    @discardableResult
    func runOnWorker(_ connection: Connection, keepAlive: Bool, isHead: Bool, function: String?, job: @escaping () -> HTTPResponse) -> Bool {
        connection.processing = true
        connection.pendingHead = isHead
        connection.closeAfterWrite = !keepAlive
        let id = connection.id
        let accepted = workers.submit { [self] in
            let response = job()
            completionLock.lock()
            completions.append((id, response))
            let wakeNeeded = !wakePending
            wakePending = true
            completionLock.unlock()
            if wakeNeeded { wake() }
        }
        if !accepted {
            connection.processing = false
            respond(connection, .error(503, "server busy: the work queue is full", function: function).with(header: ("Retry-After", "1")),
                    keepAlive: keepAlive, isHead: isHead, now: EventLoop.now())
        }
        return accepted
    }

    /// One JSON line per request: what was asked, what it got, and (for invocations) what it cost.
    func logRequest(_ request: HTTPRequest, status: Int, bytesOut: Int, started: UInt64, function: String? = nil,
                    footprint: Footprint? = nil, stderr: String = "") {
        var line = "{\"timestamp\": \(jsonString(Timestamp.now())), \"method\": \(jsonString(request.method)), "
            + "\"path\": \(jsonString(request.path)), \"function\": \(function.map(jsonString) ?? "null"), \"status\": \(status), "
        if let footprint {
            line += footprint.jsonFields
        } else {
            line += "\"durationMs\": \(Footprint.milliseconds(Double(EventLoop.now() - started) / 1e9))"
        }
        line += ", \"bytesIn\": \(request.body.count), \"bytesOut\": \(bytesOut)"
        if !stderr.isEmpty { line += ", \"stderr\": \(jsonString(stderr))" }
        log(line + "}")
    }
}
