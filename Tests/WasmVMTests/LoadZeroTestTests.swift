import WasmParser
import XCTest
@testable import WasmVM

/// A branch on a value just loaded (`while (*p)`, `if (!flags[i])`) is the load's compare-and-branch against zero:
/// one dispatch, the loaded value still written, an out-of-bounds address still a trap.
final class LoadZeroTestTests: XCTestCase {
    let text = """
        (module
          (memory 1)
          (data (i32.const 16) "\\05\\00\\00\\00\\07\\00\\00\\00\\00\\01\\00\\00\\00\\00\\00\\00")
          ;; Words from p up to the first zero word: how many (br_if on the loaded word).
          (func (export "count") (param $p i32) (result i32) (local $n i32)
            (block $done
              (loop $next
                (br_if $done (i32.eqz (i32.load (local.get $p))))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br $next)))
            (local.get $n))
          ;; The byte at p, or 99 when it is zero (if on the loaded byte, the value kept in a local).
          (func (export "byte") (param $p i32) (result i32) (local $b i32)
            (if (result i32) (local.tee $b (i32.load8_u (local.get $p)))
              (then (local.get $b))
              (else (i32.const 99)))))
        """

    func testFusedAndCorrect() throws {
        let compiled = try CompiledModule(bytes: Array(text.utf8))
        XCTAssertTrue(try XCTUnwrap(compiled.disassembly(ofFunction: 0)).contains("loadI32BrIfEq"))
        XCTAssertTrue(try XCTUnwrap(compiled.disassembly(ofFunction: 1)).contains("loadI328uBrIfEq"))
        let instance = try compiled.instantiate(store: Store())
        // Words 5, 7, 0x100, then 0.
        XCTAssertEqual(try call(instance, "count", [.i32(16)]), [.i32(3)])
        XCTAssertEqual(try call(instance, "count", [.i32(20)]), [.i32(2)])
        XCTAssertEqual(try call(instance, "count", [.i32(28)]), [.i32(0)])
        XCTAssertEqual(try call(instance, "count", [.i32(25)]), [.i32(1)])  // the bytes 01 00 00 00, then zeros
        XCTAssertEqual(try call(instance, "byte", [.i32(16)]), [.i32(5)])
        XCTAssertEqual(try call(instance, "byte", [.i32(17)]), [.i32(99)])
        XCTAssertEqual(try call(instance, "byte", [.i32(25)]), [.i32(1)])
        XCTAssertEqual(trapMessage { try call(instance, "count", [.i32(65_534)]) }, "out of bounds memory access")
        XCTAssertEqual(trapMessage { try call(instance, "byte", [.i32(65_536)]) }, "out of bounds memory access")
    }
}
