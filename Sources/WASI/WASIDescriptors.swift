#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WasmVM

/// Descriptor operations behind the preview1 functions.
extension WASI {
    func descriptor(_ fd: UInt32) throws(WASIErrno) -> Descriptor {
        guard let descriptor = descriptors[fd] else { throw .badf }
        return descriptor
    }

    /// The host descriptor of an open file (directories only when asked).
    func hostFile(_ fd: UInt32, directoriesToo: Bool = false) throws(WASIErrno) -> Int32 {
        switch try descriptor(fd) {
        case .file(let host): return host
        case .directory(let host, _) where directoriesToo: return host
        case .directory: throw .isdir
        case .input, .output: throw .spipe
        }
    }

    func closeDescriptor(_ fd: UInt32) throws(WASIErrno) {
        switch try descriptor(fd) {
        case .file(let host), .directory(let host, _): close(host)
        case .input, .output: break
        }
        descriptors[fd] = nil
        listings[fd] = nil
    }

    static func clock(_ id: UInt64) throws(WASIErrno) -> clockid_t {
        switch id & 0xFFFF_FFFF {
        case 0: return CLOCK_REALTIME
        case 1: return CLOCK_MONOTONIC
        case 2: return CLOCK_PROCESS_CPUTIME_ID
        case 3: return CLOCK_THREAD_CPUTIME_ID
        default: throw .inval
        }
    }

    /// Traps once a buffered output has taken more than its `stopAfter` bytes (see `OutputBuffer`).
    func stopIfFlooded(fd: UInt32) throws {
        if case .output(.buffer(let buffer))? = try? descriptor(fd), buffer.isFlooded {
            throw Trap(.host("output flood: more than \(buffer.stopAfter ?? 0) bytes written to fd \(fd)"))
        }
    }

    func write(fd: UInt32, _ memory: GuestMemory, _ iovecs: [(UInt64, UInt64)], at position: UInt64?) throws(WASIErrno) -> Int {
        let target: WASIOutput
        switch try descriptor(fd) {
        case .output(let output): target = output
        case .file(let host): target = .fileDescriptor(host)
        case .directory: throw .isdir
        case .input: throw .badf
        }
        var total = 0
        for (base, length) in iovecs where length > 0 {
            let result: Int = try memory.withBytes(base, length) { chunk in
                switch target {
                case .discard:
                    return chunk.count
                case .buffer(let buffer):
                    buffer.append(UnsafeRawBufferPointer(chunk))
                    return chunk.count
                case .fileDescriptor(let host):
                    var written = 0
                    while written < chunk.count {
                        let n = position.map { pwrite(host, chunk.baseAddress! + written, chunk.count - written, off_t(truncatingIfNeeded: $0 &+ UInt64(total + written))) }
                            ?? Glibc.write(host, chunk.baseAddress! + written, chunk.count - written)
                        if n < 0 {
                            if errno == EINTR { continue }
                            return written > 0 ? written : -Int(WASIErrno.current.rawValue)
                        }
                        written += n
                    }
                    return written
                }
            }
            if result < 0 {
                if total > 0 { return total }
                throw WASIErrno(rawValue: UInt16(-result)) ?? .io
            }
            total += result
            if UInt64(result) < length { break }
        }
        return total
    }

    func read(fd: UInt32, _ memory: GuestMemory, _ iovecs: [(UInt64, UInt64)], at position: UInt64?) throws(WASIErrno) -> Int {
        var host: Int32 = -1
        switch try descriptor(fd) {
        case .input:
            switch configuration.stdin {
            case .empty: return 0
            case .fileDescriptor(let fd): host = fd
            case .bytes:
                var total = 0
                for (base, length) in iovecs where length > 0 {
                    let n = min(Int(length), stdinBytes.count - stdinPosition)
                    if n == 0 { break }
                    try memory.write(stdinBytes[stdinPosition..<(stdinPosition + n)], base)
                    stdinPosition += n
                    total += n
                }
                return total
            }
        case .file(let fd): host = fd
        case .directory: throw .isdir
        case .output: throw .badf
        }
        var total = 0
        for (base, length) in iovecs where length > 0 {
            let n: Int = try memory.withBytes(base, length) { chunk in
                while true {
                    let n = position.map { pread(host, chunk.baseAddress!, chunk.count, off_t(truncatingIfNeeded: $0 &+ UInt64(total))) }
                        ?? Glibc.read(host, chunk.baseAddress!, chunk.count)
                    if n < 0 && errno == EINTR { continue }
                    return n < 0 ? -Int(WASIErrno.current.rawValue) : n
                }
            }
            if n < 0 {
                if total > 0 { return total }
                throw WASIErrno(rawValue: UInt16(-n)) ?? .io
            }
            total += n
            if UInt64(n) < length { break }
        }
        return total
    }

