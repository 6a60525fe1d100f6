#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The HTTP/1.1 server: `eventLoops` threads each multiplex their share of the connections with `epoll`
/// (see `Readiness`; an idle connection costs a few hundred bytes, never a thread), and function invocations
/// run on one shared `WorkerPool`. Each loop has its own listening socket bound to the same port with
/// `SO_REUSEPORT`, so the kernel spreads new connections over the loops and no lock is taken on the request
/// path; a connection stays on the loop that accepted it. The loops never run guest code and never block on
/// a socket. docs/scaling.md says how this scales.
public final class HTTPServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    let platform: FunctionPlatform
    let workers: WorkerPool
    let log: (String) -> Void
    /// How many event loops `start` creates (`configuration.eventLoops`, or the default for this machine).
    public let eventLoopCount: Int
    var loops: [EventLoop] = []
    public private(set) var port = 0

    /// Shared between loops: the shutdown request, and the open connections (for the cap and the `/metrics`
    /// gauge; taken once per accepted or closed connection, never per request).
    let sharedLock = NSLock()
    var shutdownRequested = false
    let connectionSlots: Gate
    /// Status page runs (`/?invoke=...`, `/?compare=...`) in progress: at most one.
    let pageRuns = Gate(capacity: 1)

    public init(configuration: ServerConfiguration, platform: FunctionPlatform, log: @escaping (String) -> Void) {
        self.configuration = configuration
        self.platform = platform
        self.log = log
        let cores = ProcessInfo.processInfo.activeProcessorCount
        workers = WorkerPool(workers: configuration.workers > 0 ? configuration.workers : cores,
                             queueCapacity: configuration.queueCapacity)
        connectionSlots = Gate(capacity: configuration.maxConnections)
        eventLoopCount = configuration.eventLoops > 0 ? configuration.eventLoops : HTTPServer.defaultEventLoops(cores: cores)
    }

    /// One loop per four cores, rounded up. One loop answers about 60,000 small requests a second, while a
    /// core running functions serves a few thousand to about ten thousand invocations: a loop keeps four or
    /// more workers busy, and every extra loop is a thread competing with them for the same cores.
    public static func defaultEventLoops(cores: Int) -> Int { max(1, (cores + 3) / 4) }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Binds and listens (one socket per event loop, all on the same port); returns the port (useful with port 0).
    @discardableResult
    public func start() throws -> Int {
        var boundPort = configuration.port
        for index in 0..<eventLoopCount {
            let listener = try HTTPServer.listen(host: configuration.host, port: boundPort)
            if index == 0 { boundPort = HTTPServer.localPort(listener) }
            do {
                loops.append(try EventLoop(server: self, index: index, listener: listener))
            } catch {
                Glibc.close(listener)
                throw error
            }
        }
        port = boundPort
        return port
    }

    static func listen(host: String, port: Int) throws -> Int32 {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw StartError(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            Glibc.close(listener)
            throw StartError(description: "invalid host address \(host) (an IPv4 address is expected)")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(listener)
            throw StartError(description: "cannot bind \(host):\(port): \(reason)")
        }
        guard Glibc.listen(listener, 1024) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(listener)
            throw StartError(description: "listen: \(reason)")
        }
        return listener
    }

    static func localPort(_ socket: Int32) -> Int {
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        return Int(UInt16(bigEndian: actual.sin_port))
    }

    static func makeNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// Safe from any thread (signal handlers go through Dispatch): stop accepting, finish what is in flight.
    public func requestShutdown() {
        sharedLock.lock()
        shutdownRequested = true
        sharedLock.unlock()
        for loop in loops { loop.wake() }
    }

    var isShutdownRequested: Bool {
        sharedLock.lock()
        defer { sharedLock.unlock() }
        return shutdownRequested
    }

    /// Open connections over all loops.
    public var openConnections: Int { connectionSlots.holders }

    /// Runs the event loops (the first on the calling thread) until a shutdown completes.
    public func run() {
        let finished = DispatchGroup()
        for loop in loops.dropFirst() {
            finished.enter()
            let thread = Thread {
                loop.run()
                finished.leave()
            }
            thread.name = "nebula-loop-\(loop.index)"
            thread.start()
        }
        loops.first?.run()
        finished.wait()
        workers.stop()
        log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \"shutdown\", \"message\": \"stopped\"}")
    }
}
