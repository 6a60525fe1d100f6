import WasmParser
import WasmTestSupport
import XCTest
@testable import WasmVM

/// Numeric instructions at their edges: the spec's traps, NaN and signed-zero rules, rounding.
final class NumericTests: XCTestCase {
    func binary(_ type: ValueType, _ opcode: Opcode, result: ValueType? = nil) throws -> Function {
        try single([type, type], [result ?? type], [get(0), get(1), op(opcode)])
    }

    func unary(_ type: ValueType, _ opcode: Opcode, result: ValueType) throws -> Function {
        try single([type], [result], [get(0), op(opcode)])
    }

    func testIntegerDivisionTraps() throws {
        let div = try binary(.i32, .i32DivS)
        XCTAssertEqual(trapMessage { try div.invoke([.int32(.min), .int32(-1)]) }, "integer overflow")
        XCTAssertEqual(trapMessage { try div.invoke([.int32(7), .int32(0)]) }, "integer divide by zero")
        XCTAssertEqual(try div.invoke([.int32(-7), .int32(2)]), [.int32(-3)], "truncates toward zero")
        let rem = try binary(.i32, .i32RemS)
        XCTAssertEqual(try rem.invoke([.int32(.min), .int32(-1)]), [.int32(0)], "rem_s of INT_MIN by -1 is 0, no trap")
        XCTAssertEqual(try rem.invoke([.int32(-7), .int32(2)]), [.int32(-1)])
        let div64 = try binary(.i64, .i64DivS)
        XCTAssertEqual(trapMessage { try div64.invoke([.int64(.min), .int64(-1)]) }, "integer overflow")
        let divu = try binary(.i64, .i64DivU)
        XCTAssertEqual(try divu.invoke([.i64(UInt64.max), .i64(2)]), [.i64(UInt64.max / 2)])
    }

    func testShiftsAndRotatesMaskTheirCount() throws {
        XCTAssertEqual(try binary(.i32, .i32Shl).invoke([.i32(1), .i32(33)]), [.i32(2)])
        XCTAssertEqual(try binary(.i32, .i32ShrS).invoke([.int32(-8), .i32(1)]), [.int32(-4)])
        XCTAssertEqual(try binary(.i32, .i32Rotl).invoke([.i32(0x8000_0001), .i32(1)]), [.i32(3)])
        XCTAssertEqual(try binary(.i32, .i32Rotr).invoke([.i32(1), .i32(0)]), [.i32(1)])
        XCTAssertEqual(try binary(.i64, .i64Rotr).invoke([.i64(1), .i64(65)]), [.i64(1 << 63)])
    }

    func testNearestRoundsTiesToEvenAndKeepsSign() throws {
        let nearest = try unary(.f32, .f32Nearest, result: .f32)
        XCTAssertEqual(try nearest.invoke([.float(2.5)]), [.float(2)])
        XCTAssertEqual(try nearest.invoke([.float(3.5)]), [.float(4)])
        XCTAssertEqual(try nearest.invoke([.float(-0.5)]), [.f32(0x8000_0000)], "-0.5 rounds to -0")
        let nearest64 = try unary(.f64, .f64Nearest, result: .f64)
        XCTAssertEqual(try nearest64.invoke([.double(-2.5)]), [.double(-2)])
    }

    func testMinMaxSignedZeroAndNaN() throws {
        let min = try binary(.f32, .f32Min)
        XCTAssertEqual(try min.invoke([.float(0), .f32(0x8000_0000)]), [.f32(0x8000_0000)], "min(+0, -0) = -0")
        let max = try binary(.f64, .f64Max)
        XCTAssertEqual(try max.invoke([.f64(0x8000_0000_0000_0000), .double(0)]), [.double(0)], "max(-0, +0) = +0")
        guard case .f64(let bits) = try max.invoke([.double(.nan), .double(1)])[0] else { return XCTFail() }
        XCTAssertTrue(Double(bitPattern: bits).isNaN, "NaN wins over a number")
    }

