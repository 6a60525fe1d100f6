#if canImport(Glibc)
import Glibc
#endif

/// Resolves a guest path against a directory the guest holds, without ever leaving it: absolute paths,
/// `..` above the directory, and symbolic links that lead outside are refused with `ENOTCAPABLE`.
/// Links inside are followed component by component (at most 40), so the host path handed to `*at()` calls
/// contains no symlink or `..` that could escape.
struct Sandbox {
    static let maxSymlinks = 40

    /// Returns a path relative to `directory` (`.` for the directory itself).
    static func resolve(_ path: String, in directory: Int32, followFinalSymlink: Bool) throws(WASIErrno) -> String {
        guard !path.isEmpty else { throw .noent }
        guard !path.hasPrefix("/") else { throw .notcapable }
        guard !path.utf8.contains(0) else { throw .inval }
        var resolved: [String] = []
        var pending = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).reversed() as [String]
        let trailingSlash = path.hasSuffix("/")
        var links = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                guard !resolved.isEmpty else { throw .notcapable }
                resolved.removeLast()
                continue
            }
            let isFinal = pending.isEmpty
            let candidate = (resolved + [component]).joined(separator: "/")
            if !isFinal || followFinalSymlink || trailingSlash {
                var info = stat()
                if fstatat(directory, candidate, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFLNK {
                    links += 1
                    guard links <= maxSymlinks else { throw .loop }
                    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                    let n = readlinkat(directory, candidate, &buffer, Int(PATH_MAX))
                    guard n >= 0 else { throw WASIErrno.current }
                    let target = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    guard !target.hasPrefix("/") else { throw .notcapable }
                    pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).map(String.init).reversed())
                    continue
                }
            }
            resolved.append(component)
        }
        return resolved.isEmpty ? "." : resolved.joined(separator: "/")
    }
}
