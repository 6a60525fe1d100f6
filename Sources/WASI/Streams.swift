#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where a guest's standard input comes from.
public enum WASIInput: Sendable {
    /// Nothing: reads return end of file.
    case empty
    /// Read from a host file descriptor (the CLI passes 0).
    case fileDescriptor(Int32)
    /// These bytes (the HTTP server passes the request body).
    case bytes([UInt8])
}

/// Collects a guest's output in memory up to a limit; what goes beyond is counted, not kept.
public final class OutputBuffer: @unchecked Sendable {
    public let limit: Int
    /// Total bytes (kept and dropped) after which the guest is stopped with a trap at its next write: a guest
    /// flooding its output would otherwise spin until its deadline. Nil: never stopped.
    public let stopAfter: Int?
    public private(set) var bytes: [UInt8] = []
    /// Bytes written beyond `limit` and dropped.
    public private(set) var droppedByteCount = 0

    public init(limit: Int, stopAfter: Int? = nil) {
        self.limit = limit
        self.stopAfter = stopAfter
    }

    /// The guest wrote more than `stopAfter` bytes.
    public var isFlooded: Bool { stopAfter.map { bytes.count + droppedByteCount > $0 } ?? false }

    func append(_ chunk: UnsafeRawBufferPointer) {
        let room = max(0, limit - bytes.count)
        bytes.append(contentsOf: chunk.prefix(room))
        droppedByteCount += max(0, chunk.count - room)
    }
}

/// Where a guest's standard output or error goes.
public enum WASIOutput: Sendable {
    case discard
    case fileDescriptor(Int32)
    case buffer(OutputBuffer)
}
