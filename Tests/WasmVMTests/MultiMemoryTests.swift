import WasmParser
import XCTest
@testable import WasmVM

/// Multiple memories: a memory index on every memory instruction, each memory bounds-checked on its own,
/// copies and segment initialization between any of them.
final class MultiMemoryTests: XCTestCase {
    func instance(_ text: String, store: Store = Store(), imports: Imports = Imports()) throws -> Instance {
        try CompiledModule(bytes: Array(text.utf8)).instantiate(store: store, imports: imports)
    }

    func testEachMemoryIsItsOwnStorageAndBounds() throws {
        let m = try instance("""
            (module
              (memory $a 1)
              (memory $b 2)
              (memory $c i64 1)
              (data (memory $b) (i32.const 70000) "b")
              (func (export "store") (param i32 i32) (i32.store8 $a (local.get 0) (local.get 1)))
              (func (export "load_a") (param i32) (result i32) (i32.load8_u $a (local.get 0)))
              (func (export "load_b") (param i32) (result i32) (i32.load8_u $b (local.get 0)))
              (func (export "load_c") (param i64) (result i32) (i32.load8_u $c (local.get 0)))
              (func (export "sizes") (result i32 i32 i64) (memory.size $a) (memory.size $b) (memory.size $c)))
            """)
        try m.function("store")!.invoke([.i32(5), .i32(9)])
        XCTAssertEqual(try m.function("load_a")!.invoke([.i32(5)]), [.i32(9)])
        XCTAssertEqual(try m.function("load_b")!.invoke([.i32(5)]), [.i32(0)])
        XCTAssertEqual(try m.function("load_c")!.invoke([.i64(5)]), [.i32(0)])
        XCTAssertEqual(try m.function("load_b")!.invoke([.i32(70000)]), [.i32(98)])
        XCTAssertEqual(trapMessage { try m.function("load_a")!.invoke([.i32(70000)]) }, "out of bounds memory access",
                       "memory $a has one page, whatever $b has")
        XCTAssertEqual(try m.function("sizes")!.invoke([]), [.i32(1), .i32(2), .i64(1)])
    }

    /// The same offsets in two memories: a copy between them is no overlap at all (memmove semantics within
    /// one memory, plain copy across two), and each side is checked against its own size.
    func testCopiesBetweenMemoriesAtTheSameOffsets() throws {
        let m = try instance("""
            (module
              (memory $a 1)
              (memory $b 1)
              (data (memory $a) (i32.const 0) "0123456789")
              (func (export "a_to_b") (param i32 i32 i32) (memory.copy $b $a (local.get 0) (local.get 1) (local.get 2)))
              (func (export "within_a") (param i32 i32 i32) (memory.copy $a $a (local.get 0) (local.get 1) (local.get 2)))
              (func (export "a") (param i32) (result i64) (i64.load $a (local.get 0)))
              (func (export "b") (param i32) (result i64) (i64.load $b (local.get 0))))
            """)
        try m.function("a_to_b")!.invoke([.i32(2), .i32(0), .i32(8)])   // b[2..<10] = a[0..<8]
        XCTAssertEqual(try m.function("b")!.invoke([.i32(2)]), [.i64(0x3736_3534_3332_3130)])
        XCTAssertEqual(try m.function("a")!.invoke([.i32(2)]), [.i64(0x3938_3736_3534_3332)], "the source is untouched")
        try m.function("within_a")!.invoke([.i32(2), .i32(0), .i32(8)])  // overlapping, within one memory
        XCTAssertEqual(try m.function("a")!.invoke([.i32(2)]), [.i64(0x3736_3534_3332_3130)])
        XCTAssertEqual(trapMessage { try m.function("a_to_b")!.invoke([.i32(65_530), .i32(0), .i32(8)]) },
                       "out of bounds memory access")
    }

    func testInitAndDropIntoAnyMemory() throws {
        let m = try instance("""
            (module
              (memory $a 1)
              (memory $b 1)
              (data $seg "abc")
              (func (export "init_b") (param i32) (memory.init $b $seg (local.get 0) (i32.const 0) (i32.const 3)))
              (func (export "drop") (data.drop $seg))
              (func (export "b") (param i32) (result i32) (i32.load8_u $b (local.get 0)))
              (func (export "a") (param i32) (result i32) (i32.load8_u $a (local.get 0))))
            """)
        try m.function("init_b")!.invoke([.i32(10)])
        XCTAssertEqual(try m.function("b")!.invoke([.i32(12)]), [.i32(99)])
        XCTAssertEqual(try m.function("a")!.invoke([.i32(12)]), [.i32(0)])
        try m.function("drop")!.invoke([])
        XCTAssertEqual(trapMessage { try m.function("init_b")!.invoke([.i32(10)]) }, "out of bounds memory access")
    }

    /// A hundred memories, imported and defined, each written and read through its own index.
    func testAHundredMemories() throws {
        let store = Store()
        var imports = Imports()
        var text = "(module\n"
        for i in 0..<50 {
            imports.define(module: "env", name: "m\(i)", .memory(try XCTUnwrap(store.defineMemory(MemoryType(limits: Limits(min: 1))))))
            text += "  (import \"env\" \"m\(i)\" (memory 1))\n"
        }
        for _ in 50..<100 { text += "  (memory 1)\n" }
        text += "  (func (export \"write\")\n"
        for i in 0..<100 { text += "    (i32.store \(i) (i32.const \(4 * i)) (i32.const \(i + 1)))\n" }
        text += "  )\n  (func (export \"sum\") (result i32)\n    (i32.const 0)\n"
        for i in 0..<100 { text += "    (i32.add (i32.load \(i) (i32.const \(4 * i))))\n" }
        text += "  )\n  (func (export \"elsewhere\") (result i32)\n    (i32.const 0)\n"
        for i in 0..<100 { text += "    (i32.add (i32.load \(i) (i32.const \(4 * ((i + 1) % 100)))))\n" }
        text += "  ))\n"
        let m = try instance(text, store: store, imports: imports)
        try m.function("write")!.invoke([])
        XCTAssertEqual(try m.function("sum")!.invoke([]), [.i32(5050)])
        XCTAssertEqual(try m.function("elsewhere")!.invoke([]), [.i32(0)], "memory i holds only its own value, at 4i")
        guard case .memory(let imported)? = imports.lookup(module: "env", name: "m7") else { return XCTFail("no import") }
        XCTAssertEqual(try imported.read(at: 28, count: 4), [8, 0, 0, 0], "an imported memory is the exporter's")
    }
}
