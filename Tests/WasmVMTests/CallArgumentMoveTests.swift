import WasmParser
import XCTest
@testable import WasmVM

/// A call takes in the instruction that put its last argument(s) in place — a copy, a copy pair into consecutive
/// argument slots, an `i32.add` — and a `return` takes in the add computing its result. The move is made once:
/// by the handler when the call goes ahead, or by `Store.run` when the handler hands the call back (a host
/// callee, the run's outermost return). An add may read its own destination (`f(g() + 1)`), so making it twice
/// would be wrong, and the argument slot must be the one the move named (not always the frame's first).
final class CallArgumentMoveTests: XCTestCase {
    let text = """
        (module
          (import "env" "host" (func $host (param i32 i32) (result i32)))
          (type $binary (func (param i32 i32) (result i32)))
          (table 2 funcref)
          (elem (i32.const 0) $sub $mix)
          (func $sub (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
          (func $mix (param i32 i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const 10)) (local.get 1)))
          (func $three (param i32 i32 i32) (result i32)
            (i32.add (i32.add (i32.mul (local.get 0) (i32.const 100)) (i32.mul (local.get 1) (i32.const 10))) (local.get 2)))
          (func $inc (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func (export "copy") (param i32) (result i32) (call $inc (local.get 0)))
          (func (export "pair") (param i32 i32) (result i32) (call $sub (local.get 1) (local.get 0)))
          (func (export "pairAbove") (param i32 i32 i32) (result i32)
            (call $three (i32.mul (local.get 0) (i32.const 3)) (local.get 1) (local.get 2)))
          (func (export "add") (param i32 i32) (result i32) (call $inc (i32.add (local.get 0) (local.get 1))))
          (func (export "own") (param i32) (result i32) (call $inc (i32.add (call $inc (local.get 0)) (i32.const 1))))
          (func (export "hostAdd") (param i32 i32) (result i32)
            (call $host (i32.mul (local.get 0) (i32.const 2)) (i32.add (call $inc (local.get 1)) (i32.const 1))))
          (func (export "hostPair") (param i32 i32) (result i32) (call $host (local.get 1) (local.get 0)))
          (func (export "indirect") (param i32 i32 i32) (result i32)
            (call_indirect (type $binary) (i32.mul (local.get 0) (i32.const 3)) (local.get 1) (local.get 2)))
          (func $fib (export "fib") (param i32) (result i32)
            (if (i32.lt_u (local.get 0) (i32.const 2)) (then (return (local.get 0))))
            (return (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                             (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
        """

    /// Function index (imports first) → what its listing must show: the fusions are really made.
    let expectedMoves: [(Int, String)] = [
        (4, "(of x + y)"),               // inc: `return x + 1`, x in slot 0
        (5, "(after s"),                 // copy
        (6, ", s"),                      // pair: both arguments
        (7, ", s"),                      // pairAbove: the second and third arguments (k = 1)
        (8, " + s"),                     // add
        (9, " + s"),                     // own
        (10, " + s"),                    // hostAdd
        (11, ", s"),                     // hostPair
        (12, "(after s"),                // indirect: the second argument (k = 1)
        (13, "(of x + y)"),              // fib's return of the sum
    ]

    func instantiate(_ mode: TranslationMode) throws -> (Instance, CompiledModule) {
        let compiled = try CompiledModule(bytes: Array(text.utf8), translation: mode)
        let store = Store()
        var imports = Imports()
        // 1000 a - b: the order of the arguments shows.
        let host = store.defineFunction(type: FunctionType(parameters: [.i32, .i32], results: [.i32])) { _, args in
            guard case .i32(let a) = args[0], case .i32(let b) = args[1] else { return [] }
            return [.i32(a &* 1000 &- b)]
        }
        imports.define(module: "env", name: "host", .function(host))
        return (try compiled.instantiate(store: store, imports: imports), compiled)
    }

    func testTheMovesAreTakenIn() throws {
        let (_, compiled) = try instantiate(.eager)
        for (index, shown) in expectedMoves {
            let listing = try XCTUnwrap(compiled.disassembly(ofFunction: index))
            XCTAssertTrue(listing.contains(shown), "function \(index) should show \(shown):\n\(listing)")
        }
    }

    func testResultsEagerAndLazy() throws {
        for mode in [TranslationMode.eager, .lazy] {
            let (instance, _) = try instantiate(mode)
            for n: UInt32 in [0, 1, 41, 0x7FFF_FFFF, 0xFFFF_FFFF] {
                // Called from the host, `inc`'s return is the run's outermost: the loop makes the add.
                XCTAssertEqual(try call(instance, "inc", [.i32(n)]), [.i32(n &+ 1)], "\(mode) inc(\(n))")
                XCTAssertEqual(try call(instance, "copy", [.i32(n)]), [.i32(n &+ 1)], "\(mode) copy(\(n))")
                XCTAssertEqual(try call(instance, "own", [.i32(n)]), [.i32(n &+ 3)], "\(mode) own(\(n))")
                XCTAssertEqual(try call(instance, "add", [.i32(n), .i32(5)]), [.i32(n &+ 6)], "\(mode) add(\(n))")
            }
            XCTAssertEqual(try call(instance, "pair", [.i32(3), .i32(10)]), [.i32(7)], "\(mode)")
            XCTAssertEqual(try call(instance, "pairAbove", [.i32(1), .i32(2), .i32(4)]), [.i32(324)], "\(mode)")
            // Handed back to the loop (the callee is the host's): the loop makes the move, once.
            XCTAssertEqual(try call(instance, "hostAdd", [.i32(7), .i32(40)]), [.i32(14000 - 42)], "\(mode)")
            XCTAssertEqual(try call(instance, "hostPair", [.i32(3), .i32(5)]), [.i32(4997)], "\(mode)")
            // Table entry 0 is sub, 1 is mix; the first argument is 3a.
            XCTAssertEqual(try call(instance, "indirect", [.i32(4), .i32(2), .i32(0)]), [.i32(10)], "\(mode)")
            XCTAssertEqual(try call(instance, "indirect", [.i32(4), .i32(2), .i32(1)]), [.i32(122)], "\(mode)")
            XCTAssertEqual(try call(instance, "fib", [.i32(20)]), [.i32(6765)], "\(mode)")
        }
    }

    /// At the call-depth limit the handler hands the call back and the loop traps: nothing is moved twice on the way.
    func testRecursionStillTrapsAtTheLimit() throws {
        let (instance, _) = try instantiate(.eager)
        let message = trapMessage { try call(instance, "fib", [.i32(200_000)]) }
        XCTAssertEqual(message, "call stack exhausted")
    }
}
