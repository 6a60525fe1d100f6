import WasmParser
import XCTest
@testable import WasmVM

/// Kept memories (see `MemorySlots`): from the second instantiation, memory 0 comes from the module's set
/// of memories restored after their last instance. Whatever an instance did to its memory — wrote data
/// pages, zero pages, pages of the image, grew it — the next instance that gets the same memory must find
/// exactly what applying the segments gives, and its own store's limits.
final class MemorySlotsTests: XCTestCase {
    /// 4 pages; data at 70,000 (one page of "d") and 200,000 ("e"); functions to read, write, grow, size.
    static func source(dataBytes: Int, pages: Int = 4) -> String {
        """
        (module
          (memory (export "memory") \(pages))
          (data (i32.const 70000) "\(String(repeating: "d", count: dataBytes))")
          (data (i32.const 200000) "e")
          (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
          (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
          (func (export "size") (result i32) (memory.size)))
        """
    }

    func base(_ instance: Instance) -> UnsafeMutableRawPointer { instance.store.memories[0].pointee.base }

    func bytes(_ instance: Instance, _ offsets: [UInt64]) throws -> [UInt8] {
        let memory = try XCTUnwrap(instance.memory("memory"))
        return try offsets.map { try memory.read(at: $0, count: 1)[0] }
    }

    /// Offsets: zero page, first data byte, last data byte, past the data, the second segment, the last byte.
    func probes(dataBytes: Int, pages: Int = 4) -> [UInt64] {
        [5, 70_000, UInt64(70_000 + dataBytes - 1), UInt64(70_000 + dataBytes), 200_000, UInt64(pages * 65536 - 1)]
    }

    func expected(dataBytes: Int) -> [UInt8] { [0, UInt8(ascii: "d"), UInt8(ascii: "d"), 0, UInt8(ascii: "e"), 0] }

    /// Writes everywhere the probes look and grows by two pages, writing there too.
    func scribble(_ instance: Instance, dataBytes: Int, pages: Int = 4) throws {
        for offset in probes(dataBytes: dataBytes, pages: pages) {
            _ = try instance.function("store")!.invoke([.i32(UInt32(offset)), .i32(0x5A)])
        }
        XCTAssertEqual(try instance.function("grow")!.invoke([.i32(2)]), [.i32(UInt32(pages))])
        for offset in [pages * 65536 + 100, pages * 65536 + 131_071] {
            _ = try instance.function("store")!.invoke([.i32(UInt32(offset)), .i32(0x5A)])
        }
    }

    func checkReuse(dataBytes: Int, imaged: Bool, pages: Int = 4) throws {
        let module = try CompiledModule(bytes: Array(Self.source(dataBytes: dataBytes, pages: pages).utf8))
        _ = try module.instantiate(store: Store())  // the first instantiation prepares nothing
        var previous: UnsafeMutableRawPointer?
        for round in 0..<5 {
            let instance = try module.instantiate(store: Store())
            XCTAssertEqual(instance.store.memories[0].pointee.imageBytes > 0, imaged)
            if round > 0 { XCTAssertEqual(base(instance), previous, "round \(round): the kept memory is reused") }
            XCTAssertEqual(try bytes(instance, probes(dataBytes: dataBytes, pages: pages)), expected(dataBytes: dataBytes), "round \(round)")
            XCTAssertEqual(try instance.function("size")!.invoke(), [.i32(UInt32(pages))])
            // The grown pages of the previous round are gone: inaccessible until grown, then zero.
            XCTAssertThrowsError(try instance.function("load")!.invoke([.i32(UInt32(pages * 65536 + 100))]))
            try scribble(instance, dataBytes: dataBytes, pages: pages)
            XCTAssertEqual(try bytes(instance, [5, 70_000, UInt64(pages * 65536 + 100)]), [0x5A, 0x5A, 0x5A])
            previous = base(instance)
        }
        XCTAssertEqual(module.memorySlots?.readyCount, 1)
    }

