import WasmParser

/// The bytes of a module's data segments, copied once where they stay put (memory images, kept memories and
/// `memory.init` read them through pointers), addressed by offsets in the module as segment ranges are. Only
/// the span the segments cover is kept: the rest of a module's bytes is code, which need not be held twice
/// (Yosys: 69 MB of module, a few MB of data).
struct SegmentBytes {
    private let storage: UnsafeMutableRawBufferPointer
    /// The module offsets of the first byte kept and one past the last.
    let start: Int, end: Int

    init(_ module: Module) {
        let ranges = module.data.map(\.range).filter { !$0.isEmpty }
        let start = ranges.map(\.lowerBound).min() ?? 0
        let end = ranges.map(\.upperBound).max() ?? 0
        self.start = start
        self.end = end
        storage = .allocate(byteCount: Swift.max(end - start, 1), alignment: 8)
        if end > start {
            module.bytes.withUnsafeBytes { storage.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        }
    }

    func deallocate() { storage.deallocate() }

    /// Where the bytes of `range` (a data segment's, in module offsets) are; any pointer for an empty range.
    func pointer(to range: Range<Int>) -> UnsafeRawPointer {
        precondition(range.isEmpty || (range.lowerBound >= start && range.upperBound <= end), "not a data segment's range")
        return UnsafeRawPointer(storage.baseAddress!) + (range.isEmpty ? 0 : range.lowerBound - start)
    }
}
