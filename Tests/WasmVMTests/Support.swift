import WasmParser
import WasmTestSupport
import XCTest
@testable import WasmVM

func instantiate(_ module: TestModule, store: Store = Store(), imports: Imports = Imports()) throws -> Instance {
    try CompiledModule(bytes: module.bytes).instantiate(store: store, imports: imports)
}

/// A module in the text format, instantiated.
func instance(_ text: String, store: Store = Store(), imports: Imports = Imports()) throws -> Instance {
    try CompiledModule(bytes: Array(text.utf8)).instantiate(store: store, imports: imports)
}

/// Calls the export `name` of `instance`.
func call(_ instance: Instance, _ name: String, _ arguments: [Value] = []) throws -> [Value] {
    try XCTUnwrap(instance.function(name), name).invoke(arguments)
}

/// A module exporting one function "f" with the given signature and body.
func single(_ params: [ValueType], _ results: [ValueType], locals: [ValueType] = [], memory: Limits? = nil,
            _ body: [Instruction]) throws -> Function {
    var m = TestModule()
    m.memory = memory
    m.function(params, results, locals: locals, export: "f", body)
    return try instantiate(m).function("f")!
}

func trapMessage(_ body: () throws -> Any) -> String? {
    do {
        _ = try body()
        return nil
    } catch let trap as Trap {
        return trap.message
    } catch {
        return "\(error)"
    }
}

func captureTrap(_ body: () throws -> Void) -> Trap? {
    do {
        try body()
        return nil
    } catch {
        return error as? Trap
    }
}
