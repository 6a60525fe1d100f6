import WasmParser
import XCTest
@testable import WasmVM

/// Two `i32.add`s in a row are one dispatch: the first is flagged and makes both, in order (the second may read
/// the first's sum), wrapping at 32 bits. The second stays a whole instruction: a loop whose first instruction it
/// is jumps to it and runs it alone.
final class AddPairTests: XCTestCase {
    let text = """
        (module
          (func (export "chain") (param i32 i32) (result i32) (local i32 i32)
            (local.set 2 (i32.add (local.get 0) (local.get 1)))
            (local.set 3 (i32.add (local.get 2) (local.get 0)))
            (i32.mul (local.get 2) (local.get 3)))
          (func (export "loop") (param i32) (result i32) (local i32 i32)
            ;; The loop's first add is the second of a pair with the add before the loop.
            (local.set 2 (i32.add (local.get 0) (i32.const 7)))
            (loop $l
              (local.set 1 (i32.add (local.get 1) (local.get 2)))
              (local.set 0 (i32.add (local.get 0) (i32.const -1)))
              (br_if $l (local.get 0)))
            (local.get 1)))
        """

    func testPairsAreFlagged() throws {
        let compiled = try CompiledModule(bytes: Array(text.utf8))
        for index in 0..<2 {
            let listing = try XCTUnwrap(compiled.disassembly(ofFunction: index))
            XCTAssertTrue(listing.contains("(and the next)"), "function \(index):\n\(listing)")
        }
    }

    func testResults() throws {
        for mode in [TranslationMode.eager, .lazy] {
            let instance = try CompiledModule(bytes: Array(text.utf8), translation: mode).instantiate(store: Store())
            func chain(_ a: UInt32, _ b: UInt32) -> UInt32 { (a &+ b) &* (a &+ b &+ a) }
            for (a, b): (UInt32, UInt32) in [(1, 2), (0, 0), (0xFFFF_FFFF, 1), (0x8000_0000, 0x8000_0000), (123_456, 654_321)] {
                XCTAssertEqual(try call(instance, "chain", [.i32(a), .i32(b)]), [.i32(chain(a, b))], "\(mode) chain(\(a), \(b))")
            }
            // n iterations, each adding n + 7: n (n + 7).
            for n: UInt32 in [1, 2, 10, 1000] {
                XCTAssertEqual(try call(instance, "loop", [.i32(n)]), [.i32(n &* (n &+ 7))], "\(mode) loop(\(n))")
            }
        }
    }
}
