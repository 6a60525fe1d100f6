import WasmParser
import XCTest
@testable import WasmVM

/// Typed function references: `call_ref`, `ref.as_non_null`, `br_on_null`, `br_on_non_null`, non-nullable
/// locals, tables with an initializer, and extended constant expressions.
final class FunctionReferenceTests: XCTestCase {
    func instance(_ text: String) throws -> Instance {
        try CompiledModule(bytes: Array(text.utf8)).instantiate(store: Store())
    }

    let module = """
        (module
          (type $unary (func (param i32) (result i32)))
          (func $inc (type $unary) (i32.add (local.get 0) (i32.const 1)))
          (func $dbl (type $unary) (i32.mul (local.get 0) (i32.const 2)))
          (elem declare func $inc $dbl)
          (global $g (mut (ref null $unary)) (ref.null $unary))
          ;; a table of non-nullable references, filled by its initializer
          (table $t 4 (ref $unary) (ref.func $dbl))
          (func (export "call") (param i32 i32) (result i32)
            (call_ref $unary (local.get 1)
              (select (result (ref $unary)) (ref.func $inc) (ref.func $dbl) (local.get 0))))
          (func (export "call_null") (result i32)
            (call_ref $unary (i32.const 1) (global.get $g)))
          (func (export "as_non_null") (result i32)
            (drop (ref.as_non_null (global.get $g))) (i32.const 0))
          (func (export "on_null") (param i32) (result i32)
            (local $f (ref null $unary))
            (if (local.get 0) (then (local.set $f (ref.func $inc))))
            (block $null
              (return (call_ref $unary (i32.const 10) (br_on_null $null (local.get $f)))))
            (i32.const -1))
          (func (export "on_non_null") (param i32) (result i32)
            (local $f (ref null $unary))
            (if (local.get 0) (then (local.set $f (ref.func $dbl))))
            (local.set $f
              (block $some (result (ref $unary))
                (br_on_non_null $some (local.get $f))
                (return (i32.const -1))))
            (call_ref $unary (i32.const 10) (local.get $f)))
          (func (export "table") (param i32) (result i32)
            (call_indirect $t (type $unary) (i32.const 21) (local.get 0)))
          (func (export "non_nullable_local") (result i32)
            (local $f (ref $unary))
            (local.set $f (ref.func $inc))
            (call_ref $unary (i32.const 41) (local.get $f))))
        """

    func testCallRefCallsWhatTheReferenceNames() throws {
        let m = try instance(module)
        XCTAssertEqual(try m.function("call")!.invoke([.i32(1), .i32(5)]), [.i32(6)])
        XCTAssertEqual(try m.function("call")!.invoke([.i32(0), .i32(5)]), [.i32(10)])
        XCTAssertEqual(try m.function("non_nullable_local")!.invoke([]), [.i32(42)])
    }

    func testNullReferencesTrap() throws {
        let m = try instance(module)
        XCTAssertEqual(trapMessage { try m.function("call_null")!.invoke([]) }, "null function reference")
        XCTAssertEqual(trapMessage { try m.function("as_non_null")!.invoke([]) }, "null reference")
    }

    func testBranchOnNullAndOnNonNull() throws {
        let m = try instance(module)
        XCTAssertEqual(try m.function("on_null")!.invoke([.i32(1)]), [.i32(11)])
        XCTAssertEqual(try m.function("on_null")!.invoke([.i32(0)]), [.int32(-1)])
        XCTAssertEqual(try m.function("on_non_null")!.invoke([.i32(1)]), [.i32(20)])
        XCTAssertEqual(try m.function("on_non_null")!.invoke([.i32(0)]), [.int32(-1)])
    }

    func testATableInitializerFillsEveryElement() throws {
        let m = try instance(module)
        for i: UInt32 in 0..<4 { XCTAssertEqual(try m.function("table")!.invoke([.i32(i)]), [.i32(42)]) }
        XCTAssertEqual(trapMessage { try m.function("table")!.invoke([.i32(4)]) }, "undefined element")
    }

    func testNonNullableLocalsMustBeSetBeforeUse() {
        let invalid = "(module (type $t (func)) (func (local $f (ref $t)) (drop (local.get $f))))"
        XCTAssertThrowsError(try instance(invalid)) { error in
            XCTAssertTrue("\(error)".contains("uninitialized local"), "\(error)")
        }
    }

    func testExtendedConstantExpressions() throws {
        let m = try instance("""
            (module
              (global $a i32 (i32.const 6))
              (global $b i32 (i32.mul (global.get $a) (i32.add (i32.const 3) (i32.const 4))))
              (global $c i64 (i64.sub (i64.const 0) (i64.mul (i64.const 3) (i64.const 5))))
              (memory 1)
              (data (offset (i32.sub (global.get $b) (i32.const 2))) "*")
              (func (export "values") (result i32 i64 i32)
                (global.get $b) (global.get $c) (i32.load8_u (i32.const 40))))
            """)
        XCTAssertEqual(try m.function("values")!.invoke([]), [.i32(42), .int64(-15), .i32(42)])
    }
}
