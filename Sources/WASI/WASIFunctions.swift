#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WasmParser
import WasmVM

/// The preview1 functions Nebula provides, one case each: the name a module imports, the parameters (every
/// function returns an errno but `proc_exit`, which returns nothing), and (`WASI.body`) what it does.
public enum WASIFunction: String, CaseIterable, Sendable {
    case argsSizesGet = "args_sizes_get"
    case argsGet = "args_get"
    case environSizesGet = "environ_sizes_get"
    case environGet = "environ_get"
    case clockResGet = "clock_res_get"
    case clockTimeGet = "clock_time_get"
    case randomGet = "random_get"
    case schedYield = "sched_yield"
    case procRaise = "proc_raise"
    case procExit = "proc_exit"
    case pollOneoff = "poll_oneoff"
    case fdWrite = "fd_write"
    case fdPwrite = "fd_pwrite"
    case fdRead = "fd_read"
    case fdPread = "fd_pread"
    case fdClose = "fd_close"
    case fdSeek = "fd_seek"
    case fdTell = "fd_tell"
    case fdFdstatGet = "fd_fdstat_get"
    case fdFdstatSetFlags = "fd_fdstat_set_flags"
    case fdFdstatSetRights = "fd_fdstat_set_rights"
    case fdFilestatGet = "fd_filestat_get"
    case fdFilestatSetSize = "fd_filestat_set_size"
    case fdFilestatSetTimes = "fd_filestat_set_times"
    case fdSync = "fd_sync"
    case fdDatasync = "fd_datasync"
    case fdAdvise = "fd_advise"
    case fdAllocate = "fd_allocate"
    case fdRenumber = "fd_renumber"
    case fdPrestatGet = "fd_prestat_get"
    case fdPrestatDirName = "fd_prestat_dir_name"
    case fdReaddir = "fd_readdir"
    case pathOpen = "path_open"
    case pathFilestatGet = "path_filestat_get"
    case pathFilestatSetTimes = "path_filestat_set_times"
    case pathCreateDirectory = "path_create_directory"
    case pathRemoveDirectory = "path_remove_directory"
    case pathUnlinkFile = "path_unlink_file"
    case pathRename = "path_rename"
    case pathLink = "path_link"
    case pathSymlink = "path_symlink"
    case pathReadlink = "path_readlink"
    case sockAccept = "sock_accept"
    case sockRecv = "sock_recv"
    case sockSend = "sock_send"
    case sockShutdown = "sock_shutdown"

    public var parameters: [ValueType] {
        switch self {
        case .argsSizesGet: [.i32, .i32]
        case .argsGet: [.i32, .i32]
        case .environSizesGet: [.i32, .i32]
        case .environGet: [.i32, .i32]
        case .clockResGet: [.i32, .i32]
        case .clockTimeGet: [.i32, .i64, .i32]
        case .randomGet: [.i32, .i32]
        case .schedYield: []
        case .procRaise: [.i32]
        case .procExit: [.i32]
        case .pollOneoff: [.i32, .i32, .i32, .i32]
        case .fdWrite: [.i32, .i32, .i32, .i32]
        case .fdPwrite: [.i32, .i32, .i32, .i64, .i32]
        case .fdRead: [.i32, .i32, .i32, .i32]
        case .fdPread: [.i32, .i32, .i32, .i64, .i32]
        case .fdClose: [.i32]
        case .fdSeek: [.i32, .i64, .i32, .i32]
        case .fdTell: [.i32, .i32]
        case .fdFdstatGet: [.i32, .i32]
        case .fdFdstatSetFlags: [.i32, .i32]
        case .fdFdstatSetRights: [.i32, .i64, .i64]
        case .fdFilestatGet: [.i32, .i32]
        case .fdFilestatSetSize: [.i32, .i64]
        case .fdFilestatSetTimes: [.i32, .i64, .i64, .i32]
        case .fdSync: [.i32]
        case .fdDatasync: [.i32]
        case .fdAdvise: [.i32, .i64, .i64, .i32]
        case .fdAllocate: [.i32, .i64, .i64]
        case .fdRenumber: [.i32, .i32]
        case .fdPrestatGet: [.i32, .i32]
        case .fdPrestatDirName: [.i32, .i32, .i32]
        case .fdReaddir: [.i32, .i32, .i32, .i64, .i32]
        case .pathOpen: [.i32, .i32, .i32, .i32, .i32, .i64, .i64, .i32, .i32]
        case .pathFilestatGet: [.i32, .i32, .i32, .i32, .i32]
        case .pathFilestatSetTimes: [.i32, .i32, .i32, .i32, .i64, .i64, .i32]
        case .pathCreateDirectory: [.i32, .i32, .i32]
        case .pathRemoveDirectory: [.i32, .i32, .i32]
        case .pathUnlinkFile: [.i32, .i32, .i32]
        case .pathRename: [.i32, .i32, .i32, .i32, .i32, .i32]
        case .pathLink: [.i32, .i32, .i32, .i32, .i32, .i32, .i32]
        case .pathSymlink: [.i32, .i32, .i32, .i32, .i32]
        case .pathReadlink: [.i32, .i32, .i32, .i32, .i32, .i32]
        case .sockAccept: [.i32, .i32, .i32]
        case .sockRecv: [.i32, .i32, .i32, .i32, .i32, .i32]
        case .sockSend: [.i32, .i32, .i32, .i32, .i32]
        case .sockShutdown: [.i32, .i32]
        }
    }

