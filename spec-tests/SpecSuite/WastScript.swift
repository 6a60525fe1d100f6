import WasmParser

/// Reads a `.wast` script into the same commands the JSON form holds (so one runner judges both), with
/// modules given inline: `(module ...)` as text, `(module binary ...)` as bytes, `(module quote ...)` as text
/// that only the parser judges. Values become the JSON form's typed bit patterns.
enum WastScript {
    static let commandNames: Set<String> = [
        "module", "register", "invoke", "get", "assert_return", "assert_trap", "assert_exhaustion", "assert_exception",
        "assert_malformed", "assert_invalid", "assert_unlinkable", "assert_uninstantiable", "assert_malformed_custom",
        "assert_invalid_custom",
    ]

    static func parse(_ source: [UInt8]) throws(WasmParserError) -> [SpecCommand] {
        var tokens = try TokenStream(source: source)
        var commands: [SpecCommand] = []
        // A script of bare module fields is one module (the "inline module" form).
        if tokens.kind == .leftParen, tokens.peek().kind == .keyword, !commandNames.contains(try tokens.text(of: tokens.peek())) {
            var command = SpecCommand(type: "module", line: 1)
            command.source = .text(source)
            return [command]
        }
        while !tokens.isAtEnd {
            try tokens.skipAnnotations()
            if tokens.isAtEnd { break }
            commands.append(try command(&tokens))
        }
        return commands
    }

    static func line(_ tokens: inout TokenStream) -> Int {
        tokens.location(of: tokens.current).line
    }

    static func command(_ tokens: inout TokenStream) throws(WasmParserError) -> SpecCommand {
        guard tokens.kind == .leftParen, tokens.peek().kind == .keyword else { throw tokens.unexpected() }
        let line = self.line(&tokens)
        let word = try tokens.text(of: tokens.peek())
        var command = SpecCommand(type: word, line: line)
        switch word {
        case "module":
            let (source, name, kind) = try module(&tokens)
            command.source = source
            command.name = name
            switch kind {
            case .definition: command.type = "module_definition"
            case .instance(let instance, let definition):
                command.type = "module_instance"
                command.instance = instance
                command.module = definition
            case .plain: break
            }
        case "register":
            tokens.index += 2
            command.registerAs = try tokens.name()
            command.name = try tokens.takeIdentifier()
            try tokens.expect(.rightParen)
        case "invoke", "get":
            command.type = "action"
            command.action = try action(&tokens)
        case "assert_return":
            tokens.index += 2
            command.action = try action(&tokens)
            var expected: [SpecValue] = []
            while tokens.kind == .leftParen { expected.append(try value(&tokens)) }
            command.expected = expected
            try tokens.expect(.rightParen)
        case "assert_trap", "assert_exhaustion":
            tokens.index += 2
            if tokens.isField("module") {
                let (source, _, _) = try module(&tokens)
                command.source = source
            } else {
                command.action = try action(&tokens)
            }
            command.text = try tokens.name()
            try tokens.expect(.rightParen)
        case "assert_exception":
            tokens.index += 2
            command.action = try action(&tokens)
            try tokens.expect(.rightParen)
        case "assert_malformed", "assert_invalid", "assert_unlinkable", "assert_uninstantiable",
             "assert_malformed_custom", "assert_invalid_custom":
            tokens.index += 2
            let (source, _, _) = try module(&tokens)
            command.source = source
            command.text = try tokens.name()
            try tokens.expect(.rightParen)
        default:
            throw tokens.error("unknown command \(word)")
        }
        return command
    }

    enum ModuleKind {
        case plain, definition
        case instance(String?, String?)
    }

    /// `(module ...)` in any of its forms; the text form's source is the whole group.
    static func module(_ tokens: inout TokenStream) throws(WasmParserError) -> (SpecCommand.ModuleSource?, String?, ModuleKind) {
        let start = tokens.current.start
        try tokens.expect(.leftParen)
        try tokens.expectKeyword("module")
        var kind = ModuleKind.plain
        if tokens.takeKeyword("instance") {
            let instance = try tokens.takeIdentifier()
            let definition = try tokens.takeIdentifier()
            try tokens.expect(.rightParen)
            return (nil, nil, .instance(instance, definition))
        }
        if tokens.takeKeyword("definition") { kind = .definition }
        let name = try tokens.takeIdentifier()
        if tokens.takeKeyword("binary") {
            var bytes: [UInt8] = []
            while tokens.kind == .string { bytes += try tokens.string() }
            try tokens.expect(.rightParen)
            return (.binary(bytes), name, kind)
        }
        if tokens.takeKeyword("quote") {
            var text: [UInt8] = []
            while tokens.kind == .string {
                text += try tokens.string()
                text.append(0x20)
            }
            try tokens.expect(.rightParen)
            return (.quote(text), name, kind)
        }
        // The module's own text, without `definition` and the name (which are the script's business).
        let firstField = tokens.current
        let fieldsStart = firstField.start
        var depth = 1
        while depth > 0 {
            switch tokens.kind {
            case .leftParen, .annotation: depth += 1
            case .rightParen: depth -= 1
            case .endOfInput: throw tokens.unexpected()
            default: break
            }
            tokens.advance()
        }
        let end = tokens.tokens[tokens.index - 1].start
        // Blank lines in front keep the script's line numbers in the parser's messages.
        let line = tokens.location(of: firstField).line - 1
        _ = start
        let text = [UInt8](repeating: 0x0A, count: line) + Array("(module ".utf8) + tokens.source[fieldsStart..<end] + Array(")".utf8)
        return (.text(text), name, kind)
    }

