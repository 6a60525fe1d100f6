#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WasmParser

/// One module's memory 0, kept ready between instances. A server instantiates the same module for every
/// request; a fresh memory costs an `mprotect`, a page fault per page the data segments or the guest touch,
/// and at release a `madvise` and an `mprotect` (whose TLB shootdowns interrupt every core the process ran
/// on). A memory handed back with its initial contents restored costs the next instance none of that.
///
/// Restoring is exact: one read of `/proc/self/pagemap` says which pages of the memory were touched
/// (present or swapped out, and for an image, whether the page is still the file's or a private copy);
/// those are restored from the initial contents, and the others still hold them — an anonymous page never
/// touched reads as zero, an image page never written reads as the image. Pages grown beyond the initial
/// size are dropped and made inaccessible again. A memory that moved to a larger reservation, or any
/// failure, sends it the ordinary way (`MemoryStorage.release`), as does a full set.
final class MemorySlots: @unchecked Sendable {
    let initialBytes: Int
    let image: MemoryImage?
    /// The initial bytes of the system pages that hold data, `[contentStart, contentEnd)`; zeros elsewhere.
    /// With an image, its read-only view serves instead.
    private let contents: UnsafeMutableRawPointer?
    private let contentStart: Int, contentEnd: Int
    /// Kept memories by reservation size (`MemoryStorage.reservation` for their store's limits): a memory
    /// is reused only where a fresh one would have the same reservation.
    private var ready: [Int: [UnsafeMutablePointer<MemoryStorage>]] = [:]
    private var readyTotal = 0
    private let lock = NSLock()
    /// Memories kept at most: enough for every worker of a busy server to find one.
    static let capacity = Swift.max(8, 2 * ProcessInfo.processInfo.activeProcessorCount)

    static let pageSize = MemoryImage.pageSize

