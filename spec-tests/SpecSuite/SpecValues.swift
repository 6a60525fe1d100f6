import WasmParser
import WasmVM

/// Reading and comparing the suite's values (decimal bit patterns, NaN classes, references).
enum SpecValues {
    static func value(_ v: SpecValue) -> Value? {
        let text = v.value.first ?? ""
        switch v.type {
        case "i32": return bits32(text).map { .i32($0) }
        case "i64": return bits64(text).map { .i64($0) }
        case "f32": return UInt32(text).map { .f32($0) }
        case "f64": return UInt64(text).map { .f64($0) }
        case "externref": return text == "null" ? .externref(nil) : UInt64(text).map { .externref(.host($0)) }
        // `ref.host N`: a host value seen from the `any` hierarchy.
        case "anyref": return text == "null" ? .anyref(nil) : UInt64(text).map { .anyref(.host($0)) }
        case "nullref": return .anyref(nil)
        case "funcref": return text == "null" ? .funcref(nil) : Int(text).map { .funcref($0) }
        case "exnref": return text == "null" ? .exnref(nil) : nil
        case "nullfuncref": return .funcref(nil)
        case "nullexternref": return .externref(nil)
        case "nullexnref": return .exnref(nil)
        case "v128":
            guard let width = laneBits(v.laneType), v.value.count == 128 / width else { return nil }
            var low: UInt64 = 0, high: UInt64 = 0
            for (i, lane) in v.value.enumerated() {
                guard let bits = laneValue(lane, width: width) else { return nil }
                let shift = UInt64(i * width % 64)
                if i * width < 64 { low |= bits << shift } else { high |= bits << shift }
            }
            return .v128(V128(low: low, high: high))
        default: return nil
        }
    }

    /// An integer written as its unsigned bit pattern (wast2json) or signed (wasm-tools json-from-wast).
    static func bits32(_ text: String) -> UInt32? { UInt32(text) ?? Int32(text).map { UInt32(bitPattern: $0) } }
    static func bits64(_ text: String) -> UInt64? { UInt64(text) ?? Int64(text).map { UInt64(bitPattern: $0) } }

    /// A lane's width in bits for a `lane_type` (i8 … f64).
    static func laneBits(_ laneType: String?) -> Int? {
        switch laneType {
        case "i8": return 8
        case "i16": return 16
        case "i32", "f32": return 32
        case "i64", "f64": return 64
        default: return nil
        }
    }

    /// A lane written as its unsigned bit pattern (wast2json also writes negative integers for some lanes).
    static func laneValue(_ text: String, width: Int) -> UInt64? {
        let mask: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
        if let u = UInt64(text) { return u & mask }
        if let s = Int64(text) { return UInt64(bitPattern: s) & mask }
        return nil
    }

    static func matches(_ value: Value, _ expected: SpecValue) -> Bool {
        let text = expected.value.first ?? ""
        // No value given for a reference type: any non-null reference of that kind.
        let anyNonNull = expected.value.isEmpty
        switch (value, expected.type) {
        case (_, "either"):
            return (expected.values ?? []).contains { matches(value, $0) }
        case (_, "refnull"), (_, "nullref"), (_, "nullfuncref"), (_, "nullexternref"), (_, "nullexnref"):
            return value.isNull
        case (.externref(let reference), "externref") where anyNonNull:
            return reference != nil
        case (.anyref(let reference?), "anyref") where anyNonNull:
            _ = reference
            return true
        case (.anyref(let reference), "anyref"), (.externref(let reference), "anyref"):
            return text == "null" ? reference == nil : reference == .host(UInt64(text) ?? .max)
        case (.anyref(let reference?), "eqref"), (.externref(let reference?), "eqref"):
            if case .host = reference { return false }
            return true
        case (.anyref(.i31?), "i31ref"), (.externref(.i31?), "i31ref"):
            return true
        case (.anyref(.object(let object)?), "structref"), (.externref(.object(let object)?), "structref"):
            return !object.isArray
        case (.anyref(.object(let object)?), "arrayref"), (.externref(.object(let object)?), "arrayref"):
            return object.isArray
        case (.exnref(let reference), "exnref"):
            return anyNonNull ? reference != nil : (text == "null" && reference == nil)
        case (.i32(let bits), "i32"): return bits32(text) == bits
        case (.i64(let bits), "i64"): return bits64(text) == bits
        case (.f32(let bits), "f32"):
            if text == "nan:canonical" { return bits & 0x7FFF_FFFF == 0x7FC0_0000 }
            if text == "nan:arithmetic" { return bits & 0x7FC0_0000 == 0x7FC0_0000 }
            return UInt32(text) == bits
        case (.f64(let bits), "f64"):
            if text == "nan:canonical" { return bits & 0x7FFF_FFFF_FFFF_FFFF == 0x7FF8_0000_0000_0000 }
            if text == "nan:arithmetic" { return bits & 0x7FF8_0000_0000_0000 == 0x7FF8_0000_0000_0000 }
            return UInt64(text) == bits
        case (.externref(let reference), "externref"):
            return text == "null" ? reference == nil : reference == .host(UInt64(text) ?? .max)
        case (.funcref(let reference), "funcref"):
            return text == "null" ? reference == nil : reference != nil
        case (.v128(let v), "v128"):
            guard let width = laneBits(expected.laneType), expected.value.count == 128 / width else { return false }
            for (i, lane) in expected.value.enumerated() {
                let bitIndex = i * width
                let word = bitIndex < 64 ? v.low : v.high
                let mask: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
                let bits = (word >> UInt64(bitIndex % 64)) & mask
                let laneExpectation = SpecValue(type: expected.laneType ?? "", value: [lane])
                let actual: Value
                switch expected.laneType {
                case "f32": actual = .f32(UInt32(bits))
                case "f64": actual = .f64(bits)
                default:
                    guard laneValue(lane, width: width) == bits else { return false }
                    continue
                }
                if !matches(actual, laneExpectation) { return false }
            }
            return true
        default:
            return false
        }
    }
}
