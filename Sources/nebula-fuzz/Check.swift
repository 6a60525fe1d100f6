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
func runChecks(features: Features) {
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
        let verdict = check(bytes, features: features)
        FileHandle.standardOutput.write(Data((verdict + "\n").utf8))
    }
}

func check(_ bytes: [UInt8], features: Features) -> String {
    let module: Module
    do throws(WasmParserError) {
        module = try Module.load(bytes, features: features)
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
    limits.maxGCHeapBytes = 64 << 20
    let store = Store(limits: limits)
    var imports = Imports()
    for item in module.imports {
        switch item.descriptor {
        case .function(let typeIndex):
            guard let type = compiled.canonicalFunctionType(at: typeIndex) else { return "valid link import of a non-function type" }
            let function = store.defineFunction(type: type) { (_: Caller, _: [Value]) throws(Trap) -> [Value] in
                type.results.map(Value.zero)
            }
            imports.define(module: item.module, name: item.name, .function(function))
        case .memory(let type):
            guard let memory = store.defineMemory(type) else { return "valid link cannot map imported memory" }
            imports.define(module: item.module, name: item.name, .memory(memory))
        case .table(var type):
            type.elementType = compiled.canonical(type.elementType)
            guard let table = store.defineTable(type) else { return "valid link cannot make imported table" }
            imports.define(module: item.module, name: item.name, .table(table))
        case .global(var type):
            type.valueType = compiled.canonical(type.valueType)
            // A non-nullable reference type has no default value to give it.
            guard let global = try? store.defineGlobal(type, value: Value.zero(type.valueType)) else {
                return "valid link cannot make imported global of type \(type.valueType)"
            }
            imports.define(module: item.module, name: item.name, .global(global))
        case .tag(let tag):
            guard let type = compiled.canonicalFunctionType(at: tag.typeIndex) else { return "valid link tag of a non-function type" }
            imports.define(module: item.module, name: item.name, .tag(store.defineTag(type)))
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

func oneLine(_ text: String) -> String {
    String(text.map { $0.isNewline ? " " : $0 }.prefix(300))
}
