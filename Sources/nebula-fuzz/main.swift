import Foundation
import WasmParser
import WasmVM

/// `nebula-fuzz exports FILE`: instantiates FILE (no imports) and calls every exported function with
/// deterministic arguments (zeros, then ones), printing one line per call: results as bit patterns, or the
/// trap's kind; then a hash of exported memory and the exported globals. `Utilities/differential.py`
/// compares this with wasmtime's view of the same module.
func trapKind(_ message: String) -> String {
    for kind in ["unreachable", "integer divide by zero", "integer overflow", "invalid conversion to integer",
                 "out of bounds memory access", "out of bounds table access", "undefined element", "uninitialized element",
                 "indirect call type mismatch", "call stack exhausted", "fuel exhausted"] where message.contains(kind) {
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
    case .externref(let r): return r == nil ? "ref:null" : "ref"
    case .v128(let v): return "v128:\(v.low):\(v.high)"
    }
}

func argument(_ type: ValueType, _ round: Int) -> Value {
    switch type {
    case .i32: return .i32(UInt32(round))
    case .i64: return .i64(UInt64(round))
    case .f32: return .float(Float(round))
    case .f64: return .double(Double(round))
    case .funcref: return .funcref(nil)
    case .externref: return .externref(nil)
    case .v128: return .v128(V128(low: UInt64(round), high: 0))
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, arguments[1] == "exports", let data = FileManager.default.contents(atPath: arguments[2]) else {
    FileHandle.standardError.write(Data("usage: nebula-fuzz exports FILE.wasm\n".utf8))
    exit(2)
}
do {
    let compiled = try CompiledModule(bytes: [UInt8](data))
    var limits = ResourceLimits()
    limits.maxCallDepth = 10_000
    let store = Store(limits: limits)
    let instance: Instance
    do {
        instance = try compiled.instantiate(store: store)
    } catch let trap as Trap {
        print("instantiate: trap \(trapKind(trap.message))")
        exit(0)
    }
    // Exports are named by position: names may hold any UTF-8, newlines included.
    for (name, value) in instance.exports.enumerated().map({ ("export \($0.offset)", $0.element.value) }) {
        guard case .function(let function) = value else { continue }
        for round in 0..<2 {
            let args = function.type.parameters.map { argument($0, round) }
            do throws(Trap) {
                let results = try function.invoke(args)
                print("\(name)#\(round): " + results.map(render).joined(separator: " "))
            } catch {
                print("\(name)#\(round): trap \(trapKind(error.message))")
            }
        }
    }
    for (name, value) in instance.exports.enumerated().map({ ("export \($0.offset)", $0.element.value) }) {
        switch value {
        case .memory(let memory):
            let bytes = (try? memory.read(at: 0, count: memory.byteCount)) ?? []
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in bytes { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
            print("memory \(name): \(memory.pageCount) pages, fnv \(hash)")
        case .global(let global):
            print("global \(name): \(render(global.value))")
        default:
            break
        }
    }
} catch {
    print("load: \(error)")
    exit(1)
}
