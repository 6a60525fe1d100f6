import WasmParser

/// Assembles small modules for tests, from instructions rather than hand-written bytes.
public struct TestModule {
    public struct Function {
        public var type: FunctionType
        public var locals: [ValueType]
        public var body: [Instruction]
        public var export: String?
    }

    public var imports: [(module: String, name: String, descriptor: ImportDescriptor)] = []
    public var functions: [Function] = []
    public var memory: Limits?
    public var table: TableType?
    public var globals: [(GlobalType, Instruction)] = []
    public var exports: [(String, ExternalKind, UInt32)] = []
    public var elements: [(offset: Int32, functions: [UInt32])] = []
    public var data: [(offset: Int32, bytes: [UInt8])] = []
    public var start: UInt32?
    public var types: [FunctionType] = []
    /// Exception tags defined by the module (type indices of their payload types).
    public var tags: [UInt32] = []

    public init() {}

    /// Adds a function (after any imported ones) and returns its index.
    @discardableResult
    public mutating func function(_ params: [ValueType] = [], _ results: [ValueType] = [], locals: [ValueType] = [],
                                  export: String? = nil, _ body: [Instruction]) -> UInt32 {
        functions.append(Function(type: FunctionType(parameters: params, results: results), locals: locals, body: body, export: export))
        let importedFunctions = imports.filter { if case .function = $0.descriptor { return true } else { return false } }.count
        return UInt32(importedFunctions + functions.count - 1)
    }

    public mutating func typeIndex(_ type: FunctionType) -> UInt32 {
        if let i = types.firstIndex(of: type) { return UInt32(i) }
        types.append(type)
        return UInt32(types.count - 1)
    }

    /// Adds a tag with payload `params` (after any imported tags) and returns its index.
    @discardableResult
    public mutating func tag(_ params: [ValueType], export: String? = nil) -> UInt32 {
        tags.append(typeIndex(FunctionType(parameters: params, results: [])))
        let imported = imports.filter { if case .tag = $0.descriptor { return true } else { return false } }.count
        let index = UInt32(imported + tags.count - 1)
        if let export { exports.append((export, .tag, index)) }
        return index
    }

    public mutating func importTag(_ module: String, _ name: String, _ params: [ValueType]) {
        let t = typeIndex(FunctionType(parameters: params, results: []))
        imports.append((module, name, .tag(TagType(typeIndex: t))))
    }

    public mutating func importFunction(_ module: String, _ name: String, _ params: [ValueType], _ results: [ValueType]) {
        let t = typeIndex(FunctionType(parameters: params, results: results))
        imports.append((module, name, .function(typeIndex: t)))
    }

    public var bytes: [UInt8] {
        var copy = self
        return copy.assemble()
    }