    func testACopiedMemoryIsRestoredForTheNextInstance() throws {
        try checkReuse(dataBytes: 4000, imaged: false)
    }

    func testAnImagedMemoryIsRestoredForTheNextInstance() throws {
        try checkReuse(dataBytes: 70_000, imaged: true)
    }

    /// An image over `largestScannedImage` is reset as a whole (its written pages dropped, so the image shows
    /// through again) rather than read page by page.
    func testALargeImageIsRestoredByDroppingItsWrittenPages() throws {
        try checkReuse(dataBytes: MemorySlots.largestScannedImage + 70_000, imaged: true, pages: 40)
    }

    /// Of a large image, a few written pages get the image's bytes copied back and stay private (the next
    /// instance writing them takes no fault); past `largestCopyBack` bytes they are dropped instead, and the
    /// image's pages show through again. Either way the next instance reads the data.
    func testALargeImageCopiesBackFewWrittenPagesAndDropsMany() throws {
        let dataBytes = MemorySlots.largestScannedImage + 70_000
        let module = try CompiledModule(bytes: Array(Self.source(dataBytes: dataBytes, pages: 40).utf8))
        _ = try module.instantiate(store: Store())
        for (step, kept) in [(65536, true), (4096, false)] {
            var base: UnsafeMutableRawPointer?
            do {
                let instance = try module.instantiate(store: Store())
                base = self.base(instance)
                for offset in stride(from: 70_000, to: 70_000 + dataBytes, by: step) {
                    _ = try instance.function("store")!.invoke([.i32(UInt32(offset)), .i32(0x5A)])
                }
            }
            let next = try module.instantiate(store: Store())
            XCTAssertEqual(self.base(next), base)
            let imageBytes = next.store.memories[0].pointee.imageBytes
            let privatePages = try XCTUnwrap(PageMap.shared.privateRanges(of: self.base(next), byteCount: imageBytes)).reduce(0) { $0 + $1.count } / 4096
            if kept { XCTAssertGreaterThan(privatePages, 0, "copied back, still private") } else { XCTAssertEqual(privatePages, 0, "dropped") }
            XCTAssertEqual(try bytes(next, [70_000, 70_000 + 65536, UInt64(70_000 + dataBytes - 1), UInt64(70_000 + dataBytes)]), [100, 100, 100, 0])
        }
    }

    /// A memory with more than `largestScan` bytes beyond its image is dropped and its data copied again.
    func testALargeMemoryIsRestoredByDroppingItsPages() throws {
        try checkReuse(dataBytes: 4000, imaged: false, pages: MemorySlots.largestScan / 65536 + 4)
        try checkReuse(dataBytes: 70_000, imaged: true, pages: MemorySlots.largestScan / 65536 + 4)
    }

    /// A page of the image only read stays the file's page; one written becomes private and is restored.
    func testImagePagesOnlyReadAreLeftAndWrittenOnesRestored() throws {
        let module = try CompiledModule(bytes: Array(Self.source(dataBytes: 70_000).utf8))
        _ = try module.instantiate(store: Store())
        do {
            let instance = try module.instantiate(store: Store())
            XCTAssertEqual(try instance.function("load")!.invoke([.i32(100_000)]), [.i32(UInt32(UInt8(ascii: "d")))])
            _ = try instance.function("store")!.invoke([.i32(130_000), .i32(0x5A)])
        }
        let next = try module.instantiate(store: Store())
        XCTAssertEqual(try bytes(next, [100_000, 130_000, 139_999, 140_000]), [100, 100, 100, 0])
    }

