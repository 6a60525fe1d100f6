/// Parses the WebAssembly text format into the same `Module` the binary decoder produces.
///
/// Two passes over the module's fields: the first binds every `$name` of every index space (so fields may
/// refer to later ones) and reads the type definitions; the second reads each field, encoding function
/// bodies into the binary instruction format as it goes (the bodies of the resulting `Module` are ranges
/// of its `bytes`, as for a decoded module). Abbreviations are expanded as the spec's text format defines
/// them: inline imports and exports, inline type uses and implicit type definitions, folded instructions,
/// `(elem ...)` in tables and `(data ...)` in memories.
///
///     let module = try Module.parse(text: "(module (func (export \"f\") (result i32) (i32.const 42)))")
extension Module {
    /// Parses a text module: `(module ...)` or a sequence of module fields.
    public static func parse(text: String, features: Features = .wasm3) throws(WasmParserError) -> Module {
        try parse(text: Array(text.utf8), features: features)
    }

    public static func parse(text: [UInt8], features: Features = .wasm3) throws(WasmParserError) -> Module {
        var tokens = try TokenStream(source: text)
        var parser = TextParser(tokens: tokens, features: features)
        let module = try parser.parseModule()
        tokens = parser.tokens
        guard tokens.isAtEnd else { throw tokens.unexpected() }
        return module
    }

    /// Whether `bytes` look like the text format rather than a binary module (by content, not by name).
    public static func isText(_ bytes: [UInt8]) -> Bool {
        !(bytes.count >= 4 && bytes[0] == 0 && bytes[1] == 0x61 && bytes[2] == 0x73 && bytes[3] == 0x6D)
    }

    /// Loads a module given as text or binary: parsed (text), encoded, then decoded and validated exactly as
    /// a binary is, so a text module is judged by the same rules and messages.
    public static func load(textOrBinary bytes: [UInt8], features: Features = .wasm3) throws(WasmParserError) -> Module {
        guard isText(bytes) else { return try load(bytes, features: features) }
        let parsed = try parse(text: bytes, features: features)
        return try load(parsed.encode(), features: features)
    }
}

/// The index spaces a `$name` can live in.
enum IndexSpace: Int, CaseIterable {
    case type, function, table, memory, global, tag, element, data

    var noun: String {
        switch self {
        case .type: return "type"
        case .function: return "func"
        case .table: return "table"
        case .memory: return "memory"
        case .global: return "global"
        case .tag: return "tag"
        case .element: return "elem segment"
        case .data: return "data segment"
        }
    }
}

public struct TextParser {
    public var tokens: TokenStream
    let features: Features

    // Names and sizes of the index spaces (imports first in each).
    var names = [[String: UInt32]](repeating: [:], count: IndexSpace.allCases.count)
    var counts = [Int](repeating: 0, count: IndexSpace.allCases.count)
    /// Field names of struct types, by type index.
    var fieldNames: [UInt32: [String: UInt32]] = [:]
    /// The kind of the first definition (not import), for "import after …" errors.
    var firstDefinition: String?

    var module = Module(bytes: [])
    /// Function bodies and data payloads, laid end to end: the module's `bytes`.
    var bytes: [UInt8] = []
    /// Types defined in the text (implicit types go after them).
    var explicitTypeCount = 0
    var functionNames: [UInt32: String] = [:]
    var localNames: [UInt32: [UInt32: String]] = [:]
    var moduleName: String?
    /// Whether a body uses `memory.init` or `data.drop` (the binary then needs a data count section).
    var usesDataCount = false
    var annotations = AnnotationState()

    public init(tokens: TokenStream, features: Features) {
        self.tokens = tokens
        self.features = features
    }

    func error(_ message: String) -> WasmParserError { tokens.error(message) }

    // MARK: Names

    mutating func bind(_ name: String?, in space: IndexSpace) throws(WasmParserError) -> UInt32 {
        let index = UInt32(counts[space.rawValue])
        counts[space.rawValue] += 1
        if let name {
            guard names[space.rawValue][name] == nil else { throw error("duplicate \(space.noun)") }
            names[space.rawValue][name] = index
        }
        return index
    }