    func testSignOperationsPreserveNaNPayloads() throws {
        let neg = try unary(.f32, .f32Neg, result: .f32)
        XCTAssertEqual(try neg.invoke([.f32(0x7FA0_0001)]), [.f32(0xFFA0_0001)], "neg flips only the sign bit, even of a signalling NaN")
        let abs = try unary(.f64, .f64Abs, result: .f64)
        XCTAssertEqual(try abs.invoke([.f64(0xFFF0_0000_0000_0001)]), [.f64(0x7FF0_0000_0000_0001)])
        let copysign = try binary(.f32, .f32Copysign)
        XCTAssertEqual(try copysign.invoke([.float(2), .float(-0.0)]), [.float(-2)])
    }

    func testTruncationBoundaries() throws {
        let trunc = try unary(.f64, .i64TruncF64S, result: .i64)
        XCTAssertEqual(try trunc.invoke([.double(-9223372036854775808.0)]), [.int64(.min)])
        XCTAssertEqual(trapMessage { try trunc.invoke([.double(9223372036854775808.0)]) }, "integer overflow")
        XCTAssertEqual(trapMessage { try trunc.invoke([.double(.nan)]) }, "invalid conversion to integer")
        XCTAssertEqual(try trunc.invoke([.double(-1.9)]), [.int64(-1)])
        let truncU = try unary(.f32, .i32TruncF32U, result: .i32)
        XCTAssertEqual(try truncU.invoke([.float(-0.9)]), [.i32(0)], "values in (-1, 0) truncate to 0")
        XCTAssertEqual(trapMessage { try truncU.invoke([.float(-1)]) }, "integer overflow")
        let truncI32 = try unary(.f64, .i32TruncF64S, result: .i32)
        XCTAssertEqual(try truncI32.invoke([.double(-2147483648.9)]), [.int32(.min)])
        XCTAssertEqual(trapMessage { try truncI32.invoke([.double(2147483648.0)]) }, "integer overflow")
    }

    func testSaturatingTruncationClamps() throws {
        let sat = try unary(.f64, .i32TruncSatF64S, result: .i32)
        XCTAssertEqual(try sat.invoke([.double(1e20)]), [.int32(.max)])
        XCTAssertEqual(try sat.invoke([.double(-1e20)]), [.int32(.min)])
        XCTAssertEqual(try sat.invoke([.double(.nan)]), [.i32(0)])
        let satU = try unary(.f32, .i64TruncSatF32U, result: .i64)
        XCTAssertEqual(try satU.invoke([.float(-5)]), [.i64(0)])
        XCTAssertEqual(try satU.invoke([.float(.infinity)]), [.i64(.max)])
    }

    func testConversionsRoundCorrectly() throws {
        let convert = try unary(.i64, .f32ConvertI64U, result: .f32)
        XCTAssertEqual(try convert.invoke([.i64(UInt64.max)]), [.float(18446744073709551616.0)])
        let extend = try unary(.i32, .i64ExtendI32S, result: .i64)
        XCTAssertEqual(try extend.invoke([.int32(-1)]), [.int64(-1)])
        let wrap = try unary(.i64, .i32WrapI64, result: .i32)
        XCTAssertEqual(try wrap.invoke([.i64(0x1_2345_6789)]), [.i32(0x2345_6789)])
        let sext = try unary(.i32, .i32Extend8S, result: .i32)
        XCTAssertEqual(try sext.invoke([.i32(0x80)]), [.int32(-128)])
    }

    func testSubtractingAConstantStaysExact() throws {
        // x - c is translated as x + (-c); the wrap-around must be the same.
        let f = try single([.i32], [.i32], [get(0), i32(.min), op(.i32Sub)])
        XCTAssertEqual(try f.invoke([.i32(5)]), [.i32(5 &+ 0x8000_0000)])
        let g = try single([.i64], [.i64], [get(0), i64(3), op(.i64Sub)])
        XCTAssertEqual(try g.invoke([.i64(1)]), [.int64(-2)])
    }
}
