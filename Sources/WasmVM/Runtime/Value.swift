import WasmParser

/// A reference of the `any` or `extern` hierarchy, as the embedder sees it. Both hierarchies hold the same
/// three kinds (`any.convert_extern` and `extern.convert_any` keep the reference as it is): a host value, an
/// i31, or a struct or array in the store's GC heap. An integer literal is a host value: `.externref(42)`.
public enum Reference: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// A value of the embedder's (`ref.extern N` in the spec's scripts).
    case host(UInt64)
    /// An unboxed 31-bit integer (`ref.i31`), its bits zero-extended.
    case i31(UInt32)
    /// A struct or array. Valid while the store keeps it alive: until the next call into the store (which
    /// keeps its own arguments), or as long as a `HeldReference` holds it.
    case object(GCObject)

    public init(integerLiteral value: UInt64) { self = .host(value) }

    public var description: String {
        switch self {
        case .host(let h): return "host \(h)"
        case .i31(let v): return "i31 \(v)"
        case .object(let o): return o.description
        }
    }
}

/// A struct or array in a store's GC heap, as the embedder sees it: compared by identity.
public struct GCObject: Hashable, Sendable, CustomStringConvertible {
    let address: UInt
    /// The allocation's serial number: a stale reference whose memory was reused is told apart.
    let serial: UInt32
    /// `struct` or `array`.
    public let isArray: Bool

    public var description: String { "\(isArray ? "array" : "struct")@\(String(address, radix: 16))" }
}

/// A WebAssembly value. Floats are carried as their IEEE-754 bits so that NaN payloads survive exactly.
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case i32(UInt32)
    case i64(UInt64)
    case f32(UInt32)
    case f64(UInt64)
    case v128(V128)
    /// A function reference (its address in the store), or null.
    case funcref(Int?)
    /// A reference of the `extern` hierarchy, or null.
    case externref(Reference?)
    /// A reference of the `any` hierarchy (`anyref`, `eqref`, `i31ref`, structs, arrays), or null.
    case anyref(Reference?)
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
            case .extern: return .externref(nil)
            default: return .anyref(nil)
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
        case .anyref: return .anyref
        case .exnref: return .exnref
        }
    }

    /// Whether this is a null reference.
    public var isNull: Bool {
        switch self {
        case .funcref(nil), .externref(nil), .anyref(nil), .exnref(nil): return true
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
        case .externref(let r): return r.map { "externref:\($0)" } ?? "externref:null"
        case .anyref(let r): return r.map { "anyref:\($0)" } ?? "anyref:null"
        case .exnref(let a): return a.map { "exnref:\($0)" } ?? "exnref:null"
        }
    }
}

extension Store {
    /// The value's encoding in one 64-bit stack slot (references: 0 is null; see `GCSlot` for the `any` and
    /// `extern` hierarchies, address + 1 for functions and exceptions). Throws for an object this store does not
    /// know (collected, or another store's).
    func slot(for value: Value) throws(Trap) -> UInt64 {
        switch value {
        case .i32(let v): return UInt64(v)
        case .i64(let v): return v
        case .f32(let v): return UInt64(v)
        case .f64(let v): return v
        case .v128(let v): return v.low
        case .funcref(let a): return a.map { UInt64($0) + 1 } ?? 0
        case .exnref(let a): return a.map { UInt64($0) + 1 } ?? 0
        case .externref(let r), .anyref(let r):
            switch r {
            case nil: return 0
            case .host(let h)?: return hostSlot(h)
            case .i31(let v)?: return GCSlot.i31(v)
            case .object(let o)?:
                guard gcHeap.escaped[o.address] == o.serial else {
                    throw Trap(.host("\(o) is not a live object of this store"))
                }
                return UInt64(o.address)
            }
        }
    }

    /// Reads a value of `type` from its slot; an object read this way is handed to the embedder (it may come
    /// back as an argument, and stays alive until the next call into the store).
    func value(slot: UInt64, type: ValueType) -> Value {
        switch type {
        case .i32: return .i32(UInt32(truncatingIfNeeded: slot))
        case .i64: return .i64(slot)
        case .f32: return .f32(UInt32(truncatingIfNeeded: slot))
        case .f64: return .f64(slot)
        case .v128: return .v128(V128(low: slot, high: 0))
        case .ref(let reference):
            switch reference.hierarchy {
            case .func: return .funcref(slot == 0 ? nil : Int(slot - 1))
            case .exn: return .exnref(slot == 0 ? nil : Int(slot - 1))
            case .extern: return .externref(self.reference(slot))
            default: return .anyref(self.reference(slot))
            }
        }
    }

    func reference(_ slot: UInt64) -> Reference? {
        if slot == 0 { return nil }
        if GCSlot.isI31(slot) { return .i31(GCSlot.i31Unsigned(slot)) }
        if GCSlot.isHost(slot) { return .host(slot >> 2) }
        let header = GCSlot.object(slot).assumingMemoryBound(to: GCHeader.self)
        let layout = header.pointee.layout.pointee
        if layout.kind == .hostBox { return .host(GCSlot.object(slot).load(fromByteOffset: GCLayout.headerSize, as: UInt64.self)) }
        let serial = header.pointee.flags >> 1
        gcHeap.escaped[UInt(slot)] = serial
        gcHeap.recent.append(UInt(slot))
        return .object(GCObject(address: UInt(slot), serial: serial, isArray: layout.kind == .array))
    }

    /// Writes values in the frame's slot layout (a v128 takes two slots, low half first).
    func store(_ values: [Value], to slots: UnsafeMutablePointer<UInt64>) throws(Trap) {
        var i = 0
        for value in values {
            if case .v128(let v) = value {
                slots[i] = v.low
                slots[i + 1] = v.high
                i += 2
            } else {
                slots[i] = try slot(for: value)
                i += 1
            }
        }
    }

    /// Reads values of `types` from the frame's slot layout.
    func load(_ types: [ValueType], from slots: UnsafeMutablePointer<UInt64>) -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(types.count)
        var i = 0
        for t in types {
            if t == .v128 {
                values.append(.v128(V128(low: slots[i], high: slots[i + 1])))
                i += 2
            } else {
                values.append(value(slot: slots[i], type: t))
                i += 1
            }
        }
        return values
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
    /// nullability, a function reference by its function's type, an object by its type.
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
        case (.externref(let reference), .ref(let r)) where r.hierarchy == .extern:
            return reference == nil ? r.isNullable : r.heapType == .abstract(.extern)
        case (.anyref(let reference), .ref(let r)) where r.hierarchy == .any:
            guard let reference else { return r.isNullable }
            guard let slot = try? slot(for: .anyref(reference)) else { return false }
            return GCExecution.test(slot, CastTarget(r, canonical: true), functions: functions)
        case (.exnref(let exception), .ref(let r)) where r.hierarchy == .exn:
            guard let exception else { return r.isNullable }
            return exception >= 0 && exception < exceptions.count && !exceptions[exception].isFree && r.heapType == .abstract(.exn)
        default:
            return false
        }
    }
}