    public var results: [ValueType] { self == .procExit ? [] : [.i32] }

    /// The function type, interned once per process (defining it per request costs no type lookup).
    public var type: InternedFunctionType { WASIFunction.types[position] }
    static let types = WASIFunction.allCases.map { InternedFunctionType(FunctionType(parameters: $0.parameters, results: $0.results)) }
    static let implementations = WASIFunction.allCases.map(WASI.implementation)
    /// Its index in `allCases` (looked up per defined function, so not a linear search).
    var position: Int { WASIFunction.positions[self]! }
    static let positions = Dictionary(uniqueKeysWithValues: WASIFunction.allCases.enumerated().map { ($1, $0) })
}

/// The bodies. Each returns an errno in slot 0 (see `Store.defineFunction(type:raw:)` for the slot
/// convention); pointers are guest addresses checked by `GuestMemory`.
extension WASI {
    typealias Entry = (String, [ValueType], [ValueType], HostFunctionBody)

    /// A preview1 function's implementation, for whichever WASI context a call comes with: written once,
    /// bound to one context per run (`body`) or to a router's current one (`Router`).
    typealias Implementation = @Sendable (WASI, Caller, UnsafeMutablePointer<UInt64>) throws(Trap) -> Void

    /// Wraps a body that throws an errno into the raw convention: errno (0 on success) in slot 0.
    static func errnoReturning(_ body: @escaping @Sendable (WASI, GuestMemory, UnsafeMutablePointer<UInt64>) throws -> Void) -> Implementation {
        return { (wasi: WASI, caller: Caller, slots: UnsafeMutablePointer<UInt64>) throws(Trap) in
            do {
                let memory = try GuestMemory(caller)
                try body(wasi, memory, slots)
                slots[0] = 0
            } catch let error as WASIErrno {
                slots[0] = UInt64(error.rawValue)
            } catch let trap as Trap {
                throw trap
            } catch {
                slots[0] = UInt64(WASIErrno.io.rawValue)
            }
        }
    }

    /// The functions named by `wanted` (all when nil), as the generic `define` defines them.
    func functionTable(_ wanted: Set<String>? = nil) -> [Entry] {
        WASIFunction.allCases.filter { wanted?.contains($0.rawValue) ?? true }.map { ($0.rawValue, $0.parameters, $0.results, body($0)) }
    }

    /// The host function for `function`, bound to this WASI instance.
    func body(_ function: WASIFunction) -> HostFunctionBody {
        let implementation = WASIFunction.implementations[function.position]
        return { [self] (caller: Caller, slots: UnsafeMutablePointer<UInt64>) throws(Trap) in try implementation(self, caller, slots) }
    }

