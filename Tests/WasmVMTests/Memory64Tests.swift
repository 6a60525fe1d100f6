import WasmParser
import XCTest
@testable import WasmVM

/// memory64: i64 addresses on every memory instruction, limits up to 2^48 pages, bounds checks that never
/// wrap, and a reservation scheme that stays cheap when the maximum is huge or absent.
final class Memory64Tests: XCTestCase {
    func instance(_ text: String, limits: ResourceLimits = ResourceLimits()) throws -> Instance {
        try CompiledModule(bytes: Array(text.utf8)).instantiate(store: Store(limits: limits))
    }

    static let accessors = """
          (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
          (func (export "load_offset") (param i64) (result i32) (i32.load8_u offset=0xFFFFFFFFFFFFFFFF (local.get 0)))
          (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
          (func (export "size") (result i64) (memory.size))
          (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
          (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
          (func (export "byte") (param i64) (result i32) (i32.load8_u (local.get 0)))
        """

    /// A memory of 65,537 pages: the last page lies past 2^32, where a 32-bit address cannot reach.
    func testLoadsAndStoresPastFourGiB() throws {
        var limits = ResourceLimits()
        limits.maxMemoryPages = 65_537
        let m = try instance("(module (memory i64 65537 65537)" + Self.accessors + ")", limits: limits)
        let high: UInt64 = 1 << 32
        XCTAssertEqual(try m.function("size")!.invoke([]), [.i64(65_537)])
        try m.function("store")!.invoke([.i64(high + 8), .i64(0x1122_3344_5566_7788)])
        XCTAssertEqual(try m.function("load")!.invoke([.i64(high + 8)]), [.i64(0x1122_3344_5566_7788)])
        XCTAssertEqual(try m.function("load")!.invoke([.i64(8)]), [.i64(0)], "2^32 + 8 is not 8")
        let end: UInt64 = 65_537 * 65_536
        XCTAssertEqual(try m.function("load")!.invoke([.i64(end - 8)]), [.i64(0)])
        XCTAssertEqual(trapMessage { try m.function("load")!.invoke([.i64(end - 7)]) }, "out of bounds memory access")
        XCTAssertEqual(trapMessage { try m.function("load")!.invoke([.i64(UInt64.max)]) }, "out of bounds memory access")
        // address + offset overflows 64 bits: out of bounds, never a wrapped-around address.
        XCTAssertEqual(trapMessage { try m.function("load_offset")!.invoke([.i64(1)]) }, "out of bounds memory access")
        XCTAssertEqual(trapMessage { try m.function("load_offset")!.invoke([.i64(0)]) }, "out of bounds memory access")
        XCTAssertEqual(trapMessage { try m.function("fill")!.invoke([.i64(end - 1), .i32(1), .i64(2)]) }, "out of bounds memory access")
        try m.function("fill")!.invoke([.i64(high - 2), .i32(0xAB), .i64(4)])
        for address in [high - 2, high - 1, high, high + 1] {
            XCTAssertEqual(try m.function("byte")!.invoke([.i64(address)]), [.i32(0xAB)], "\(address)")
        }
        XCTAssertEqual(try m.function("byte")!.invoke([.i64(high + 2)]), [.i32(0)])
    }

    /// An offset of 0xFFFF or more sits in the word after the instruction; the address must still come from
    /// the instruction's own operand (differential seed 2287: the address was read from the offset's word, so
    /// the slot it named — here the first parameter — was used instead).
    func testLargeOffsetsTakeTheAddressFromTheOperand() throws {
        let m = try instance("""
            (module (memory i64 4)
              (func (export "load") (param f64 i64) (result i32) (i32.load offset=173472 (local.get 1)))
              (func (export "store") (param f64 i64 i32) (i32.store offset=70000 (local.get 1) (local.get 2)))
              (func (export "byte") (param i64) (result i32) (i32.load8_u (local.get 0))))
            """)
        try m.function("store")!.invoke([.double(1.5), .i64(103_472), .i32(0xAB)])
        XCTAssertEqual(try m.function("byte")!.invoke([.i64(173_472)]), [.i32(0xAB)])
        XCTAssertEqual(try m.function("load")!.invoke([.double(1.5), .i64(0)]), [.i32(0xAB)])
        XCTAssertEqual(try m.function("load")!.invoke([.double(-2.25), .i64(4)]), [.i32(0)])
        XCTAssertEqual(trapMessage { try m.function("load")!.invoke([.double(0), .i64(4 * 65536 - 173_472 - 3)]) },
                       "out of bounds memory access", "the operand's address, not the first slot's")
    }

