#if canImport(Glibc)
import Glibc
#endif

/// WASI preview1 error numbers (`errno` in wasi_snapshot_preview1.witx).
public enum WASIErrno: UInt16, Error, Sendable {
    case success = 0, toobig = 1, acces = 2, addrinuse = 3, addrnotavail = 4, afnosupport = 5, again = 6
    case already = 7, badf = 8, badmsg = 9, busy = 10, canceled = 11, child = 12, connaborted = 13
    case connrefused = 14, connreset = 15, deadlk = 16, destaddrreq = 17, dom = 18, dquot = 19, exist = 20
    case fault = 21, fbig = 22, hostunreach = 23, idrm = 24, ilseq = 25, inprogress = 26, intr = 27
    case inval = 28, io = 29, isconn = 30, isdir = 31, loop = 32, mfile = 33, mlink = 34, msgsize = 35
    case multihop = 36, nametoolong = 37, netdown = 38, netreset = 39, netunreach = 40, nfile = 41
    case nobufs = 42, nodev = 43, noent = 44, noexec = 45, nolck = 46, nolink = 47, nomem = 48, nomsg = 49
    case noprotoopt = 50, nospc = 51, nosys = 52, notconn = 53, notdir = 54, notempty = 55
    case notrecoverable = 56, notsock = 57, notsup = 58, notty = 59, nxio = 60, overflow = 61
    case ownerdead = 62, perm = 63, pipe = 64, proto = 65, protonosupport = 66, prototype = 67, range = 68
    case rofs = 69, spipe = 70, srch = 71, stale = 72, timedout = 73, txtbsy = 74, xdev = 75, notcapable = 76

    /// The WASI errno for a Linux errno.
    static func fromHost(_ code: Int32) -> WASIErrno {
        switch code {
        case EPERM: return .perm
        case ENOENT: return .noent
        case EINTR: return .intr
        case EIO: return .io
        case EBADF: return .badf
        case EAGAIN: return .again
        case ENOMEM: return .nomem
        case EACCES: return .acces
        case EFAULT: return .fault
        case EBUSY: return .busy
        case EEXIST: return .exist
        case EXDEV: return .xdev
        case ENOTDIR: return .notdir
        case EISDIR: return .isdir
        case EINVAL: return .inval
        case EMFILE: return .mfile
        case ENFILE: return .nfile
        case EFBIG: return .fbig
        case ENOSPC: return .nospc
        case ESPIPE: return .spipe
        case EROFS: return .rofs
        case EMLINK: return .mlink
        case EPIPE: return .pipe
        case ENAMETOOLONG: return .nametoolong
        case ENOTEMPTY: return .notempty
        case ELOOP: return .loop
        case ENOSYS: return .nosys
        case EOVERFLOW: return .overflow
        case ENOTSUP: return .notsup
        default: return .io
        }
    }

    static var current: WASIErrno { fromHost(errno) }
}

/// preview1 file types.
enum WASIFileType: UInt8 {
    case unknown = 0, blockDevice = 1, characterDevice = 2, directory = 3, regularFile = 4
    case socketDgram = 5, socketStream = 6, symbolicLink = 7

    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFDIR: self = .directory
        case S_IFREG: self = .regularFile
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFLNK: self = .symbolicLink
        case S_IFSOCK: self = .socketStream
        default: self = .unknown
        }
    }
}

/// All rights: Nebula's sandbox is the set of preopened directories; rights are reported, not subdivided.
let allRights: UInt64 = 0x1FFF_FFFF
