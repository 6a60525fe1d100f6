import Foundation
import WasmParser
import WasmVM

/// `nebula-fuzz exports`: instantiates a module (no imports) and calls every exported function with
/// deterministic arguments (zeros, then ones), printing one line per call: results as bit patterns, or the
/// trap's kind; then a hash of exported memory and the exported globals. `Utilities/differential.py`
/// compares this with wasmtime's view of the same module. An exception escaping a call is
/// `trap exception export K: payload`, K being the position of its tag among the exports.
///
/// First come `# ...` lines with the types of exported functions, globals and tags in the text format, which
/// the Python side needs to call the module through a wrapper (its wasmtime binding aborts on inspecting a
/// v128 or exnref type) and does not compare. A function with a non-nullable reference parameter (no
/// default argument exists) is `skip`. Types are the module's own (a defined type is its index) and each
/// function and tag names its type index: the wrapper copies the module's type section, so that it can
/// import them with exactly their types (with GC, types live in recursion groups and have supertypes).
func trapKind(_ message: String) -> String {
    for kind in ["unreachable", "integer divide by zero", "integer overflow", "invalid conversion to integer",
                 "out of bounds memory access", "out of bounds table access", "undefined element", "uninitialized element",
                 "indirect call type mismatch", "call stack exhausted", "fuel exhausted", "cast failure",
                 "out of bounds array access", "GC heap exhausted"] where message.contains(kind) {
        return kind
    }
    return "other: \(message)"
}

func render(_ value: Value) -> String {
    switch value {
    case .i32(let v): return "i32:\(v)"
    case .i64(let v): return "i64:\(v)"
    case .f32(let v): return Float(bitPattern: v).isNaN ? "f32:nan" : "f32:\(v)"
    case .f64(let v): return Double(bitPattern: v).isNaN ? "f64:nan" : "f64:\(v)"
    case .funcref(let r): return r == nil ? "ref:null" : "ref"
    case .externref(let r), .anyref(let r): return r == nil ? "ref:null" : "ref"
    case .exnref(let r): return r == nil ? "ref:null" : "ref"
    case .v128(let v): return "v128:\(v.low):\(v.high)"
    }
}

func argument(_ type: ValueType, _ round: Int) -> Value {
    switch type {
    case .i32: return .i32(UInt32(round))
    case .i64: return .i64(UInt64(round))
    case .f32: return .float(Float(round))
    case .f64: return .double(Double(round))
    case .v128: return .v128(V128(low: UInt64(round), high: 0))
    case .ref: return Value.zero(type)
    }
}

/// The export report of the module at `path`, one line per entry.
func reportExports(path: String, features: Features = .wasm3, gcStress: Bool = false) -> [String] {
    var lines: [String] = []
    func print(_ line: String) { lines.append(line) }
    guard let data = FileManager.default.contents(atPath: path) else {
        print("load: cannot read \(path)")
        return lines
    }
    let compiled: CompiledModule
    do {
        compiled = try CompiledModule(bytes: [UInt8](data), features: features)
    } catch {
        print("load: \(error)")
        return lines
    }
    var limits = ResourceLimits()
    limits.maxCallDepth = 10_000
    // The same growth limits as Utilities/differential.py gives wasmtime: growth past them is -1 in both.
    limits.maxMemoryPages = 16_384
    limits.maxTableElements = 1_000_000
    limits.maxGCHeapBytes = 64 << 20
    limits.gcStress = gcStress
    let store = Store(limits: limits)
    let instance: Instance
    do {
        instance = try compiled.instantiate(store: store)
    } catch let trap as Trap {
        if case .exception = trap.reason {
            print("instantiate: exception")  // from the start function: no wrapper can catch it on wasmtime's side
        } else {
            print("instantiate: trap \(trapKind(trap.message))")
        }
        return lines
    } catch {
        print("instantiate: \(error)")
        return lines
    }
    // Exports are named by position: names may hold any UTF-8, newlines included.
    let exports = instance.exports.enumerated().map { ("export \($0.offset)", $0.element.value) }
    func types(_ list: [ValueType]) -> String { list.map(\.textForm).joined(separator: ";") }
    let module = compiled.module
    let context = ValidationContext(module: module)
    for (position, (name, value)) in exports.enumerated() {
        let index = Int(module.exports[position].index)
        switch value {
        case .function:
            let typeIndex = context.functionTypeIndices[index]
            let type = module.functionType(at: typeIndex)!
            print("# func \(name) type \(typeIndex): \(types(type.parameters)) -> \(types(type.results))")
        case .global:
            let type = context.globals[index]
            print("# global \(name): \(type.mutability == .variable ? "mut" : "const") \(type.valueType.textForm)")
        case .tag:
            let typeIndex = context.tagTypeIndices[index]
            print("# tag \(name) type \(typeIndex): \(types(module.functionType(at: typeIndex)!.parameters))")
        default: break
        }
    }
    for (name, value) in exports {
        guard case .function(let function) = value else { continue }
        for round in 0..<2 {
            if function.type.parameters.contains(where: { if case .ref(let r) = $0 { return !r.isNullable } else { return false } }) {
                print("\(name)#\(round): skip")
                continue
            }
            let args = function.type.parameters.map { argument($0, round) }
            do throws(Trap) {
                let results = try function.invoke(args)
                print("\(name)#\(round): " + results.map(render).joined(separator: " "))
            } catch {
                if case .exception(let exception) = error.reason {
                    let tag = exports.first { if case .tag(let t) = $0.1 { return exception.isTag(t) } else { return false } }
                    print("\(name)#\(round): trap exception \(tag?.0 ?? "not exported"): \(exception.payload.map(render).joined(separator: " "))")
                } else {
                    print("\(name)#\(round): trap \(trapKind(error.message))")
                }
            }
        }
    }
    for (name, value) in exports {
        switch value {
        case .memory(let memory):
            let bytes = (try? memory.read(at: 0, count: memory.byteCount)) ?? []
            print("memory \(name): \(memory.pageCount) pages, crc32 \(crc32(bytes))")
        case .global(let global):
            print("global \(name): \(render(global.value))")
        default:
            break
        }
    }
    return lines
}

/// CRC-32 as zlib computes it (Python's `zlib.crc32`), to compare memories without shipping them.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
}