    /// A store with lower limits gets a memory that grows only as far as they allow, and the memory kept
    /// from it is not handed to a store with other limits.
    func testEachStoreGetsItsOwnLimits() throws {
        let module = try CompiledModule(bytes: Array(Self.source(dataBytes: 10).utf8))
        _ = try module.instantiate(store: Store())
        var small = ResourceLimits()
        small.maxMemoryPages = 5
        for _ in 0..<2 {
            let limited = try module.instantiate(store: Store(limits: small))
            XCTAssertEqual(try limited.function("grow")!.invoke([.i32(2)]), [.i32(UInt32.max)], "over the store's limit")
            XCTAssertEqual(try limited.function("grow")!.invoke([.i32(1)]), [.i32(4)])
            let open = try module.instantiate(store: Store())
            XCTAssertEqual(try open.function("grow")!.invoke([.i32(20)]), [.i32(4)])
            XCTAssertNotEqual(base(limited), base(open))
        }
        XCTAssertEqual(module.memorySlots?.readyCount, 2)
    }

    /// The set keeps at most `capacity` memories; the others are released as usual, and zero for whoever
    /// maps that reservation next.
    func testASetKeepsAtMostItsCapacity() throws {
        let module = try CompiledModule(bytes: Array(Self.source(dataBytes: 10).utf8))
        _ = try module.instantiate(store: Store())
        let capacity = MemorySlots.capacity
        do {
            let instances = try (0..<capacity + 3).map { _ in try module.instantiate(store: Store()) }
            for instance in instances { try scribble(instance, dataBytes: 10) }
        }
        XCTAssertEqual(module.memorySlots?.readyCount, capacity)
        for _ in 0..<capacity + 3 {
            let instance = try module.instantiate(store: Store())
            XCTAssertEqual(try bytes(instance, probes(dataBytes: 10)), expected(dataBytes: 10))
        }
    }

    /// A failed instantiation (an element segment out of bounds) still returns its memory, restored.
    func testAFailedInstantiationReturnsItsMemory() throws {
        let module = try CompiledModule(bytes: Array("""
            (module (memory (export "memory") 1) (table 1 funcref) (func $f)
              (elem (i32.const 1) $f)
              (data (i32.const 10) "x"))
            """.utf8))
        for _ in 0..<3 {
            XCTAssertThrowsError(try module.instantiate(store: Store())) { error in
                XCTAssertEqual((error as? Trap)?.message, "out of bounds table access")
            }
        }
        XCTAssertEqual(module.memorySlots?.readyCount, 1)
    }

    /// The page map names exactly the written pages of a private file mapping (more ranges than one ioctl
    /// returns at once included), and none once they are dropped, when the file shows through again.
    func testPageMapNamesTheWrittenPagesOfAPrivateFileMapping() throws {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let version = release.split(separator: ".").prefix(2).compactMap { Int($0.prefix { $0.isNumber }) }
        let fd = try XCTUnwrap(MemoryImage.memoryFile())
        defer { close(fd) }
        let page = MemorySlots.pageSize, size = 256 * page
        XCTAssertEqual(ftruncate(fd, off_t(size)), 0)
        let base = try XCTUnwrap(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0))
        defer { munmap(base, size) }
        for p in stride(from: 0, to: 200, by: 2) { base.storeBytes(of: 7, toByteOffset: p * page + 5, as: UInt8.self) }
        base.storeBytes(of: 7, toByteOffset: 201 * page, as: UInt8.self)
        _ = base.load(fromByteOffset: 230 * page, as: UInt8.self)  // read only: stays the file's page
        guard let ranges = PageMap.shared.privateRanges(of: base, byteCount: size) else {
            XCTAssertTrue(version.count == 2 && (version[0], version[1]) < (6, 7), "PAGEMAP_SCAN exists from Linux 6.7 (this is \(release))")
            return
        }
        let expected = stride(from: 0, to: 200, by: 2).map { $0 * page..<($0 + 1) * page } + [201 * page..<202 * page]
        XCTAssertEqual(ranges, expected)
        for range in ranges { XCTAssertEqual(madvise(base + range.lowerBound, range.count, MADV_DONTNEED), 0) }
        XCTAssertEqual(PageMap.shared.privateRanges(of: base, byteCount: size), [])
        XCTAssertEqual(base.load(fromByteOffset: 5, as: UInt8.self), 0, "the file shows through again")
    }
}
