import WasmParser
import XCTest
@testable import WasmVM

/// `global.set` of an `i32.add` just computed is one instruction that adds, writes the sum where the add did (the
/// `local.tee`'d frame pointer of a C or Rust prologue) and sets the global; the sum wraps at 32 bits. When the add's
/// other operand is a `global.get` of the same global just before it (`sp = sp - 16`), that is taken in too; of
/// another global, it is not.
final class GlobalSetAddTests: XCTestCase {
    let text = """
        (module
          (global $sp (export "sp") (mut i32) (i32.const 1024))
          (func $frame (export "frame") (result i32) (local i32)
            ;; The prologue: sp = sp - 16 (an add of -16), the new sp kept in local 0.
            (global.set $sp (local.tee 0 (i32.sub (global.get $sp) (i32.const 16))))
            ;; The epilogue: sp = fp + 16.
            (global.set $sp (i32.add (local.get 0) (i32.const 16)))
            (local.get 0))
          (func (export "nested") (result i32) (local i32)
            (global.set $sp (local.tee 0 (i32.add (global.get $sp) (i32.const -32))))
            (drop (call $frame))
            (global.set $sp (i32.add (local.get 0) (i32.const 32)))
            (local.get 0))
          (func (export "setSP") (param i32) (global.set $sp (local.get 0)))
          (global $base (mut i32) (i32.const 4096))
          ;; The global on the right of the add; then another global's value (not taken in).
          (func (export "swapped") (result i32)
            (global.set $sp (i32.add (i32.const 100) (global.get $sp)))
            (global.set $sp (i32.add (global.get $base) (i32.const -8)))
            (global.get $sp))
          ;; The old value kept by a tee: the global.get must still write the local.
          (func (export "keepOld") (result i32) (local i32)
            (global.set $sp (i32.sub (local.tee 0 (global.get $sp)) (i32.const 16)))
            (local.get 0)))
        """

    func testTheAddIsTakenIn() throws {
        let compiled = try CompiledModule(bytes: Array(text.utf8))
        func count(_ text: String, in listing: String) -> Int { listing.components(separatedBy: text).count - 1 }
        // frame, nested: a prologue (global, add and set in one) and an epilogue (add and set).
        for index in 0..<2 {
            let listing = try XCTUnwrap(compiled.disassembly(ofFunction: index))
            XCTAssertEqual(count("(of d = global + y)", in: listing), 1, "function \(index):\n\(listing)")
            XCTAssertEqual(count("(of d = x + y)", in: listing), 1, "function \(index):\n\(listing)")
            XCTAssertFalse(listing.contains("i32Add") || listing.contains("globalGet"), listing)
        }
        let swapped = try XCTUnwrap(compiled.disassembly(ofFunction: 3))
        XCTAssertEqual(count("(of d = global + y)", in: swapped), 1, swapped)
        XCTAssertEqual(count("(of d = x + y)", in: swapped), 1, swapped)
    }

    func testPrologueAndEpilogue() throws {
        let instance = try instance(text)
        let sp = try XCTUnwrap(instance.global("sp"))
        XCTAssertEqual(try call(instance, "frame"), [.i32(1008)])
        XCTAssertEqual(sp.value, .i32(1024))
        XCTAssertEqual(try call(instance, "nested"), [.i32(992)])
        XCTAssertEqual(sp.value, .i32(1024))
        // Wrapping below zero and back.
        _ = try call(instance, "setSP", [.i32(8)])
        XCTAssertEqual(try call(instance, "frame"), [.i32(0xFFFF_FFF8)])
        XCTAssertEqual(sp.value, .i32(8))
        XCTAssertEqual(try call(instance, "nested"), [.i32(0xFFFF_FFE8)])
        XCTAssertEqual(sp.value, .i32(8))
        XCTAssertEqual(try call(instance, "swapped"), [.i32(4088)])
        XCTAssertEqual(try call(instance, "keepOld"), [.i32(4088)])
        XCTAssertEqual(sp.value, .i32(4072))
        _ = try call(instance, "setSP", [.i32(0xFFFF_FFF0)])
        XCTAssertEqual(try call(instance, "frame"), [.i32(0xFFFF_FFE0)])
        XCTAssertEqual(sp.value, .i32(0xFFFF_FFF0))
    }
}
