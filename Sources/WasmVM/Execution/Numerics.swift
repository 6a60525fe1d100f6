/// WebAssembly's numeric semantics where they differ from Swift's operators: float min/max (NaN wins,
/// -0 < +0), float→int truncation ranges (trapping and saturating), and bit-exact abs/neg/copysign.
enum Numerics {
    @inline(__always) static func f32(_ slot: UInt64) -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: slot)) }
    @inline(__always) static func f64(_ slot: UInt64) -> Double { Double(bitPattern: slot) }
    @inline(__always) static func slot(_ value: Float) -> UInt64 { UInt64(value.bitPattern) }
    @inline(__always) static func slot(_ value: Double) -> UInt64 { value.bitPattern }

    @inline(__always) static func min(_ a: Float, _ b: Float) -> Float {
        if a.isNaN || b.isNaN { return a + b }
        if a == b { return Float(bitPattern: a.bitPattern | b.bitPattern) }  // min(-0, +0) = -0
        return a < b ? a : b
    }

    @inline(__always) static func max(_ a: Float, _ b: Float) -> Float {
        if a.isNaN || b.isNaN { return a + b }
        if a == b { return Float(bitPattern: a.bitPattern & b.bitPattern) }  // max(-0, +0) = +0
        return a > b ? a : b
    }

    @inline(__always) static func min(_ a: Double, _ b: Double) -> Double {
        if a.isNaN || b.isNaN { return a + b }
        if a == b { return Double(bitPattern: a.bitPattern | b.bitPattern) }
        return a < b ? a : b
    }

    @inline(__always) static func max(_ a: Double, _ b: Double) -> Double {
        if a.isNaN || b.isNaN { return a + b }
        if a == b { return Double(bitPattern: a.bitPattern & b.bitPattern) }
        return a > b ? a : b
    }

    // Trapping truncation: NaN is an invalid conversion, anything outside the target range an overflow.

    static func truncToI32<F: BinaryFloatingPoint>(_ v: F, lower: F, upper: F) throws(Trap) -> Int32 {
        if v.isNaN { throw Trap(.invalidConversionToInteger) }
        guard v > lower, v < upper else { throw Trap(.integerOverflow) }
        return Int32(v)
    }

    static func truncToU32<F: BinaryFloatingPoint>(_ v: F) throws(Trap) -> UInt32 {
        if v.isNaN { throw Trap(.invalidConversionToInteger) }
        guard v > -1, v < 4294967296.0 else { throw Trap(.integerOverflow) }
        return UInt32(v)
    }

    static func truncToI64<F: BinaryFloatingPoint>(_ v: F) throws(Trap) -> Int64 {
        if v.isNaN { throw Trap(.invalidConversionToInteger) }
        guard v >= -9223372036854775808.0, v < 9223372036854775808.0 else { throw Trap(.integerOverflow) }
        return Int64(v)
    }

    static func truncToU64<F: BinaryFloatingPoint>(_ v: F) throws(Trap) -> UInt64 {
        if v.isNaN { throw Trap(.invalidConversionToInteger) }
        guard v > -1, v < 18446744073709551616.0 else { throw Trap(.integerOverflow) }
        return UInt64(v)
    }

    // Saturating truncation: NaN is 0, out-of-range values clamp.

    /// The saturating truncation `kind` (its offset from `i32.trunc_sat_f32_s`: i32 from f32 s/u, i32 from f64
    /// s/u, i64 from f32 s/u, i64 from f64 s/u) of the value in `slot`, as a slot.
    static func truncateSaturating(_ kind: UInt8, _ slot: UInt64) -> UInt64 {
        switch kind {
        case 0: return UInt64(UInt32(bitPattern: saturateI32(f32(slot))))
        case 1: return UInt64(saturateU32(f32(slot)))
        case 2: return UInt64(UInt32(bitPattern: saturateI32(f64(slot))))
        case 3: return UInt64(saturateU32(f64(slot)))
        case 4: return UInt64(bitPattern: saturateI64(f32(slot)))
        case 5: return saturateU64(f32(slot))
        case 6: return UInt64(bitPattern: saturateI64(f64(slot)))
        default: return saturateU64(f64(slot))
        }
    }

    static func saturateI32<F: BinaryFloatingPoint>(_ v: F) -> Int32 {
        if v.isNaN { return 0 }
        if v <= -2147483648.0 { return .min }
        if v >= 2147483648.0 { return .max }
        return Int32(v)
    }

    static func saturateU32<F: BinaryFloatingPoint>(_ v: F) -> UInt32 {
        if v.isNaN || v <= -1 { return 0 }
        if v >= 4294967296.0 { return .max }
        return UInt32(v)
    }

    static func saturateI64<F: BinaryFloatingPoint>(_ v: F) -> Int64 {
        if v.isNaN { return 0 }
        if v <= -9223372036854775808.0 { return .min }
        if v >= 9223372036854775808.0 { return .max }
        return Int64(v)
    }

    static func saturateU64<F: BinaryFloatingPoint>(_ v: F) -> UInt64 {
        if v.isNaN || v <= -1 { return 0 }
        if v >= 18446744073709551616.0 { return .max }
        return UInt64(v)
    }
}
