#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The HTTP/1.1 server: one event-loop thread multiplexes every connection with `poll` (an idle
/// connection costs a few hundred bytes, never a thread), and function invocations run on a `WorkerPool`.
/// The loop never runs guest code and never blocks on a socket. (`epoll` would scale past the connection
/// cap's thousand; Swift's Glibc module does not expose it, and the design card allows no C shim.)
public final class HTTPServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    let platform: FunctionPlatform
    let workers: WorkerPool
    let log: (String) -> Void

    var listener: Int32 = -1
    /// Self-pipe: workers and shutdown requests write a byte to wake the loop.
    var wake: Int32 = -1
    var wakeWrite: Int32 = -1
    var accepting = true
    public private(set) var port = 0
    var connections: [Int32: Connection] = [:]
    var byID: [UInt64: Connection] = [:]
    var nextConnectionID: UInt64 = 0
    let completionLock = NSLock()
    var completions: [(UInt64, HTTPResponse)] = []
    var shutdownRequested = false
    var shutdownStarted: UInt64?
    var dateCache = (second: 0, text: "")
    /// One read buffer for the loop thread (allocating and zeroing 64 KiB per read was measurable).
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)

    final class Connection {
        let id: UInt64
        let fd: Int32
        let remoteAddress: String
        var inbox: [UInt8] = []
        var offset = 0
        var parser: RequestParser
        var outbox: [UInt8] = []
        var outOffset = 0
        var processing = false
        var pendingHead = false
        var closeAfterWrite = false
        var readClosed = false
        /// Our side is shut down after the last response; what the client still sends is discarded until it
        /// closes too, or `lingerSeconds` pass (see `linger`).
        var lingeringSince: UInt64?
        var writeInterest = false
        var lastActivity: UInt64
        var requestStarted: UInt64?
        var writeStarted: UInt64?

        init(id: UInt64, fd: Int32, remoteAddress: String, limits: HTTPLimits, now: UInt64) {
            self.id = id
            self.fd = fd
            self.remoteAddress = remoteAddress
            parser = RequestParser(limits: limits)
            lastActivity = now
        }
    }

    public init(configuration: ServerConfiguration, platform: FunctionPlatform, log: @escaping (String) -> Void) {
        self.configuration = configuration
        self.platform = platform
        self.log = log
        let cores = ProcessInfo.processInfo.activeProcessorCount
        workers = WorkerPool(workers: configuration.workers > 0 ? configuration.workers : cores,
                             queueCapacity: configuration.queueCapacity)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Binds and listens; returns the port (useful with port 0).
    @discardableResult
    public func start() throws -> Int {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw StartError(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(configuration.port).bigEndian)
        guard inet_pton(AF_INET, configuration.host, &address.sin_addr) == 1 else {
            throw StartError(description: "invalid host address \(configuration.host) (an IPv4 address is expected)")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw StartError(description: "cannot bind \(configuration.host):\(configuration.port): \(String(cString: strerror(errno)))") }
        guard listen(listener, 1024) == 0 else { throw StartError(description: "listen: \(String(cString: strerror(errno)))") }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: actual.sin_port))
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw StartError(description: "pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { HTTPServer.makeNonBlocking(fd) }
        wake = fds[0]
        wakeWrite = fds[1]
        return port
    }

    static func makeNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    func wakeLoop() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    /// Safe from any thread (signal handlers go through Dispatch): stop accepting, finish what is in flight.
    public func requestShutdown() {
        completionLock.lock()
        shutdownRequested = true
        completionLock.unlock()
        wakeLoop()
    }

    /// Runs the event loop until a shutdown completes.
    public func run() {
        var descriptors: [pollfd] = []
        var lastTick: UInt64 = 0
        while true {
            descriptors.removeAll(keepingCapacity: true)
            descriptors.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0))
            if accepting { descriptors.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0)) }
            for connection in connections.values {
                var events = Int16(POLLIN)
                if connection.writeInterest { events |= Int16(POLLOUT) }
                descriptors.append(pollfd(fd: connection.fd, events: events, revents: 0))
            }
            let count = poll(&descriptors, nfds_t(descriptors.count), 100)
            let now = HTTPServer.now()
            if count > 0 {
                for descriptor in descriptors where descriptor.revents != 0 {
                    let fd = descriptor.fd
                    if fd == wake {
                        var drain = [UInt8](repeating: 0, count: 256)
                        while Glibc.read(wake, &drain, drain.count) > 0 {}
                        deliverCompletions(now: now)
                    } else if fd == listener {
                        if accepting { acceptConnections(now: now) }
                    } else if let connection = connections[fd] {
                        if descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { readable(connection, now: now) }
                        if descriptor.revents & Int16(POLLOUT) != 0, connections[fd] === connection { flush(connection, now: now) }
                    }
                }
            }
            if now - lastTick > 100_000_000 {
                lastTick = now
                enforceTimeouts(now: now)
                if checkShutdown(now: now) { break }
            }
        }
        for connection in Array(connections.values) { close(connection) }
        workers.stop()
        Glibc.close(wake)
        Glibc.close(wakeWrite)
        log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \"shutdown\", \"message\": \"stopped\"}")
    }

    func checkShutdown(now: UInt64) -> Bool {
        completionLock.lock()
        let requested = shutdownRequested
        completionLock.unlock()
        guard requested else { return false }
        if shutdownStarted == nil {
            shutdownStarted = now
            log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \"shutdown\", \"message\": \"no longer accepting; finishing in-flight requests\"}")
            accepting = false
            Glibc.close(listener)
        }
        // Idle connections go now; busy ones may finish within the grace period.
        for connection in Array(connections.values) where !connection.processing && connection.outOffset >= connection.outbox.count {
            close(connection)
        }
        let grace = UInt64(configuration.shutdownGrace * 1e9)
        return connections.isEmpty || now - (shutdownStarted ?? now) > grace
    }

    // MARK: Connections

    func acceptConnections(now: UInt64) {
        while true {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener, $0, &length)
                }
            }
            if fd < 0 { return }
            HTTPServer.makeNonBlocking(fd)
            if connections.count >= configuration.maxConnections {
                let body = HTTPResponse.error(503, "too many open connections").with(header: ("Retry-After", "1"))
                let bytes = body.serialized(keepAlive: false, date: date(now), includeBody: true)
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                Glibc.close(fd)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(INET_ADDRSTRLEN))
            nextConnectionID += 1
            let connection = Connection(id: nextConnectionID, fd: fd, remoteAddress: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                                        limits: configuration.limits, now: now)
            connections[fd] = connection
            byID[connection.id] = connection
        }
    }

    func close(_ connection: Connection) {
        Glibc.close(connection.fd)
        connections[connection.fd] = nil
        byID[connection.id] = nil
    }

    func readable(_ connection: Connection, now: UInt64) {
        if connection.lingeringSince != nil {
            while true {
                let n = Glibc.read(connection.fd, readBuffer.baseAddress, readBuffer.count)
                if n > 0 { continue }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
                return close(connection)  // the client closed (or reset): done
            }
        }
        while true {
            let n = Glibc.read(connection.fd, readBuffer.baseAddress, readBuffer.count)
            if n > 0 {
                if connection.requestStarted == nil && !connection.processing { connection.requestStarted = now }
                connection.inbox.append(contentsOf: UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
                connection.lastActivity = now
                // Bound what a client may queue while a function runs (pipelining floods).
                if connection.inbox.count - connection.offset > configuration.limits.maxBodyBytes + configuration.limits.maxHeaderBytes * 2 {
                    break
                }
                continue
            }
            if n == 0 {
                connection.readClosed = true
            } else if errno == EINTR {
                continue
            } else if errno != EAGAIN && errno != EWOULDBLOCK {
                close(connection)
                return
            }
            break
        }
        advance(connection, now: now)
        if connection.readClosed && !connection.processing && connections[connection.fd] === connection {
            // A half-closed client gets the responses already owed, then the connection closes.
            connection.closeAfterWrite = true
            if connection.outOffset >= connection.outbox.count { close(connection) }
        }
    }

    /// Parses and dispatches requests while the connection is free (one request in flight at a time keeps
    /// pipelined responses in order).
    func advance(_ connection: Connection, now: UInt64) {
        while !connection.processing && !connection.closeAfterWrite && connections[connection.fd] === connection {
            let event: RequestParser.Event
            do throws(HTTPParseError) {
                event = try connection.parser.parse(connection.inbox, &connection.offset)
            } catch {
                respond(connection, .error(error.status, error.message), keepAlive: false, isHead: false, now: now)
                return
            }
            switch event {
            case .needMore:
                if connection.offset > 65536 || connection.offset == connection.inbox.count {
                    connection.inbox.removeFirst(connection.offset)
                    connection.offset = 0
                }
                if connection.inbox.isEmpty && connection.parser.head == nil { connection.requestStarted = nil }
                return
            case .expectsContinue:
                enqueue(connection, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), now: now)
            case .request(let request):
                connection.requestStarted = nil
                dispatch(request, on: connection, now: now)
            }
        }
    }

    /// Routes a request: health, readiness, metrics and the status page are answered on the loop; function
    /// invocations and the admin API (which compiles uploads) run on a worker.
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
                                            inFlight: load.running, queued: load.queued, openConnections: connections.count)).utf8)))
        case "/":
            return readOnly(HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")],
                                         body: Array(StatusPage.html(functions: platform.functions, energy: platform.energy).utf8)))
        default:
            break
        }
        if request.path.hasPrefix("/admin/") {
            guard let token = configuration.adminToken, !token.isEmpty else {
                return reply(.error(404, "the admin API is off (set NEBULA_ADMIN_TOKEN or --admin-token-file)"))
            }
            let admin = AdminAPI(token: Array(token.utf8), platform: platform)
            return runOnWorker(connection, keepAlive: keepAlive, isHead: isHead, function: nil) { [self] in
                let response = admin.handle(request)
                logRequest(request, status: response.status, bytesOut: response.body.count, started: now)
                return response
            }
        }
        let prefix = "/functions/"
        guard request.path.hasPrefix(prefix) else {
            return reply(.error(404, "no such path \(request.path)"))
        }
        let name = String(request.path.dropFirst(prefix.count))
        guard let function = platform.function(named: name) else {
            return reply(.error(404, "no such function", function: name))
        }
        guard ["GET", "POST", "HEAD"].contains(request.method) else {
            return reply(.error(405, "method \(request.method) not allowed", function: name).with(header: ("Allow", "GET, POST, HEAD")))
        }
        let invocation = Invocation(request: request, serverName: configuration.host, serverPort: port, remoteAddress: connection.remoteAddress)
        runOnWorker(connection, keepAlive: keepAlive, isHead: isHead, function: name) { [self] in
            let outcome = platform.invoke(function, invocation)
            logRequest(request, status: outcome.response.status, bytesOut: outcome.response.body.count, started: now,
                       function: name, footprint: outcome.footprint, stderr: outcome.stderrExcerpt)
            return outcome.response
        }
    }

    /// Runs `job` on a worker and sends its response when done; 503 when the work queue is full.
    func runOnWorker(_ connection: Connection, keepAlive: Bool, isHead: Bool, function: String?, job: @escaping () -> HTTPResponse) {
        connection.processing = true
        connection.pendingHead = isHead
        connection.closeAfterWrite = !keepAlive
        let id = connection.id
        let accepted = workers.submit { [self] in
            let response = job()
            completionLock.lock()
            completions.append((id, response))
            completionLock.unlock()
            wakeLoop()
        }
        if !accepted {
            connection.processing = false
            respond(connection, .error(503, "server busy: the work queue is full", function: function).with(header: ("Retry-After", "1")),
                    keepAlive: keepAlive, isHead: isHead, now: HTTPServer.now())
        }
    }

    /// One JSON line per request: what was asked, what it got, and (for invocations) what it cost.
    func logRequest(_ request: HTTPRequest, status: Int, bytesOut: Int, started: UInt64, function: String? = nil,
                    footprint: Footprint? = nil, stderr: String = "") {
        var line = "{\"timestamp\": \(jsonString(Timestamp.now())), \"method\": \(jsonString(request.method)), "
            + "\"path\": \(jsonString(request.path)), \"function\": \(function.map(jsonString) ?? "null"), \"status\": \(status), "
        if let footprint {
            line += footprint.jsonFields
        } else {
            line += "\"durationMs\": \(Footprint.milliseconds(Double(HTTPServer.now() - started) / 1e9))"
        }
        line += ", \"bytesIn\": \(request.body.count), \"bytesOut\": \(bytesOut)"
        if !stderr.isEmpty { line += ", \"stderr\": \(jsonString(stderr))" }
        log(line + "}")
    }

    func deliverCompletions(now: UInt64) {
        completionLock.lock()
        let done = completions
        completions.removeAll(keepingCapacity: true)
        completionLock.unlock()
        for (id, response) in done {
            guard let connection = byID[id] else { continue }
            connection.processing = false
            respond(connection, response, keepAlive: !connection.closeAfterWrite, isHead: connection.pendingHead, now: now)
            if !connection.closeAfterWrite { advance(connection, now: now) }
        }
    }

    func respond(_ connection: Connection, _ response: HTTPResponse, keepAlive: Bool, isHead: Bool, now: UInt64) {
        platform.metrics.countResponse(response.status)
        if !keepAlive { connection.closeAfterWrite = true }
        enqueue(connection, response.serialized(keepAlive: keepAlive, date: date(now), includeBody: !isHead), now: now)
    }

    func enqueue(_ connection: Connection, _ bytes: [UInt8], now: UInt64) {
        if connection.outOffset >= connection.outbox.count {
            connection.outbox = bytes
            connection.outOffset = 0
        } else {
            connection.outbox += bytes
        }
        flush(connection, now: now)
    }

    func flush(_ connection: Connection, now: UInt64) {
        while connection.outOffset < connection.outbox.count {
            let n = connection.outbox.withUnsafeBytes {
                send(connection.fd, $0.baseAddress! + connection.outOffset, $0.count - connection.outOffset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                connection.outOffset += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if connection.writeStarted == nil { connection.writeStarted = now }
                connection.writeInterest = true
                return
            }
            close(connection)
            return
        }
        connection.outbox.removeAll(keepingCapacity: connection.outbox.count < 65536)
        connection.outOffset = 0
        connection.writeStarted = nil
        connection.writeInterest = false
        if connection.closeAfterWrite && !connection.processing { linger(connection, now: now) }
    }

    /// How long a closing connection keeps draining what the client still sends.
    static let lingerSeconds = 2.0

    /// Closes after the last response without losing it: closing a socket with unread input (the rest of a
    /// refused 50 MB body, pipelined requests after an error) makes the kernel send a reset, which can destroy
    /// the response before the client reads it. So: shut down our sending side (the client sees the end of the
    /// response), discard input until the client closes or a short time passes, then close (RFC 9112 §9.6).
    func linger(_ connection: Connection, now: UInt64) {
        if connection.readClosed || connection.lingeringSince != nil {
            return close(connection)
        }
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.lingeringSince = now
        connection.inbox = []
        connection.offset = 0
    }

    func enforceTimeouts(now: UInt64) {
        func seconds(_ s: Double) -> UInt64 { UInt64(s * 1e9) }
        for connection in Array(connections.values) {
            if let since = connection.lingeringSince {
                if now - since > seconds(HTTPServer.lingerSeconds) { close(connection) }
                continue
            }
            if let started = connection.writeStarted, now - started > seconds(configuration.writeTimeout) {
                close(connection)
                continue
            }
            guard !connection.processing, connection.outOffset >= connection.outbox.count else { continue }
            if let started = connection.requestStarted {
                let limit = connection.parser.head == nil ? configuration.headerTimeout : configuration.bodyTimeout
                if now - started > seconds(limit) {
                    respond(connection, .error(408, connection.parser.head == nil ? "request head not received in time" : "request body not received in time"),
                            keepAlive: false, isHead: false, now: now)
                }
            } else if now - connection.lastActivity > seconds(configuration.idleTimeout) {
                close(connection)
            }
        }
    }

    func date(_ now: UInt64) -> String {
        var t = time(nil)
        if Int(t) == dateCache.second { return dateCache.text }
        var parts = tm()
        gmtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        strftime(&buffer, 64, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        dateCache = (Int(t), String(cString: buffer))
        return dateCache.text
    }
}
