import WasmParser
import WasmVM

/// The `spectest` module every spec script may import (see the suite's README).
enum SpecHost {
    static func imports(in store: Store) -> Imports {
        var imports = Imports()
        func function(_ name: String, _ params: [ValueType]) {
            imports.define(module: "spectest", name: name, .function(store.defineFunction(
                type: FunctionType(parameters: params, results: []), raw: { _, _ in })))
        }
        function("print", [])
        function("print_i32", [.i32])
        function("print_i64", [.i64])
        function("print_f32", [.f32])
        function("print_f64", [.f64])
        function("print_i32_f32", [.i32, .f32])
        function("print_f64_f64", [.f64, .f64])
        imports.define(module: "spectest", name: "global_i32", .global(try! store.defineGlobal(GlobalType(valueType: .i32, mutability: .constant), value: .i32(666))))
        imports.define(module: "spectest", name: "global_i64", .global(try! store.defineGlobal(GlobalType(valueType: .i64, mutability: .constant), value: .i64(666))))
        imports.define(module: "spectest", name: "global_f32", .global(try! store.defineGlobal(GlobalType(valueType: .f32, mutability: .constant), value: .float(666.6))))
        imports.define(module: "spectest", name: "global_f64", .global(try! store.defineGlobal(GlobalType(valueType: .f64, mutability: .constant), value: .double(666.6))))
        imports.define(module: "spectest", name: "table", .table(store.defineTable(TableType(elementType: .funcref, limits: Limits(min: 10, max: 20)))!))
        imports.define(module: "spectest", name: "table64", .table(store.defineTable(TableType(elementType: .funcref, limits: Limits(min: 10, max: 20), is64: true))!))
        if let memory = store.defineMemory(MemoryType(limits: Limits(min: 1, max: 2))) {
            imports.define(module: "spectest", name: "memory", .memory(memory))
        }
        return imports
    }
}