    func fdstat(_ fd: UInt32) throws(WASIErrno) -> (WASIFileType, UInt16) {
        switch try descriptor(fd) {
        case .input, .output: return (.characterDevice, 0)
        case .directory: return (.directory, 0)
        case .file(let host):
            var info = stat()
            guard fstat(host, &info) == 0 else { throw WASIErrno.current }
            let flags = fcntl(host, F_GETFL)
            var wasiFlags: UInt16 = 0
            if flags & O_APPEND != 0 { wasiFlags |= 1 }
            if flags & O_NONBLOCK != 0 { wasiFlags |= 4 }
            return (WASIFileType(mode: info.st_mode), wasiFlags)
        }
    }

    static func filestat(_ info: stat?) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 64)
        func put(_ value: UInt64, _ offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 8), with: $0) }
        }
        guard let info else {
            bytes[16] = WASIFileType.characterDevice.rawValue
            return bytes
        }
        put(UInt64(info.st_dev), 0)
        put(UInt64(info.st_ino), 8)
        bytes[16] = WASIFileType(mode: info.st_mode).rawValue
        put(UInt64(info.st_nlink), 24)
        put(UInt64(info.st_size), 32)
        put(UInt64(info.st_atim.tv_sec) * 1_000_000_000 + UInt64(info.st_atim.tv_nsec), 40)
        put(UInt64(info.st_mtim.tv_sec) * 1_000_000_000 + UInt64(info.st_mtim.tv_nsec), 48)
        put(UInt64(info.st_ctim.tv_sec) * 1_000_000_000 + UInt64(info.st_ctim.tv_nsec), 56)
        return bytes
    }

    /// utimensat/futimens times (UTIME_NOW is 2^30-1, UTIME_OMIT 2^30-2 on Linux) from preview1's (atime, mtime, fstflags: 1 atime, 2 atime now, 4 mtime, 8 mtime now).
    static func timespecs(_ atime: UInt64, _ mtime: UInt64, _ flags: UInt64) -> [timespec] {
        func spec(_ value: UInt64, set: Bool, now: Bool) -> timespec {
            if now { return timespec(tv_sec: 0, tv_nsec: (1 << 30) - 1) }
            if set { return timespec(tv_sec: Int(value / 1_000_000_000), tv_nsec: Int(value % 1_000_000_000)) }
            return timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2)
        }
        return [spec(atime, set: flags & 1 != 0, now: flags & 2 != 0), spec(mtime, set: flags & 4 != 0, now: flags & 8 != 0)]
    }

    /// The host directory and sandboxed relative path for a guest path under descriptor `fd`.
    func resolve(_ fd: UInt32, _ path: String, follow: Bool) throws(WASIErrno) -> (Int32, String) {
        guard case .directory(let host, _) = try descriptor(fd) else { throw .notdir }
        return (host, try Sandbox.resolve(path, in: host, followFinalSymlink: follow))
    }

    func pathOpen(_ fd: UInt32, lookup: UInt32, path: String, oflags: UInt32, rights: UInt64, fdflags: UInt32) throws(WASIErrno) -> UInt32 {
        let (dir, relative) = try resolve(fd, path, follow: lookup & 1 != 0)
        // Read and write rights decide the access mode (fd_read = bit 1, fd_write = bit 6).
        let wantsRead = rights & (1 << 1) != 0 || rights & (1 << 14) != 0
        let wantsWrite = rights & (1 << 6) != 0 || oflags & (1 | 8) != 0
        var flags: Int32 = O_CLOEXEC | O_NOFOLLOW
        if oflags & 2 != 0 {
            flags |= O_DIRECTORY | O_RDONLY
        } else {
            flags |= wantsWrite ? (wantsRead ? O_RDWR : O_WRONLY) : O_RDONLY
        }
        if oflags & 1 != 0 { flags |= O_CREAT }
        if oflags & 4 != 0 { flags |= O_EXCL }
        if oflags & 8 != 0 { flags |= O_TRUNC }
        if fdflags & 1 != 0 { flags |= O_APPEND }
        if fdflags & 4 != 0 { flags |= O_NONBLOCK }
        var host = openat(dir, relative, flags, 0o644)
        if host < 0 && errno == EISDIR && oflags & 2 == 0 && !wantsWrite {
            host = openat(dir, relative, O_CLOEXEC | O_NOFOLLOW | O_RDONLY | O_DIRECTORY)
        }
        guard host >= 0 else { throw errno == ELOOP && lookup & 1 == 0 ? .loop : WASIErrno.current }
        var info = stat()
        fstat(host, &info)
        let number = nextDescriptor
        nextDescriptor += 1
        descriptors[number] = info.st_mode & S_IFMT == S_IFDIR ? .directory(host: host, guestPath: nil) : .file(host: host)
        return number
    }

    /// Fills `buffer` with dirents from `cookie` on; returns bytes used (a full buffer means more may follow).
    func readdir(_ fd: UInt32, _ memory: GuestMemory, _ buffer: UInt64, _ length: UInt64, cookie: UInt64) throws(WASIErrno) -> Int {
        guard case .directory(let host, _) = try descriptor(fd) else { throw .notdir }
        if cookie == 0 || listings[fd] == nil {
            let copy = dup(host)
            guard copy >= 0, let stream = fdopendir(copy) else { throw WASIErrno.current }
            rewinddir(stream)
            var entries: [(name: String, inode: UInt64, type: WASIFileType)] = []
            while let entry = Glibc.readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                let type: WASIFileType
                switch Int32(entry.pointee.d_type) {
                case Int32(DT_DIR): type = .directory
                case Int32(DT_REG): type = .regularFile
                case Int32(DT_LNK): type = .symbolicLink
                case Int32(DT_CHR): type = .characterDevice
                case Int32(DT_BLK): type = .blockDevice
                default: type = .unknown
                }
                entries.append((name, UInt64(entry.pointee.d_ino), type))
            }
            closedir(stream)
            listings[fd] = entries.sorted { $0.name < $1.name }
        }
        let entries = listings[fd] ?? []
        var out: [UInt8] = []
        var index = Int(min(cookie, UInt64(entries.count)))
        while index < entries.count, UInt64(out.count) < length {
            let entry = entries[index]
            let name = Array(entry.name.utf8)
            var header = [UInt8](repeating: 0, count: 24)
            withUnsafeBytes(of: UInt64(index + 1).littleEndian) { header.replaceSubrange(0..<8, with: $0) }
            withUnsafeBytes(of: entry.inode.littleEndian) { header.replaceSubrange(8..<16, with: $0) }
            withUnsafeBytes(of: UInt32(name.count).littleEndian) { header.replaceSubrange(16..<20, with: $0) }
            header[20] = entry.type.rawValue
            out += header + name
            index += 1
        }
        let used = min(out.count, Int(length))
        try memory.write(out.prefix(used), buffer)
        return used
    }

    /// Clock subscriptions sleep until the earliest deadline; descriptor subscriptions report ready.
    func pollOneoff(_ memory: GuestMemory, _ input: UInt64, _ output: UInt64, _ count: UInt64, _ eventsPointer: UInt64) throws(WASIErrno) {
        guard count > 0, count <= 4096 else { throw .inval }
        var sleepNanoseconds: UInt64?
        var events: [[UInt8]] = []
        for i in 0..<count {
            let subscription = try memory.read(input + 48 * i, 48)
            let userdata = subscription.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
            var event = [UInt8](repeating: 0, count: 32)
            withUnsafeBytes(of: userdata) { event.replaceSubrange(0..<8, with: $0) }
            event[10] = subscription[8]
            switch subscription[8] {
            case 0:
                let (clockID, timeout, flags) = subscription.withUnsafeBytes {
                    ($0.loadUnaligned(fromByteOffset: 16, as: UInt32.self), $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self),
                     $0.loadUnaligned(fromByteOffset: 40, as: UInt16.self))
                }
                var wait = timeout
                if flags & 1 != 0 {
                    // Absolute deadline on that clock.
                    var now = timespec()
                    clock_gettime(try Self.clock(UInt64(clockID)), &now)
                    let current = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
                    wait = timeout > current ? timeout - current : 0
                }
                sleepNanoseconds = min(sleepNanoseconds ?? wait, wait)
            case 1, 2:
                let fd = subscription.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16, as: UInt32.self) }
                if descriptors[fd] == nil { event[8] = UInt8(WASIErrno.badf.rawValue) }
            default:
                event[8] = UInt8(WASIErrno.inval.rawValue)
            }
            events.append(event)
        }
        if let sleepNanoseconds, sleepNanoseconds > 0 {
            var request = timespec(tv_sec: Int(min(sleepNanoseconds / 1_000_000_000, 86_400)), tv_nsec: Int(sleepNanoseconds % 1_000_000_000))
            var remaining = timespec()
            while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
        }
        for (i, event) in events.enumerated() { try memory.write(event, output + 32 * UInt64(i)) }
        try memory.setU32(UInt32(events.count), eventsPointer)
    }
}
