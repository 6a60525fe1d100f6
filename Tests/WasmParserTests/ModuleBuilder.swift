@testable import WasmParser

/// Builds binary modules by hand for tests: sections are written with correct sizes unless a test says otherwise.
struct ModuleBuilder {
    var sections: [[UInt8]] = []

    static func uleb(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        Instruction.appendUnsigned(value, to: &out)
        return out
    }

    static func sleb(_ value: Int64) -> [UInt8] {
        var out: [UInt8] = []
        Instruction.appendSigned(value, to: &out)
        return out
    }

    static func name(_ s: String) -> [UInt8] { uleb(UInt64(s.utf8.count)) + Array(s.utf8) }

    static func encode(_ type: ValueType) -> [UInt8] {
        var bytes: [UInt8] = []
        type.encode(into: &bytes)
        return bytes
    }

    mutating func section(_ id: UInt8, _ content: [UInt8]) {
        sections.append([id] + ModuleBuilder.uleb(UInt64(content.count)) + content)
    }

    /// A type section with the given function types.
    mutating func types(_ types: [([ValueType], [ValueType])]) {
        var c = ModuleBuilder.uleb(UInt64(types.count))
        for (p, r) in types {
            c += [0x60] + ModuleBuilder.uleb(UInt64(p.count)) + p.flatMap(ModuleBuilder.encode)
            c += ModuleBuilder.uleb(UInt64(r.count)) + r.flatMap(ModuleBuilder.encode)
        }
        section(1, c)
    }

    /// Function and code sections: each function is (type index, locals, body bytes without the final `end`).
    mutating func functions(_ functions: [(type: UInt32, locals: [(UInt32, ValueType)], body: [UInt8])]) {
        section(3, ModuleBuilder.uleb(UInt64(functions.count)) + functions.flatMap { ModuleBuilder.uleb(UInt64($0.type)) })
        var code = ModuleBuilder.uleb(UInt64(functions.count))
        for f in functions {
            var entry = ModuleBuilder.uleb(UInt64(f.locals.count))
            for (n, t) in f.locals { entry += ModuleBuilder.uleb(UInt64(n)) + ModuleBuilder.encode(t) }
            entry += f.body + [0x0B]
            code += ModuleBuilder.uleb(UInt64(entry.count)) + entry
        }
        section(10, code)
    }

    mutating func memory(min: UInt64, max: UInt64? = nil) {
        section(5, [1] + (max == nil ? [0] + ModuleBuilder.uleb(min) : [1] + ModuleBuilder.uleb(min) + ModuleBuilder.uleb(max!)))
    }

    var bytes: [UInt8] { [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00] + sections.flatMap { $0 } }

    /// A module with one function of type `params -> results` and the given body.
    static func function(_ params: [ValueType] = [], _ results: [ValueType] = [], locals: [(UInt32, ValueType)] = [],
                         memory: Bool = false, body: [UInt8]) -> [UInt8] {
        var b = ModuleBuilder()
        b.types([(params, results)])
        if memory {
            // Memory section must come before code: build in order.
            var c = ModuleBuilder()
            c.types([(params, results)])
            c.sections.append([3, 2, 1, 0])
            c.memory(min: 1)
            var code = ModuleBuilder.uleb(1)
            var entry = ModuleBuilder.uleb(UInt64(locals.count))
            for (n, t) in locals { entry += ModuleBuilder.uleb(UInt64(n)) + ModuleBuilder.encode(t) }
            entry += body + [0x0B]
            code += ModuleBuilder.uleb(UInt64(entry.count)) + entry
            c.section(10, code)
            return c.bytes
        }
        b.functions([(0, locals, body)])
        return b.bytes
    }
}

/// Loads (decodes and validates) and returns the error, if any.
func loadError(_ bytes: [UInt8], features: Features = .wasm3) -> WasmParserError? {
    do throws(WasmParserError) {
        _ = try Module.load(bytes, features: features)
        return nil
    } catch {
        return error
    }
}