    /// An index or `$name` of `space` (throws `unknown …` for a name that is not bound).
    mutating func index(in space: IndexSpace) throws(WasmParserError) -> UInt32 {
        if tokens.kind == .identifier {
            let token = tokens.current
            let name = try tokens.text(of: token)
            guard let index = names[space.rawValue][name] else { throw tokens.error("unknown \(space.noun) $\(name)", at: token) }
            tokens.advance()
            return index
        }
        return UInt32(try tokens.unsignedInteger())
    }

    /// An index if one comes next.
    mutating func optionalIndex(in space: IndexSpace) throws(WasmParserError) -> UInt32? {
        guard tokens.kind == .identifier || tokens.isUnsignedInteger else { return nil }
        return try index(in: space)
    }

    // MARK: The module

    mutating func parseModule() throws(WasmParserError) -> Module {
        var wrapped = false
        if tokens.takeField("module") {
            wrapped = true
            moduleName = try tokens.takeIdentifier()
            if let name = try nameAnnotation() { moduleName = name }
            if tokens.kind == .annotation, try annotationName() == "name" { throw error("@name annotation: multiple module") }
        }
        let start = tokens.index
        try scanFields(wrapped: wrapped)
        tokens.index = start
        try readTypeDefinitions(wrapped: wrapped)
        tokens.index = start
        try readFields(wrapped: wrapped)
        if wrapped { try tokens.expect(.rightParen) }
        return try finish()
    }

    /// Calls `body` at each module field's opening parenthesis (with the field's keyword), skipping to the
    /// field's end afterwards when `body` leaves it unread. Only the last pass (`strict`) reports what
    /// follows the fields: an error inside a field comes first, as a one-pass parser finds it.
    mutating func forEachField(wrapped: Bool, strict: Bool = false, _ body: (inout TextParser, String) throws(WasmParserError) -> Void) throws(WasmParserError) {
        while true {
            if tokens.kind == .annotation {
                if strict { try annotationAtModuleLevel() } else { try tokens.skipGroup() }
                continue
            }
            guard tokens.kind == .leftParen else { break }
            guard tokens.peek().kind == .keyword else {
                if !strict { return }
                throw tokens.error(tokens.peek().kind == .reserved ? "unknown operator" : "unexpected token", at: tokens.peek())
            }
            let keyword = try tokens.text(of: tokens.peek())
            let fieldStart = tokens.index
            try body(&self, keyword)
            if tokens.index == fieldStart { try tokens.skipGroup() }
        }
        if strict, wrapped ? tokens.kind != .rightParen : !tokens.isAtEnd { throw tokens.unexpected() }
    }

    /// Pass 1: bind the names of every index space, count imports and definitions.
    mutating func scanFields(wrapped: Bool) throws(WasmParserError) {
        var sawStart = false
        try forEachField(wrapped: wrapped) { (p: inout TextParser, keyword: String) throws(WasmParserError) in
            let start = p.tokens.index
            p.tokens.index += 2
            switch keyword {
            case "type":
                _ = try p.bind(try p.tokens.takeIdentifier(), in: .type)
            case "rec":
                while p.tokens.takeField("type") {
                    _ = try p.bind(try p.tokens.takeIdentifier(), in: .type)
                    try p.skipToClose()
                }
            case "import":
                _ = try p.tokens.name()
                _ = try p.tokens.name()
                try p.tokens.expect(.leftParen)
                let kind = try p.tokens.keyword()
                guard let space = TextParser.space(ofImportKind: kind) else { throw p.error("unexpected token") }
                try p.importComesFirst()
                _ = try p.bind(try p.tokens.takeIdentifier(), in: space)
            case "func", "table", "memory", "global", "tag":
                let space = TextParser.space(ofImportKind: keyword)!
                let name = try p.tokens.takeIdentifier()
                try p.tokens.skipAnnotations()
                while p.tokens.isField("export") { try p.tokens.skipGroup() }
                if p.tokens.isField("import") {
                    try p.importComesFirst()
                } else if p.firstDefinition == nil {
                    p.firstDefinition = keyword == "func" ? "function" : keyword
                }
                _ = try p.bind(name, in: space)
                // `(table ... (elem ...))` and `(memory (data ...))` define a segment too.
                if keyword == "table" || keyword == "memory" {
                    var depth = 0
                    var i = p.tokens.index
                    while p.tokens.tokens[i].kind != .endOfInput {
                        let t = p.tokens.tokens[i]
                        if t.kind == .leftParen || t.kind == .annotation { depth += 1 }
                        if t.kind == .rightParen {
                            if depth == 0 { break }
                            depth -= 1
                        }
                        if depth == 1, t.kind == .keyword, p.tokens.tokens[i - 1].kind == .leftParen,
                           p.tokens.equals(t, keyword == "table" ? "elem" : "data") {
                            _ = try p.bind(nil, in: keyword == "table" ? .element : .data)
                        }
                        i += 1
                    }
                }
            case "elem":
                _ = try p.bind(try p.tokens.takeIdentifier(), in: .element)
            case "data":
                _ = try p.bind(try p.tokens.takeIdentifier(), in: .data)
            case "start":
                guard !sawStart else { throw p.error("multiple start sections") }
                sawStart = true
            case "export":
                break
            default:
                throw p.tokens.error("unknown operator \(keyword)", at: p.tokens.peek(-1))
            }
            p.tokens.index = start
            try p.tokens.skipGroup()
        }
    }