    /// `(invoke $module? "name" value*)` or `(get $module? "name")`.
    static func action(_ tokens: inout TokenStream) throws(WasmParserError) -> SpecAction {
        try tokens.expect(.leftParen)
        let type = try tokens.keyword()
        guard type == "invoke" || type == "get" else { throw tokens.error("unexpected token") }
        let module = try tokens.takeIdentifier()
        let field = try tokens.name()
        var arguments: [SpecValue] = []
        while tokens.kind == .leftParen { arguments.append(try value(&tokens)) }
        try tokens.expect(.rightParen)
        return SpecAction(type: type, module: module, field: field, args: arguments)
    }

    /// A value or expected result, in the JSON form: integers and floats as their unsigned bit patterns
    /// (or a NaN class), v128 as lanes, references by kind.
    static func value(_ tokens: inout TokenStream) throws(WasmParserError) -> SpecValue {
        try tokens.expect(.leftParen)
        let word = try tokens.keyword()
        defer { }
        var result: SpecValue
        switch word {
        case "i32.const": result = SpecValue(type: "i32", value: ["\(try tokens.integer(bits: 32))"])
        case "i64.const": result = SpecValue(type: "i64", value: ["\(try tokens.integer(bits: 64))"])
        case "f32.const": result = SpecValue(type: "f32", value: [try floatOrNaNClass(&tokens, bits: 32)])
        case "f64.const": result = SpecValue(type: "f64", value: [try floatOrNaNClass(&tokens, bits: 64)])
        case "v128.const":
            let shape = try tokens.keyword()
            let (count, bits, isFloat): (Int, Int, Bool)
            switch shape {
            case "i8x16": (count, bits, isFloat) = (16, 8, false)
            case "i16x8": (count, bits, isFloat) = (8, 16, false)
            case "i32x4": (count, bits, isFloat) = (4, 32, false)
            case "i64x2": (count, bits, isFloat) = (2, 64, false)
            case "f32x4": (count, bits, isFloat) = (4, 32, true)
            case "f64x2": (count, bits, isFloat) = (2, 64, true)
            default: throw tokens.error("unexpected token")
            }
            var lanes: [String] = []
            for _ in 0..<count {
                lanes.append(isFloat ? try floatOrNaNClass(&tokens, bits: bits) : "\(try tokens.integer(bits: bits))")
            }
            let laneType = isFloat ? "f\(bits)" : "i\(bits)"
            result = SpecValue(type: "v128", laneType: laneType, value: lanes)
        case "ref.null" where tokens.kind == .rightParen:
            result = SpecValue(type: "refnull", value: [])
        case "ref.null":
            let heap = tokens.kind == .keyword ? try tokens.keyword() : "\(try tokens.unsignedInteger())"
            let type: String
            switch heap {
            case "func", "nofunc": type = "funcref"
            case "extern", "noextern": type = "externref"
            case "exn", "noexn": type = "exnref"
            default: type = "anyref"
            }
            result = SpecValue(type: type, value: ["null"])
        case "ref.extern", "ref.host":
            // `ref.host N` is the same host value seen from the `any` hierarchy.
            result = SpecValue(type: word == "ref.extern" ? "externref" : "anyref",
                               value: tokens.kind == .keyword ? ["\(try tokens.unsignedInteger())"] : [])
        case "ref.func":
            if tokens.kind != .rightParen { try tokens.skipGroup() }
            result = SpecValue(type: "funcref", value: [])
        case "ref.exn": result = SpecValue(type: "exnref", value: [])
        case "ref.struct": result = SpecValue(type: "structref", value: [])
        case "ref.array": result = SpecValue(type: "arrayref", value: [])
        case "ref.i31": result = SpecValue(type: "i31ref", value: [])
        case "ref.eq": result = SpecValue(type: "eqref", value: [])
        case "ref.any": result = SpecValue(type: "anyref", value: [])
        case "either":
            var values: [SpecValue] = []
            while tokens.kind == .leftParen { values.append(try value(&tokens)) }
            result = SpecValue(type: "either", value: [])
            result.values = values
        default:
            throw tokens.error("unexpected token")
        }
        try tokens.expect(.rightParen)
        return result
    }

    static func floatOrNaNClass(_ tokens: inout TokenStream, bits: Int) throws(WasmParserError) -> String {
        if tokens.isKeyword("nan:canonical") || tokens.isKeyword("nan:arithmetic") {
            return try tokens.keyword()
        }
        return "\(try tokens.float(bits: bits))"
    }
}
