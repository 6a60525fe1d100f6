/// The abstract heap types of WebAssembly 3.0, with their binary codes (the one-byte shorthand of the
/// nullable reference type, e.g. 0x70 `funcref` = `(ref null func)`). Three hierarchies: `any` (with `eq`,
/// `i31`, `struct`, `array` and the bottom `none`), `func` (bottom `nofunc`), `extern` (bottom `noextern`),
/// and `exn` (bottom `noexn`).
public enum AbstractHeapType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case noExn = 0x74
    case noFunc = 0x73
    case noExtern = 0x72
    case none = 0x71
    case `func` = 0x70
    case extern = 0x6F
    case any = 0x6E
    case eq = 0x6D
    case i31 = 0x6C
    case `struct` = 0x6B
    case array = 0x6A
    case exn = 0x69

    public var description: String {
        switch self {
        case .noExn: return "noexn"
        case .noFunc: return "nofunc"
        case .noExtern: return "noextern"
        case .none: return "none"
        case .func: return "func"
        case .extern: return "extern"
        case .any: return "any"
        case .eq: return "eq"
        case .i31: return "i31"
        case .struct: return "struct"
        case .array: return "array"
        case .exn: return "exn"
        }
    }

    /// The top of this type's hierarchy (`any`, `func`, `extern` or `exn`).
    public var top: AbstractHeapType {
        switch self {
        case .func, .noFunc: return .func
        case .extern, .noExtern: return .extern
        case .exn, .noExn: return .exn
        case .any, .eq, .i31, .struct, .array, .none: return .any
        }
    }

    /// The bottom of this type's hierarchy.
    public var bottom: AbstractHeapType {
        switch top {
        case .func: return .noFunc
        case .extern: return .noExtern
        case .exn: return .noExn
        default: return .none
        }
    }

    /// The feature a module needs to name this type (`func` and `extern` are WebAssembly 2.0).
    var feature: Features {
        switch self {
        case .func, .extern: return []
        case .exn, .noExn: return .exceptions
        default: return .gc
        }
    }
}

/// A heap type: abstract, or a type defined in the module (by index).
public enum HeapType: Hashable, Sendable, CustomStringConvertible {
    case abstract(AbstractHeapType)
    /// A type index of the module (a canonical type ID in types that left their module: see `TypeRegistry`).
    case concrete(UInt32)
    /// The validator's bottom heap type (the spec's `bot`): what `ref.as_non_null` and `br_on_null` make of an
    /// operand of unknown type in unreachable code — a reference, below every heap type, never in a module.
    case bottom

    public var description: String {
        switch self {
        case .abstract(let a): return a.description
        case .concrete(let i): return "\(i)"
        case .bottom: return "bot"
        }
    }
}

/// `(ref null? heaptype)`.
public struct ReferenceType: Hashable, Sendable, CustomStringConvertible {
    public var isNullable: Bool
    public var heapType: HeapType

    public init(nullable: Bool, _ heapType: HeapType) {
        self.isNullable = nullable
        self.heapType = heapType
    }

    public init(nullable: Bool, _ abstract: AbstractHeapType) {
        self.init(nullable: nullable, .abstract(abstract))
    }

    public var description: String {
        if isNullable, case .abstract(let a) = heapType {
            switch a {
            case .none: return "nullref"
            case .noFunc: return "nullfuncref"
            case .noExtern: return "nullexternref"
            case .noExn: return "nullexnref"
            default: return "\(a)ref"
            }
        }
        return "(ref \(isNullable ? "null " : "")\(heapType))"
    }
}

/// A WebAssembly value type: numeric, vector or reference.
public enum ValueType: Sendable, Hashable, CustomStringConvertible {
    case i32
    case i64
    case f32
    case f64
    case v128
    case ref(ReferenceType)

    public static let funcref = ValueType.ref(ReferenceType(nullable: true, .func))
    public static let externref = ValueType.ref(ReferenceType(nullable: true, .extern))
    public static let exnref = ValueType.ref(ReferenceType(nullable: true, .exn))
    public static let anyref = ValueType.ref(ReferenceType(nullable: true, .any))

