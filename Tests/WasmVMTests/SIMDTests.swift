import WasmParser
import WasmTestSupport
import XCTest
@testable import WasmVM

/// v128 values wherever a value can go: parameters and results (of guest and host functions), locals,
/// globals, block parameters and results, branches, `select`. The instructions' lane semantics are the spec
/// suite's job (all simd_* scripts run in `SpecSuiteTests`); these tests check the plumbing around them,
/// where a v128 takes two frame slots.
final class SIMDTests: XCTestCase {
    let v1 = V128(i32x4: [1, 2, 3, 4])
    let v2 = V128(i32x4: [10, 20, 30, 40])

    func testLaneViewsRoundTrip() {
        XCTAssertEqual(V128(i32x4: [1, 2, 3, 4]), V128(low: 0x0000_0002_0000_0001, high: 0x0000_0004_0000_0003))
        XCTAssertEqual(V128(f32x4: [1.5, -2, 0, .infinity]).f32x4, [1.5, -2, 0, .infinity])
        XCTAssertEqual(V128(i8x16: SIMD16(0..<16)).byte(15), 15)
        XCTAssertEqual(V128(f64x2: [0.25, -8]).f64x2[1], -8)
        let nan = Float(bitPattern: 0x7FA0_0001)
        XCTAssertEqual(V128(f32x4: [nan, 0, 0, 0]).i32x4[0], 0x7FA0_0001, "NaN payloads survive the lane view")
        XCTAssertEqual(V128(i16x8: [1, 2, 3, 4, 5, 6, 7, 0xFFFF]).i16x8[7], 0xFFFF)
        XCTAssertEqual(V128(i64x2: [7, 9]).i64x2, [7, 9])
    }

    func testMixedWidthParametersAndResultsAcrossCalls() throws {
        var m = TestModule()
        // (v128, i32, v128) -> (v128, i32, v128), reversed: slots of wide and narrow values interleave.
        m.function([.v128, .i32, .v128], [.v128, .i32, .v128], export: "reverse", [get(2), get(1), get(0)])
        // b - a, through the call, a v128 local and a dropped i32 between two vectors.
        m.function([.v128, .v128], [.v128], locals: [.v128], export: "diff", [
            get(0), i32(7), get(1), call(0),      // [b, 7, a]
            set(2), op(.drop),                    // $t = a
            get(2), op(.i32x4Sub),
        ])
        let instance = try instantiate(m)
        XCTAssertEqual(try instance.function("reverse")!.invoke([.v128(v1), .i32(5), .v128(v2)]),
                       [.v128(v2), .i32(5), .v128(v1)])
        XCTAssertEqual(try instance.function("diff")!.invoke([.v128(v1), .v128(v2)]),
                       [.v128(V128(i32x4: [9, 18, 27, 36]))])
    }

    func testCallIndirectThroughATableOfV128Functions() throws {
        var m = TestModule()
        let binary = FunctionType(parameters: [.v128, .v128], results: [.v128])
        m.function([.v128, .v128], [.v128], [get(0), get(1), op(.i32x4Add)])
        m.function([.v128, .v128], [.v128], [get(0), get(1), op(.i32x4Mul)])
        m.table = TableType(elementType: .funcref, limits: Limits(min: 2))
        m.elements = [(offset: 0, functions: [0, 1])]
        let typeIndex = m.typeIndex(binary)
        m.function([.v128, .v128, .i32], [.v128], export: "apply", [
            get(0), get(1), get(2), Instruction(.callIndirect, .indexPair(typeIndex, 0)),
        ])
        let apply = try XCTUnwrap(try instantiate(m).function("apply"))
        XCTAssertEqual(try apply.invoke([.v128(v1), .v128(v2), .i32(0)]), [.v128(V128(i32x4: [11, 22, 33, 44]))])
        XCTAssertEqual(try apply.invoke([.v128(v1), .v128(v2), .i32(1)]), [.v128(V128(i32x4: [10, 40, 90, 160]))])
    }

    func testHostFunctionsTakeAndReturnV128() throws {
        let store = Store()
        let double = store.defineFunction(type: FunctionType(parameters: [.i32, .v128], results: [.v128, .i32])) {
            (_: Caller, args: [Value]) throws(Trap) -> [Value] in
            guard case .v128(let v) = args[1], case .i32(let k) = args[0] else { throw Trap(.host("bad arguments")) }
            return [.v128(V128(i32x4: v.i32x4 &* k)), .i32(k + 1)]
        }
        var imports = Imports()
        imports.define(module: "env", name: "scale", .function(double))
        var m = TestModule()
        m.importFunction("env", "scale", [.i32, .v128], [.v128, .i32])
        m.function([.v128], [.v128], export: "f", [i32(3), get(0), call(0), op(.drop)])
        let instance = try instantiate(m, store: store, imports: imports)
        XCTAssertEqual(try instance.function("f")!.invoke([.v128(v1)]), [.v128(V128(i32x4: [3, 6, 9, 12]))])
    }

