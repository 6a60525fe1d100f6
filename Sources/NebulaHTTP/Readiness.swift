#if canImport(Glibc)
import Glibc
#endif

/// Which of an event loop's descriptors are ready. `epoll` where the C library has it: Swift's Glibc module
/// does not declare it (and the design card allows no C shim), so its three functions are looked up with
/// `dlsym`, as `memfd_create` is. Otherwise `poll`, over a list rebuilt from the registered interests.
/// With `epoll` a loop's turn costs what is ready, not what is open: `poll` re-arms every connection on
/// every turn (measured: about a third of the loop's time under 64 busy connections went there).
final class Readiness {
    struct Event {
        var fd: Int32
        /// Readable, or the peer hung up, or an error (all of which a read tells apart).
        var readable: Bool
        var writable: Bool
    }

    private typealias Create = @convention(c) (Int32) -> Int32
    private typealias Control = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias Wait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32

    private struct Epoll {
        let fd: Int32
        let control: Control
        let wait: Wait
    }

    private let epoll: Epoll?
    /// The `poll` fallback's interests: descriptor → (read, write).
    private var interests: [Int32: (read: Bool, write: Bool)] = [:]
    private var descriptors: [pollfd] = []
    private let events: UnsafeMutableRawPointer
    private static let capacity = 256

    // epoll's constants (Linux UAPI, the same on every architecture).
    private static let epollIn: UInt32 = 0x001, epollOut: UInt32 = 0x004, epollErr: UInt32 = 0x008, epollHup: UInt32 = 0x010
    private static let add: Int32 = 1, delete: Int32 = 2, modify: Int32 = 3
    private static let closeOnExec: Int32 = 0x80000

    /// `struct epoll_event` is packed on x86-64 (12 bytes: events, then the 64-bit data) and naturally
    /// aligned elsewhere (16 bytes, data at offset 8).
    #if arch(x86_64)
    private static let eventSize = 12, dataOffset = 4
    #else
    private static let eventSize = 16, dataOffset = 8
    #endif

    /// `usePoll` forces the fallback (tests run both).
    init(usePoll: Bool = false) {
        events = .allocate(byteCount: Readiness.capacity * Readiness.eventSize, alignment: 8)
        guard !usePoll,
              let create = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "epoll_create1"),
              let control = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "epoll_ctl"),
              let wait = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "epoll_wait") else {
            epoll = nil
            return
        }
        let fd = unsafeBitCast(create, to: Create.self)(Readiness.closeOnExec)
        epoll = fd >= 0 ? Epoll(fd: fd, control: unsafeBitCast(control, to: Control.self), wait: unsafeBitCast(wait, to: Wait.self)) : nil
    }

    deinit {
        if let epoll { Glibc.close(epoll.fd) }
        events.deallocate()
    }

    var usesEpoll: Bool { epoll != nil }

    private func control(_ operation: Int32, _ fd: Int32, read: Bool, write: Bool) {
        guard let epoll else { return }
        withUnsafeTemporaryAllocation(byteCount: Readiness.eventSize, alignment: 8) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            raw.storeBytes(of: (read ? Readiness.epollIn : 0) | (write ? Readiness.epollOut : 0), toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: UInt64(UInt32(bitPattern: fd)), toByteOffset: Readiness.dataOffset, as: UInt64.self)
            _ = epoll.control(epoll.fd, operation, fd, raw.baseAddress)
        }
    }

    /// Starts watching `fd` for reading.
    func add(_ fd: Int32) {
        if epoll != nil { control(Readiness.add, fd, read: true, write: false) } else { interests[fd] = (true, false) }
    }

    /// Changes what `fd` is watched for. Hang-ups and errors are reported whatever is asked (by both
    /// mechanisms), as readable.
    func modify(_ fd: Int32, read: Bool, write: Bool) {
        if epoll != nil { control(Readiness.modify, fd, read: read, write: write) } else { interests[fd] = (read, write) }
    }

    /// Stops watching `fd`; call before closing it.
    func remove(_ fd: Int32) {
        if let epoll { _ = epoll.control(epoll.fd, Readiness.delete, fd, nil) } else { interests[fd] = nil }
    }

    private var ready: [Event] = []

    /// Waits up to `milliseconds`; returns the ready descriptors (valid until the next call).
    func wait(milliseconds: Int32) -> [Event] {
        ready.removeAll(keepingCapacity: true)
        if let epoll {
            let count = epoll.wait(epoll.fd, events, Int32(Readiness.capacity), milliseconds)
            for i in 0..<Int(max(count, 0)) {
                let entry = events + i * Readiness.eventSize
                let flags = entry.loadUnaligned(as: UInt32.self)
                let fd = Int32(truncatingIfNeeded: entry.loadUnaligned(fromByteOffset: Readiness.dataOffset, as: UInt64.self))
                ready.append(Event(fd: fd, readable: flags & (Readiness.epollIn | Readiness.epollHup | Readiness.epollErr) != 0,
                                   writable: flags & Readiness.epollOut != 0))
            }
            return ready
        }
        descriptors.removeAll(keepingCapacity: true)
        for (fd, interest) in interests {
            descriptors.append(pollfd(fd: fd, events: (interest.read ? Int16(POLLIN) : 0) | (interest.write ? Int16(POLLOUT) : 0), revents: 0))
        }
        guard poll(&descriptors, nfds_t(descriptors.count), milliseconds) > 0 else { return ready }
        for descriptor in descriptors where descriptor.revents != 0 {
            ready.append(Event(fd: descriptor.fd, readable: descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0,
                               writable: descriptor.revents & Int16(POLLOUT) != 0))
        }
        return ready
    }
}