    public var isReference: Bool {
        if case .ref = self { return true }
        return false
    }

    public var isNumeric: Bool {
        switch self {
        case .i32, .i64, .f32, .f64: return true
        default: return false
        }
    }

    public var referenceType: ReferenceType? {
        if case .ref(let r) = self { return r }
        return nil
    }

    /// Whether a local of this type starts with a default value (zero or null): non-nullable references do not.
    public var isDefaultable: Bool {
        if case .ref(let r) = self { return r.isNullable }
        return true
    }

    /// The binary code of a numeric or vector type, or the shorthand of a nullable abstract reference type.
    public var shortCode: UInt8? {
        switch self {
        case .i32: return 0x7F
        case .i64: return 0x7E
        case .f32: return 0x7D
        case .f64: return 0x7C
        case .v128: return 0x7B
        case .ref(let r):
            if r.isNullable, case .abstract(let a) = r.heapType { return a.rawValue }
            return nil
        }
    }

    public var description: String {
        switch self {
        case .i32: return "i32"
        case .i64: return "i64"
        case .f32: return "f32"
        case .f64: return "f64"
        case .v128: return "v128"
        case .ref(let r): return r.description
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

/// What a struct field or array element holds: a value type, or a packed 8- or 16-bit integer.
public enum StorageType: Hashable, Sendable, CustomStringConvertible {
    case value(ValueType)
    case i8
    case i16

    /// The type a value of this storage has on the operand stack (packed integers unpack to i32).
    public var unpacked: ValueType {
        if case .value(let t) = self { return t }
        return .i32
    }

    public var description: String {
        switch self {
        case .value(let t): return t.description
        case .i8: return "i8"
        case .i16: return "i16"
        }
    }
}

public struct FieldType: Hashable, Sendable {
    public var storage: StorageType
    public var isMutable: Bool

    public init(_ storage: StorageType, mutable: Bool) {
        self.storage = storage
        self.isMutable = mutable
    }
}

/// The shape of a defined type: a function signature, a struct or an array.
public enum CompositeType: Hashable, Sendable, CustomStringConvertible {
    case function(FunctionType)
    case structure([FieldType])
    case array(FieldType)

    public var description: String {
        switch self {
        case .function(let f): return "func \(f)"
        case .structure(let fields): return "struct {\(fields.map { ($0.isMutable ? "mut " : "") + $0.storage.description }.joined(separator: ", "))}"
        case .array(let f): return "array [\(f.isMutable ? "mut " : "")\(f.storage)]"
        }
    }
}

/// One entry of the type section: a composite type with its declared supertype (at most one) and
/// finality. A plain `(type (func ...))` is final with no supertype.
public struct SubType: Hashable, Sendable, CustomStringConvertible {
    public var isFinal: Bool
    public var supertype: UInt32?
    public var composite: CompositeType

    public init(isFinal: Bool = true, supertype: UInt32? = nil, _ composite: CompositeType) {
        self.isFinal = isFinal
        self.supertype = supertype
        self.composite = composite
    }

    public var functionType: FunctionType? {
        if case .function(let f) = composite { return f }
        return nil
    }

    public var description: String {
        if isFinal && supertype == nil { return composite.description }
        return "sub\(isFinal ? " final" : "")\(supertype.map { " \($0)" } ?? "") \(composite)"
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
    /// Indexed by i64 (memory64 proposal's table64).
    public var is64: Bool

    public init(elementType: ValueType, limits: Limits, is64: Bool = false) {
        self.elementType = elementType
        self.limits = limits
        self.is64 = is64
    }
}

public struct MemoryType: Hashable, Sendable {
    /// In 64 KiB pages.
    public var limits: Limits
    /// Indexed by i64 (memory64).
    public var is64: Bool

    public init(limits: Limits, is64: Bool = false) {
        self.limits = limits
        self.is64 = is64
    }

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

/// An exception tag's type: the function type of its payload (whose results are empty).
public struct TagType: Hashable, Sendable {
    public var typeIndex: UInt32

    public init(typeIndex: UInt32) { self.typeIndex = typeIndex }
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