    static func space(ofImportKind kind: String) -> IndexSpace? {
        switch kind {
        case "func": return .function
        case "table": return .table
        case "memory": return .memory
        case "global": return .global
        case "tag": return .tag
        default: return nil
        }
    }

    func importComesFirst() throws(WasmParserError) {
        if let firstDefinition { throw error("import after \(firstDefinition)") }
    }

    /// Skips to the `)` closing the current group (consumed).
    mutating func skipToClose() throws(WasmParserError) {
        while tokens.kind != .rightParen {
            guard !tokens.isAtEnd else { throw tokens.unexpected() }
            try tokens.skipGroup()
        }
        tokens.advance()
    }

    /// Pass 1b: the type definitions (they decide implicit types, so they come before everything else).
    mutating func readTypeDefinitions(wrapped: Bool) throws(WasmParserError) {
        try forEachField(wrapped: wrapped) { (p: inout TextParser, keyword: String) throws(WasmParserError) in
            switch keyword {
            case "type":
                let first = p.module.types.count
                p.module.types.append(try p.typeDefinition())
                p.module.recursionGroups.append(first..<p.module.types.count)
            case "rec":
                p.tokens.index += 2
                let first = p.module.types.count
                while p.tokens.isField("type") {
                    p.module.types.append(try p.typeDefinition())
                }
                try p.tokens.expect(.rightParen)
                p.module.recursionGroups.append(first..<p.module.types.count)
            default:
                try p.tokens.skipGroup()
            }
        }
        explicitTypeCount = module.types.count
    }

    /// Pass 2: every other field, in order.
    mutating func readFields(wrapped: Bool) throws(WasmParserError) {
        try forEachField(wrapped: wrapped, strict: true) { (p: inout TextParser, keyword: String) throws(WasmParserError) in
            switch keyword {
            case "type", "rec": try p.tokens.skipGroup()
            case "import": try p.importField()
            case "func": try p.functionField()
            case "table": try p.tableField()
            case "memory": try p.memoryField()
            case "global": try p.globalField()
            case "tag": try p.tagField()
            case "export": try p.exportField()
            case "start":
                p.tokens.index += 2
                p.module.start = try p.index(in: .function)
                try p.tokens.expect(.rightParen)
            case "elem": try p.elementField()
            case "data": try p.dataField()
            default: try p.tokens.skipGroup()
            }
        }
    }

