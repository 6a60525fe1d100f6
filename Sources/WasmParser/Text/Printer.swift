/// Prints a module in the text format, in the flat style `wasm-tools print` uses: one field per line,
/// instructions one per line indented by block depth, indices as numbers with `(;N;)` comments, function
/// names from the `name` section as `$ids` when they are valid and unique. Parsing the output gives back
/// the same module (custom sections are printed as `@custom` annotations).
extension Module {
    public func printed() -> String {
        var printer = ModulePrinter(module: self)
        printer.printModule()
        return printer.out
    }
}

struct ModulePrinter {
    let module: Module
    var out = ""
    /// Function `$ids` usable in the text (valid, unique), by function index.
    var functionIDs: [UInt32: String] = [:]

    init(module: Module) {
        self.module = module
        var seen = Set<String>()
        for (index, name) in (module.names?.functionNames ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, name.utf8.allSatisfy(Lexer.isIdentifierCharacter), seen.insert(name).inserted else { continue }
            functionIDs[index] = name
        }
    }

    mutating func line(_ text: String, indent: Int = 1) {
        out += String(repeating: "  ", count: indent) + text + "\n"
    }

    static func string(_ bytes: some Collection<UInt8>) -> String {
        var s = "\""
        for b in bytes {
            switch b {
            case 0x22: s += "\\\""
            case 0x5C: s += "\\\\"
            case 0x20...0x7E: s.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = String(b, radix: 16)
                s += "\\" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return s + "\""
    }

    static func name(_ text: String) -> String { string(Array(text.utf8)) }

    func functionReference(_ index: UInt32) -> String { functionIDs[index].map { "$" + $0 } ?? "\(index)" }

    mutating func printModule() {
        out += "(module" + (module.names?.moduleName.map { " (@name \(Self.name($0)))" } ?? "") + "\n"
        printCustomSections(through: 0)
        printTypes()
        printCustomSections(through: 2 * SectionID.type.order + 1)
        printImports()
        printCustomSections(through: 2 * SectionID.import.order + 1)
        printFunctions()
        printCustomSections(through: 2 * SectionID.function.order + 1)
        printTables()
        printCustomSections(through: 2 * SectionID.table.order + 1)
        printMemories()
        printCustomSections(through: 2 * SectionID.memory.order + 1)
        printTags()
        printCustomSections(through: 2 * SectionID.tag.order + 1)
        printGlobals()
        printCustomSections(through: 2 * SectionID.global.order + 1)
        printExports()
        printCustomSections(through: 2 * SectionID.export.order + 1)
        if let start = module.start { line("(start \(functionReference(start)))") }
        printCustomSections(through: 2 * SectionID.start.order + 1)
        printElements()
        printCustomSections(through: 2 * SectionID.code.order)
        printData()
        printCustomSections(through: .max)
        out += ")\n"
    }

    var printedCustoms = 0

    /// Custom sections placed up to `placement` (in the module's order), as `@custom` annotations.
    mutating func printCustomSections(through placement: Int) {
        let customs = module.customSections.enumerated().sorted { ($0.element.placement, $0.offset) < ($1.element.placement, $1.offset) }.map(\.element)
        while printedCustoms < customs.count {
            let custom = customs[printedCustoms]
            // The name section is printed as names; branch hints are rebuilt from the code.
            guard custom.placement <= placement else { return }
            printedCustoms += 1
            if custom.name == "name" { continue }
            let position: String
            switch custom.placement {
            case -1: position = " (before first)"
            case .max: position = ""
            default:
                let order = (custom.placement - 1) / 2
                let names: [Int: String] = [1: "type", 2: "import", 3: "func", 4: "table", 5: "memory", 6: "tag", 7: "global",
                                            8: "export", 9: "start", 10: "elem", 11: "datacount", 12: "code", 13: "data"]
                position = names[order].map { " (after \($0))" } ?? ""
            }
            line("(@custom \(Self.name(custom.name))\(position) \(Self.string(module.bytes[custom.range])))")
        }
    }

    static func valueType(_ type: ValueType) -> String { type.textForm }

    mutating func printTypes() {
        var index = 0
        for group in module.recursionGroups {
            let inGroup = group.count != 1
            if inGroup { line("(rec") }
            for i in group {
                line("(type (;\(index);) \(Self.subType(module.types[i])))", indent: inGroup ? 2 : 1)
                index += 1
            }
            if inGroup { line(")") }
        }
    }

    static func subType(_ type: SubType) -> String {
        let composite = compositeType(type.composite)
        if type.isFinal && type.supertype == nil { return composite }
        return "(sub\(type.isFinal ? " final" : "")\(type.supertype.map { " \($0)" } ?? "") \(composite))"
    }

    static func compositeType(_ type: CompositeType) -> String {
        switch type {
        case .function(let f): return "(func" + signature(f) + ")"
        case .structure(let fields): return "(struct" + fields.map { " (field \(field($0)))" }.joined() + ")"
        case .array(let f): return "(array \(field(f)))"
        }
    }

    static func field(_ f: FieldType) -> String {
        let storage: String
        switch f.storage {
        case .i8: storage = "i8"
        case .i16: storage = "i16"
        case .value(let t): storage = valueType(t)
        }
        return f.isMutable ? "(mut \(storage))" : storage
    }

    static func signature(_ f: FunctionType) -> String {
        (f.parameters.isEmpty ? "" : " (param " + f.parameters.map(valueType).joined(separator: " ") + ")")
            + (f.results.isEmpty ? "" : " (result " + f.results.map(valueType).joined(separator: " ") + ")")
    }

    func typeUse(_ typeIndex: UInt32) -> String {
        "(type \(typeIndex))" + (module.functionType(at: typeIndex).map(Self.signature) ?? "")
    }

    static func limits(_ l: Limits, is64: Bool) -> String {
        (is64 ? "i64 " : "") + "\(l.min)" + (l.max.map { " \($0)" } ?? "")
    }

    static func globalType(_ g: GlobalType) -> String {
        g.mutability == .variable ? "(mut \(valueType(g.valueType)))" : valueType(g.valueType)
    }

    mutating func printImports() {
        var counts = [0, 0, 0, 0, 0]
        for item in module.imports {
            let kind = Int(item.descriptor.kind.rawValue)
            let index = counts[kind]
            counts[kind] += 1
            let descriptor: String
            switch item.descriptor {
            case .function(let t):
                let id = functionIDs[UInt32(index)].map { "$\($0) " } ?? ""
                descriptor = "(func \(id)(;\(index);) \(typeUse(t)))"
            case .table(let t): descriptor = "(table (;\(index);) \(Self.limits(t.limits, is64: t.is64)) \(Self.valueType(t.elementType)))"
            case .memory(let m): descriptor = "(memory (;\(index);) \(Self.limits(m.limits, is64: m.is64)))"
            case .global(let g): descriptor = "(global (;\(index);) \(Self.globalType(g)))"
            case .tag(let t): descriptor = "(tag (;\(index);) \(typeUse(t.typeIndex)))"
            }
            line("(import \(Self.name(item.module)) \(Self.name(item.name)) \(descriptor))")
        }
    }

    mutating func printFunctions() {
        let imported = module.importedFunctionTypeIndices.count
        for (i, body) in module.codes.enumerated() {
            let index = UInt32(imported + i)
            let id = functionIDs[index].map { "$\($0) " } ?? ""
            line("(func \(id)(;\(index);) \(typeUse(module.functionTypeIndices[i]))")
            let locals = body.locals.flatMap { [ValueType](repeating: $0.type, count: Int($0.count)) }
            if !locals.isEmpty { line("(local " + locals.map(Self.valueType).joined(separator: " ") + ")", indent: 2) }
            var reader = ByteReader(bytes: module.bytes, offset: body.range.lowerBound, limit: body.range.upperBound, features: module.features)
            var depth = 0
            instructions: while !reader.isAtEnd, let instruction = try? reader.readInstruction() {
                switch instruction.opcode {
                case .end:
                    if depth == 0 { break instructions }
                    line("end", indent: 1 + depth)
                    depth -= 1
                    continue
                case .else, .catch, .catchAll:
                    line(text(of: instruction), indent: 1 + depth)
                    continue
                case .delegate:
                    line(text(of: instruction), indent: 1 + depth)
                    depth -= 1
                    continue
                default: break
                }
                line(text(of: instruction), indent: 2 + depth)
                switch instruction.opcode {
                case .block, .loop, .if, .tryTable, .try: depth += 1
                default: break
                }
            }
            line(")")
        }
    }

    func constantExpression(_ e: ConstantExpression) -> String {
        e.instructions.map { text(of: $0) }.joined(separator: " ")
    }

    mutating func printTables() {
        let imported = module.importedTables.count
        for (i, table) in module.tables.enumerated() {
            let initializer = module.tableInitializers[i].map { " " + constantExpression($0) } ?? ""
            line("(table (;\(imported + i);) \(Self.limits(table.limits, is64: table.is64)) \(Self.valueType(table.elementType))\(initializer))")
        }
    }

    mutating func printMemories() {
        let imported = module.importedMemories.count
        for (i, memory) in module.memories.enumerated() {
            line("(memory (;\(imported + i);) \(Self.limits(memory.limits, is64: memory.is64)))")
        }
    }

    mutating func printTags() {
        let imported = module.importedTags.count
        for (i, tag) in module.tags.enumerated() { line("(tag (;\(imported + i);) \(typeUse(tag.typeIndex)))") }
    }

    mutating func printGlobals() {
        let imported = module.importedGlobals.count
        for (i, global) in module.globals.enumerated() {
            line("(global (;\(imported + i);) \(Self.globalType(global.type)) \(constantExpression(global.initializer)))")
        }
    }

    mutating func printExports() {
        for export in module.exports {
            let reference = export.kind == .function ? functionReference(export.index) : "\(export.index)"
            line("(export \(Self.name(export.name)) (\(export.kind) \(reference)))")
        }
    }

    mutating func printElements() {
        for (i, element) in module.elements.enumerated() {
            var text = "(elem (;\(i);)"
            switch element.mode {
            case .passive: break
            case .declarative: text += " declare"
            case .active(let table, let offset): text += " (table \(table)) (offset \(constantExpression(offset)))"
            }
            switch element.initializers {
            case .functions(let functions):
                text += " func" + functions.map { " " + functionReference($0) }.joined()
            case .expressions(let expressions):
                text += " " + Self.valueType(element.type) + expressions.map { " (item \(constantExpression($0)))" }.joined()
            }
            line(text + ")")
        }
    }

    mutating func printData() {
        for (i, segment) in module.data.enumerated() {
            var text = "(data (;\(i);)"
            if case .active(let memory, let offset) = segment.mode {
                text += " (memory \(memory)) (offset \(constantExpression(offset)))"
            }
            line(text + " " + Self.string(module.bytes[segment.range]) + ")")
        }
    }

    // MARK: Instructions

    static func heapType(_ heap: HeapType) -> String { heap.description }

    static func blockType(_ type: BlockType) -> String {
        switch type {
        case .empty: return ""
        case .value(let t): return " (result \(valueType(t)))"
        case .typeIndex(let i): return " (type \(i))"
        }
    }

    static func float32(_ bits: UInt32) -> String {
        let value = Float(bitPattern: bits)
        let sign = bits >> 31 == 1 ? "-" : ""
        if value.isNaN {
            let payload = bits & 0x7F_FFFF
            return sign + (payload == 0x40_0000 ? "nan" : "nan:0x" + String(payload, radix: 16))
        }
        if value.isInfinite { return sign + "inf" }
        return value.description
    }

    static func float64(_ bits: UInt64) -> String {
        let value = Double(bitPattern: bits)
        let sign = bits >> 63 == 1 ? "-" : ""
        if value.isNaN {
            let payload = bits & 0xF_FFFF_FFFF_FFFF
            return sign + (payload == 0x8_0000_0000_0000 ? "nan" : "nan:0x" + String(payload, radix: 16))
        }
        if value.isInfinite { return sign + "inf" }
        return value.description
    }

    static func memArg(_ m: MemArg, _ opcode: Opcode) -> String {
        var text = m.memory != 0 ? " \(m.memory)" : ""
        if m.offset != 0 { text += " offset=\(m.offset)" }
        if m.align != UInt32(opcode.info.naturalAlignment) { text += " align=\(UInt64(1) << UInt64(min(m.align, 63)))" }
        return text
    }

    func text(of instruction: Instruction) -> String {
        let opcode = instruction.opcode
        var text = opcode.mnemonic
        switch (opcode.info.immediate, instruction.immediate) {
        case (_, .blockType(let bt)): text += Self.blockType(bt)
        case (.function, .index(let f)): text += " " + functionReference(f)
        case (_, .index(let i)): text += " \(i)"
        case (.callIndirect, .indexPair(let type, let table)): text += (table != 0 ? " \(table)" : "") + " (type \(type))"
        case (.memoryInit, .indexPair(let data, let memory)): text += (memory != 0 ? " \(memory)" : "") + " \(data)"
        case (.memoryCopy, .indexPair(let d, let s)): text += d != 0 || s != 0 ? " \(d) \(s)" : ""
        case (.tableInit, .indexPair(let element, let table)): text += " \(table) \(element)"
        case (_, .indexPair(let a, let b)): text += " \(a) \(b)"
        case (_, .memArg(let m)): text += Self.memArg(m, opcode)
        case (_, .memArgLane(let m, let lane)): text += Self.memArg(m, opcode) + " \(lane)"
        case (_, .lane(let lane)): text += " \(lane)"
        case (_, .i32(let v)): text += " \(v)"
        case (_, .i64(let v)): text += " \(v)"
        case (_, .f32(let bits)): text += " " + Self.float32(bits)
        case (_, .f64(let bits)): text += " " + Self.float64(bits)
        case (.shuffle, .v128(let v)): text += (0..<16).map { " \(v.byte($0))" }.joined()
        case (_, .v128(let v)):
            text += " i32x4" + (0..<4).map { i -> String in
                let lane = UInt32(truncatingIfNeeded: (i < 2 ? v.low : v.high) >> UInt64(32 * (i % 2)))
                return " 0x" + String(lane, radix: 16)
            }.joined()
        case (_, .heapType(let h)) where opcode == .refTest || opcode == .refCast: text += " (ref " + Self.heapType(h) + ")"
        case (_, .heapType(let h)) where opcode == .refTestNull || opcode == .refCastNull: text += " (ref null " + Self.heapType(h) + ")"
        case (_, .heapType(let h)): text += " " + Self.heapType(h)
        case (_, .brOnCast(let label, let from, let to)):
            text += " \(label) " + Self.valueType(.ref(from)) + " " + Self.valueType(.ref(to))
        case (_, .selectTypes(let types)): text += types.isEmpty ? "" : " (result " + types.map(Self.valueType).joined(separator: " ") + ")"
        case (_, .brTable(let targets, let defaultTarget)): text += (targets + [defaultTarget]).map { " \($0)" }.joined()
        case (_, .tryTable(let bt, let clauses)):
            text += Self.blockType(bt) + clauses.map { c in
                " (\(c.kind.mnemonic)" + (c.kind.catchesAll ? "" : " \(c.tag)") + " \(c.label))"
            }.joined()
        case (_, .none): break
        default: break
        }
        return text
    }
}

extension ValueType {
    /// The text format's spelling: `i32`, `funcref`, `(ref null 3)`, ...
    public var textForm: String {
        switch self {
        case .ref(let r):
            if r.isNullable, case .abstract = r.heapType { return r.description }
            return "(ref \(r.isNullable ? "null " : "")\(r.heapType))"
        default: return description
        }
    }
}
