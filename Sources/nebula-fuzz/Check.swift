import Foundation
import WasmParser
import WasmVM

/// `nebula-fuzz check`: the crash-freedom driver. Reads cases from stdin, each a 4-byte little-endian length
/// and that many bytes, and for each decodes and validates the bytes; a valid module is then translated and
/// instantiated, with every import satisfied by a stand-in of the right type (functions return zeros) and
/// small limits (fuel for start functions, 64 MiB of memory). One line per case, flushed:
///
///     valid <outcome>        outcome: instantiated | trap <kind> | link <message> | refused <message>
///     invalid <malformed|invalid> <message>
///
/// The caller (Utilities/fuzz.py) compares the verdict with a reference validator, and notices a crash (the
/// process dies) or a hang (no line within its time bound).
func runChecks() {
    let input = FileHandle.standardInput
    var buffer = [UInt8]()
    buffer.reserveCapacity(1 << 20)
    func read(_ count: Int) -> [UInt8]? {
        var bytes = [UInt8]()
        while bytes.count < count {
            let chunk = input.readData(ofLength: count - bytes.count)
            if chunk.isEmpty { return nil }
            bytes += chunk
        }
        return bytes
    }
    while let header = read(4) {
        let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
        guard let bytes = read(length) else { break }
        let verdict = check(bytes)
        FileHandle.standardOutput.write(Data((verdict + "\n").utf8))
    }
}

func check(_ bytes: [UInt8]) -> String {
    let module: Module
    do throws(WasmParserError) {
        module = try Module.load(bytes)
    } catch {
        return "invalid \(error.kind) \(oneLine(error.description))"
    }
    let compiled: CompiledModule
    do {
        compiled = try CompiledModule(validated: module)
    } catch {
        return "valid refused \(oneLine("\(error)"))"
    }
    var limits = ResourceLimits()
    limits.fuel = 1_000_000
    limits.maxMemoryPages = 1024
    limits.maxTableElements = 1 << 20
    limits.maxCallDepth = 10_000
    limits.stackSlots = 1 << 20
    let store = Store(limits: limits)
    var imports = Imports()
    for item in module.imports {
        switch item.descriptor {
        case .function(let typeIndex):
            let type = module.types[Int(typeIndex)]
            let function = store.defineFunction(type: type) { (_: Caller, _: [Value]) throws(Trap) -> [Value] in
                type.results.map(zero)
            }
            imports.define(module: item.module, name: item.name, .function(function))
        case .memory(let type):
            guard let memory = store.defineMemory(type) else { return "valid link cannot map imported memory" }
            imports.define(module: item.module, name: item.name, .memory(memory))
        case .table(let type):
            imports.define(module: item.module, name: item.name, .table(store.defineTable(type)))
        case .global(let type):
            imports.define(module: item.module, name: item.name, .global(store.defineGlobal(type, value: zero(type.valueType))))
        }
    }
    do {
        _ = try compiled.instantiate(store: store, imports: imports)
        return "valid instantiated"
    } catch let trap as Trap {
        return "valid trap \(trapKind(trap.message))"
    } catch {
        return "valid link \(oneLine("\(error)"))"
    }
}

func zero(_ type: ValueType) -> Value {
    switch type {
    case .i32: return .i32(0)
    case .i64: return .i64(0)
    case .f32: return .f32(0)
    case .f64: return .f64(0)
    case .v128: return .v128(V128(low: 0, high: 0))
    case .funcref: return .funcref(nil)
    case .externref: return .externref(nil)
    }
}

func oneLine(_ text: String) -> String {
    String(text.map { $0.isNewline ? " " : $0 }.prefix(300))
}