    /// The set for memory 0 as `layout` leaves it; nil where the page map cannot be read.
    init?(layout: InitialMemoryLayout, bytes: SegmentBytes, image: MemoryImage?) {
        guard PageMap.shared.isReadable, layout.initialBytes % Self.pageSize == 0 else { return nil }
        initialBytes = layout.initialBytes
        if let image, image.contents != nil {
            self.image = image
            contents = nil
            contentStart = 0
            contentEnd = image.byteCount
        } else {
            self.image = nil
            let start = layout.start / Self.pageSize * Self.pageSize
            let end = Swift.min((layout.end + Self.pageSize - 1) / Self.pageSize * Self.pageSize, layout.initialBytes)
            contentStart = start
            contentEnd = Swift.max(start, end)
            if contentEnd > contentStart {
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: contentEnd - contentStart, alignment: Self.pageSize)
                buffer.initializeMemory(as: UInt8.self, repeating: 0, count: contentEnd - contentStart)
                layout.apply(to: buffer - contentStart, bytes: bytes)
                contents = buffer
            } else {
                contents = nil
            }
        }
    }

    deinit {
        for storage in ready.values.joined() {
            storage.pointee.release()
            storage.deallocate()
        }
        contents?.deallocate()
    }

    /// The initial bytes of the system page at `offset`, or nil where they are zeros.
    private func initialPage(at offset: Int) -> UnsafeRawPointer? {
        guard offset >= contentStart, offset < contentEnd else { return nil }
        if let image { return image.contents.map { $0 + offset } }
        return contents.map { UnsafeRawPointer($0 + (offset - contentStart)) }
    }

    /// A memory holding the initial contents, for a store whose limits allow `maxPages`; nil when the
    /// system refuses one (the caller then defines the memory as usual). The memory returns here when its
    /// store is released.
    func take(maxPages: Int, declaredMax: UInt64?, is64: Bool) -> UnsafeMutablePointer<MemoryStorage>? {
        let pages = initialBytes / MemoryType.pageSize
        guard pages <= maxPages else { return nil }
        let reservation = MemoryStorage.reservation(pages: pages, maxPages: maxPages)
        lock.lock()
        let kept = ready[reservation]?.popLast()
        if kept != nil { readyTotal -= 1 }
        lock.unlock()
        let storage: UnsafeMutablePointer<MemoryStorage>
        if let kept {
            storage = kept
        } else {
            guard let fresh = MemoryStorage.allocate(pages: pages, maxPages: maxPages, declaredMax: declaredMax, is64: is64) else { return nil }
            guard fill(fresh) else {
                munmap(fresh.pointee.base, fresh.pointee.reservedBytes)
                fresh.deallocate()
                return nil
            }
            storage = fresh
        }
        storage.pointee.maxPages = maxPages
        storage.pointee.declaredMax = declaredMax
        storage.pointee.is64 = is64
        storage.pointee.slots = Unmanaged.passRetained(self)
        return storage
    }

    /// Gives a new memory (accessible, zero) its initial contents: the image mapped, or the data copied.
    private func fill(_ storage: UnsafeMutablePointer<MemoryStorage>) -> Bool {
        let base = storage.pointee.base
        if let image {
            let outcome = image.map(at: base)
            guard outcome.usable else { return false }
            if outcome.mapped {
                storage.pointee.imageBytes = image.byteCount
                return true
            }
        }
        var offset = contentStart
        while offset < contentEnd {
            if let page = initialPage(at: offset) { (base + offset).copyMemory(from: page, byteCount: Self.pageSize) }
            offset += Self.pageSize
        }
        return true
    }

    /// Restores `storage` to the initial contents and keeps it for the next instance; false when it is not
    /// kept (the caller releases it as usual).
    func giveBack(_ storage: UnsafeMutablePointer<MemoryStorage>) -> Bool {
        lock.lock()
        let full = readyTotal >= Self.capacity
        lock.unlock()
        guard !full, reset(storage) else { return false }
        let reservation = storage.pointee.reservedBytes
        storage.pointee.slots = nil
        lock.lock()
        ready[reservation, default: []].append(storage)
        readyTotal += 1
        lock.unlock()
        return true
    }

    /// Restores `storage` (one of this set's memories) to the initial contents where it is, for the instance
    /// that holds it to start over (`ReusableInstance`); false when it cannot be: a memory that moved to a
    /// larger reservation when it grew is not the size its limits give, or the system refused a step.
    func reset(_ storage: UnsafeMutablePointer<MemoryStorage>) -> Bool {
        let reservation = MemoryStorage.reservation(pages: initialBytes / MemoryType.pageSize, maxPages: storage.pointee.maxPages)
        return storage.pointee.reservedBytes == reservation && restore(storage)
    }

    /// Reading the page map costs about 3.5 ns a page. An image larger than this is mapped afresh instead
    /// (one call drops every private copy, in time proportional to the pages touched) ...
    static let largestScannedImage = 1 << 20
    /// Written pages of a larger image, up to this many bytes, get the image's bytes copied back; more are
    /// dropped (memory the guest wrote once is not kept resident for ever).
    static let largestCopyBack = 1 << 20
    /// ... and a memory with more than this beyond the image is dropped with `madvise` (the next instance
    /// then takes a page fault per page it touches).
    static let largestScan = 8 << 20

    private func restore(_ storage: UnsafeMutablePointer<MemoryStorage>) -> Bool {
        let base = storage.pointee.base
        guard storage.pointee.byteCount >= initialBytes else { return false }
        if storage.pointee.byteCount > initialBytes {
            // Grown pages go back to what a fresh reservation has beyond the initial size: nothing.
            let extra = storage.pointee.byteCount - initialBytes
            guard madvise(base + initialBytes, extra, MADV_DONTNEED) == 0,
                  mprotect(base + initialBytes, extra, PROT_NONE) == 0 else { return false }
            storage.pointee.byteCount = initialBytes
        }
        let imageBytes = storage.pointee.imageBytes
        if imageBytes > 0 && image?.contents == nil { return false }
        var scanStart = 0
        if imageBytes > Self.largestScannedImage, let image {
            // The range is still the image's private mapping: dropping the pages this instance wrote (its
            // private copies) lets the image show through again — the reset wasmtime uses. Only those pages
            // where the page map can name them (pages only read stay mapped: no fault for the next instance),
            // else the whole range; mapping the image afresh is the last resort.
            var reset = false
            if let written = PageMap.shared.privateRanges(of: base, byteCount: imageBytes) {
                if written.reduce(0, { $0 + $1.count }) <= Self.largestCopyBack {
                    // A few pages: the image's bytes copied back into the private copies, which stay (the next
                    // instance that writes them takes no fault, and no other core's TLB is flushed).
                    for range in written { (base + range.lowerBound).copyMemory(from: image.contents! + range.lowerBound, byteCount: range.count) }
                    reset = true
                } else {
                    reset = written.allSatisfy { madvise(base + $0.lowerBound, $0.count, MADV_DONTNEED) == 0 }
                }
            }
            if !reset && madvise(base, imageBytes, MADV_DONTNEED) != 0 {
                let outcome = image.map(at: base)
                guard outcome.mapped else {
                    storage.pointee.imageBytes = outcome.usable ? 0 : imageBytes
                    return false
                }
            }
            scanStart = imageBytes
        }
        if initialBytes - scanStart > Self.largestScan {
            // Dropped pages read as zero, or as the image where it is mapped; copied data is copied again.
            guard madvise(base + scanStart, initialBytes - scanStart, MADV_DONTNEED) == 0 else { return false }
            var offset = Swift.max(contentStart, imageBytes)
            while offset < contentEnd {
                if let page = initialPage(at: offset) { (base + offset).copyMemory(from: page, byteCount: Self.pageSize) }
                offset += Self.pageSize
            }
            return true
        }
        // Data copied in when the memory was made: restored whatever the page map says.
        var offset = Swift.max(contentStart, imageBytes)
        while offset < contentEnd {
            if let page = initialPage(at: offset) { (base + offset).copyMemory(from: page, byteCount: Self.pageSize) }
            offset += Self.pageSize
        }
        // Every other page the instance touched (present or swapped out): an image page it wrote gets the
        // image's bytes, a zero page it wrote gets zeros. The ranges come from one `PAGEMAP_SCAN` (untouched
        // page tables skipped, only touched pages reported), else from reading one entry per page.
        func restore(page offset: Int, isFilePage: Bool) {
            let target = base + offset
            if offset < imageBytes {
                // Only read (still the file's page): the image's bytes already.
                if !isFilePage { target.copyMemory(from: initialPage(at: offset)!, byteCount: Self.pageSize) }
            } else if offset < contentStart || offset >= contentEnd {
                // Zeros: written only where something else is there (a page only read is the shared zero
                // page, and writing it would allocate one).
                if !Self.isZero(target) { target.initializeMemory(as: UInt8.self, repeating: 0, count: Self.pageSize) }
            }
        }
        let scanned = PageMap.shared.scan(base + scanStart, byteCount: initialBytes - scanStart) { range, isFilePage in
            var offset = scanStart + range.lowerBound
            while offset < scanStart + range.upperBound {
                restore(page: offset, isFilePage: isFilePage)
                offset += Self.pageSize
            }
        }
        if scanned { return true }
        let first = scanStart / Self.pageSize, pageCount = initialBytes / Self.pageSize
        return PageMap.shared.withEntries(of: base + scanStart, pages: pageCount - first) { entries in
            for page in first..<pageCount {
                let entry = PageMap.Entry(entries[page - first])
                guard entry.present || entry.swapped else { continue }
                restore(page: page * Self.pageSize, isFilePage: entry.isFilePage && !entry.swapped)
            }
        }
    }

    private static func isZero(_ page: UnsafeMutableRawPointer) -> Bool {
        let words = page.assumingMemoryBound(to: UInt64.self)
        var bits: UInt64 = 0
        for i in stride(from: 0, to: pageSize / 8, by: 8) {
            bits |= words[i] | words[i + 1] | words[i + 2] | words[i + 3] | words[i + 4] | words[i + 5] | words[i + 6] | words[i + 7]
            if bits != 0 { return false }
        }
        return true
    }

    /// Memories kept now (for tests).
    var readyCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return readyTotal
    }
}

