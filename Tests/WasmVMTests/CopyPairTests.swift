import WasmParser
import XCTest
@testable import WasmVM

/// Two copies in a row (arguments moved into place, locals shuffled) are one instruction that makes them in
/// order, the second's slots in the word after it; a third starts a new one; a copy after a label is never
/// paired with the one before it (a jump to the label must run only the second).
final class CopyPairTests: XCTestCase {
    let text = """
        (module
          (func (export "chain") (param i32) (result i32) (local i32 i32)
            (local.set 1 (local.get 0))
            (local.set 2 (local.get 1))
            (local.get 2))
          (func (export "rotate") (param i32 i32 i32) (result i32) (local i32)
            (local.set 3 (local.get 0))
            (local.set 0 (local.get 1))
            (local.set 1 (local.get 2))
            (local.set 2 (local.get 3))
            (i32.add (i32.add (i32.mul (local.get 0) (i32.const 100)) (i32.mul (local.get 1) (i32.const 10))) (local.get 2)))
          (func (export "vector") (param i64 i64) (result i64) (local v128)
            (local.set 2 (i64x2.replace_lane 1 (i64x2.splat (local.get 0)) (local.get 1)))
            (local.set 2 (local.get 2))
            (i64.sub (i64x2.extract_lane 0 (local.get 2)) (i64x2.extract_lane 1 (local.get 2))))
          (func (export "label") (param i32) (result i32) (local i32 i32)
            (local.set 1 (local.get 0))
            (loop $l
              (local.set 2 (local.get 1))
              (local.set 1 (i32.add (local.get 1) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get 1) (i32.const 10))))
            (local.get 2)))
        """

    func testCopiesInOrder() throws {
        let compiled = try CompiledModule(bytes: Array(text.utf8))
        for index in 0..<2 {
            let listing = try XCTUnwrap(compiled.disassembly(ofFunction: index))
            XCTAssertTrue(listing.contains(" then s"), "function \(index):\n\(listing)")
        }
        // The copy before the loop and the one after its label stay apart.
        let label = try XCTUnwrap(compiled.disassembly(ofFunction: 3))
        XCTAssertFalse(label.contains(" then s"), label)

        let instance = try compiled.instantiate(store: Store())
        for n: UInt32 in [0, 1, 7, 9, 10, 20, 0xFFFF_FFFF] {
            XCTAssertEqual(try call(instance, "chain", [.i32(n)]), [.i32(n)], "chain(\(n))")
            // The loop runs until local 1 reaches 10 (wrapping from 2^32 - 1); local 2 keeps the value before the last step.
            XCTAssertEqual(try call(instance, "label", [.i32(n)]), [.i32(n < 10 || n == 0xFFFF_FFFF ? 9 : n)], "label(\(n))")
        }
        // (a, b, c) -> (b, c, a)
        XCTAssertEqual(try call(instance, "rotate", [.i32(1), .i32(2), .i32(3)]), [.i32(231)])
        XCTAssertEqual(try call(instance, "rotate", [.i32(7), .i32(0), .i32(5)]), [.i32(57)])
        XCTAssertEqual(try call(instance, "vector", [.i64(1000), .i64(1)]), [.i64(999)])
    }
}
