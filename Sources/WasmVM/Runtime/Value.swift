import WasmParser

/// A WebAssembly value. Floats are carried as their IEEE-754 bits so that NaN payloads survive exactly.
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case i32(UInt32)
    case i64(UInt64)
    case f32(UInt32)
    case f64(UInt64)
    case v128(V128)
    /// A function reference (its address in the store), or null.
    case funcref(Int?)
    /// A host reference, or null.
    case externref(UInt64?)
    /// An exception reference (the exception object in the store), or null.
    case exnref(Int?)

    /// A type's default value: zero, or the null reference of its hierarchy.
    public static func zero(_ type: ValueType) -> Value {
        switch type {
        case .i32: return .i32(0)
        case .i64: return .i64(0)
        case .f32: return .f32(0)
        case .f64: return .f64(0)
        case .v128: return .v128(V128(low: 0, high: 0))
        case .ref(let r):
            switch r.hierarchy {
            case .func: return .funcref(nil)
            case .exn: return .exnref(nil)
            default: return .externref(nil)
            }
        }
    }

    public static func float(_ value: Float) -> Value { .f32(value.bitPattern) }
    public static func double(_ value: Double) -> Value { .f64(value.bitPattern) }
    public static func int32(_ value: Int32) -> Value { .i32(UInt32(bitPattern: value)) }
    public static func int64(_ value: Int64) -> Value { .i64(UInt64(bitPattern: value)) }

    public var type: ValueType {
        switch self {
        case .i32: return .i32
        case .i64: return .i64
        case .f32: return .f32
        case .f64: return .f64
        case .v128: return .v128
        case .funcref: return .funcref
        case .externref: return .externref
        case .exnref: return .exnref
        }
    }

    /// Whether this is a null reference.
    public var isNull: Bool {
        switch self {
        case .funcref(nil), .externref(nil), .exnref(nil): return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .i32(let v): return "i32:\(Int32(bitPattern: v))"
        case .i64(let v): return "i64:\(Int64(bitPattern: v))"
        case .f32(let v): return "f32:\(Float(bitPattern: v))"
        case .f64(let v): return "f64:\(Double(bitPattern: v))"
        case .v128(let v): return "v128:\(String(v.high, radix: 16))_\(String(v.low, radix: 16))"
        case .funcref(let a): return a.map { "funcref:\($0)" } ?? "funcref:null"
        case .externref(let a): return a.map { "externref:\($0)" } ?? "externref:null"
        case .exnref(let a): return a.map { "exnref:\($0)" } ?? "exnref:null"
        }
    }

    /// The value's encoding in one 64-bit stack slot (references: 0 is null, else address + 1).
    var slot: UInt64 {
        switch self {
        case .i32(let v): return UInt64(v)
        case .i64(let v): return v
        case .f32(let v): return UInt64(v)
        case .f64(let v): return v
        case .v128(let v): return v.low
        case .funcref(let a): return a.map { UInt64($0) + 1 } ?? 0
        case .externref(let a): return a.map { $0 &+ 1 } ?? 0
        case .exnref(let a): return a.map { UInt64($0) + 1 } ?? 0
        }
    }

    /// Writes values in the frame's slot layout (a v128 takes two slots, low half first).
    static func store(_ values: [Value], to slots: UnsafeMutablePointer<UInt64>) {
        var i = 0
        for value in values {
            if case .v128(let v) = value {
                slots[i] = v.low
                slots[i + 1] = v.high
                i += 2
            } else {
                slots[i] = value.slot
                i += 1
            }
        }
    }

    /// Reads values of `types` from the frame's slot layout.
    static func load(_ types: [ValueType], from slots: UnsafeMutablePointer<UInt64>) -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(types.count)
        var i = 0
        for t in types {
            if t == .v128 {
                values.append(.v128(V128(low: slots[i], high: slots[i + 1])))
                i += 2
            } else {
                values.append(Value(slot: slots[i], type: t))
                i += 1
            }
        }
        return values
    }

    init(slot: UInt64, type: ValueType) {
        switch type {
        case .i32: self = .i32(UInt32(truncatingIfNeeded: slot))
        case .i64: self = .i64(slot)
        case .f32: self = .f32(UInt32(truncatingIfNeeded: slot))
        case .f64: self = .f64(slot)
        case .v128: self = .v128(V128(low: slot, high: 0))
        case .ref(let reference):
            switch reference.hierarchy {
            case .func: self = .funcref(slot == 0 ? nil : Int(slot - 1))
            case .exn: self = .exnref(slot == 0 ? nil : Int(slot - 1))
            default: self = .externref(slot == 0 ? nil : slot - 1)
            }
        }
    }
}

extension ReferenceType {
    /// The top of the hierarchy the type belongs to. Types in the store's API are canonical: a concrete
    /// heap type is a canonical type ID (see `TypeRegistry`).
    var hierarchy: AbstractHeapType {
        switch heapType {
        case .abstract(let a): return a.top
        case .bottom: return .any
        case .concrete(let id):
            guard Int(id) < TypeRegistry.shared.count else { return .func }
            switch TypeRegistry.shared.type(Int(id)).composite {
            case .function: return .func
            default: return .any
            }
        }
    }
}

extension Store {
    /// Whether `value` is a value of `type` (canonical): numbers by kind; references by hierarchy and
    /// nullability, and a function reference by its function's type.
    func matches(_ value: Value, _ type: ValueType) -> Bool {
        switch (value, type) {
        case (.i32, .i32), (.i64, .i64), (.f32, .f32), (.f64, .f64), (.v128, .v128):
            return true
        case (.funcref(let address), .ref(let r)) where r.hierarchy == .func:
            guard let address else { return r.isNullable }
            guard address >= 0, address < functionCount else { return false }
            switch r.heapType {
            case .abstract(let a): return a == .func
            case .concrete(let id): return TypeRegistry.shared.isSubtype(functions[address].typeID, of: Int(id))
            case .bottom: return false
            }
        case (.externref(let host), .ref(let r)) where r.hierarchy == .extern:
            return host == nil ? r.isNullable : r.heapType == .abstract(.extern)
        case (.exnref(let exception), .ref(let r)) where r.hierarchy == .exn:
            guard let exception else { return r.isNullable }
            return exception >= 0 && exception < exceptions.count && !exceptions[exception].isFree && r.heapType == .abstract(.exn)
        default:
            return false
        }
    }
}
