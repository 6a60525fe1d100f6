import WasmParser
import XCTest
@testable import WasmVM

/// An `i32.and` whose result only feeds a branch (`br_if`, `if`, with or without `i32.eqz`) becomes one
/// instruction testing the bits (`brIfAndNz` / `brIfAndZ`), and branches exactly as the two would.
final class BitTestBranchTests: XCTestCase {
    let text = """
        (module
          (func (export "brif") (param i32 i32) (result i32)
            (block $b (br_if $b (i32.and (local.get 0) (local.get 1))) (return (i32.const 0)))
            (i32.const 1))
          (func (export "brifz") (param i32 i32) (result i32)
            (block $b (br_if $b (i32.eqz (i32.and (local.get 0) (local.get 1)))) (return (i32.const 0)))
            (i32.const 1))
          (func (export "if") (param i32 i32) (result i32)
            (if (result i32) (i32.and (local.get 0) (local.get 1)) (then (i32.const 1)) (else (i32.const 0))))
          (func (export "ifz") (param i32 i32) (result i32)
            (if (result i32) (i32.eqz (i32.and (local.get 0) (local.get 1))) (then (i32.const 1)) (else (i32.const 0))))
          (func (export "const") (param i32) (result i32)
            (if (result i32) (i32.and (local.get 0) (i32.const 0x80000000)) (then (i32.const 1)) (else (i32.const 0))))
          (func (export "kept") (param i32 i32) (result i32) (local i32)
            (block $b (br_if $b (local.tee 2 (i32.and (local.get 0) (local.get 1)))) (return (i32.const -1)))
            (local.get 2)))
        """

    func testBranchesOnTheAndOfItsOperands() throws {
        let compiled = try CompiledModule(bytes: Array(text.utf8))
        // The fusion happened (else the rest tests the unfused ops); an `if` branches over its `then` when the
        // condition is false, so its test is the negation.
        for (index, op) in [(0, "brIfAndNz"), (1, "brIfAndZ"), (2, "brIfAndZ"), (3, "brIfAndNz"), (4, "brIfAndZ"), (5, "brIfAndNz")] {
            let listing = try XCTUnwrap(compiled.disassembly(ofFunction: index))
            XCTAssertTrue(listing.contains(op) && !listing.contains("i32And"), "function \(index):\n\(listing)")
        }
        let instance = try compiled.instantiate(store: Store())
        let values: [UInt32] = [0, 1, 2, 3, 0x8000_0000, 0xFFFF_FFFF, 0x0F0F_0F0F, 0xF0F0_F0F0]
        for a in values {
            for b in values {
                let nonzero: UInt32 = a & b != 0 ? 1 : 0
                XCTAssertEqual(try call(instance, "brif", [.i32(a), .i32(b)]), [.i32(nonzero)], "\(a) & \(b)")
                XCTAssertEqual(try call(instance, "brifz", [.i32(a), .i32(b)]), [.i32(1 - nonzero)], "\(a) & \(b)")
                XCTAssertEqual(try call(instance, "if", [.i32(a), .i32(b)]), [.i32(nonzero)], "\(a) & \(b)")
                XCTAssertEqual(try call(instance, "ifz", [.i32(a), .i32(b)]), [.i32(1 - nonzero)], "\(a) & \(b)")
                // A value the branch tests but a local keeps (`local.tee`) is still written.
                XCTAssertEqual(try call(instance, "kept", [.i32(a), .i32(b)]), [.i32(a & b == 0 ? 0xFFFF_FFFF : a & b)])
            }
            XCTAssertEqual(try call(instance, "const", [.i32(a)]), [.i32(a >> 31)])
        }
    }
}
