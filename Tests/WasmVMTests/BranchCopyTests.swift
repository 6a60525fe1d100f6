import WasmParser
import XCTest
@testable import WasmVM

/// A `br` right after a `copy` (a value moved into a block's result or a local on the way out, a loop variable
/// before the back edge) takes the copy in: one instruction that copies, then jumps. Never across a label: a
/// jump to a label between them must not run the copy.
final class BranchCopyTests: XCTestCase {
    let text = """
        (module
          (func (export "result") (param i32) (result i32)
            (block (result i32) (br 0 (local.get 0))))
          (func (export "loop") (param i32) (result i32) (local i32 i32 i32)
            (block $done
              (loop $l
                (local.set 1 (i32.add (local.get 1) (i32.const 1)))
                (local.set 2 (i32.add (local.get 2) (local.get 1)))
                (br_if $done (i32.ge_u (local.get 1) (local.get 0)))
                (local.set 3 (local.get 2))
                (br $l)))
            (i32.add (i32.mul (local.get 2) (i32.const 1000)) (local.get 3)))
          (func (export "skip") (param i32) (result i32) (local i32)
            (local.set 1 (i32.const 7))
            (block $out
              (block $x
                (br_if $x (local.get 0))
                (local.set 1 (local.get 0)))
              (br $out))
            (local.get 1)))
        """

    func testCopiesThenJumps() throws {
        let compiled = try CompiledModule(bytes: Array(text.utf8))
        for index in 0..<2 {
            let listing = try XCTUnwrap(compiled.disassembly(ofFunction: index))
            XCTAssertTrue(listing.contains("br") && listing.contains("(after d = x)") && !listing.contains("copy"),
                          "function \(index):\n\(listing)")
        }
        // The copy before the label stays a copy: the `br` after the label is reached by the jump too.
        let skip = try XCTUnwrap(compiled.disassembly(ofFunction: 2))
        XCTAssertTrue(skip.contains("copy") && !skip.contains("(after d = x)"), skip)

        let instance = try compiled.instantiate(store: Store())
        for n: UInt32 in [0, 1, 2, 3, 10, 100, 0xFFFF_FFFF] {
            XCTAssertEqual(try call(instance, "result", [.i32(n)]), [.i32(n)])
            XCTAssertEqual(try call(instance, "skip", [.i32(n)]), [.i32(n == 0 ? 0 : 7)], "skip(\(n))")
        }
        for n: UInt32 in [1, 2, 3, 10, 100] {
            // local 2 sums 1...n; local 3 holds the sum as it was before the last step.
            let sum = n * (n + 1) / 2, before = n == 1 ? 0 : (n - 1) * n / 2
            XCTAssertEqual(try call(instance, "loop", [.i32(n)]), [.i32(sum &* 1000 &+ before)], "loop(\(n))")
        }
    }
}
