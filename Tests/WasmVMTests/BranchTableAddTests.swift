import WasmParser
import XCTest
@testable import WasmVM

/// A `br_table` whose index is an `i32.add` (or an `i32.sub` of a constant, which the translator makes an add:
/// what a C `switch` whose first case is not 0 compiles to) is one instruction that adds and branches, and picks
/// the entry the two instructions would: the sum wraps at 32 bits, anything past the last entry takes the
/// default, and a sum a local keeps (`local.tee`) is still written.
final class BranchTableAddTests: XCTestCase {
    let text = """
        (module
          (func (export "switch") (param i32) (result i32)
            (block $default (block $c2 (block $c1 (block $c0
              (br_table $c0 $c1 $c2 $default (i32.sub (local.get 0) (i32.const 40))))
              (return (i32.const 100)))
              (return (i32.const 101)))
              (return (i32.const 102)))
            (i32.const -1))
          (func (export "sum") (param i32 i32) (result i32)
            (block $default (block $c1 (block $c0
              (br_table $c0 $c1 $default (i32.add (local.get 0) (local.get 1))))
              (return (i32.const 10)))
              (return (i32.const 11)))
            (i32.const -1))
          (func (export "kept") (param i32) (result i32) (local i32)
            (block $default (block $c0
              (br_table $c0 $default (local.tee 1 (i32.add (local.get 0) (i32.const 7)))))
              (return (i32.sub (i32.const 0) (local.get 1))))
            (local.get 1)))
        """

    func testBranchesOnTheSumOfItsOperands() throws {
        let compiled = try CompiledModule(bytes: Array(text.utf8))
        for index in 0..<3 {
            let listing = try XCTUnwrap(compiled.disassembly(ofFunction: index))
            XCTAssertTrue(listing.contains("brTable") && listing.contains("(on x + y)") && !listing.contains("i32Add"),
                          "function \(index):\n\(listing)")
        }
        let instance = try compiled.instantiate(store: Store())
        let values: [UInt32] = [0, 1, 2, 38, 39, 40, 41, 42, 43, 44, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0028, 0xFFFF_FFFF,
                                0xFFFF_FFD8, 0xFFFF_FFD9, 0xFFFF_FFDA]
        for a in values {
            let switchIndex = a &- 40
            let expected: UInt32 = switchIndex < 3 ? 100 + switchIndex : 0xFFFF_FFFF
            XCTAssertEqual(try call(instance, "switch", [.i32(a)]), [.i32(expected)], "switch(\(a))")
            for b in values {
                let sum = a &+ b
                XCTAssertEqual(try call(instance, "sum", [.i32(a), .i32(b)]), [.i32(sum < 2 ? 10 + sum : 0xFFFF_FFFF)], "\(a) + \(b)")
            }
            // Entry 0 returns the negated local, the default the local itself: both read what the branch wrote.
            let kept = a &+ 7
            XCTAssertEqual(try call(instance, "kept", [.i32(a)]), [.i32(kept == 0 ? 0 : kept)], "kept(\(a))")
        }
    }
}
