/// Annotations of the text format (`(@id ...)`): the ones Nebula understands become custom sections —
/// `(@custom "name" (before|after SECTION)? "bytes"*)`, `(@name "...")` on the module and functions, and
/// `(@metadata.code.branch_hint "\00"|"\01")` before an `if` or `br_if`. Any other annotation is skipped.
struct AnnotationState {
    struct Custom {
        var name: String
        var payload: [UInt8]
        var placement: Int
    }

    var customs: [Custom] = []
    /// Branch hints by function index: (offset in the body, likely).
    var branchHints: [UInt32: [(offset: Int, likely: Bool)]] = [:]
    var currentFunction: UInt32?
    var bodyStart = 0
    /// A hint read in a body, waiting for the instruction it annotates (the next plain instruction, or the
    /// folded instruction it precedes, whose opcode comes after its operands).
    var pendingHint: Bool?
    var hintsInFunction: [(codeOffset: Int, likely: Bool)] = []
    var moduleNameSeen = false

    mutating func beginFunction(index: UInt32, bodyStart: Int) {
        currentFunction = index
        self.bodyStart = bodyStart
        hintsInFunction = []
        pendingHint = nil
    }

    /// Records the function's hints with offsets from its body's start (`codeOffset`: where the
    /// instructions begin within the body).
    mutating func endFunction(codeOffset: Int) {
        if let function = currentFunction, !hintsInFunction.isEmpty {
            branchHints[function] = hintsInFunction.map { (codeOffset + $0.codeOffset, $0.likely) }
        }
        currentFunction = nil
        pendingHint = nil
    }

    /// Adds the custom sections and branch hints to the parsed module.
    func apply(to module: inout Module, parser: TextParser) throws(WasmParserError) {
        var bytes = module.bytes
        for custom in customs {
            let start = bytes.count
            bytes += custom.payload
            module.customSections.append(CustomSection(name: custom.name, range: start..<bytes.count, placement: custom.placement))
        }
        if !branchHints.isEmpty {
            var payload: [UInt8] = []
            let sorted = branchHints.sorted { $0.key < $1.key }
            Instruction.appendUnsigned(UInt64(sorted.count), to: &payload)
            for (function, hints) in sorted {
                Instruction.appendUnsigned(UInt64(function), to: &payload)
                Instruction.appendUnsigned(UInt64(hints.count), to: &payload)
                for hint in hints {
                    Instruction.appendUnsigned(UInt64(hint.offset), to: &payload)
                    payload += [1, hint.likely ? 1 : 0]
                }
            }
            let start = bytes.count
            bytes += payload
            // The branch hint section goes before the code section.
            module.customSections.append(CustomSection(name: Module.branchHintSectionName, range: start..<bytes.count,
                                                       placement: 2 * SectionID.code.order - 1))
        }
        guard bytes.count != module.bytes.count else { return }
        var rebuilt = Module(bytes: bytes)
        rebuilt.copyFields(from: module)
        module = rebuilt
    }
}

extension Module {
    /// Copies everything but `bytes` (whose prefix must be the same).
    mutating func copyFields(from other: Module) {
        features = other.features
        types = other.types
        recursionGroups = other.recursionGroups
        imports = other.imports
        functionTypeIndices = other.functionTypeIndices
        tables = other.tables
        tableInitializers = other.tableInitializers
        memories = other.memories
        tags = other.tags
        globals = other.globals
        exports = other.exports
        start = other.start
        elements = other.elements
        dataCount = other.dataCount
        codes = other.codes
        data = other.data
        customSections = other.customSections
        sections = other.sections
        names = other.names
        branchHints = other.branchHints
        customSectionIssues = other.customSectionIssues
    }
}

extension TextParser {
    static let sectionNames: [String: SectionID] = [
        "type": .type, "import": .import, "func": .function, "table": .table, "memory": .memory, "global": .global,
        "export": .export, "start": .start, "elem": .element, "code": .code, "data": .data, "datacount": .dataCount,
        "tag": .tag,
    ]

    /// The annotation's id (after `(@`).
    func annotationName() throws(WasmParserError) -> String {
        let token = tokens.current
        return String(decoding: tokens.source[(token.start + 2)..<token.end], as: UTF8.self)
    }

    /// `(@name "...")` after a module's or function's name: the name the name section gives it.
    mutating func nameAnnotation() throws(WasmParserError) -> String? {
        guard tokens.kind == .annotation, try annotationName() == "name" else { return nil }
        tokens.advance()
        let name = try tokens.name()
        try tokens.expect(.rightParen)
        return name
    }

    /// Records the pending branch hint (if any) for the instruction about to be emitted at `offset`.
    mutating func hintInstruction(at offset: Int, _ hint: Bool?) {
        if let hint { annotations.hintsInFunction.append((offset, hint)) }
    }

    /// An annotation among module fields.
    mutating func annotationAtModuleLevel() throws(WasmParserError) {
        switch try annotationName() {
        case "custom": try customAnnotation()
        case "metadata.code.branch_hint":
            throw error("@metadata.code.branch_hint annotation: not in a function")
        case "name":
            throw error("misplaced @name annotation")
        default:
            try tokens.skipGroup()
        }
    }

    /// An annotation among instructions: branch hints are kept, `@custom` is misplaced here, others skipped.
    mutating func annotationInCode() throws(WasmParserError) {
        switch try annotationName() {
        case "metadata.code.branch_hint":
            tokens.advance()
            let value = try tokens.string()
            try tokens.expect(.rightParen)
            guard value.count == 1, value[0] <= 1 else { throw error("@metadata.code.branch_hint annotation: invalid hint") }
            guard annotations.pendingHint == nil else { throw error("@metadata.code.branch_hint annotation: duplicate annotation") }
            guard annotations.currentFunction != nil else { throw error("@metadata.code.branch_hint annotation: not in a function") }
            annotations.pendingHint = value[0] == 1
        case "custom": throw error("misplaced @custom annotation")
        case "name": throw error("misplaced @name annotation")
        default: try tokens.skipGroup()
        }
    }

    /// `(@custom "name" (before|after SECTION)? "bytes"*)`.
    mutating func customAnnotation() throws(WasmParserError) {
        tokens.advance()
        guard tokens.kind == .string else { throw error("@custom annotation: missing section name") }
        let nameToken = tokens.current
        let raw = try tokens.string()
        guard let name = UTF8Validation.decode(raw[...]) else { throw tokens.error("@custom annotation: malformed UTF-8 encoding", at: nameToken) }
        var placement = Int.max
        if tokens.kind == .leftParen {
            tokens.advance()
            guard tokens.kind == .keyword else { throw error("@custom annotation: malformed placement") }
            let position = try tokens.keyword()
            guard position == "before" || position == "after" else { throw error("@custom annotation: malformed placement") }
            guard tokens.kind == .keyword else { throw error("@custom annotation: malformed section kind") }
            let section = try tokens.keyword()
            switch (position, section) {
            case ("before", "first"): placement = -1
            case ("after", "last"): placement = .max
            default:
                guard let id = TextParser.sectionNames[section] else { throw error("@custom annotation: malformed section kind") }
                placement = 2 * id.order + (position == "after" ? 1 : -1)
            }
            guard tokens.kind == .rightParen else { throw error("@custom annotation: unexpected token") }
            tokens.advance()
        }
        var payload: [UInt8] = []
        while tokens.kind == .string { payload += try tokens.string() }
        guard tokens.kind == .rightParen else { throw error("@custom annotation: unexpected token") }
        tokens.advance()
        annotations.customs.append(AnnotationState.Custom(name: name, payload: payload, placement: placement))
    }
}
