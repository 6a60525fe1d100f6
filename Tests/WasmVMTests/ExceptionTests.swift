import WasmParser
import XCTest
@testable import WasmVM

/// Exception handling (WebAssembly 3.0 `try_table`/`throw`/`throw_ref`, and the legacy `try` forms), as
/// the spec describes it: handlers are tried innermost first and, within a `try_table`, in the order of
/// its clauses; a reference keeps the exception's identity; unwinding crosses any number of frames, host
/// functions included; an exception nobody catches reaches the embedder with its tag and payload.
final class ExceptionTests: XCTestCase {
    // MARK: try_table

    func testClausesAreTriedInTheirOrder() throws {
        let m = try instance("""
            (module
              (tag $a (param i32)) (tag $b)
              (func $throw (param i32)
                (if (local.get 0) (then (throw $a (i32.const 7))) (else (throw $b))))
              ;; catch $a first, then catch_all: $a lands in the first clause, $b in the second.
              (func (export "specific_first") (param i32) (result i32)
                (block $all
                  (return (block $on_a (result i32)
                    (try_table (catch $a $on_a) (catch_all $all) (call $throw (local.get 0)))
                    (i32.const -1))))
                (i32.const 100))
              ;; catch_all first: it takes everything, $a included.
              (func (export "catch_all_first") (param i32) (result i32)
                (block $all
                  (return (block $on_a (result i32)
                    (try_table (catch_all $all) (catch $a $on_a) (call $throw (local.get 0)))
                    (i32.const -1))))
                (i32.const 100)))
            """)
        XCTAssertEqual(try call(m, "specific_first", [.i32(1)]), [.i32(7)])
        XCTAssertEqual(try call(m, "specific_first", [.i32(0)]), [.i32(100)])
        XCTAssertEqual(try call(m, "catch_all_first", [.i32(1)]), [.i32(100)])
        XCTAssertEqual(try call(m, "catch_all_first", [.i32(0)]), [.i32(100)])
    }

    func testInnermostHandlerWinsAndOuterOnesSeeWhatItRethrows() throws {
        let m = try instance("""
            (module
              (tag $e (param i32))
              (func (export "f") (result i32)
                (block $outer (result i32)
                  (try_table (catch $e $outer)
                    (block $inner (result i32)
                      (try_table (catch $e $inner) (throw $e (i32.const 1)))
                      (unreachable))
                    ;; the inner handler got 1; it throws 1 + 10 to the outer one
                    (throw $e (i32.add (i32.const 10))))
                  (unreachable))))
            """)
        XCTAssertEqual(try call(m, "f"), [.i32(11)])
    }

    func testCatchRefThenThrowRefKeepsTheSameException() throws {
        let m = try instance("""
            (module
              (tag $e (param i64))
              (global $first (export "first") (mut exnref) (ref.null exn))
              (global $second (export "second") (mut exnref) (ref.null exn))
              (func (export "f") (result i64)
                (local $x exnref)
                (block $outer (result i64 exnref)
                  (try_table (catch_ref $e $outer)
                    (block $inner (result i64 exnref)
                      (try_table (catch_ref $e $inner) (throw $e (i64.const 42)))
                      (unreachable))
                    (global.set $first)  ;; the reference
                    (drop)               ;; the payload
                    (throw_ref (global.get $first)))
                  (unreachable))
                (global.set $second)))
            """)
        XCTAssertEqual(try call(m, "f"), [.i64(42)], "the payload travels with the rethrown exception")
        let first = try XCTUnwrap(m.global("first")).value
        let second = try XCTUnwrap(m.global("second")).value
        guard case .exnref(let a?) = first, case .exnref(let b?) = second else { return XCTFail("\(first), \(second)") }
        XCTAssertEqual(a, b, "throw_ref rethrows the same exception, not a copy")
    }

    func testUnwindingCrossesAThousandFramesAndLeavesTheStackUsable() throws {
        let m = try instance("""
            (module
              (tag $deep (param i32 f64))
              (func $down (param $n i32) (result i32)
                (if (i32.eqz (local.get $n)) (then (throw $deep (i32.const 1000) (f64.const 2.5))))
                (i32.add (call $down (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))
              (func (export "f") (param i32) (result i32 f64)
                (block $caught (result i32 f64)
                  (try_table (catch $deep $caught)
                    (drop (call $down (local.get 0))))
                  (unreachable))))
            """)
        XCTAssertEqual(try call(m, "f", [.i32(1000)]), [.i32(1000), .double(2.5)])
        XCTAssertEqual(try call(m, "f", [.i32(3)]), [.i32(1000), .double(2.5)], "the store runs on after unwinding")
    }

