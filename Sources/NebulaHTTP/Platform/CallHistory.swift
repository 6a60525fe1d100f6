import Foundation

/// Every invocation's record as a JSON line in a file that survives restarts, bounded by rotation: when the
/// file passes `maxBytes` it becomes `FILE.1` (replacing the previous one) and a new file starts, so at most
/// twice `maxBytes` are kept.
public final class CallHistory: @unchecked Sendable {
    public let path: String
    let maxBytes: Int
    let lock = NSLock()
    var handle: FileHandle?
    var size = 0

    public init(path: String, maxBytes: Int = 16 << 20) throws {
        self.path = path
        self.maxBytes = maxBytes
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        size = Int(try handle?.seekToEnd() ?? 0)
    }

    func append(function: String, inputBytes: Int, status: Int, footprint: Footprint) {
        let line = "{\"timestamp\": \(jsonString(Timestamp.now())), \"function\": \(jsonString(function)), \"inputBytes\": \(inputBytes), "
            + "\"status\": \(status), \(footprint.jsonFields)}\n"
        let data = Data(line.utf8)
        lock.lock()
        defer { lock.unlock() }
        if size + data.count > maxBytes { rotate() }
        handle?.write(data)
        size += data.count
    }

    func rotate() {
        try? handle?.close()
        let old = path + ".1"
        try? FileManager.default.removeItem(atPath: old)
        try? FileManager.default.moveItem(atPath: path, toPath: old)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        handle = try? FileHandle(forWritingTo: URL(fileURLWithPath: path))
        size = 0
    }

    /// The newest `limit` records (of `function`, if given), newest last, as JSON lines.
    func records(function: String?, limit: Int) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        var lines: [String] = []
        for file in [path + ".1", path] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            lines += text.split(separator: "\n").map(String.init)
        }
        if let function {
            let needle = "\"function\": \(jsonString(function)),"
            lines = lines.filter { $0.contains(needle) }
        }
        return Array(lines.suffix(limit))
    }
}