/// The process's page map (`/proc/self/pagemap`): one 64-bit entry per virtual page saying whether it is
/// present, swapped out, or a file page. Unprivileged processes read the flags (the frame numbers read as 0).
final class PageMap: @unchecked Sendable {
    static let shared = PageMap()
    private let descriptor: Int32

    private init() { descriptor = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) }

    var isReadable: Bool { descriptor >= 0 }

    struct Entry {
        let bits: UInt64
        init(_ bits: UInt64) { self.bits = bits }
        var present: Bool { bits >> 63 & 1 == 1 }
        var swapped: Bool { bits >> 62 & 1 == 1 }
        /// A page of a file (or shared anonymous memory), as opposed to a private anonymous copy.
        var isFilePage: Bool { bits >> 61 & 1 == 1 }
    }

    /// The ranges (offsets from `base`, whole pages) within `byteCount` bytes that hold private anonymous
    /// pages, present or swapped: in a private file mapping, exactly the pages written since it was mapped
    /// or reset. Nil where the `PAGEMAP_SCAN` ioctl is missing.
    func privateRanges(of base: UnsafeMutableRawPointer, byteCount: Int) -> [Range<Int>]? {
        var ranges: [Range<Int>] = []
        let isFile: UInt64 = 1 << 2
        let found = scan(base, byteCount: byteCount, required: isFile, inverted: isFile) { range, _ in ranges.append(range) }
        return found ? ranges : nil
    }

    /// Calls `body` with each run of touched pages (present or swapped out) within `byteCount` bytes from
    /// `base`, as offsets from `base`, and whether they are still a file's pages (present, not a private
    /// copy); `required`/`inverted` narrow the runs to pages whose categories, XORed with `inverted`, have
    /// every bit of `required`. Asked with the `PAGEMAP_SCAN` ioctl (Linux 6.7), which skips unpopulated page
    /// tables whole and reports runs, so a sparse memory costs what it touched; false where it is missing.
    func scan(_ base: UnsafeMutableRawPointer, byteCount: Int, required: UInt64 = 0, inverted: UInt64 = 0,
              _ body: (Range<Int>, Bool) -> Void) -> Bool {
        guard descriptor >= 0, byteCount > 0 else { return descriptor >= 0 }
        // struct pm_scan_arg: size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
        // category_mask, category_anyof_mask, return_mask; struct page_region: start, end, categories.
        let request: UInt = 0xC060_6610  // _IOWR('f', 16, struct pm_scan_arg)
        let isFile: UInt64 = 1 << 2, isPresent: UInt64 = 1 << 3, isSwapped: UInt64 = 1 << 4
        let start = UInt64(UInt(bitPattern: Int(bitPattern: base)))
        let end = start + UInt64(byteCount)
        let vectorLength = 32
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 12 + 3 * vectorLength) { words -> Bool in
            let argument = words.baseAddress!, regions = argument + 12
            (argument[0], argument[1], argument[2], argument[3], argument[4], argument[5]) = (96, 0, start, end, 0, UInt64(UInt(bitPattern: regions)))
            (argument[6], argument[7], argument[8], argument[9]) = (UInt64(vectorLength), 0, inverted, required)
            (argument[10], argument[11]) = (isPresent | isSwapped, isPresent | isSwapped | isFile)
            while true {
                let count = ioctl(descriptor, request, argument)
                guard count >= 0 else { return false }
                for i in 0..<Int(count) {
                    let low = Int(regions[3 * i] &- start), high = Int(regions[3 * i + 1] &- start)
                    guard low >= 0, low < high, high <= byteCount else { return false }
                    let categories = regions[3 * i + 2]
                    body(low..<high, categories & isFile != 0 && categories & isSwapped == 0)
                }
                let walked = argument[4]
                if walked >= end { return true }
                guard walked > argument[2] else { return false }
                argument[2] = walked  // the vector filled up: go on from where the walk stopped
            }
        }
    }

    /// Reads the entries of `pages` system pages from `base` and passes them to `body`; false if the read fails.
    func withEntries(of base: UnsafeMutableRawPointer, pages: Int, _ body: (UnsafePointer<UInt64>) -> Void) -> Bool {
        guard descriptor >= 0 else { return false }
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Swift.max(pages, 1)) { buffer in
            let wanted = pages * 8
            let offset = off_t(UInt(bitPattern: Int(bitPattern: base)) / UInt(MemorySlots.pageSize) * 8)
            var done = 0
            while done < wanted {
                let n = pread(descriptor, UnsafeMutableRawPointer(buffer.baseAddress!) + done, wanted - done, offset + off_t(done))
                guard n > 0 else { return false }
                done += n
            }
            body(buffer.baseAddress!)
            return true
        }
    }
}
