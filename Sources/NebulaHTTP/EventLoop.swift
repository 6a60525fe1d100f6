#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// One event loop: a thread that accepts from its own listening socket and owns the connections it
/// accepted — reading and parsing requests, answering the cheap routes, handing invocations to the shared
/// worker pool and writing their responses back. Nothing here is shared with other loops except through
/// `HTTPServer`'s lock (shutdown, the connection count), so the request path takes no lock but the pool's.
final class EventLoop: @unchecked Sendable {
    unowned let server: HTTPServer
    let index: Int
    let configuration: ServerConfiguration
    let platform: FunctionPlatform
    let workers: WorkerPool
    let log: (String) -> Void

    var listener: Int32
    /// Self-pipe: workers and shutdown requests write a byte to wake the loop.
    let wakeRead: Int32
    let wakeWrite: Int32
    /// What is ready: epoll where available (see `Readiness`).
    let readiness: Readiness
    var accepting = true
    var connections: [Int32: Connection] = [:]
    var byID: [UInt64: Connection] = [:]
    var nextConnectionID: UInt64 = 0
    /// Connections this loop has accepted (tests read it to see the kernel spread them).
    var acceptedCount = 0
    /// Times the loop has woken (tests read it to see it does not spin).
    var turns = 0
    let completionLock = NSLock()
    var completions: [(UInt64, HTTPResponse)] = []
    /// A wake byte is on its way for completions not yet taken: later ones need not write another (under
    /// `completionLock`; a busy loop would otherwise get a pipe write and a wake-up per response).
    var wakePending = false
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
        /// What the loop's `Readiness` watches this connection for now (see `updateInterest`).
        var watchingRead = true
        var watchingWrite = false
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

    init(server: HTTPServer, index: Int, listener: Int32) throws {
        self.server = server
        self.index = index
        self.listener = listener
        configuration = server.configuration
        platform = server.platform
        workers = server.workers
        log = server.log
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HTTPServer.StartError(description: "pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { HTTPServer.makeNonBlocking(fd) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        readiness = Readiness(usePoll: configuration.usePoll)
        readiness.add(wakeRead)
        readiness.add(listener)
    }

    deinit { readBuffer.deallocate() }

    static func now() -> UInt64 { HTTPServer.now() }

    func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    /// Runs until a shutdown completes.
    func run() {
        var lastTick: UInt64 = 0
        var drain = [UInt8](repeating: 0, count: 256)
        while true {
            let ready = readiness.wait(milliseconds: 100)
            turns &+= 1
            let now = EventLoop.now()
            for event in ready {
                let fd = event.fd
                if fd == wakeRead {
                    while Glibc.read(wakeRead, &drain, drain.count) > 0 {}
                    deliverCompletions(now: now)
                } else if fd == listener {
                    if accepting { acceptConnections(now: now) }
                } else if let connection = connections[fd] {
                    if event.readable { readable(connection, now: now) }
                    if event.writable, connections[fd] === connection { flush(connection, now: now) }
                }
            }
            if now - lastTick > 100_000_000 {
                lastTick = now
                enforceTimeouts(now: now)
                if checkShutdown(now: now) { break }
            }
        }
        for connection in Array(connections.values) { close(connection) }
        if accepting {
            readiness.remove(listener)
            Glibc.close(listener)
        }
        readiness.remove(wakeRead)
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    func checkShutdown(now: UInt64) -> Bool {
        guard server.isShutdownRequested else { return false }
        if shutdownStarted == nil {
            shutdownStarted = now
            if index == 0 {
                log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \"shutdown\", \"message\": \"no longer accepting; finishing in-flight requests\"}")
            }
            accepting = false
            readiness.remove(listener)
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
            guard server.connectionSlots.tryEnter() else {
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
            acceptedCount += 1
            let connection = Connection(id: nextConnectionID, fd: fd, remoteAddress: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                                        limits: configuration.limits, now: now)
            connections[fd] = connection
            byID[connection.id] = connection
            readiness.add(fd)
        }
    }

    func close(_ connection: Connection) {
        readiness.remove(connection.fd)
        Glibc.close(connection.fd)
        connections[connection.fd] = nil
        byID[connection.id] = nil
        server.connectionSlots.leave()
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
                if connection.inbox.count - connection.offset > inboxLimit {
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
        settle(connection)
    }

    /// After a connection's input or state changed: a half-closed client gets the responses already owed,
    /// then the connection closes; otherwise what it is watched for follows its state.
    func settle(_ connection: Connection) {
        guard connections[connection.fd] === connection else { return }
        if connection.readClosed && !connection.processing {
            connection.closeAfterWrite = true
            if connection.outOffset >= connection.outbox.count { return close(connection) }
        }
        updateInterest(connection)
    }

    /// The most a connection may have read and not yet parsed (pipelined requests behind one that runs).
    var inboxLimit: Int { configuration.limits.maxBodyBytes + configuration.limits.maxHeaderBytes * 2 }

    /// Watches a connection for reading only while reading can make progress — not after the client's end
    /// of the stream (readiness would report that end on every turn: a spinning loop while the function
    /// runs) and not while its unparsed input is at the limit (the socket's buffers then push back on the
    /// client instead of our memory growing) — and for writing while a response waits for the socket.
    func updateInterest(_ connection: Connection) {
        guard connections[connection.fd] === connection else { return }
        let read = !connection.readClosed && connection.inbox.count - connection.offset <= inboxLimit
        let write = connection.writeInterest
        guard read != connection.watchingRead || write != connection.watchingWrite else { return }
        connection.watchingRead = read
        connection.watchingWrite = write
        readiness.modify(connection.fd, read: read, write: write)
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

    func deliverCompletions(now: UInt64) {
        completionLock.lock()
        let done = completions
        completions.removeAll(keepingCapacity: true)
        wakePending = false
        completionLock.unlock()
        for (id, response) in done {
            guard let connection = byID[id] else { continue }
            connection.processing = false
            respond(connection, response, keepAlive: !connection.closeAfterWrite, isHead: connection.pendingHead, now: now)
            if !connection.closeAfterWrite { advance(connection, now: now) }
            settle(connection)
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
                updateInterest(connection)
                return
            }
            close(connection)
            return
        }
        connection.outbox.removeAll(keepingCapacity: connection.outbox.count < 65536)
        connection.outOffset = 0
        connection.writeStarted = nil
        connection.writeInterest = false
        updateInterest(connection)
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
                if now - since > seconds(EventLoop.lingerSeconds) { close(connection) }
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
        dateCache = (Int(t), String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        return dateCache.text
    }
}