    mutating func assemble() -> [UInt8] {
        let functionTypes = functions.map { typeIndex($0.type) }
        var out: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
        func section(_ id: UInt8, _ content: [UInt8]) {
            out.append(id)
            Instruction.appendUnsigned(UInt64(content.count), to: &out)
            out += content
        }
        func vector(_ items: [[UInt8]]) -> [UInt8] {
            var v: [UInt8] = []
            Instruction.appendUnsigned(UInt64(items.count), to: &v)
            return v + items.flatMap { $0 }
        }
        func name(_ s: String) -> [UInt8] { vector(Array(s.utf8).map { [$0] }) }
        func limits(_ l: Limits) -> [UInt8] {
            var v: [UInt8] = [l.max == nil ? 0 : 1]
            Instruction.appendUnsigned(l.min, to: &v)
            if let max = l.max { Instruction.appendUnsigned(max, to: &v) }
            return v
        }
        func type(_ t: ValueType) -> [UInt8] {
            var v: [UInt8] = []
            t.encode(into: &v)
            return v
        }
        func expression(_ instructions: [Instruction]) -> [UInt8] {
            var v: [UInt8] = []
            for i in instructions { i.encode(into: &v) }
            return v + [0x0B]
        }
        section(1, vector(types.map { t in [0x60] + vector(t.parameters.map(type)) + vector(t.results.map(type)) }))
        if !imports.isEmpty {
            section(2, vector(imports.map { i in
                var v = name(i.module) + name(i.name)
                switch i.descriptor {
                case .function(let t): v.append(0); Instruction.appendUnsigned(UInt64(t), to: &v)
                case .table(let t): v += [1] + type(t.elementType) + limits(t.limits)
                case .memory(let m): v += [2] + limits(m.limits)
                case .global(let g): v += [3] + type(g.valueType) + [g.mutability.rawValue]
                case .tag(let t): v += [4, 0]; Instruction.appendUnsigned(UInt64(t.typeIndex), to: &v)
                }
                return v
            }))
        }
        section(3, vector(functionTypes.map { t in var v: [UInt8] = []; Instruction.appendUnsigned(UInt64(t), to: &v); return v }))
        if let table { section(4, vector([type(table.elementType) + limits(table.limits)])) }
        if let memory { section(5, vector([limits(memory)])) }
        if !tags.isEmpty {
            section(13, vector(tags.map { t in var v: [UInt8] = [0]; Instruction.appendUnsigned(UInt64(t), to: &v); return v }))
        }
        if !globals.isEmpty {
            section(6, vector(globals.map { g in type(g.0.valueType) + [g.0.mutability.rawValue] + expression([g.1]) }))
        }
        let importedFunctions = imports.filter { if case .function = $0.descriptor { return true } else { return false } }.count
        var allExports = exports
        for (i, f) in functions.enumerated() where f.export != nil {
            allExports.append((f.export!, .function, UInt32(importedFunctions + i)))
        }
        section(7, vector(allExports.map { e in
            var v = name(e.0) + [e.1.rawValue]
            Instruction.appendUnsigned(UInt64(e.2), to: &v)
            return v
        }))
        if let start { var v: [UInt8] = []; Instruction.appendUnsigned(UInt64(start), to: &v); section(8, v) }
        if !elements.isEmpty {
            section(9, vector(elements.map { e in
                [0] + expression([Instruction(.i32Const, .i32(e.offset))])
                    + vector(e.functions.map { f in var v: [UInt8] = []; Instruction.appendUnsigned(UInt64(f), to: &v); return v })
            }))
        }
        section(10, vector(functions.map { f in
            var body = vector(f.locals.map { [1] + type($0) })
            body += expression(f.body)
            var v: [UInt8] = []
            Instruction.appendUnsigned(UInt64(body.count), to: &v)
            return v + body
        }))
        if !data.isEmpty {
            section(11, vector(data.map { d in [0] + expression([Instruction(.i32Const, .i32(d.offset))]) + vector(d.bytes.map { [$0] }) }))
        }
        return out
    }
}

// Shorthands so test bodies read like WAT.
public func op(_ opcode: Opcode, _ immediate: Immediate = .none) -> Instruction { Instruction(opcode, immediate) }
public func i32(_ v: Int32) -> Instruction { Instruction(.i32Const, .i32(v)) }
public func i64(_ v: Int64) -> Instruction { Instruction(.i64Const, .i64(v)) }
public func f32(_ v: Float) -> Instruction { Instruction(.f32Const, .f32(v.bitPattern)) }
public func f64(_ v: Double) -> Instruction { Instruction(.f64Const, .f64(v.bitPattern)) }
public func get(_ i: UInt32) -> Instruction { Instruction(.localGet, .index(i)) }
public func set(_ i: UInt32) -> Instruction { Instruction(.localSet, .index(i)) }
public func tee(_ i: UInt32) -> Instruction { Instruction(.localTee, .index(i)) }
public func call(_ f: UInt32) -> Instruction { Instruction(.call, .index(f)) }
public func load(_ opcode: Opcode, offset: UInt64 = 0) -> Instruction { Instruction(opcode, .memArg(MemArg(align: 0, offset: offset))) }
public func block(_ opcode: Opcode, _ type: BlockType = .empty) -> Instruction { Instruction(opcode, .blockType(type)) }
public let end = Instruction(.end)