    mutating func finish() throws(WasmParserError) -> Module {
        var result = Module(bytes: bytes)
        result.features = features
        result.types = module.types
        result.recursionGroups = module.recursionGroups
        result.imports = module.imports
        result.functionTypeIndices = module.functionTypeIndices
        result.tables = module.tables
        result.tableInitializers = module.tableInitializers
        result.memories = module.memories
        result.tags = module.tags
        result.globals = module.globals
        result.exports = module.exports
        result.start = module.start
        result.elements = module.elements
        result.codes = module.codes
        result.data = module.data
        if usesDataCount { result.dataCount = UInt32(module.data.count) }
        if moduleName != nil || !functionNames.isEmpty || !localNames.isEmpty {
            result.names = NameSection(moduleName: moduleName, functionNames: functionNames, localNames: localNames)
        }
        try annotations.apply(to: &result, parser: self)
        return result
    }

    // MARK: Fields

    /// `(export "name")*` and `(import "module" "name")?` after a definition's name.
    mutating func inlineExportsAndImport(_ kind: ExternalKind, index: UInt32) throws(WasmParserError) -> (module: String, name: String)? {
        while tokens.takeField("export") {
            module.exports.append(Export(name: try tokens.name(), kind: kind, index: index))
            try tokens.expect(.rightParen)
        }
        guard tokens.takeField("import") else { return nil }
        let moduleName = try tokens.name()
        let name = try tokens.name()
        try tokens.expect(.rightParen)
        return (moduleName, name)
    }

    mutating func importField() throws(WasmParserError) {
        tokens.index += 2
        let moduleName = try tokens.name()
        let name = try tokens.name()
        try tokens.expect(.leftParen)
        let kind = try tokens.keyword()
        let id = try tokens.takeIdentifier()
        let descriptor: ImportDescriptor
        switch kind {
        case "func":
            let index = UInt32(module.importedFunctionTypeIndices.count)
            let use = try typeUse()
            descriptor = .function(typeIndex: use.typeIndex)
            if let id { functionNames[index] = id }
        case "table": descriptor = .table(try tableType())
        case "memory": descriptor = .memory(try memoryType())
        case "global": descriptor = .global(try globalType())
        case "tag": descriptor = .tag(TagType(typeIndex: try typeUse().typeIndex))
        default: throw error("unexpected token")
        }
        try tokens.expect(.rightParen)
        try tokens.expect(.rightParen)
        module.imports.append(Import(module: moduleName, name: name, descriptor: descriptor))
    }

    var functionIndex: UInt32 { UInt32(module.importedFunctionTypeIndices.count + module.functionTypeIndices.count) }

    mutating func functionField() throws(WasmParserError) {
        tokens.index += 2
        let id = try tokens.takeIdentifier()
        let index = functionIndex
        if let id { functionNames[index] = id }
        if let name = try nameAnnotation() { functionNames[index] = name }
        if let (moduleName, name) = try inlineExportsAndImport(.function, index: index) {
            let use = try typeUse()
            try tokens.expect(.rightParen)
            module.imports.append(Import(module: moduleName, name: name, descriptor: .function(typeIndex: use.typeIndex)))
            return
        }
        let use = try typeUse()
        module.functionTypeIndices.append(use.typeIndex)
        try functionBody(index: index, use: use)
    }

    mutating func tableField() throws(WasmParserError) {
        tokens.index += 2
        _ = try tokens.takeIdentifier()
        _ = try nameAnnotation()
        let index = UInt32(module.importedTables.count + module.tables.count)
        if let (moduleName, name) = try inlineExportsAndImport(.table, index: index) {
            let type = try tableType()
            try tokens.expect(.rightParen)
            module.imports.append(Import(module: moduleName, name: name, descriptor: .table(type)))
            return
        }
        // `(table i64? reftype (elem ...))`: a table exactly as large as its segment.
        let save = tokens.index
        let is64 = tokens.takeKeyword("i64")
        if !tokens.isUnsignedInteger, let elementType = try? referenceType(), tokens.isField("elem") {
            tokens.index += 2
            let byIndex = tokens.kind == .identifier || tokens.isUnsignedInteger || tokens.kind == .rightParen
            var items = byIndex ? try functionIndices() : try elementItems(type: elementType)
            var segmentType = byIndex && features.hasTypeSystem3 ? ValueType.ref(ReferenceType(nullable: false, .func)) : elementType
            // Function indices for a table of a typed function type: `ref.func` items of the table's type.
            if case .functions(let functions) = items, elementType != .funcref {
                items = .expressions(functions.map { ConstantExpression(instructions: [Instruction(.refFunc, .index($0))]) })
                segmentType = elementType
            }
            try tokens.expect(.rightParen)
            try tokens.expect(.rightParen)
            let count = UInt64(items.count)
            module.tables.append(TableType(elementType: elementType, limits: Limits(min: count, max: count), is64: is64))
            module.tableInitializers.append(nil)
            let offset = ConstantExpression(instructions: [is64 ? Instruction(.i64Const, .i64(0)) : Instruction(.i32Const, .i32(0))])
            module.elements.append(ElementSegment(type: segmentType, mode: .active(table: index, offset: offset), initializers: items, offset: 0))
            return
        }
        tokens.index = save
        let type = try tableType()
        var initializer: ConstantExpression?
        if tokens.kind != .rightParen { initializer = try constantExpression() }
        try tokens.expect(.rightParen)
        module.tables.append(type)
        module.tableInitializers.append(initializer)
    }

