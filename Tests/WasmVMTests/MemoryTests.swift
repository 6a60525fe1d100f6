import WasmParser
import WasmTestSupport
import XCTest
@testable import WasmVM

/// Linear memory: every access is checked against the current size, with the effective address computed
/// without wrapping (address + offset may exceed 2^32).
final class MemoryTests: XCTestCase {
    let page = 65536

    func testLoadsAtTheLastValidByteAndOnePast() throws {
        let word = try single([.i32], [.i32], memory: Limits(min: 1), [get(0), load(.i32Load)])
        XCTAssertEqual(try word.invoke([.i32(UInt32(page - 4))]), [.i32(0)])
        XCTAssertEqual(trapMessage { try word.invoke([.i32(UInt32(page - 3))]) }, "out of bounds memory access")
        let byte = try single([.i32], [.i32], memory: Limits(min: 1), [get(0), load(.i32Load8U)])
        XCTAssertEqual(try byte.invoke([.i32(UInt32(page - 1))]), [.i32(0)])
        XCTAssertEqual(trapMessage { try byte.invoke([.i32(UInt32(page))]) }, "out of bounds memory access")
    }

    func testEffectiveAddressDoesNotWrap() throws {
        let byte = try single([.i32], [.i32], memory: Limits(min: 1), [get(0), load(.i32Load8U, offset: 1)])
        XCTAssertEqual(trapMessage { try byte.invoke([.i32(UInt32.max)]) }, "out of bounds memory access")
        let far = try single([.i32], [.i64], memory: Limits(min: 1), [get(0), load(.i64Load, offset: 70000)])
        XCTAssertEqual(trapMessage { try far.invoke([.i32(0)]) }, "out of bounds memory access", "offsets above 0xFFFF use the wide encoding")
    }

    func testStoreThenLoadEveryWidth() throws {
        var m = TestModule()
        m.memory = Limits(min: 1)
        m.function([.i32, .i64], [.i64], export: "f", [
            get(0), get(1), load(.i64Store32, offset: 3),
            get(0), load(.i64Load32S, offset: 3),
        ])
        m.function([.i32], [.i32], export: "g", [get(0), i32(-2), load(.i32Store16), get(0), load(.i32Load16S)])
        let instance = try instantiate(m)
        XCTAssertEqual(try instance.function("f")!.invoke([.i32(100), .int64(-5)]), [.int64(-5)])
        XCTAssertEqual(try instance.function("g")!.invoke([.i32(7)]), [.int32(-2)])
        XCTAssertNil(instance.memory("memory"), "this module exports no memory")
    }

    func testGrowReturnsOldSizeOrMinusOne() throws {
        let grow = try single([.i32], [.i32], memory: Limits(min: 1, max: 3), [get(0), op(.memoryGrow)])
        XCTAssertEqual(try grow.invoke([.i32(1)]), [.i32(1)])
        XCTAssertEqual(try grow.invoke([.i32(2)]), [.int32(-1)], "past the maximum")
        XCTAssertEqual(try grow.invoke([.i32(1)]), [.i32(2)])
        XCTAssertEqual(try grow.invoke([.i32(0)]), [.i32(3)])
    }

    func testStoreLimitCapsGrowth() throws {
        var m = TestModule()
        m.memory = Limits(min: 1)
        m.function([.i32], [.i32], export: "grow", [get(0), op(.memoryGrow)])
        var limits = ResourceLimits()
        limits.maxMemoryPages = 4
        let instance = try instantiate(m, store: Store(limits: limits))
        XCTAssertEqual(try instance.function("grow")!.invoke([.i32(3)]), [.i32(1)])
        XCTAssertEqual(try instance.function("grow")!.invoke([.i32(1)]), [.int32(-1)])
        var big = TestModule()
        big.memory = Limits(min: 5)
        XCTAssertThrowsError(try instantiate(big, store: Store(limits: limits))) { error in
            XCTAssertTrue("\(error)".contains("exceeds the limit of 4 pages"), "\(error)")
        }
    }

    /// The embedder's define calls take sizes from anywhere (a fuzzed import, a host's configuration): a
    /// 64-bit memory of 2^48 pages or a table of 2^40 elements is refused, never computed with (found by
    /// fuzzing: the byte count overflowed and the process stopped).
    func testDefiningHugeMemoriesAndTablesIsRefused() {
        let store = Store()
        XCTAssertNil(store.defineMemory(MemoryType(limits: Limits(min: 1 << 48), is64: true)))
        XCTAssertNil(store.defineMemory(MemoryType(limits: Limits(min: UInt64.max), is64: true)))
        XCTAssertNil(store.defineMemory(MemoryType(limits: Limits(min: 70_000))))
        XCTAssertNil(store.defineTable(TableType(elementType: .funcref, limits: Limits(min: 1 << 40), is64: true)))
        XCTAssertNil(store.defineTable(TableType(elementType: .funcref, limits: Limits(min: UInt64.max), is64: true)))
        XCTAssertNotNil(store.defineMemory(MemoryType(limits: Limits(min: 1), is64: true)))
        XCTAssertNotNil(store.defineTable(TableType(elementType: .funcref, limits: Limits(min: 10), is64: true)))
    }

    func testReusedMemoryNeverShowsAPreviousStoresData() throws {
        // write(addr, value) stores a byte (after growing to 3 pages); read(addr) loads it.
        var m = TestModule()
        m.memory = Limits(min: 1, max: 4)
        m.function([.i32, .i32], [], export: "write", [i32(2), op(.memoryGrow), op(.drop), get(0), get(1), load(.i32Store8)])
        m.function([.i32], [.i32], export: "read", [get(0), load(.i32Load8U)])
        m.function([], [.i32], export: "grow", [i32(2), op(.memoryGrow)])
        let compiled = try CompiledModule(bytes: m.bytes)
        for round in 0..<20 {
            let instance = try compiled.instantiate(store: Store())
            XCTAssertEqual(try instance.function("grow")!.invoke(), [.i32(1)], "round \(round) starts at one page")
            for address: UInt32 in [100, 65_536 + 7, 2 * 65_536 + 9] {
                XCTAssertEqual(try instance.function("read")!.invoke([.i32(address)]), [.i32(0)], "round \(round) reads zero at \(address)")
            }
            let instance2 = try compiled.instantiate(store: Store())
            _ = try instance2.function("write")!.invoke([.i32(2 * 65_536 + 9), .i32(0xAB)])
            _ = try instance2.function("write")!.invoke([.i32(100), .i32(0xCD)])
        }
    }

    func testBulkMemoryBoundsAreCheckedBeforeWriting() throws {
        let fill = try single([.i32, .i32], [], memory: Limits(min: 1), [get(0), i32(0xAB), get(1), op(.memoryFill)])
        XCTAssertEqual(trapMessage { try fill.invoke([.i32(UInt32(page - 2)), .i32(3)]) }, "out of bounds memory access")
        XCTAssertNil(trapMessage { try fill.invoke([.i32(UInt32(page)), .i32(0)]) }, "a zero-length fill at the end is fine")
    }
}
