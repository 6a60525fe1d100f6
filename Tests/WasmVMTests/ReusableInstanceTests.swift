import WasmParser
import XCTest
@testable import WasmVM

/// A reset instance (`ReusableInstance.reset`) must be indistinguishable from a fresh one: whatever a use
/// did — wrote data pages and zero pages, grew the memory, set globals, grew and rewrote tables, dropped
/// segments, allocated GC objects, threw exceptions, spent fuel, trapped halfway, was interrupted — the next
/// use observes exactly what a newly instantiated module observes.
final class ReusableInstanceTests: XCTestCase {
    /// `observe` reports the state a use can see, one i64 per fact; `spoil` changes all of it.
    static let source = """
        (module
          (memory (export "memory") 3 10)
          (global $g (mut i32) (i32.const 7))
          (global $h (mut i64) (i64.add (i64.const 40) (i64.const 2)))
          (type $r (func (result i32)))
          (table $t 3 10 funcref)
          (elem (i32.const 0) $one $two)
          (elem $e func $two)
          (data (i32.const 1000) "ab")
          (data (i32.const 70000) "\(String(repeating: "x", count: 70_000))")
          (data $p "q")
          (func $one (result i32) (i32.const 1))
          (func $two (result i32) (i32.const 2))
          (func (export "observe") (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
            (i64.extend_i32_u (i32.load8_u (i32.const 1000)))
            (i64.extend_i32_u (i32.load8_u (i32.const 139999)))
            (i64.extend_i32_u (i32.load8_u (i32.const 5)))
            (i64.extend_i32_u (i32.load8_u (i32.const 190000)))
            (i64.extend_i32_u (memory.size))
            (i64.extend_i32_u (global.get $g))
            (global.get $h)
            (i64.extend_i32_u (table.size $t))
            (i64.extend_i32_u (call_indirect (type $r) (i32.const 0)))
            (i64.extend_i32_u (ref.is_null (table.get $t (i32.const 2))))
            ;; the passive data segment is still there: copying one byte of it does not trap
            (memory.init $p (i32.const 300) (i32.const 0) (i32.const 1))
            (i64.extend_i32_u (i32.load8_u (i32.const 300)))
            ;; so is the passive element segment
            (table.init $t $e (i32.const 2) (i32.const 0) (i32.const 1))
            (i64.extend_i32_u (call_indirect (type $r) (i32.const 2))))
          (func $spoil (export "spoil")
            (i32.store8 (i32.const 1000) (i32.const 90))
            (i32.store8 (i32.const 139999) (i32.const 90))
            (i32.store8 (i32.const 5) (i32.const 90))
            (i32.store8 (i32.const 190000) (i32.const 90))
            (drop (memory.grow (i32.const 3)))
            (i32.store8 (i32.const 200000) (i32.const 90))
            (global.set $g (i32.const 100))
            (global.set $h (i64.const -1))
            (drop (table.grow $t (ref.func $two) (i32.const 4)))
            (table.set $t (i32.const 0) (ref.func $two))
            (table.set $t (i32.const 2) (ref.func $one))
            (data.drop $p)
            (elem.drop $e))
          (func (export "spoil_and_trap") (call $spoil) (unreachable))
          (func (export "spin") (loop $l (br $l))))
        """

    func make(limits: ResourceLimits = ResourceLimits()) throws -> (CompiledModule, ReusableInstance) {
        let module = try CompiledModule(bytes: Array(Self.source.utf8))
        let reusable = try XCTUnwrap(try ReusableInstance.make(module, limits: limits) { _ in [] })
        return (module, reusable)
    }

    /// What a freshly instantiated module observes.
    func fresh(_ module: CompiledModule) throws -> [Value] {
        try call(try module.instantiate(store: Store()), "observe")
    }

    func testResetInstanceObservesWhatAFreshOneObserves() throws {
        let (module, reusable) = try make()
        let expected = try fresh(module)
        XCTAssertEqual(expected.prefix(4), [.i64(97), .i64(120), .i64(0), .i64(0)])
        XCTAssertEqual(try call(reusable.instance, "observe"), expected, "before any use")
        let base = reusable.store.memories[0].pointee.base
        for round in 0..<4 {
            _ = try call(reusable.instance, "spoil")
            XCTAssertNotEqual(try? call(reusable.instance, "observe"), expected, "round \(round): spoiled")
            XCTAssertTrue(reusable.reset(), "round \(round)")
            XCTAssertEqual(try call(reusable.instance, "observe"), expected, "round \(round)")
            XCTAssertTrue(reusable.reset())
            XCTAssertEqual(reusable.store.memories[0].pointee.base, base, "the same memory, restored in place")
            // Grown pages are gone: out of bounds again.
            XCTAssertThrowsError(try reusable.instance.memory("memory")!.read(at: 200_000, count: 1))
        }
    }

    func testResetAfterATrapHalfway() throws {
        let (module, reusable) = try make()
        let expected = try fresh(module)
        XCTAssertEqual(trapMessage { try call(reusable.instance, "spoil_and_trap") }, "unreachable")
        XCTAssertTrue(reusable.reset())
        XCTAssertEqual(try call(reusable.instance, "observe"), expected)
    }