    mutating func memoryField() throws(WasmParserError) {
        tokens.index += 2
        _ = try tokens.takeIdentifier()
        _ = try nameAnnotation()
        let index = UInt32(module.importedMemories.count + module.memories.count)
        if let (moduleName, name) = try inlineExportsAndImport(.memory, index: index) {
            let type = try memoryType()
            try tokens.expect(.rightParen)
            module.imports.append(Import(module: moduleName, name: name, descriptor: .memory(type)))
            return
        }
        // `(memory i64? (data "..."))`: a memory exactly as large as its data, rounded up to pages.
        let save = tokens.index
        let is64 = tokens.takeKeyword("i64")
        if tokens.takeField("data") {
            var payload: [UInt8] = []
            while tokens.kind == .string { payload += try tokens.string() }
            try tokens.expect(.rightParen)
            try tokens.expect(.rightParen)
            let pages = UInt64((payload.count + MemoryType.pageSize - 1) / MemoryType.pageSize)
            module.memories.append(MemoryType(limits: Limits(min: pages, max: pages), is64: is64))
            let offset = ConstantExpression(instructions: [is64 ? Instruction(.i64Const, .i64(0)) : Instruction(.i32Const, .i32(0))])
            let start = bytes.count
            bytes += payload
            module.data.append(DataSegment(mode: .active(memory: index, offset: offset), range: start..<bytes.count))
            return
        }
        tokens.index = save
        let type = try memoryType()
        try tokens.expect(.rightParen)
        module.memories.append(type)
    }

    mutating func globalField() throws(WasmParserError) {
        tokens.index += 2
        _ = try tokens.takeIdentifier()
        _ = try nameAnnotation()
        let index = UInt32(module.importedGlobals.count + module.globals.count)
        if let (moduleName, name) = try inlineExportsAndImport(.global, index: index) {
            let type = try globalType()
            try tokens.expect(.rightParen)
            module.imports.append(Import(module: moduleName, name: name, descriptor: .global(type)))
            return
        }
        let type = try globalType()
        let initializer = try constantExpression()
        try tokens.expect(.rightParen)
        module.globals.append(Global(type: type, initializer: initializer))
    }

    mutating func tagField() throws(WasmParserError) {
        tokens.index += 2
        _ = try tokens.takeIdentifier()
        _ = try nameAnnotation()
        let index = UInt32(module.importedTags.count + module.tags.count)
        if let (moduleName, name) = try inlineExportsAndImport(.tag, index: index) {
            let use = try typeUse()
            try tokens.expect(.rightParen)
            module.imports.append(Import(module: moduleName, name: name, descriptor: .tag(TagType(typeIndex: use.typeIndex))))
            return
        }
        let use = try typeUse()
        try tokens.expect(.rightParen)
        module.tags.append(TagType(typeIndex: use.typeIndex))
    }