    func testAnExceptionNobodyCatchesReachesTheEmbedderWithTagAndPayload() throws {
        let m = try instance("""
            (module
              (tag $oops (export "oops") (param i32 externref))
              (func $inner (param externref) (throw $oops (i32.const -3) (local.get 0)))
              (func (export "f") (param externref) (call $inner (local.get 0))))
            """)
        let oops = try XCTUnwrap(m.tag("oops"))
        do {
            _ = try call(m, "f", [.externref(99)])
            XCTFail("the exception escaped silently")
        } catch let trap as Trap {
            guard case .exception(let exception) = trap.reason else { return XCTFail("\(trap)") }
            XCTAssertTrue(exception.isTag(oops))
            XCTAssertEqual(exception.payload, [.int32(-3), .externref(99)])
        }
    }

    // MARK: host functions

    func testAHostFunctionThrowsIntoTheGuest() throws {
        let store = Store()
        let tag = store.defineTag(FunctionType(parameters: [.i32], results: []))
        let fail = store.defineFunction(type: FunctionType(parameters: [.i32], results: [])) { (_: Caller, arguments: [Value]) throws(Trap) -> [Value] in
            throw Trap(.exception(WasmException(tag: tag, payload: [arguments[0]])))
        }
        var imports = Imports()
        imports.define(module: "host", name: "fail", .function(fail))
        imports.define(module: "host", name: "error", .tag(tag))
        let m = try instance("""
            (module
              (import "host" "fail" (func $fail (param i32)))
              (import "host" "error" (tag $error (param i32)))
              (func (export "f") (param i32) (result i32)
                (block $caught (result i32)
                  (try_table (catch $error $caught) (call $fail (local.get 0)))
                  (i32.const -1))))
            """, store: store, imports: imports)
        XCTAssertEqual(try call(m, "f", [.i32(5)]), [.i32(5)])
    }

    func testAnExceptionPassingThroughAHostFunctionKeepsItsIdentity() throws {
        let store = Store()
        var reenter: Function?
        let host = store.defineFunction(type: FunctionType(parameters: [], results: [])) { (_: Caller, _: [Value]) throws(Trap) -> [Value] in
            // The guest's exception comes back to the host as a Trap; rethrowing it hands back the same object.
            _ = try reenter!.invoke([])
            return []
        }
        var imports = Imports()
        imports.define(module: "host", name: "call", .function(host))
        let m = try instance("""
            (module
              (import "host" "call" (func $host))
              (tag $e (param i32))
              (global $inside (export "inside") (mut exnref) (ref.null exn))
              (global $outside (export "outside") (mut exnref) (ref.null exn))
              (func (export "thrower")
                (block $k (result i32 exnref)
                  (try_table (catch_ref $e $k) (throw $e (i32.const 9)))
                  (unreachable))
                (global.set $inside)
                (drop)
                (throw_ref (global.get $inside)))
              (func (export "f") (result i32)
                (block $k (result i32 exnref)
                  (try_table (catch_ref $e $k) (call $host))
                  (unreachable))
                (global.set $outside)))
            """, store: store, imports: imports)
        reenter = m.function("thrower")
        XCTAssertEqual(try call(m, "f"), [.i32(9)])
        guard case .exnref(let a?) = try XCTUnwrap(m.global("inside")).value,
              case .exnref(let b?) = try XCTUnwrap(m.global("outside")).value else { return XCTFail("no references") }
        XCTAssertEqual(a, b)
    }

    func testAHostExceptionWithAWrongPayloadIsATrapNotAnException() throws {
        let store = Store()
        let tag = store.defineTag(FunctionType(parameters: [.i32], results: []))
        let bad = store.defineFunction(type: FunctionType(parameters: [], results: [])) { (_: Caller, _: [Value]) throws(Trap) -> [Value] in
            throw Trap(.exception(WasmException(tag: tag, payload: [.double(1)])))
        }
        var imports = Imports()
        imports.define(module: "host", name: "bad", .function(bad))
        let m = try instance("""
            (module (import "host" "bad" (func $bad)) (func (export "f") (call $bad)))
            """, store: store, imports: imports)
        let message = trapMessage { try call(m, "f") } ?? ""
        XCTAssertTrue(message.contains("does not match its tag"), message)
    }