    func testResetClearsAnInterruptAndTheFuelSpent() throws {
        var limits = ResourceLimits()
        limits.fuel = 10_000
        let (_, reusable) = try make(limits: limits)
        XCTAssertEqual(trapMessage { try call(reusable.instance, "spin") }, Trap(.fuelExhausted).message)
        XCTAssertGreaterThan(reusable.store.instructionsExecuted, 0)
        XCTAssertTrue(reusable.reset())
        XCTAssertEqual(reusable.store.instructionsExecuted, 0)
        _ = try call(reusable.instance, "observe")  // fuel is per use: the next one has all of it
        reusable.store.interrupt()
        XCTAssertTrue(reusable.reset())
        XCTAssertNoThrow(try call(reusable.instance, "observe"), "an interrupt meant for the last use does not stop the next")
    }

    func testGCObjectsAndExceptionsDoNotSurviveAReset() throws {
        let source = """
            (module
              (type $box (struct (field (mut i32))))
              (tag $e (param i32))
              (global $kept (mut (ref null $box)) (ref.null $box))
              (global $caught (mut exnref) (ref.null exn))
              (func (export "use") (param i32) (result i32)
                (global.set $kept (struct.new $box (local.get 0)))
                (global.set $caught (block (result exnref) (try_table (catch_all_ref 0) (throw $e (i32.const 1))) (ref.null exn)))
                (struct.get $box 0 (global.get $kept)))
              (func (export "kept") (result anyref) (global.get $kept))
              (func (export "has") (result i32) (i32.and (ref.is_null (global.get $kept)) (ref.is_null (global.get $caught)))))
            """
        let module = try CompiledModule(bytes: Array(source.utf8))
        let reusable = try XCTUnwrap(try ReusableInstance.make(module) { _ in [] })
        XCTAssertEqual(try call(reusable.instance, "use", [.i32(5)]), [.i32(5)])
        let old = try call(reusable.instance, "kept")[0]
        let held = try reusable.store.hold(old)
        XCTAssertEqual(reusable.store.gcObjectCount, 1)
        XCTAssertEqual(reusable.store.liveExceptionCount, 1)
        XCTAssertTrue(reusable.reset())
        XCTAssertEqual(reusable.store.gcObjectCount, 0)
        XCTAssertEqual(reusable.store.liveExceptionCount, 0)
        XCTAssertEqual(reusable.store.gcHeapPeakBytes, 0)
        XCTAssertEqual(try call(reusable.instance, "has"), [.i32(1)], "globals hold null again")
        // A reference from before the reset is refused, as a foreign one is, even once a new object exists.
        XCTAssertEqual(try call(reusable.instance, "use", [.i32(6)]), [.i32(6)])
        XCTAssertThrowsError(try reusable.store.hold(old))
        held.release()  // a hold from before the reset lets go of nothing
    }

    func testModulesWhoseStateIsNotTheirsToResetDoNotQualify() throws {
        func qualifies(_ source: String, imports: @escaping (Store) -> [ExternalValue] = { _ in [] }) throws -> Bool {
            try ReusableInstance.make(try CompiledModule(bytes: Array(source.utf8)), imports: imports) != nil
        }
        XCTAssertTrue(try qualifies("(module (memory 1) (func (export \"f\")))"))
        XCTAssertTrue(try qualifies("(module)"))
        XCTAssertFalse(try qualifies("(module (func $s) (start $s))"), "a start function would have to run again")
        XCTAssertFalse(try qualifies("(module (memory 1) (memory 1))"))
        XCTAssertFalse(try qualifies("(module (import \"m\" \"g\" (global (mut i32))))") { store in
            [.global(try! store.defineGlobal(GlobalType(valueType: .i32, mutability: .variable), value: .i32(0)))]
        }, "an imported global is someone else's state")
        XCTAssertFalse(try qualifies("(module (import \"m\" \"mem\" (memory 1)))") { store in [.memory(store.defineMemory(MemoryType(limits: Limits(min: 1, max: nil)))!)] })
        XCTAssertFalse(try qualifies("""
            (module (type $b (struct)) (global (ref null $b) (struct.new $b)))
            """), "an object made at instantiation would be freed by the reset")
    }

    func testImportedFunctionsStayBoundAndWhatTheEmbedderAddsStopsResets() throws {
        let source = """
            (module (import "host" "next" (func $next (result i32))) (func (export "f") (result i32) (call $next)))
            """
        var calls = 0
        let module = try CompiledModule(bytes: Array(source.utf8))
        let reusable = try XCTUnwrap(try ReusableInstance.make(module) { store in
            [.function(store.defineFunction(type: FunctionType(parameters: [], results: [.i32])) { _, _ in
                calls += 1
                return [.i32(UInt32(calls))]
            })]
        })
        XCTAssertEqual(try call(reusable.instance, "f"), [.i32(1)])
        XCTAssertTrue(reusable.reset())
        XCTAssertEqual(try call(reusable.instance, "f"), [.i32(2)], "the host function is the same after a reset")
        _ = reusable.store.defineTable(TableType(elementType: .funcref, limits: Limits(min: 1, max: nil)))
        XCTAssertFalse(reusable.reset(), "a table the embedder added is not the reset's to remove")
    }
}
