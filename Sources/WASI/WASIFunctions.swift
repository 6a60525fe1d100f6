#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WasmParser
import WasmVM

/// The preview1 functions. Each returns an errno in slot 0 (see `Store.defineFunction(type:raw:)` for the
/// slot convention); pointers are guest addresses checked by `GuestMemory`.
extension WASI {
    typealias Entry = (String, [ValueType], [ValueType], HostFunctionBody)

    /// Wraps a body that throws an errno into the raw convention: errno (0 on success) in slot 0.
    func errnoFunction(_ body: @escaping (GuestMemory, UnsafeMutablePointer<UInt64>) throws -> Void) -> HostFunctionBody {
        return { (caller: Caller, slots: UnsafeMutablePointer<UInt64>) throws(Trap) in
            do {
                let memory = try GuestMemory(caller)
                try body(memory, slots)
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

    /// The functions named by `wanted` (all when nil). Closures are only formed for wanted names: a server
    /// builds this for every request.
    func functionTable(_ wanted: Set<String>? = nil) -> [Entry] {
        let i32 = ValueType.i32, i64 = ValueType.i64
        var table: [Entry] = []
        func want(_ name: String) -> Bool { wanted?.contains(name) ?? true }
        func add(_ name: String, _ params: [ValueType], _ body: @escaping (GuestMemory, UnsafeMutablePointer<UInt64>) throws -> Void) {
            table.append((name, params, [i32], errnoFunction(body)))
        }
        func a(_ slots: UnsafeMutablePointer<UInt64>, _ i: Int) -> UInt64 { slots[i] & 0xFFFF_FFFF }

        // Arguments and environment: NUL-terminated strings packed in a buffer, with a pointer table.
        if want("args_sizes_get") {
            add("args_sizes_get", [i32, i32]) { m, s in
                try m.setU32(UInt32(self.configuration.arguments.count), a(s, 0))
                try m.setU32(UInt32(self.configuration.arguments.reduce(0) { $0 + $1.utf8.count + 1 }), a(s, 1))
            }
        }
        if want("args_get") {
            add("args_get", [i32, i32]) { m, s in try self.writeStrings(self.configuration.arguments, m, a(s, 0), a(s, 1)) }
        }
        let environment = configuration.environment.map { "\($0.name)=\($0.value)" }
        if want("environ_sizes_get") {
            add("environ_sizes_get", [i32, i32]) { m, s in
                try m.setU32(UInt32(environment.count), a(s, 0))
                try m.setU32(UInt32(environment.reduce(0) { $0 + $1.utf8.count + 1 }), a(s, 1))
            }
        }
        if want("environ_get") {
            add("environ_get", [i32, i32]) { m, s in try self.writeStrings(environment, m, a(s, 0), a(s, 1)) }
        }

        // Clocks and randomness.
        if want("clock_res_get") {
            add("clock_res_get", [i32, i32]) { m, s in
                var spec = timespec()
                guard clock_getres(try Self.clock(s[0]), &spec) == 0 else { throw WASIErrno.inval }
                try m.setU64(UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec), a(s, 1))
            }
        }
        if want("clock_time_get") {
            add("clock_time_get", [i32, i64, i32]) { m, s in
                var spec = timespec()
                guard clock_gettime(try Self.clock(s[0]), &spec) == 0 else { throw WASIErrno.inval }
                try m.setU64(UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec), a(s, 2))
            }
        }
        if want("random_get") {
            add("random_get", [i32, i32]) { m, s in
                try m.withBytes(a(s, 0), a(s, 1)) { buffer in
                    var generator = SystemRandomNumberGenerator()
                    for i in 0..<buffer.count { buffer[i] = UInt8.random(in: 0...255, using: &generator) }
                }
            }
        }
        if want("sched_yield") {
            add("sched_yield", []) { _, _ in sched_yield() }
        }
        if want("proc_raise") {
            add("proc_raise", [i32]) { _, _ in throw WASIErrno.nosys }
        }
        if want("proc_exit") { table.append(("proc_exit", [i32], [], { (_: Caller, slots: UnsafeMutablePointer<UInt64>) throws(Trap) in
            throw Trap(.exit(Int32(truncatingIfNeeded: slots[0])))
        })) }
        if want("poll_oneoff") {
            add("poll_oneoff", [i32, i32, i32, i32]) { m, s in try self.pollOneoff(m, a(s, 0), a(s, 1), a(s, 2), a(s, 3)) }
        }

        // Descriptors.
        if want("fd_write") {
            add("fd_write", [i32, i32, i32, i32]) { m, s in
                try m.setU32(UInt32(try self.write(fd: UInt32(a(s, 0)), m, m.iovecs(a(s, 1), a(s, 2)), at: nil)), a(s, 3))
                try self.stopIfFlooded(fd: UInt32(a(s, 0)))
            }
        }
        if want("fd_pwrite") {
            add("fd_pwrite", [i32, i32, i32, i64, i32]) { m, s in
                try m.setU32(UInt32(try self.write(fd: UInt32(a(s, 0)), m, m.iovecs(a(s, 1), a(s, 2)), at: s[3])), a(s, 4))
                try self.stopIfFlooded(fd: UInt32(a(s, 0)))
            }
        }
        if want("fd_read") {
            add("fd_read", [i32, i32, i32, i32]) { m, s in
                try m.setU32(UInt32(try self.read(fd: UInt32(a(s, 0)), m, m.iovecs(a(s, 1), a(s, 2)), at: nil)), a(s, 3))
            }
        }
        if want("fd_pread") {
            add("fd_pread", [i32, i32, i32, i64, i32]) { m, s in
                try m.setU32(UInt32(try self.read(fd: UInt32(a(s, 0)), m, m.iovecs(a(s, 1), a(s, 2)), at: s[3])), a(s, 4))
            }
        }
        if want("fd_close") {
            add("fd_close", [i32]) { _, s in try self.closeDescriptor(UInt32(a(s, 0))) }
        }
        if want("fd_seek") {
            add("fd_seek", [i32, i64, i32, i32]) { m, s in
                let fd = try self.hostFile(UInt32(a(s, 0)))
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
        }
        if want("fd_tell") {
            add("fd_tell", [i32, i32]) { m, s in
                let position = lseek(try self.hostFile(UInt32(a(s, 0))), 0, SEEK_CUR)
                guard position >= 0 else { throw WASIErrno.current }
                try m.setU64(UInt64(position), a(s, 1))
            }
        }
        if want("fd_fdstat_get") {
            add("fd_fdstat_get", [i32, i32]) { m, s in
                let (type, flags) = try self.fdstat(UInt32(a(s, 0)))
                var bytes = [UInt8](repeating: 0, count: 24)
                bytes[0] = type.rawValue
                bytes[2] = UInt8(flags & 0xFF)
                withUnsafeBytes(of: allRights.littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
                withUnsafeBytes(of: allRights.littleEndian) { bytes.replaceSubrange(16..<24, with: $0) }
                try m.write(bytes, a(s, 1))
            }
        }
        if want("fd_fdstat_set_flags") {
            add("fd_fdstat_set_flags", [i32, i32]) { _, s in
                let fd = try self.hostFile(UInt32(a(s, 0)))
                var flags = fcntl(fd, F_GETFL) & ~(O_APPEND | O_NONBLOCK)
                if s[1] & 1 != 0 { flags |= O_APPEND }
                if s[1] & 4 != 0 { flags |= O_NONBLOCK }
                guard fcntl(fd, F_SETFL, flags) == 0 else { throw WASIErrno.current }
            }
        }
        if want("fd_fdstat_set_rights") {
            add("fd_fdstat_set_rights", [i32, i64, i64]) { _, s in _ = try self.descriptor(UInt32(a(s, 0))) }
        }
        if want("fd_filestat_get") {
            add("fd_filestat_get", [i32, i32]) { m, s in
                let fd = UInt32(a(s, 0))
                var info = stat()
                switch try self.descriptor(fd) {
                case .directory(let host, _), .file(let host):
                    guard fstat(host, &info) == 0 else { throw WASIErrno.current }
                    try m.write(Self.filestat(info), a(s, 1))
                default:
                    try m.write(Self.filestat(nil), a(s, 1))
                }
            }
        }
        if want("fd_filestat_set_size") {
            add("fd_filestat_set_size", [i32, i64]) { _, s in
                guard ftruncate(try self.hostFile(UInt32(a(s, 0))), off_t(truncatingIfNeeded: s[1])) == 0 else { throw WASIErrno.current }
            }
        }
        if want("fd_filestat_set_times") {
            add("fd_filestat_set_times", [i32, i64, i64, i32]) { _, s in
                var times = Self.timespecs(s[1], s[2], s[3])
                guard futimens(try self.hostFile(UInt32(a(s, 0)), directoriesToo: true), &times) == 0 else { throw WASIErrno.current }
            }
        }
        if want("fd_sync") {
            add("fd_sync", [i32]) { _, s in guard fsync(try self.hostFile(UInt32(a(s, 0)))) == 0 else { throw WASIErrno.current } }
        }
        if want("fd_datasync") {
            add("fd_datasync", [i32]) { _, s in guard fdatasync(try self.hostFile(UInt32(a(s, 0)))) == 0 else { throw WASIErrno.current } }
        }
        if want("fd_advise") {
            add("fd_advise", [i32, i64, i64, i32]) { _, s in
                _ = try self.hostFile(UInt32(a(s, 0)))
                guard s[3] & 0xFF <= 5 else { throw WASIErrno.inval }
            }
        }
        if want("fd_allocate") {
            add("fd_allocate", [i32, i64, i64]) { _, s in
                let fd = try self.hostFile(UInt32(a(s, 0)))
                let result = posix_fallocate(fd, off_t(truncatingIfNeeded: s[1]), off_t(truncatingIfNeeded: s[2]))
                guard result == 0 else { throw WASIErrno.fromHost(result) }
            }
        }
        if want("fd_renumber") {
            add("fd_renumber", [i32, i32]) { _, s in
                let from = UInt32(a(s, 0)), to = UInt32(a(s, 1))
                let descriptor = try self.descriptor(from)
                _ = try self.descriptor(to)
                try self.closeDescriptor(to)
                self.descriptors[to] = descriptor
                self.descriptors[from] = nil
            }
        }
        if want("fd_prestat_get") {
            add("fd_prestat_get", [i32, i32]) { m, s in
                guard case .directory(_, let guestPath?) = try self.descriptor(UInt32(a(s, 0))) else { throw WASIErrno.badf }
                try m.setU32(0, a(s, 1))
                try m.setU32(UInt32(guestPath.utf8.count), a(s, 1) + 4)
            }
        }
        if want("fd_prestat_dir_name") {
            add("fd_prestat_dir_name", [i32, i32, i32]) { m, s in
                guard case .directory(_, let guestPath?) = try self.descriptor(UInt32(a(s, 0))) else { throw WASIErrno.badf }
                let name = Array(guestPath.utf8)
                guard a(s, 2) >= UInt64(name.count) else { throw WASIErrno.nametoolong }
                try m.write(name, a(s, 1))
            }
        }
        if want("fd_readdir") {
            add("fd_readdir", [i32, i32, i32, i64, i32]) { m, s in
                try m.setU32(UInt32(try self.readdir(UInt32(a(s, 0)), m, a(s, 1), a(s, 2), cookie: s[3])), a(s, 4))
            }
        }

        // Paths, always resolved inside a descriptor's directory.
        if want("path_open") {
            add("path_open", [i32, i32, i32, i32, i32, i64, i64, i32, i32]) { m, s in
                let fd = try self.pathOpen(UInt32(a(s, 0)), lookup: UInt32(a(s, 1)), path: try m.string(a(s, 2), a(s, 3)),
                                           oflags: UInt32(a(s, 4)), rights: s[5], fdflags: UInt32(a(s, 7)))
                try m.setU32(fd, a(s, 8))
            }
        }
        if want("path_filestat_get") {
            add("path_filestat_get", [i32, i32, i32, i32, i32]) { m, s in
                let (dir, path) = try self.resolve(UInt32(a(s, 0)), try m.string(a(s, 2), a(s, 3)), follow: s[1] & 1 != 0)
                var info = stat()
                guard fstatat(dir, path, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw WASIErrno.current }
                try m.write(Self.filestat(info), a(s, 4))
            }
        }
        if want("path_filestat_set_times") {
            add("path_filestat_set_times", [i32, i32, i32, i32, i64, i64, i32]) { m, s in
                let (dir, path) = try self.resolve(UInt32(a(s, 0)), try m.string(a(s, 2), a(s, 3)), follow: s[1] & 1 != 0)
                var times = Self.timespecs(s[4], s[5], s[6])
                guard utimensat(dir, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else { throw WASIErrno.current }
            }
        }
        if want("path_create_directory") {
            add("path_create_directory", [i32, i32, i32]) { m, s in
                let (dir, path) = try self.resolve(UInt32(a(s, 0)), try m.string(a(s, 1), a(s, 2)), follow: false)
                guard mkdirat(dir, path, 0o755) == 0 else { throw WASIErrno.current }
            }
        }
        if want("path_remove_directory") {
            add("path_remove_directory", [i32, i32, i32]) { m, s in
                let (dir, path) = try self.resolve(UInt32(a(s, 0)), try m.string(a(s, 1), a(s, 2)), follow: false)
                guard path != "." else { throw WASIErrno.inval }
                guard unlinkat(dir, path, AT_REMOVEDIR) == 0 else { throw WASIErrno.current }
            }
        }
        if want("path_unlink_file") {
            add("path_unlink_file", [i32, i32, i32]) { m, s in
                let (dir, path) = try self.resolve(UInt32(a(s, 0)), try m.string(a(s, 1), a(s, 2)), follow: false)
                guard unlinkat(dir, path, 0) == 0 else { throw WASIErrno.current }
            }
        }
        if want("path_rename") {
            add("path_rename", [i32, i32, i32, i32, i32, i32]) { m, s in
                let (from, fromPath) = try self.resolve(UInt32(a(s, 0)), try m.string(a(s, 1), a(s, 2)), follow: false)
                let (to, toPath) = try self.resolve(UInt32(a(s, 3)), try m.string(a(s, 4), a(s, 5)), follow: false)
                guard renameat(from, fromPath, to, toPath) == 0 else { throw WASIErrno.current }
            }
        }
        if want("path_link") {
            add("path_link", [i32, i32, i32, i32, i32, i32, i32]) { m, s in
                let (from, fromPath) = try self.resolve(UInt32(a(s, 0)), try m.string(a(s, 2), a(s, 3)), follow: s[1] & 1 != 0)
                let (to, toPath) = try self.resolve(UInt32(a(s, 4)), try m.string(a(s, 5), a(s, 6)), follow: false)
                guard linkat(from, fromPath, to, toPath, 0) == 0 else { throw WASIErrno.current }
            }
        }
        if want("path_symlink") {
            add("path_symlink", [i32, i32, i32, i32, i32]) { m, s in
                let target = try m.string(a(s, 0), a(s, 1))
                guard !target.hasPrefix("/") else { throw WASIErrno.notcapable }
                let (dir, path) = try self.resolve(UInt32(a(s, 2)), try m.string(a(s, 3), a(s, 4)), follow: false)
                guard symlinkat(target, dir, path) == 0 else { throw WASIErrno.current }
            }
        }
        if want("path_readlink") {
            add("path_readlink", [i32, i32, i32, i32, i32, i32]) { m, s in
                let (dir, path) = try self.resolve(UInt32(a(s, 0)), try m.string(a(s, 1), a(s, 2)), follow: false)
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
                let n = readlinkat(dir, path, &buffer, buffer.count)
                guard n >= 0 else { throw WASIErrno.current }
                let bytes = buffer.prefix(min(n, Int(a(s, 4)))).map { UInt8(bitPattern: $0) }
                try m.write(bytes, a(s, 3))
                try m.setU32(UInt32(bytes.count), a(s, 5))
            }
        }

        // Sockets are not offered to guests.
        if want("sock_accept") {
            add("sock_accept", [i32, i32, i32]) { _, _ in throw WASIErrno.nosys }
        }
        if want("sock_recv") {
            add("sock_recv", [i32, i32, i32, i32, i32, i32]) { _, _ in throw WASIErrno.nosys }
        }
        if want("sock_send") {
            add("sock_send", [i32, i32, i32, i32, i32]) { _, _ in throw WASIErrno.nosys }
        }
        if want("sock_shutdown") {
            add("sock_shutdown", [i32, i32]) { _, _ in throw WASIErrno.nosys }
        }
        return table
    }
}
