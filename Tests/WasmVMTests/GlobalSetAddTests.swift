import WasmParser
import XCTest
@testable import WasmVM

/// `global.set` of an `i32.add` just computed is one instruction that adds, writes the sum where the add did (the
/// `local.tee`'d frame pointer of a C or Rust prologue) and sets the global; the sum wraps at 32 bits.
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
          (func (export "setSP") (param i32) (global.set $sp (local.get 0))))
        """

    func testTheAddIsTakenIn() throws {
        let compiled = try CompiledModule(bytes: Array(text.utf8))
        for index in 0..<2 {
            let listing = try XCTUnwrap(compiled.disassembly(ofFunction: index))
            XCTAssertEqual(listing.components(separatedBy: "(of d = x + y)").count - 1, 2, "function \(index):\n\(listing)")
            XCTAssertFalse(listing.contains("i32Add"), listing)
        }
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
    }
}
