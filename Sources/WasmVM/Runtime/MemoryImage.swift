#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WasmParser

/// A module's first memory as its active data segments leave it, written once to an in-memory file. Each
/// instance maps the file privately over its memory's reservation (copy-on-write): instantiation costs one
/// `mmap` whatever the amount of data, pages nobody touches are never copied, and pages only read are
/// shared by every instance. Release maps anonymous inaccessible pages back over it (see `MemoryStorage`).
///
/// Made only where it gives exactly what applying the segments in order gives (see `InitialMemoryLayout`).
/// Below `minimumDataBytes` a copy is cheaper than a mapping and its page faults.
final class MemoryImage: @unchecked Sendable {
    let descriptor: Int32
    /// Bytes mapped from the file: up to the last data byte, rounded up to whole pages.
    let byteCount: Int

    static let minimumDataBytes = 64 * 1024
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    private init(descriptor: Int32, byteCount: Int) {
        self.descriptor = descriptor
        self.byteCount = byteCount
    }

    deinit {
        if let view = contents { munmap(UnsafeMutableRawPointer(mutating: view), byteCount) }
        close(descriptor)
    }

    /// The image of memory 0 as `layout` gives it, or nil when there is too little data to be worth a
    /// mapping or the system has no memory files (instantiation then copies the segments).
    static func make(for layout: InitialMemoryLayout, bytes: SegmentBytes) -> MemoryImage? {
        guard layout.dataBytes >= minimumDataBytes, layout.end > 0 else { return nil }
        let length = min((layout.end + pageSize - 1) / pageSize * pageSize, layout.initialBytes)
        guard let descriptor = memoryFile() else { return nil }
        let image = MemoryImage(descriptor: descriptor, byteCount: length)  // closes the file on every return
        guard ftruncate(descriptor, off_t(length)) == 0 else { return nil }
        for placement in layout.placements where !placement.range.isEmpty {
            var written = 0
            while written < placement.range.count {
                let n = pwrite(descriptor, bytes.pointer(to: placement.range) + written,
                               placement.range.count - written, off_t(placement.offset + written))
                guard n > 0 else { return nil }
                written += n
            }
        }
        return image
    }

    /// The image of `module`'s memory 0, or nil when the module does not qualify (see `InitialMemoryLayout`).
    static func make(for module: Module, bytes: SegmentBytes) -> MemoryImage? {
        InitialMemoryLayout(module).flatMap { make(for: $0, bytes: bytes) }
    }

    /// The image's bytes, mapped shared and read-only (the same pages every instance maps privately): what
    /// a reused memory's written pages are restored from. Made on first use.
    lazy var contents: UnsafeRawPointer? = {
        let view = mmap(nil, byteCount, PROT_READ, MAP_SHARED, descriptor, 0)
        guard let view, view != MAP_FAILED else { return nil }
        return UnsafeRawPointer(view)
    }()

    /// Maps the image over the start of a memory whose first `byteCount` bytes are accessible and zero.
    /// On failure the range is made anonymous, accessible and zero again (a failed `MAP_FIXED` may have
    /// unmapped it) so the segments can be copied instead; false if even that fails.
    func map(at base: UnsafeMutableRawPointer) -> (mapped: Bool, usable: Bool) {
        if mmap(base, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, descriptor, 0) == base { return (true, true) }
        let restored = mmap(base, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0)
        return (false, restored == base)
    }

    /// An anonymous file in memory: `memfd_create` (looked up at run time: Glibc's Swift overlay does not
    /// declare it), else a file created and unlinked at once in /dev/shm.
    static func memoryFile() -> Int32? {
        typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "memfd_create") {
            let create = unsafeBitCast(symbol, to: MemfdCreate.self)
            let fd = create("nebula-memory-image", 1 /* MFD_CLOEXEC */)
            if fd >= 0 { return fd }
        }
        var template = Array("/dev/shm/nebula-image-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }
}

/// Memory 0's initial contents, when they are known before instantiation: the memory is defined by the
/// module (not imported) and every active data segment targets it at a constant offset and fits in its
/// initial size, so applying the segments in order cannot trap and always leaves the same bytes.
struct InitialMemoryLayout {
    let initialBytes: Int
    /// The active segments in order (a later one overwrites an earlier one): where each goes, and its bytes
    /// in the module.
    let placements: [(offset: Int, range: Range<Int>)]
    let dataBytes: Int
    /// One past the last byte any segment writes (0 without data).
    let end: Int
    /// The first byte any segment writes (`end` without data).
    let start: Int

    init?(_ module: Module) {
        guard let memory = module.memories.first,
              !module.imports.contains(where: { if case .memory = $0.descriptor { return true } else { return false } }),
              memory.limits.min <= UInt64(Int.max / MemoryType.pageSize) else { return nil }
        initialBytes = Int(memory.limits.min) * MemoryType.pageSize
        var placements: [(offset: Int, range: Range<Int>)] = []
        var dataBytes = 0, start = Int.max, end = 0
        for segment in module.data {
            guard case .active(let memoryIndex, let offsetExpression) = segment.mode else { continue }
            guard memoryIndex == 0, let offset = Self.constantOffset(offsetExpression, is64: memory.is64),
                  offset <= initialBytes, segment.range.count <= initialBytes - offset else { return nil }
            placements.append((offset, segment.range))
            dataBytes += segment.range.count
            if !segment.range.isEmpty {
                start = min(start, offset)
                end = max(end, offset + segment.range.count)
            }
        }
        self.placements = placements
        self.dataBytes = dataBytes
        self.end = end
        self.start = min(start, end)
    }

    /// Applies the segments to a memory whose first `initialBytes` bytes are accessible and zero.
    func apply(to base: UnsafeMutableRawPointer, bytes: SegmentBytes) {
        for placement in placements where !placement.range.isEmpty {
            (base + placement.offset).copyMemory(from: bytes.pointer(to: placement.range), byteCount: placement.range.count)
        }
    }

    /// The value of an offset expression that is a single constant, as the address it gives.
    static func constantOffset(_ expression: ConstantExpression, is64: Bool) -> Int? {
        guard expression.instructions.count == 1 else { return nil }
        switch expression.instructions[0].immediate {
        case .i32(let v) where !is64: return Int(UInt32(bitPattern: v))
        case .i64(let v) where is64 && v >= 0: return Int(v)
        default: return nil
        }
    }
}