    // MARK: legacy exception handling

    func testDelegateSkipsToTheLabelItNames() throws {
        let m = try instance("""
            (module
              (tag $e)
              ;; delegate N hands the exception to the try N labels out (0: the try just outside).
              (func (export "delegate0") (result i32)
                (try (result i32)
                  (do (try (result i32)
                        (do (try (result i32) (do (throw $e)) (delegate 0)))
                        (catch $e (i32.const 1))))
                  (catch $e (i32.const 2))))
              (func (export "delegate1") (result i32)
                (try (result i32)
                  (do (try (result i32)
                        (do (try (result i32) (do (throw $e)) (delegate 1)))
                        (catch $e (i32.const 1))))
                  (catch $e (i32.const 2))))
              ;; delegating past every try (to the function's own label) leaves the function.
              (func $escape (result i32)
                (try (result i32) (do (throw $e)) (delegate 0)))
              (func (export "delegate_out") (result i32)
                (try (result i32) (do (call $escape)) (catch $e (i32.const 3))))
              ;; a delegate inside a catch body sends what the catch body throws.
              (func (export "from_catch") (result i32)
                (try (result i32)
                  (do (try (result i32)
                        (do (throw $e))
                        (catch $e (try (result i32) (do (throw $e)) (delegate 1)))))
                  (catch $e (i32.const 4)))))
            """)
        XCTAssertEqual(try call(m, "delegate0"), [.i32(1)])
        XCTAssertEqual(try call(m, "delegate1"), [.i32(2)])
        XCTAssertEqual(try call(m, "delegate_out"), [.i32(3)])
        XCTAssertEqual(try call(m, "from_catch"), [.i32(4)])
    }

    func testRethrowAndCatchAll() throws {
        let m = try instance("""
            (module
              (tag $e (param i32))
              (func (export "f") (result i32)
                (try (result i32)
                  (do (try (result i32)
                        (do (throw $e (i32.const 5)))
                        (catch_all (rethrow 0))))
                  (catch $e (i32.add (i32.const 100))))))
            """)
        XCTAssertEqual(try call(m, "f"), [.i32(105)], "rethrow keeps the payload")
    }

    func testBothFormsInOneModule() throws {
        let m = try instance("""
            (module
              (tag $e (param i32))
              (func $new (result i32)
                (block $h (result i32) (try_table (catch $e $h) (throw $e (i32.const 1))) (unreachable)))
              (func (export "f") (result i32)
                (try (result i32)
                  (do (i32.add (call $new) (block $h (result i32) (try_table (catch $e $h) (throw $e (i32.const 2))) (unreachable)))
                      (throw $e))
                  (catch $e (i32.mul (i32.const 10))))))
            """)
        XCTAssertEqual(try call(m, "f"), [.i32(30)])
    }

    // MARK: reclaiming exceptions

    /// A loop that catches by reference a million times runs in bounded memory, and an exception still
    /// referenced (from a global, a table, a local) survives every collection.
    func testExceptionsCaughtByReferenceAreCollected() throws {
        let store = Store()
        let m = try instance("""
            (module
              (tag $e (param i32))
              (global $kept (mut exnref) (ref.null exn))
              (table $t 1 exnref)
              (func $catch (param i32) (result exnref)
                (block $k (result i32 exnref)
                  (try_table (catch_ref $e $k) (throw $e (local.get 0)))
                  (unreachable))
                (return))
              (func (export "churn") (param $n i32) (result i32)
                (local $local exnref)
                (global.set $kept (call $catch (i32.const 111)))
                (table.set $t (i32.const 0) (call $catch (i32.const 222)))
                (local.set $local (call $catch (i32.const 333)))
                (loop $again
                  (drop (call $catch (local.get $n)))
                  (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
                (i32.add
                  (i32.add (block $a (result i32) (try_table (catch $e $a) (throw_ref (global.get $kept))) (unreachable))
                           (block $b (result i32) (try_table (catch $e $b) (throw_ref (table.get $t (i32.const 0)))) (unreachable)))
                  (block $c (result i32) (try_table (catch $e $c) (throw_ref (local.get $local))) (unreachable)))))
            """, store: store)
        XCTAssertEqual(try call(m, "churn", [.i32(300_000)]), [.i32(666)], "referenced exceptions kept their payloads")
        XCTAssertGreaterThan(store.exceptionCollections, 10)
        XCTAssertLessThan(store.liveExceptionCount, 20_000, "unreachable exceptions were freed")
    }
}