    mutating func exportField() throws(WasmParserError) {
        tokens.index += 2
        let name = try tokens.name()
        try tokens.expect(.leftParen)
        let kind: ExternalKind
        let space: IndexSpace
        switch try tokens.keyword() {
        case "func": (kind, space) = (.function, .function)
        case "table": (kind, space) = (.table, .table)
        case "memory": (kind, space) = (.memory, .memory)
        case "global": (kind, space) = (.global, .global)
        case "tag": (kind, space) = (.tag, .tag)
        default: throw error("unexpected token")
        }
        let index = try self.index(in: space)
        try tokens.expect(.rightParen)
        try tokens.expect(.rightParen)
        module.exports.append(Export(name: name, kind: kind, index: index))
    }

    mutating func elementField() throws(WasmParserError) {
        let start = tokens.current.start
        tokens.index += 2
        _ = try tokens.takeIdentifier()
        var mode: ElementSegment.Mode = .passive
        if tokens.takeKeyword("declare") {
            mode = .declarative
        } else {
            var table: UInt32?
            if tokens.takeField("table") {
                table = try index(in: .table)
                try tokens.expect(.rightParen)
            }
            if tokens.isField("offset") {
                mode = .active(table: table ?? 0, offset: try offsetExpression())
            } else if tokens.kind == .leftParen && !tokens.isField("item") && !isReferenceTypeStart() {
                mode = .active(table: table ?? 0, offset: try constantExpression(single: true))
            } else if table != nil {
                throw error("unexpected token")
            }
        }
        let type: ValueType
        let items: ElementSegment.Initializers
        if tokens.takeKeyword("func") {
            type = features.hasTypeSystem3 ? .ref(ReferenceType(nullable: false, .func)) : .funcref
            items = try functionIndices()
        } else if tokens.kind == .identifier || tokens.isUnsignedInteger || tokens.kind == .rightParen {
            // `(elem (i32.const 0) $f $g)`: function indices for table 0 (2.0's only form).
            guard case .active = mode else { throw error("unexpected token") }
            type = features.hasTypeSystem3 ? .ref(ReferenceType(nullable: false, .func)) : .funcref
            items = try functionIndices()
        } else {
            type = try referenceType()
            items = try elementItems(type: type)
        }
        try tokens.expect(.rightParen)
        module.elements.append(ElementSegment(type: type, mode: mode, initializers: items, offset: start))
    }

    mutating func functionIndices() throws(WasmParserError) -> ElementSegment.Initializers {
        var indices: [UInt32] = []
        while tokens.kind != .rightParen { indices.append(try index(in: .function)) }
        return .functions(indices)
    }

    /// The items of an element segment: `(item expr)` or a single folded instruction each.
    mutating func elementItems(type: ValueType) throws(WasmParserError) -> ElementSegment.Initializers {
        var expressions: [ConstantExpression] = []
        while tokens.kind != .rightParen {
            if tokens.isField("item") {
                expressions.append(try offsetExpression(keyword: "item"))
            } else {
                expressions.append(try constantExpression(single: true))
            }
        }
        return .expressions(expressions)
    }

    mutating func dataField() throws(WasmParserError) {
        tokens.index += 2
        _ = try tokens.takeIdentifier()
        var mode: DataSegment.Mode = .passive
        var memory: UInt32?
        if tokens.takeField("memory") {
            memory = try index(in: .memory)
            try tokens.expect(.rightParen)
        }
        if tokens.isField("offset") {
            mode = .active(memory: memory ?? 0, offset: try offsetExpression())
        } else if tokens.kind == .leftParen {
            mode = .active(memory: memory ?? 0, offset: try constantExpression(single: true))
        } else if memory != nil {
            throw error("unexpected token")
        }
        let start = bytes.count
        while tokens.kind == .string { bytes += try tokens.string() }
        try tokens.expect(.rightParen)
        module.data.append(DataSegment(mode: mode, range: start..<bytes.count))
    }

    /// `(offset instr*)` (or `(item instr*)`): a constant expression in a group of its own.
    mutating func offsetExpression(keyword: StaticString = "offset") throws(WasmParserError) -> ConstantExpression {
        try tokens.expect(.leftParen)
        try tokens.expectKeyword(keyword)
        let expression = try constantExpression()
        try tokens.expect(.rightParen)
        return expression
    }
}
