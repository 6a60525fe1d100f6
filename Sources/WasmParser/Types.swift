/// A WebAssembly value type (numeric, vector or reference), encoded as its binary byte.
public enum ValueType: UInt8, Sendable, Hashable, CustomStringConvertible {
    case i32 = 0x7F
    case i64 = 0x7E
    case f32 = 0x7D
    case f64 = 0x7C
    case v128 = 0x7B
    case funcref = 0x70
    case externref = 0x6F

    public var isReference: Bool { self == .funcref || self == .externref }
    public var isNumeric: Bool { !isReference && self != .v128 }

    public var description: String {
        switch self {
        case .i32: return "i32"
        case .i64: return "i64"
        case .f32: return "f32"
        case .f64: return "f64"
        case .v128: return "v128"
        case .funcref: return "funcref"
        case .externref: return "externref"
        }
    }
}

public struct FunctionType: Hashable, Sendable, CustomStringConvertible {
    public var parameters: [ValueType]
    public var results: [ValueType]

    public init(parameters: [ValueType], results: [ValueType]) {
        self.parameters = parameters
        self.results = results
    }

    public var description: String {
        "[\(parameters.map(\.description).joined(separator: " "))] -> [\(results.map(\.description).joined(separator: " "))]"
    }
}

public struct Limits: Hashable, Sendable {
    public var min: UInt64
    public var max: UInt64?

    public init(min: UInt64, max: UInt64? = nil) {
        self.min = min
        self.max = max
    }
}

public struct TableType: Hashable, Sendable {
    public var elementType: ValueType
    public var limits: Limits

    public init(elementType: ValueType, limits: Limits) {
        self.elementType = elementType
        self.limits = limits
    }
}

public struct MemoryType: Hashable, Sendable {
    /// In 64 KiB pages.
    public var limits: Limits

    public init(limits: Limits) { self.limits = limits }

    public static let maxPages: UInt64 = 65536
    public static let pageSize = 65536
}

public enum Mutability: UInt8, Sendable {
    case constant = 0
    case variable = 1
}

public struct GlobalType: Hashable, Sendable {
    public var valueType: ValueType
    public var mutability: Mutability

    public init(valueType: ValueType, mutability: Mutability) {
        self.valueType = valueType
        self.mutability = mutability
    }
}

/// A 128-bit vector value, as its little-endian bytes split in two halves.
public struct V128: Hashable, Sendable {
    public var low: UInt64
    public var high: UInt64

    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    /// Byte `index` (0...15) in memory order.
    public func byte(_ index: Int) -> UInt8 {
        index < 8 ? UInt8(truncatingIfNeeded: low >> (8 * UInt64(index)))
                  : UInt8(truncatingIfNeeded: high >> (8 * UInt64(index - 8)))
    }
}

/// Lane views: a v128 read as 16, 8, 4 or 2 lanes (lane 0 is the lowest-addressed in memory), as Swift's
/// SIMD vectors, e.g. `V128(f32x4: [1, 2, 3, 4])` or `value.i32x4[3]`.
extension V128 {
    public init(i8x16: SIMD16<UInt8>) { self.init(lanes: i8x16) }
    public init(i16x8: SIMD8<UInt16>) { self.init(lanes: i16x8) }
    public init(i32x4: SIMD4<UInt32>) { self.init(lanes: i32x4) }
    public init(i64x2: SIMD2<UInt64>) { self.init(low: i64x2[0], high: i64x2[1]) }
    public init(f32x4: SIMD4<Float>) { self.init(lanes: f32x4) }
    public init(f64x2: SIMD2<Double>) { self.init(lanes: f64x2) }

    public var i8x16: SIMD16<UInt8> { lanes() }
    public var i16x8: SIMD8<UInt16> { lanes() }
    public var i32x4: SIMD4<UInt32> { lanes() }
    public var i64x2: SIMD2<UInt64> { SIMD2(low, high) }
    /// Float lanes; NaN payloads are kept bit for bit.
    public var f32x4: SIMD4<Float> { lanes() }
    public var f64x2: SIMD2<Double> { lanes() }

    // All the lane types above are 16 bytes with no padding, so the reinterpretation is exact.
    private init<T: SIMD>(lanes: T) {
        let words = unsafeBitCast(lanes, to: SIMD2<UInt64>.self)
        self.init(low: words[0], high: words[1])
    }

    private func lanes<T: SIMD>() -> T { unsafeBitCast(SIMD2<UInt64>(low, high), to: T.self) }
}
