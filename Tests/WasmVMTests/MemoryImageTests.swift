import WasmParser
import XCTest
@testable import WasmVM

/// Memory images (copy-on-write initial memory, see `MemoryImage`): from the second instantiation of a module
/// with enough data, memory 0 is mapped from an image instead of written segment by segment. Every
/// instantiation must see exactly what applying the segments in order gives, and nothing of any other.
final class MemoryImageTests: XCTestCase {
    /// 3 pages; 80 KiB of data in three overlapping segments (the later ones win, as in order), a byte past
    /// the data that must stay zero, and functions to read, write and grow.
    static let source = """
        (module
          (memory (export "memory") 3)
          (data (i32.const 1000) "\(String(repeating: "a", count: 80_000))")
          (data (i32.const 2000) "\(String(repeating: "b", count: 100))")
          (data (i32.const 2050) "c")
          (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
          (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
        """

    func contents(_ instance: Instance, _ offsets: [UInt64]) throws -> String {
        let memory = try XCTUnwrap(instance.memory("memory"))
        return String(decoding: try offsets.map { try memory.read(at: $0, count: 1)[0] }.map { $0 == 0 ? UInt8(ascii: "0") : $0 }, as: UTF8.self)
    }

    let probes: [UInt64] = [999, 1000, 1999, 2000, 2049, 2050, 2051, 2099, 2100, 80_999, 81_000, 196_607]

    func testEveryInstantiationSeesTheSegmentsAppliedInOrder() throws {
        let module = try CompiledModule(bytes: Array(Self.source.utf8))
        let first = try module.instantiate(store: Store())
        XCTAssertEqual(first.store.memories[0].pointee.imageBytes, 0, "the first instantiation copies")
        let second = try module.instantiate(store: Store())
        XCTAssertGreaterThan(second.store.memories[0].pointee.imageBytes, 0, "the second maps the image")
        XCTAssertEqual(try contents(first, probes), "0aabbcbbaa00")
        XCTAssertEqual(try contents(second, probes), try contents(first, probes))
    }

    func testWritesArePrivateToTheInstance() throws {
        let module = try CompiledModule(bytes: Array(Self.source.utf8))
        _ = try module.instantiate(store: Store())
        let a = try module.instantiate(store: Store()), b = try module.instantiate(store: Store())
        for offset: UInt32 in [1000, 2050, 40_000, 100_000] {
            _ = try a.function("store")!.invoke([.i32(offset), .i32(UInt32(UInt8(ascii: "Z")))])
        }
        XCTAssertEqual(try a.function("load")!.invoke([.i32(2050)]), [.i32(UInt32(UInt8(ascii: "Z")))])
        XCTAssertEqual(try contents(b, probes), "0aabbcbbaa00", "another live instance keeps the image's bytes")
        let c = try module.instantiate(store: Store())
        XCTAssertEqual(try contents(c, probes + [40_000, 100_000]), "0aabbcbbaa00a0", "and so does a new one")
    }

    /// An imaged memory its module does not keep (its set is full, see `MemorySlots`) goes back to the
    /// reservation pool: whatever instance gets it next (with or without an image) must find zeros where the
    /// image and the grown pages were.
    func testAReleasedMemoryIsZeroForTheNextInstance() throws {
        let module = try CompiledModule(bytes: Array(Self.source.utf8))
        _ = try module.instantiate(store: Store())
        do {
            let kept = try (0..<MemorySlots.capacity).map { _ in try module.instantiate(store: Store()) }
            let imaged = try module.instantiate(store: Store())
            XCTAssertGreaterThan(imaged.store.memories[0].pointee.imageBytes, 0)
            XCTAssertEqual(try imaged.function("grow")!.invoke([.i32(2)]), [.i32(3)])
            for offset: UInt32 in [500, 1000, 100_000, 200_000, 300_000] {
                _ = try imaged.function("store")!.invoke([.i32(offset), .i32(7)])
            }
            _ = kept
        }
        let plain = try CompiledModule(bytes: Array("""
            (module (memory (export "memory") 3)
              (func (export "sum") (result i64) (local $i i32) (local $s i64)
                (loop $l (local.set $s (i64.add (local.get $s) (i64.load8_u (local.get $i))))
                  (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 196608))))
                (local.get $s)))
            """.utf8))
        for _ in 0..<4 {  // same reservation size as the imaged memory: the pool hands that one out again
            let instance = try plain.instantiate(store: Store())
            XCTAssertEqual(try instance.function("sum")!.invoke(), [.i64(0)])
        }
        let again = try module.instantiate(store: Store())
        XCTAssertEqual(try contents(again, probes + [500]), "0aabbcbbaa000")
        XCTAssertEqual(try again.function("grow")!.invoke([.i32(2)]), [.i32(3)])
        XCTAssertEqual(try contents(again, [200_000, 300_000]), "00", "grown pages are zero")
    }

    /// Where applying the segments could trap or depends on imports, there is no image: the segments run
    /// as the spec orders them.
    func testModulesThatDoNotQualifyHaveNoImage() throws {
        let data = String(repeating: "x", count: 70_000)
        for source in [
            #"(module (import "m" "mem" (memory 2)) (data (i32.const 0) "\#(data)"))"#,
            #"(module (global (import "m" "g") i32) (memory 2) (data (global.get 0) "\#(data)"))"#,
            #"(module (memory 1) (data (i32.const 0) "\#(data)"))"#,
            #"(module (memory 2) (data (i32.const 0) "small"))"#,
            #"(module (memory 2) (data "\#(data)"))"#,
        ] {
            let module = try CompiledModule(bytes: Array(source.utf8))
            XCTAssertNil(MemoryImage.make(for: module.module, bytes: module.segmentBytes), source.prefix(60).description)
        }
        let outOfBounds = try CompiledModule(bytes: Array(#"(module (memory 2) (func (export "f")) (data (i32.const 65536) "\#(data)"))"#.utf8))
        for _ in 0..<3 {
            XCTAssertThrowsError(try outOfBounds.instantiate(store: Store())) { error in
                XCTAssertEqual((error as? Trap)?.message, "out of bounds memory access")
            }
        }
    }

    func testA32MiBImageInstantiatesWithoutCopying() throws {
        let count = 32 << 20
        var module = TestModuleText(pages: (count >> 16) + 2, dataAt: 65536, count: count)
        let compiled = try CompiledModule(bytes: module.bytes())
        _ = try compiled.instantiate(store: Store())
        for _ in 0..<20 {
            let store = Store()
            let instance = try compiled.instantiate(store: store)
            XCTAssertEqual(store.memories[0].pointee.imageBytes, count + 65536)
            XCTAssertEqual(try contents(instance, [65536, UInt64(65536 + count - 1), UInt64(65536 + count)]), "ab0")
        }
    }
}

/// A module with `count` bytes of data (a, b, ... z repeated) at `dataAt`, written as text.
struct TestModuleText {
    var pages: Int, dataAt: Int, count: Int
    mutating func bytes() -> [UInt8] {
        var text = Array("(module (memory (export \"memory\") \(pages)) (data (i32.const \(dataAt)) \"".utf8)
        text.reserveCapacity(count + 200)
        for i in 0..<count { text.append(UInt8(ascii: "a") + UInt8(i % 26)) }
        text += Array("\"))".utf8)
        return text
    }
}