    /// What `function` does.
    static func implementation(_ function: WASIFunction) -> Implementation {
        @Sendable func a(_ slots: UnsafeMutablePointer<UInt64>, _ i: Int) -> UInt64 { slots[i] & 0xFFFF_FFFF }
        switch function {
        // Arguments and environment: NUL-terminated strings packed in a buffer, with a pointer table.
        case .argsSizesGet:
            return errnoReturning { w, m, s in
                try m.setU32(UInt32(w.packedArguments.count), a(s, 0))
                try m.setU32(UInt32(w.packedArguments.bytes.count), a(s, 1))
            }
        case .argsGet:
            return errnoReturning { w, m, s in try w.packedArguments.write(m, pointers: a(s, 0), buffer: a(s, 1)) }
        case .environSizesGet:
            return errnoReturning { w, m, s in
                try m.setU32(UInt32(w.packedEnvironment.count), a(s, 0))
                try m.setU32(UInt32(w.packedEnvironment.bytes.count), a(s, 1))
            }
        case .environGet:
            return errnoReturning { w, m, s in try w.packedEnvironment.write(m, pointers: a(s, 0), buffer: a(s, 1)) }
        // Clocks and randomness.
        case .clockResGet:
            return errnoReturning { w, m, s in
                var spec = timespec()
                guard clock_getres(try Self.clock(s[0]), &spec) == 0 else { throw WASIErrno.inval }
                try m.setU64(UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec), a(s, 1))
            }
        case .clockTimeGet:
            return errnoReturning { w, m, s in
                var spec = timespec()
                guard clock_gettime(try Self.clock(s[0]), &spec) == 0 else { throw WASIErrno.inval }
                try m.setU64(UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec), a(s, 2))
            }
        case .randomGet:
            return errnoReturning { w, m, s in
                try m.withBytes(a(s, 0), a(s, 1)) { buffer in
                    var generator = SystemRandomNumberGenerator()
                    for i in 0..<buffer.count { buffer[i] = UInt8.random(in: 0...255, using: &generator) }
                }
            }
        case .schedYield:
            return errnoReturning { _, _, _ in sched_yield() }
        case .procRaise:
            return errnoReturning { _, _, _ in throw WASIErrno.nosys }
        case .procExit:
            return { (_: WASI, _: Caller, slots: UnsafeMutablePointer<UInt64>) throws(Trap) in
                throw Trap(.exit(Int32(truncatingIfNeeded: slots[0])))
            }
        case .pollOneoff:
            return errnoReturning { w, m, s in try w.pollOneoff(m, a(s, 0), a(s, 1), a(s, 2), a(s, 3)) }
        // Descriptors.
        case .fdWrite:
            return errnoReturning { w, m, s in
                try m.setU32(UInt32(try w.write(fd: UInt32(a(s, 0)), m, m.iovecs(a(s, 1), a(s, 2)), at: nil)), a(s, 3))
                try w.stopIfFlooded(fd: UInt32(a(s, 0)))
            }
        case .fdPwrite:
            return errnoReturning { w, m, s in
                try m.setU32(UInt32(try w.write(fd: UInt32(a(s, 0)), m, m.iovecs(a(s, 1), a(s, 2)), at: s[3])), a(s, 4))
                try w.stopIfFlooded(fd: UInt32(a(s, 0)))
            }
        case .fdRead:
            return errnoReturning { w, m, s in
                try m.setU32(UInt32(try w.read(fd: UInt32(a(s, 0)), m, m.iovecs(a(s, 1), a(s, 2)), at: nil)), a(s, 3))
            }
        case .fdPread:
            return errnoReturning { w, m, s in
                try m.setU32(UInt32(try w.read(fd: UInt32(a(s, 0)), m, m.iovecs(a(s, 1), a(s, 2)), at: s[3])), a(s, 4))
            }
        case .fdClose:
            return errnoReturning { w, _, s in try w.closeDescriptor(UInt32(a(s, 0))) }
        case .fdSeek:
            return errnoReturning { w, m, s in
                let fd = try w.hostFile(UInt32(a(s, 0)))
                let whence: Int32
                switch s[2] & 0xFF {
                case 0: whence = SEEK_SET
                case 1: whence = SEEK_CUR
                case 2: whence = SEEK_END
                default: throw WASIErrno.inval
                }
                let position = lseek(fd, off_t(truncatingIfNeeded: s[1]), whence)
                guard position >= 0 else { throw WASIErrno.current }
                try m.setU64(UInt64(position), a(s, 3))
            }
        case .fdTell:
            return errnoReturning { w, m, s in
                let position = lseek(try w.hostFile(UInt32(a(s, 0))), 0, SEEK_CUR)
                guard position >= 0 else { throw WASIErrno.current }
                try m.setU64(UInt64(position), a(s, 1))
            }
        case .fdFdstatGet:
            return errnoReturning { w, m, s in
                let (type, flags) = try w.fdstat(UInt32(a(s, 0)))
                var bytes = [UInt8](repeating: 0, count: 24)
                bytes[0] = type.rawValue
                bytes[2] = UInt8(flags & 0xFF)
                withUnsafeBytes(of: allRights.littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
                withUnsafeBytes(of: allRights.littleEndian) { bytes.replaceSubrange(16..<24, with: $0) }
                try m.write(bytes, a(s, 1))
            }
        case .fdFdstatSetFlags:
            return errnoReturning { w, _, s in
                let fd = try w.hostFile(UInt32(a(s, 0)))
                var flags = fcntl(fd, F_GETFL) & ~(O_APPEND | O_NONBLOCK)
                if s[1] & 1 != 0 { flags |= O_APPEND }
                if s[1] & 4 != 0 { flags |= O_NONBLOCK }
                guard fcntl(fd, F_SETFL, flags) == 0 else { throw WASIErrno.current }
            }
        case .fdFdstatSetRights:
            return errnoReturning { w, _, s in _ = try w.descriptor(UInt32(a(s, 0))) }
        case .fdFilestatGet:
            return errnoReturning { w, m, s in
                let fd = UInt32(a(s, 0))
                var info = stat()
                switch try w.descriptor(fd) {
                case .directory(let host, _), .file(let host):
                    guard fstat(host, &info) == 0 else { throw WASIErrno.current }
                    try m.write(Self.filestat(info), a(s, 1))
                default:
                    try m.write(Self.filestat(nil), a(s, 1))
                }
            }
        case .fdFilestatSetSize:
            return errnoReturning { w, _, s in
                guard ftruncate(try w.hostFile(UInt32(a(s, 0))), off_t(truncatingIfNeeded: s[1])) == 0 else { throw WASIErrno.current }
            }
        case .fdFilestatSetTimes:
            return errnoReturning { w, _, s in
                var times = Self.timespecs(s[1], s[2], s[3])
                guard futimens(try w.hostFile(UInt32(a(s, 0)), directoriesToo: true), &times) == 0 else { throw WASIErrno.current }
            }
        case .fdSync:
            return errnoReturning { w, _, s in guard fsync(try w.hostFile(UInt32(a(s, 0)))) == 0 else { throw WASIErrno.current } }
        case .fdDatasync:
            return errnoReturning { w, _, s in guard fdatasync(try w.hostFile(UInt32(a(s, 0)))) == 0 else { throw WASIErrno.current } }
        case .fdAdvise:
            return errnoReturning { w, _, s in
                _ = try w.hostFile(UInt32(a(s, 0)))
                guard s[3] & 0xFF <= 5 else { throw WASIErrno.inval }
            }
        case .fdAllocate:
            return errnoReturning { w, _, s in
                let fd = try w.hostFile(UInt32(a(s, 0)))
                let result = posix_fallocate(fd, off_t(truncatingIfNeeded: s[1]), off_t(truncatingIfNeeded: s[2]))
                guard result == 0 else { throw WASIErrno.fromHost(result) }
            }
        case .fdRenumber:
            return errnoReturning { w, _, s in
                let from = UInt32(a(s, 0)), to = UInt32(a(s, 1))
                let descriptor = try w.descriptor(from)
                _ = try w.descriptor(to)
                try w.closeDescriptor(to)
                w.descriptors[to] = descriptor
                w.descriptors[from] = nil
            }
        case .fdPrestatGet:
            return errnoReturning { w, m, s in
                guard case .directory(_, let guestPath?) = try w.descriptor(UInt32(a(s, 0))) else { throw WASIErrno.badf }
                try m.setU32(0, a(s, 1))
                try m.setU32(UInt32(guestPath.utf8.count), a(s, 1) + 4)
            }
        case .fdPrestatDirName:
            return errnoReturning { w, m, s in
                guard case .directory(_, let guestPath?) = try w.descriptor(UInt32(a(s, 0))) else { throw WASIErrno.badf }
                let name = Array(guestPath.utf8)
                guard a(s, 2) >= UInt64(name.count) else { throw WASIErrno.nametoolong }
                try m.write(name, a(s, 1))
            }
        case .fdReaddir:
            return errnoReturning { w, m, s in
                try m.setU32(UInt32(try w.readdir(UInt32(a(s, 0)), m, a(s, 1), a(s, 2), cookie: s[3])), a(s, 4))
            }
        // Paths, always resolved inside a descriptor's directory.
        case .pathOpen:
            return errnoReturning { w, m, s in
                let fd = try w.pathOpen(UInt32(a(s, 0)), lookup: UInt32(a(s, 1)), path: try m.string(a(s, 2), a(s, 3)),
                                           oflags: UInt32(a(s, 4)), rights: s[5], fdflags: UInt32(a(s, 7)))
                try m.setU32(fd, a(s, 8))
            }
        case .pathFilestatGet:
            return errnoReturning { w, m, s in
                let (dir, path) = try w.resolve(UInt32(a(s, 0)), try m.string(a(s, 2), a(s, 3)), follow: s[1] & 1 != 0)
                var info = stat()
                guard fstatat(dir, path, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw WASIErrno.current }
                try m.write(Self.filestat(info), a(s, 4))
            }
        case .pathFilestatSetTimes:
            return errnoReturning { w, m, s in
                let (dir, path) = try w.resolve(UInt32(a(s, 0)), try m.string(a(s, 2), a(s, 3)), follow: s[1] & 1 != 0)
                var times = Self.timespecs(s[4], s[5], s[6])
                guard utimensat(dir, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else { throw WASIErrno.current }
            }
        case .pathCreateDirectory:
            return errnoReturning { w, m, s in
                let (dir, path) = try w.resolve(UInt32(a(s, 0)), try m.string(a(s, 1), a(s, 2)), follow: false)
                guard mkdirat(dir, path, 0o755) == 0 else { throw WASIErrno.current }
            }
        case .pathRemoveDirectory:
            return errnoReturning { w, m, s in
                let (dir, path) = try w.resolve(UInt32(a(s, 0)), try m.string(a(s, 1), a(s, 2)), follow: false)
                guard path != "." else { throw WASIErrno.inval }
                guard unlinkat(dir, path, AT_REMOVEDIR) == 0 else { throw WASIErrno.current }
            }
        case .pathUnlinkFile:
            return errnoReturning { w, m, s in
                let (dir, path) = try w.resolve(UInt32(a(s, 0)), try m.string(a(s, 1), a(s, 2)), follow: false)
                guard unlinkat(dir, path, 0) == 0 else { throw WASIErrno.current }
            }
        case .pathRename:
            return errnoReturning { w, m, s in
                let (from, fromPath) = try w.resolve(UInt32(a(s, 0)), try m.string(a(s, 1), a(s, 2)), follow: false)
                let (to, toPath) = try w.resolve(UInt32(a(s, 3)), try m.string(a(s, 4), a(s, 5)), follow: false)
                guard renameat(from, fromPath, to, toPath) == 0 else { throw WASIErrno.current }
            }
        case .pathLink:
            return errnoReturning { w, m, s in
                let (from, fromPath) = try w.resolve(UInt32(a(s, 0)), try m.string(a(s, 2), a(s, 3)), follow: s[1] & 1 != 0)
                let (to, toPath) = try w.resolve(UInt32(a(s, 4)), try m.string(a(s, 5), a(s, 6)), follow: false)
                guard linkat(from, fromPath, to, toPath, 0) == 0 else { throw WASIErrno.current }
            }
        case .pathSymlink:
            return errnoReturning { w, m, s in
                let target = try m.string(a(s, 0), a(s, 1))
                guard !target.hasPrefix("/") else { throw WASIErrno.notcapable }
                let (dir, path) = try w.resolve(UInt32(a(s, 2)), try m.string(a(s, 3), a(s, 4)), follow: false)
                guard symlinkat(target, dir, path) == 0 else { throw WASIErrno.current }
            }
        case .pathReadlink:
            return errnoReturning { w, m, s in
                let (dir, path) = try w.resolve(UInt32(a(s, 0)), try m.string(a(s, 1), a(s, 2)), follow: false)
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
                let n = readlinkat(dir, path, &buffer, buffer.count)
                guard n >= 0 else { throw WASIErrno.current }
                let bytes = buffer.prefix(min(n, Int(a(s, 4)))).map { UInt8(bitPattern: $0) }
                try m.write(bytes, a(s, 3))
                try m.setU32(UInt32(bytes.count), a(s, 5))
            }
        // Sockets are not offered to guests.
        case .sockAccept:
            return errnoReturning { _, _, _ in throw WASIErrno.nosys }
        case .sockRecv:
            return errnoReturning { _, _, _ in throw WASIErrno.nosys }
        case .sockSend:
            return errnoReturning { _, _, _ in throw WASIErrno.nosys }
        case .sockShutdown:
            return errnoReturning { _, _, _ in throw WASIErrno.nosys }
        }
    }
}
