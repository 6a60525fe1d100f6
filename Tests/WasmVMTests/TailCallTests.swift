import WasmParser
import XCTest
@testable import WasmVM

/// Tail calls (`return_call`, `return_call_indirect`, `return_call_ref`): the callee replaces the caller's
/// frame, so a tail-recursive loop runs in constant value-stack and call-stack space, whatever the frame
/// sizes of the functions involved.
final class TailCallTests: XCTestCase {
    func instance(_ text: String, limits: ResourceLimits = ResourceLimits(), imports: (Store) -> Imports = { _ in Imports() }) throws -> Instance {
        let store = Store(limits: limits)
        return try CompiledModule(bytes: Array(text.utf8)).instantiate(store: store, imports: imports(store))
    }

    /// A call depth of 16 and 4,096 value slots: any frame left behind by a tail call would exhaust them
    /// within a few thousand iterations; ten million run through.
    func testTailRecursionRunsInConstantSpace() throws {
        var limits = ResourceLimits()
        limits.maxCallDepth = 16
        limits.stackSlots = 4096
        let m = try instance("""
            (module
              (func $count (export "count") (param $n i64) (param $sum i64) (result i64)
                (if (result i64) (i64.eqz (local.get $n))
                  (then (local.get $sum))
                  (else (return_call $count (i64.sub (local.get $n) (i64.const 1))
                                            (i64.add (local.get $sum) (local.get $n)))))))
            """, limits: limits)
        let n: UInt64 = 10_000_000
        XCTAssertEqual(try m.function("count")!.invoke([.i64(n), .i64(0)]), [.i64(n * (n + 1) / 2)])
        // The same recursion with a plain call exhausts the 16 frames at once.
        let plain = try instance("""
            (module
              (func $count (export "count") (param $n i64) (result i64)
                (if (result i64) (i64.eqz (local.get $n)) (then (i64.const 0))
                  (else (call $count (i64.sub (local.get $n) (i64.const 1)))))))
            """, limits: limits)
        XCTAssertEqual(trapMessage { try plain.function("count")!.invoke([.i64(100)]) }, "call stack exhausted")
    }

    /// Mutual tail recursion between functions whose frames differ: few slots and many, scalars and v128,
    /// more parameters than results and fewer. Every value must arrive intact.
    func testTailCallsBetweenFunctionsOfDifferentFrameSizes() throws {
        var limits = ResourceLimits()
        limits.maxCallDepth = 8
        limits.stackSlots = 2048
        let m = try instance("""
            (module
              (func $small (export "run") (param $n i32) (param $acc i64) (result i64)
                (if (result i64) (i32.eqz (local.get $n)) (then (local.get $acc))
                  (else (return_call $big (local.get $n) (local.get $acc) (f64.const 1.5) (i32.const 7)
                                          (v128.const i32x4 1 2 3 4) (f32.const 0.5)))))
              (func $big (param $n i32) (param $acc i64) (param $x f64) (param $k i32) (param $v v128) (param $y f32) (result i64)
                (local $a i64) (local $b i64) (local $c v128) (local $d f64) (local $e i32) (local $f i64)
                (local.set $c (i32x4.add (local.get $v) (local.get $v)))
                (local.set $a (i64.extend_i32_u (i32x4.extract_lane 3 (local.get $c))))   ;; 8
                (local.set $d (f64.add (local.get $x) (f64.promote_f32 (local.get $y))))  ;; 2.0
                (return_call $mid (i32.sub (local.get $n) (i32.const 1))
                  (i64.add (local.get $acc)
                    (i64.add (local.get $a) (i64.add (i64.extend_i32_u (local.get $k)) (i64.trunc_f64_s (local.get $d)))))))
              (func $mid (param $n i32) (param $acc i64) (result i64)
                (local $pad v128)
                (return_call $small (local.get $n) (local.get $acc))))
            """, limits: limits)
        // Each round adds 8 + 7 + 2 = 17.
        XCTAssertEqual(try m.function("run")!.invoke([.i32(100_000), .i64(0)]), [.i64(1_700_000)])
    }

    func testReturnCallIndirectAndReturnCallRef() throws {
        var limits = ResourceLimits()
        limits.maxCallDepth = 8
        let m = try instance("""
            (module
              (type $step (func (param i32 i32) (result i32)))
              (table $t 2 funcref)
              (elem (table $t) (i32.const 0) func $even $odd)
              (elem declare func $even)
              (func $even (type $step)
                (if (result i32) (i32.eqz (local.get 0)) (then (local.get 1))
                  (else (return_call_indirect $t (type $step) (i32.sub (local.get 0) (i32.const 1))
                                                 (i32.add (local.get 1) (i32.const 2)) (i32.const 1)))))
              (func $odd (type $step)
                (return_call_ref $step (i32.sub (local.get 0) (i32.const 1)) (local.get 1) (ref.func $even)))
              (func (export "go") (param i32) (result i32) (return_call $even (local.get 0) (i32.const 0)))
              (func (export "bad") (result i32)
                (return_call_indirect $t (type 0) (i32.const 1) (i32.const 0) (i32.const 5)))
              (func (export "null") (result i32)
                (return_call_ref $step (i32.const 1) (i32.const 0) (ref.null $step))))
            """, limits: limits)
        XCTAssertEqual(try m.function("go")!.invoke([.i32(200_000)]), [.i32(200_000)])
        XCTAssertEqual(trapMessage { try m.function("bad")!.invoke([]) }, "undefined element")
        XCTAssertEqual(trapMessage { try m.function("null")!.invoke([]) }, "null function reference")
    }

    func testATailCallToAHostFunctionReturnsItsResults() throws {
        let m = try instance("""
            (module
              (import "host" "double" (func $double (param i64) (result i64)))
              (func (export "f") (param i64) (result i64) (return_call $double (i64.add (local.get 0) (i64.const 1)))))
            """, imports: { store in
                var imports = Imports()
                let double = store.defineFunction(type: FunctionType(parameters: [.i64], results: [.i64])) { (_: Caller, args: [Value]) throws(Trap) -> [Value] in
                    guard case .i64(let x) = args[0] else { return [] }
                    return [.i64(x * 2)]
                }
                imports.define(module: "host", name: "double", .function(double))
                return imports
            })
        XCTAssertEqual(try m.function("f")!.invoke([.i64(20)]), [.i64(42)])
    }
}