    func testGrowReturnsMinusOnePastTheMaximum() throws {
        let m = try instance("(module (memory i64 1 3)" + Self.accessors + ")")
        XCTAssertEqual(try m.function("grow")!.invoke([.i64(2)]), [.i64(1)])
        XCTAssertEqual(try m.function("grow")!.invoke([.i64(1)]), [.int64(-1)])
        XCTAssertEqual(try m.function("grow")!.invoke([.i64(1 << 48)]), [.int64(-1)], "more pages than the spec allows")
        XCTAssertEqual(try m.function("grow")!.invoke([.i64(UInt64.max)]), [.int64(-1)])
        XCTAssertEqual(try m.function("size")!.invoke([]), [.i64(3)])
    }

    /// No maximum: the reservation starts at what the system grants (at most 1 TiB of address space, halved
    /// while refused) and the memory moves to a larger one only if it outgrows it. Grown here to 6 GiB, its
    /// contents kept, the new pages zero.
    func testAMemoryWithoutMaximumGrowsToSeveralGiB() throws {
        var limits = ResourceLimits()
        limits.maxMemoryPages = 1 << 17  // 8 GiB
        let m = try instance("(module (memory i64 1)" + Self.accessors + ")", limits: limits)
        try m.function("store")!.invoke([.i64(16), .i64(42)])
        let sixGiB: UInt64 = 6 << 30
        XCTAssertEqual(try m.function("grow")!.invoke([.i64(sixGiB / 65_536 - 1)]), [.i64(1)])
        XCTAssertEqual(try m.function("size")!.invoke([]), [.i64(sixGiB / 65_536)])
        XCTAssertEqual(try m.function("load")!.invoke([.i64(16)]), [.i64(42)], "kept across growth")
        XCTAssertEqual(try m.function("load")!.invoke([.i64(sixGiB - 8)]), [.i64(0)])
        try m.function("store")!.invoke([.i64(sixGiB - 8), .i64(7)])
        XCTAssertEqual(try m.function("load")!.invoke([.i64(sixGiB - 8)]), [.i64(7)])
        XCTAssertEqual(try m.function("grow")!.invoke([.i64(1 << 17)]), [.int64(-1)], "the store's limit holds")
    }

    func testLimitsUpToTwoToTheFortyEightPagesValidate() throws {
        XCTAssertNoThrow(try Module.load(Module.parse(text: Array("(module (memory i64 0 0x1000000000000))".utf8)).encode()))
        XCTAssertThrowsError(try Module.load(Module.parse(text: Array("(module (memory i64 0 0x1000000000001))".utf8)).encode()))
        // Declaring 2^48 pages is valid; instantiating them is over the store's limit, and says so.
        XCTAssertThrowsError(try instance("(module (memory i64 0x1000000000000))")) { error in
            XCTAssertTrue("\(error)".contains("exceeds the limit"), "\(error)")
        }
    }

    func testSixtyFourBitSegmentsAndTables() throws {
        let m = try instance("""
            (module
              (memory i64 1)
              (data (i64.const 100) "\\2a")
              (table $t i64 3 funcref)
              (elem (table $t) (i64.const 2) func $f)
              (func $f (result i32) (i32.const 7))
              (func (export "data") (result i32) (i32.load8_u (i64.const 100)))
              (func (export "call") (param i64) (result i32) (call_indirect $t (result i32) (local.get 0)))
              (func (export "table_size") (result i64) (table.size $t))
              (func (export "table_grow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0))))
            """)
        XCTAssertEqual(try m.function("data")!.invoke([]), [.i32(42)])
        XCTAssertEqual(try m.function("call")!.invoke([.i64(2)]), [.i32(7)])
        XCTAssertEqual(trapMessage { try m.function("call")!.invoke([.i64(1 << 32 | 2)]) }, "undefined element")
        XCTAssertEqual(try m.function("table_grow")!.invoke([.i64(2)]), [.i64(3)])
        XCTAssertEqual(try m.function("table_size")!.invoke([]), [.i64(5)])
        XCTAssertEqual(try m.function("table_grow")!.invoke([.i64(UInt64.max)]), [.int64(-1)])
    }
}