    func testGlobalsHoldAllSixteenBytes() throws {
        var m = TestModule()
        m.globals = [(GlobalType(valueType: .v128, mutability: .variable), Instruction(.v128Const, .v128(v1)))]
        m.exports = [("g", .global, 0)]
        m.function([.v128], [.v128], export: "swap", [
            Instruction(.globalGet, .index(0)), get(0), Instruction(.globalSet, .index(0)),
        ])
        let instance = try instantiate(m)
        let global = try XCTUnwrap(instance.global("g"))
        XCTAssertEqual(global.value, .v128(v1), "initialized from v128.const")
        XCTAssertEqual(try instance.function("swap")!.invoke([.v128(v2)]), [.v128(v1)])
        XCTAssertEqual(global.value, .v128(v2))
        try global.set(.v128(V128(low: .max, high: 1)))
        XCTAssertEqual(try instance.function("swap")!.invoke([.v128(v1)]), [.v128(V128(low: .max, high: 1))])
    }

    func testSelectBlocksAndBranchesCarryV128() throws {
        var m = TestModule()
        let vectorToVector = m.typeIndex(FunctionType(parameters: [.v128], results: [.v128]))
        // if (v128) -> v128 with a condition; br_if carries a v128 out of a block; select picks a v128.
        m.function([.v128, .v128, .i32], [.v128], export: "f", [
            get(0),
            get(2), block(.if, .typeIndex(vectorToVector)),
                get(1), op(.i32x4Add),
            op(.else),
                get(1), op(.i32x4Sub),
            end,
            block(.block, .value(.v128)),
                get(1), get(2), op(.brIf, .index(0)),
                op(.drop), get(0),
            end,
            op(.i32x4Mul),
        ])
        m.function([.v128, .v128, .i32], [.v128], export: "select", [get(0), get(1), get(2), op(.select)])
        let instance = try instantiate(m)
        let f = try XCTUnwrap(instance.function("f"))
        XCTAssertEqual(try f.invoke([.v128(v1), .v128(v2), .i32(1)]), [.v128(V128(i32x4: [110, 440, 990, 1760]))])
        XCTAssertEqual(try f.invoke([.v128(v1), .v128(v2), .i32(0)]), [.v128(V128(i32x4: [-9, -36, -81, -144].map { UInt32(bitPattern: $0) }.simd))])
        let select = try XCTUnwrap(instance.function("select"))
        XCTAssertEqual(try select.invoke([.v128(v1), .v128(v2), .i32(1)]), [.v128(v1)])
        XCTAssertEqual(try select.invoke([.v128(v1), .v128(v2), .i32(0)]), [.v128(v2)])
    }

    func testLocalTeeAndRetargetedResultsKeepBothHalves() throws {
        // $t = a + b (retargeted into the local), then tee it and add again: 2(a + b) + ... checks both halves.
        let f = try single([.v128, .v128], [.v128], locals: [.v128], [
            get(0), get(1), op(.i64x2Add), set(2),
            get(2), tee(2), get(2), op(.i64x2Add),
        ])
        let a = V128(i64x2: [1, 1 << 40]), b = V128(i64x2: [2, 3 << 40])
        XCTAssertEqual(try f.invoke([.v128(a), .v128(b)]), [.v128(V128(i64x2: [6, 8 << 40]))])
    }

    func testMemoryAccessBoundsAndLanes() throws {
        let f = try single([.i32], [.v128], memory: Limits(min: 1), [
            get(0), Instruction(.v128Const, .v128(V128(i8x16: SIMD16(0..<16)))),
            Instruction(.v128Store, .memArg(MemArg(align: 0, offset: 0))),
            get(0), Instruction(.v128Load, .memArg(MemArg(align: 0, offset: 0))),
            get(0), op(.i32Const, .i32(0)), op(.i32Add),
            Instruction(.v128Load32Zero, .memArg(MemArg(align: 0, offset: 4))),
            op(.i64x2Add),
        ])
        let expected = V128(i8x16: SIMD16(0..<16)).i64x2 &+ V128(i32x4: [0x0706_0504, 0, 0, 0]).i64x2
        XCTAssertEqual(try f.invoke([.i32(100)]), [.v128(V128(i64x2: expected))])
        XCTAssertEqual(trapMessage { try f.invoke([.i32(65536 - 15)]) }, "out of bounds memory access")
        XCTAssertEqual(try f.invoke([.i32(65536 - 16)]).count, 1, "the last 16 bytes are in bounds")
    }
}

private extension Array where Element == UInt32 {
    var simd: SIMD4<UInt32> { SIMD4(self) }
}
