/// Instructions in the text format, plain and folded, encoded into the binary instruction format as they
/// are read. What immediates follow a mnemonic is the opcode table's `ImmediateKind` — the same list the
/// binary decoder is driven by.
extension TextParser {
    /// Names in scope inside a function body: its locals and the enclosing blocks' labels (innermost last;
    /// the function's own label first).
    struct BodyContext {
        var locals: [String: UInt32] = [:]
        var labels: [String?] = [nil]
        var localCount: UInt32 = 0
    }

    /// Every mnemonic, for lookups by the text of a keyword.
    nonisolated(unsafe) static let opcodes: [String: Opcode] = {
        var table: [String: Opcode] = [:]
        for opcode in Opcode.allCases where table[opcode.mnemonic] == nil { table[opcode.mnemonic] = opcode }
        return table
    }()

    // MARK: Bodies

    mutating func functionBody(index: UInt32, use: TypeUse) throws(WasmParserError) {
        var context = BodyContext()
        var names: [UInt32: String] = [:]
        for (i, name) in use.parameterNames.enumerated() {
            if let name {
                guard context.locals[name] == nil else { throw error("duplicate local") }
                context.locals[name] = UInt32(i)
                names[UInt32(i)] = name
            }
        }
        context.localCount = UInt32(use.function.parameters.count)
        var locals: [ValueType] = []
        while tokens.takeField("local") {
            if let name = try tokens.takeIdentifier() {
                guard context.locals[name] == nil else { throw error("duplicate local") }
                context.locals[name] = context.localCount
                names[context.localCount] = name
                locals.append(try valueType())
                context.localCount += 1
            } else {
                while tokens.kind != .rightParen {
                    locals.append(try valueType())
                    context.localCount += 1
                }
            }
            try tokens.expect(.rightParen)
        }
        if !names.isEmpty { localNames[index] = names }
        // Local declarations, as runs of one type.
        var groups: [LocalGroup] = []
        for type in locals {
            if let last = groups.last, last.type == type {
                groups[groups.count - 1].count += 1
            } else {
                groups.append(LocalGroup(count: 1, type: type))
            }
        }
        let start = bytes.count
        Instruction.appendUnsigned(UInt64(groups.count), to: &bytes)
        for group in groups {
            Instruction.appendUnsigned(UInt64(group.count), to: &bytes)
            group.type.encode(into: &bytes)
        }
        let codeStart = bytes.count
        annotations.beginFunction(index: index, bodyStart: start)
        var code: [UInt8] = []
        try instructionSequence(&code, &context)
        try tokens.expect(.rightParen)
        code.append(0x0B)
        annotations.endFunction(codeOffset: codeStart - start)
        bytes += code
        module.codes.append(FunctionBody(locals: groups, localCount: UInt32(locals.count), range: codeStart..<bytes.count, start: start))
    }

    /// A constant expression: instructions up to the closing `)` (or exactly one folded instruction).
    mutating func constantExpression(single: Bool = false) throws(WasmParserError) -> ConstantExpression {
        var context = BodyContext()
        var code: [UInt8] = []
        if single {
            guard tokens.kind == .leftParen else { throw tokens.unexpected() }
            try foldedInstruction(&code, &context)
        } else {
            try instructionSequence(&code, &context)
        }
        var reader = ByteReader(bytes: code, features: features)
        var instructions: [Instruction] = []
        while !reader.isAtEnd { instructions.append(try reader.readInstruction()) }
        return ConstantExpression(instructions: instructions)
    }

    // MARK: Sequences

    /// Instructions until a `)` or a keyword that ends a block part (`end`, `else`, `catch`, `catch_all`,
    /// `delegate`).
    mutating func instructionSequence(_ code: inout [UInt8], _ context: inout BodyContext) throws(WasmParserError) {
        while true {
            if tokens.kind == .annotation {
                try annotationInCode()
                continue
            }
            switch tokens.kind {
            case .leftParen:
                try foldedInstruction(&code, &context)
            case .keyword:
                if tokens.isKeyword("end") || tokens.isKeyword("else") || tokens.isKeyword("catch")
                    || tokens.isKeyword("catch_all") || tokens.isKeyword("delegate") { return }
                try plainInstruction(&code, &context)
            default:
                return
            }
        }
    }

    /// The depth of a label: a `$name` of an enclosing block or a number.
    mutating func label(_ context: BodyContext) throws(WasmParserError) -> UInt32 {
        if tokens.kind == .identifier {
            let token = tokens.current
            let name = try tokens.text(of: token)
            guard let position = context.labels.lastIndex(of: name) else { throw tokens.error("unknown label $\(name)", at: token) }
            tokens.advance()
            return UInt32(context.labels.count - 1 - position)
        }
        return UInt32(try tokens.unsignedInteger())
    }

    /// `end $label?` (or `else`/`catch` ... `$label?`): a repeated label must be the block's own.
    mutating func closingLabel(_ name: String?) throws(WasmParserError) {
        guard tokens.kind == .identifier else { return }
        let label = try tokens.text(of: tokens.current)
        guard label == name else { throw error("mismatching label") }
        tokens.advance()
    }

    /// `(type x)? (param ...)* (result ...)*` of a block: empty, one result, or a type index.
    mutating func blockType() throws(WasmParserError) -> BlockType {
        if tokens.isField("type") {
            return .typeIndex(try typeUse(allowNames: false).typeIndex)
        }
        let save = tokens.index
        let (params, names) = try parameters(allowNames: false)
        _ = names
        let results = try resultTypes()
        if params.isEmpty && results.count <= 1 { return results.first.map { .value($0) } ?? .empty }
        tokens.index = save
        return .typeIndex(try typeUse(allowNames: false).typeIndex)
    }

    mutating func emit(_ instruction: Instruction, _ code: inout [UInt8]) {
        instruction.encode(into: &code)
    }

    // MARK: Plain instructions

    mutating func plainInstruction(_ code: inout [UInt8], _ context: inout BodyContext) throws(WasmParserError) {
        let token = tokens.current
        let word = try tokens.keyword()
        hintInstruction(at: code.count, annotations.pendingHint)
        annotations.pendingHint = nil
        switch word {
        case "block", "loop":
            let name = try tokens.takeIdentifier()
            emit(Instruction(word == "block" ? .block : .loop, .blockType(try blockType())), &code)
            context.labels.append(name)
            try instructionSequence(&code, &context)
            try tokens.expectKeyword("end")
            try closingLabel(name)
            context.labels.removeLast()
            code.append(0x0B)
        case "if":
            let name = try tokens.takeIdentifier()
            emit(Instruction(.if, .blockType(try blockType())), &code)
            context.labels.append(name)
            try instructionSequence(&code, &context)
            if tokens.takeKeyword("else") {
                try closingLabel(name)
                code.append(0x05)
                try instructionSequence(&code, &context)
            }
            try tokens.expectKeyword("end")
            try closingLabel(name)
            context.labels.removeLast()
            code.append(0x0B)
        case "try_table":
            let name = try tokens.takeIdentifier()
            let blockType = try blockType()
            let clauses = try catchClauses(context)
            emit(Instruction(.tryTable, .tryTable(blockType, clauses)), &code)
            context.labels.append(name)
            try instructionSequence(&code, &context)
            try tokens.expectKeyword("end")
            try closingLabel(name)
            context.labels.removeLast()
            code.append(0x0B)
        case "try":
            let name = try tokens.takeIdentifier()
            emit(Instruction(.try, .blockType(try blockType())), &code)
            context.labels.append(name)
            try instructionSequence(&code, &context)
            var caught = false, caughtAll = false
            while !caughtAll {
                if tokens.takeKeyword("catch") {
                    emit(Instruction(.catch, .index(try index(in: .tag))), &code)
                } else if tokens.takeKeyword("catch_all") {
                    code.append(0x19)
                    caughtAll = true
                } else {
                    break
                }
                caught = true
                try instructionSequence(&code, &context)
            }
            if !caught, tokens.takeKeyword("delegate") {
                context.labels.removeLast()
                emit(Instruction(.delegate, .index(try label(context))), &code)
                return
            }
            try tokens.expectKeyword("end")
            try closingLabel(name)
            context.labels.removeLast()
            code.append(0x0B)
        default:
            let instruction = try operation(word, token, context)
            emit(instruction, &code)
        }
    }

    /// `(catch $tag $label)`, `(catch_ref $tag $label)`, `(catch_all $label)`, `(catch_all_ref $label)`.
    mutating func catchClauses(_ context: BodyContext) throws(WasmParserError) -> [CatchClause] {
        var clauses: [CatchClause] = []
        while tokens.kind == .leftParen {
            let kind: CatchClause.Kind
            if tokens.takeField("catch") { kind = .catch }
            else if tokens.takeField("catch_ref") { kind = .catchRef }
            else if tokens.takeField("catch_all") { kind = .catchAll }
            else if tokens.takeField("catch_all_ref") { kind = .catchAllRef }
            else { break }
            let tag = kind.catchesAll ? 0 : try index(in: .tag)
            clauses.append(CatchClause(kind, tag: tag, label: try label(context)))
            try tokens.expect(.rightParen)
        }
        return clauses
    }

    // MARK: Folded instructions

    mutating func foldedInstruction(_ code: inout [UInt8], _ context: inout BodyContext) throws(WasmParserError) {
        try tokens.expect(.leftParen)
        let token = tokens.current
        let word = try tokens.keyword()
        let hint = annotations.pendingHint
        annotations.pendingHint = nil
        switch word {
        case "block", "loop":
            hintInstruction(at: code.count, hint)
            let name = try tokens.takeIdentifier()
            emit(Instruction(word == "block" ? .block : .loop, .blockType(try blockType())), &code)
            context.labels.append(name)
            try instructionSequence(&code, &context)
            context.labels.removeLast()
            code.append(0x0B)
        case "if":
            let name = try tokens.takeIdentifier()
            let blockType = try blockType()
            while tokens.kind == .leftParen && !tokens.isField("then") { try foldedInstruction(&code, &context) }
            hintInstruction(at: code.count, hint)
            emit(Instruction(.if, .blockType(blockType)), &code)
            context.labels.append(name)
            guard tokens.takeField("then") else { throw tokens.unexpected() }
            try instructionSequence(&code, &context)
            try tokens.expect(.rightParen)
            if tokens.takeField("else") {
                code.append(0x05)
                try instructionSequence(&code, &context)
                try tokens.expect(.rightParen)
            }
            context.labels.removeLast()
            code.append(0x0B)
        case "try_table":
            let name = try tokens.takeIdentifier()
            let blockType = try blockType()
            let clauses = try catchClauses(context)
            hintInstruction(at: code.count, hint)
            emit(Instruction(.tryTable, .tryTable(blockType, clauses)), &code)
            context.labels.append(name)
            try instructionSequence(&code, &context)
            context.labels.removeLast()
            code.append(0x0B)
        case "try":
            let name = try tokens.takeIdentifier()
            hintInstruction(at: code.count, hint)
            emit(Instruction(.try, .blockType(try blockType())), &code)
            context.labels.append(name)
            guard tokens.takeField("do") else { throw tokens.unexpected() }
            try instructionSequence(&code, &context)
            try tokens.expect(.rightParen)
            var delegated = false, caught = false, caughtAll = false
            while tokens.kind == .leftParen && !caughtAll {
                if tokens.takeField("catch") {
                    emit(Instruction(.catch, .index(try index(in: .tag))), &code)
                } else if tokens.takeField("catch_all") {
                    code.append(0x19)
                    caughtAll = true
                } else if !caught, tokens.takeField("delegate") {
                    context.labels.removeLast()
                    emit(Instruction(.delegate, .index(try label(context))), &code)
                    try tokens.expect(.rightParen)
                    delegated = true
                    break
                } else {
                    throw tokens.unexpected()
                }
                caught = true
                try instructionSequence(&code, &context)
                try tokens.expect(.rightParen)
            }
            if !delegated {
                context.labels.removeLast()
                code.append(0x0B)
            }
        default:
            let instruction = try operation(word, token, context)
            while tokens.kind == .leftParen || tokens.kind == .annotation {
                if tokens.kind == .annotation {
                    try annotationInCode()
                    continue
                }
                try foldedInstruction(&code, &context)
            }
            hintInstruction(at: code.count, hint)
            emit(instruction, &code)
        }
        try tokens.expect(.rightParen)
    }

    // MARK: Operations and their immediates

    /// Keywords of the format's structure: out of place where an instruction is expected.
    static let structuralKeywords: Set<String> = [
        "type", "param", "result", "local", "func", "module", "then", "else", "end", "export", "import", "mut",
        "offset", "item", "declare", "elem", "data", "table", "memory", "global", "tag", "start", "field", "rec",
        "sub", "final", "struct", "array", "do", "catch", "catch_ref", "catch_all", "catch_all_ref", "delegate",
    ]

    /// A non-block instruction named `word` and its immediates.
    mutating func operation(_ word: String, _ token: Token, _ context: BodyContext) throws(WasmParserError) -> Instruction {
        // Block parts (`catch`, `delegate`, ...) are instructions in the binary format, but in text only
        // inside their block.
        if TextParser.structuralKeywords.contains(word) { throw tokens.error("unexpected token", at: token) }
        guard let opcode = TextParser.opcodes[word] else {
            throw tokens.error("unknown operator \(word)", at: token)
        }
        let feature = opcode.info.feature
        if feature.rawValue != 0 && !features.isSuperset(of: feature) {
            throw tokens.error("unknown operator \(word) (it needs the \(feature.name) feature)", at: token)
        }
        switch opcode.info.immediate {
        case .none:
            if opcode == .select, tokens.isField("result") {
                var types: [ValueType] = []
                while tokens.takeField("result") {
                    while tokens.kind != .rightParen { types.append(try valueType()) }
                    try tokens.expect(.rightParen)
                }
                return Instruction(.selectTyped, .selectTypes(types))
            }
            if opcode == .dataDrop { usesDataCount = true }
            return Instruction(opcode)
        case .blockType, .tryTable:
            throw tokens.error("unexpected token", at: token)
        case .label:
            return Instruction(opcode, .index(try label(context)))
        case .brTable:
            var targets: [UInt32] = []
            while tokens.kind == .identifier || tokens.kind == .keyword && tokens.bytes(of: tokens.current).first.map({ $0 >= 48 && $0 <= 57 }) == true {
                targets.append(try label(context))
            }
            guard let last = targets.popLast() else { throw tokens.unexpected() }
            return Instruction(opcode, .brTable(targets: targets, default: last))
        case .function:
            return Instruction(opcode, .index(try index(in: .function)))
        case .callIndirect:
            let table = try optionalIndex(in: .table) ?? 0
            return Instruction(opcode, .indexPair(try typeUse(allowNames: false).typeIndex, table))
        case .typeIndex:
            return Instruction(opcode, .index(try index(in: .type)))
        case .local:
            if tokens.kind == .identifier {
                let token = tokens.current
                let name = try tokens.text(of: token)
                guard let index = context.locals[name] else { throw tokens.error("unknown local $\(name)", at: token) }
                tokens.advance()
                return Instruction(opcode, .index(index))
            }
            return Instruction(opcode, .index(UInt32(try tokens.unsignedInteger())))
        case .global:
            return Instruction(opcode, .index(try index(in: .global)))
        case .table:
            return Instruction(opcode, .index(try optionalIndex(in: .table) ?? 0))
        case .tag:
            return Instruction(opcode, .index(try index(in: .tag)))
        case .elem:
            return Instruction(opcode, .index(try index(in: .element)))
        case .data:
            usesDataCount = true
            return Instruction(opcode, .index(try index(in: .data)))
        case .memarg:
            let memory = try memoryIndexBeforeMemArg()
            return Instruction(opcode, .memArg(try memArg(opcode, memory: memory)))
        case .memargLane:
            let memory = try memoryIndexBeforeMemArg(laneFollows: true)
            let memArg = try self.memArg(opcode, memory: memory)
            return Instruction(opcode, .memArgLane(memArg, lane: try laneIndex()))
        case .memoryZero, .memoryFill:
            return Instruction(opcode, .index(try optionalIndex(in: .memory) ?? 0))
        case .memoryInit:
            usesDataCount = true
            if twoIndicesFollow {
                let memory = try index(in: .memory)
                return Instruction(opcode, .indexPair(try index(in: .data), memory))
            }
            return Instruction(opcode, .indexPair(try index(in: .data), 0))
        case .memoryCopy:
            guard let destination = try optionalIndex(in: .memory) else { return Instruction(opcode, .indexPair(0, 0)) }
            return Instruction(opcode, .indexPair(destination, try index(in: .memory)))
        case .tableInit:
            if twoIndicesFollow {
                let table = try index(in: .table)
                return Instruction(opcode, .indexPair(try index(in: .element), table))
            }
            return Instruction(opcode, .indexPair(try index(in: .element), 0))
        case .tableCopy:
            guard let destination = try optionalIndex(in: .table) else { return Instruction(opcode, .indexPair(0, 0)) }
            return Instruction(opcode, .indexPair(destination, try index(in: .table)))
        case .i32:
            return Instruction(opcode, .i32(Int32(bitPattern: UInt32(truncatingIfNeeded: try tokens.integer(bits: 32)))))
        case .i64:
            return Instruction(opcode, .i64(Int64(bitPattern: try tokens.integer(bits: 64))))
        case .f32:
            return Instruction(opcode, .f32(UInt32(truncatingIfNeeded: try tokens.float(bits: 32))))
        case .f64:
            return Instruction(opcode, .f64(try tokens.float(bits: 64)))
        case .v128:
            return Instruction(opcode, .v128(try vectorLiteral()))
        case .shuffle:
            // Lanes are the keywords that follow: there must be 16, each an unsigned 8-bit literal.
            var lanes = 0
            while tokens.isNumberLike(tokens.peek(lanes)) { lanes += 1 }
            guard lanes == 16 else { throw tokens.error("invalid lane length") }
            var bytes = [UInt8](repeating: 0, count: 16)
            for i in 0..<16 {
                guard let (value, overflow) = TextNumbers.unsigned(tokens.bytes(of: tokens.current)), !overflow, value <= 255,
                      tokens.isUnsignedIntegerToken(tokens.current) else { throw tokens.error("malformed lane index: i8 constant out of range") }
                bytes[i] = UInt8(value)
                tokens.advance()
            }
            return Instruction(opcode, .v128(V128(bytes: bytes)))
        case .lane:
            return Instruction(opcode, .lane(try laneIndex()))
        case .heapType where opcode == .refTest || opcode == .refCast:
            // `ref.test (ref null? ht)`: the nullability picks the opcode.
            guard case .ref(let target) = try referenceType() else { throw tokens.unexpected() }
            let nullable: Opcode = opcode == .refTest ? .refTestNull : .refCastNull
            return Instruction(target.isNullable ? nullable : opcode, .heapType(target.heapType))
        case .heapType:
            return Instruction(opcode, .heapType(try heapType()))
        case .typeField:
            let type = try index(in: .type)
            if tokens.kind == .identifier {
                let token = tokens.current
                let name = try tokens.text(of: token)
                guard let field = fieldNames[type]?[name] else { throw tokens.error("unknown field $\(name)", at: token) }
                tokens.advance()
                return Instruction(opcode, .indexPair(type, field))
            }
            return Instruction(opcode, .indexPair(type, UInt32(try tokens.unsignedInteger())))
        case .typeCount:
            let type = try index(in: .type)
            return Instruction(opcode, .indexPair(type, UInt32(try tokens.unsignedInteger())))
        case .typeData:
            usesDataCount = true
            let type = try index(in: .type)
            return Instruction(opcode, .indexPair(type, try index(in: .data)))
        case .typeElem:
            let type = try index(in: .type)
            return Instruction(opcode, .indexPair(type, try index(in: .element)))
        case .typeType:
            let destination = try index(in: .type)
            return Instruction(opcode, .indexPair(destination, try index(in: .type)))
        case .brOnCast:
            let target = try label(context)
            guard case .ref(let from) = try referenceType(), case .ref(let to) = try referenceType() else { throw tokens.unexpected() }
            return Instruction(opcode, .brOnCast(label: target, from: from, to: to))
        case .selectTypes:
            var types: [ValueType] = []
            while tokens.takeField("result") {
                while tokens.kind != .rightParen { types.append(try valueType()) }
                try tokens.expect(.rightParen)
            }
            return Instruction(opcode, .selectTypes(types))
        }
    }

    /// Whether the next two tokens are both indices (`memory.init $m $d`, `table.init $t $e`).
    var twoIndicesFollow: Bool {
        (tokens.kind == .identifier || tokens.isUnsignedInteger)
            && (tokens.peek().kind == .identifier || tokens.isUnsignedIntegerToken(tokens.peek()))
    }

    /// A lane index: an unsigned 8-bit literal.
    mutating func laneIndex() throws(WasmParserError) -> UInt8 {
        guard tokens.kind == .keyword, let (value, overflow) = TextNumbers.unsigned(tokens.bytes(of: tokens.current)),
              let first = tokens.bytes(of: tokens.current).first, first != UInt8(ascii: "+"), first != UInt8(ascii: "-") else {
            throw tokens.unexpected()
        }
        guard !overflow, value <= 255 else { throw tokens.error("malformed lane index: i8 constant out of range") }
        tokens.advance()
        return UInt8(value)
    }

    /// A memory index before a memarg: an identifier, or an integer followed by the memarg or lane.
    mutating func memoryIndexBeforeMemArg(laneFollows: Bool = false) throws(WasmParserError) -> UInt32 {
        if tokens.kind == .identifier { return try index(in: .memory) }
        guard tokens.isUnsignedInteger else { return 0 }
        // `v128.load8_lane 1 0`: two numbers are a memory and a lane; one is the lane.
        if laneFollows {
            let next = tokens.peek()
            guard next.kind == .keyword, tokens.isUnsignedIntegerToken(next) || tokens.hasPrefix(next, "offset=") || tokens.hasPrefix(next, "align=") else {
                return 0
            }
        }
        return try index(in: .memory)
    }

    /// `offset=N? align=N?` (align a power of two; the default is the natural alignment).
    mutating func memArg(_ opcode: Opcode, memory: UInt32) throws(WasmParserError) -> MemArg {
        var offset: UInt64 = 0
        var align = UInt32(opcode.info.naturalAlignment)
        let is64 = features.contains(.memory64)
        if tokens.kind == .keyword, tokens.hasPrefix(tokens.current, "offset=") {
            let digits = tokens.bytes(of: tokens.current).dropFirst(7)
            guard let (value, overflow) = TextNumbers.unsigned(digits), let first = digits.first, first != UInt8(ascii: "+") else {
                throw tokens.error("unknown operator")
            }
            guard !overflow, is64 || value <= UInt64(UInt32.max) else { throw tokens.error(is64 ? "constant out of range" : "i32 constant out of range") }
            offset = value
            tokens.advance()
        }
        if tokens.kind == .keyword, tokens.hasPrefix(tokens.current, "align=") {
            let digits = tokens.bytes(of: tokens.current).dropFirst(6)
            guard let (value, overflow) = TextNumbers.unsigned(digits), let first = digits.first, first != UInt8(ascii: "+") else {
                throw tokens.error("unknown operator")
            }
            guard !overflow, value != 0, value & (value - 1) == 0 else { throw tokens.error("alignment must be a power of two") }
            align = UInt32(value.trailingZeroBitCount)
            tokens.advance()
        }
        return MemArg(align: align, offset: offset, memory: memory)
    }

    /// `v128.const SHAPE lanes...`.
    mutating func vectorLiteral() throws(WasmParserError) -> V128 {
        guard tokens.kind == .keyword else { throw tokens.unexpected() }
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
        // The lanes are counted before they are read: too few or too many is the first thing wrong.
        var available = 0
        while tokens.isNumberLike(tokens.peek(available)) { available += 1 }
        guard available == count else { throw tokens.error("wrong number of lane literals") }
        var low: UInt64 = 0, high: UInt64 = 0
        for i in 0..<count {
            let lane: UInt64
            if isFloat {
                lane = try tokens.float(bits: bits)
            } else {
                switch TextNumbers.integer(tokens.bytes(of: tokens.current), bits: bits) {
                case .success(let v): lane = v
                case .failure(.outOfRange): throw tokens.error(bits == 8 ? "i8 constant out of range" : "i\(bits) constant out of range")
                case .failure(.malformed): throw tokens.error("unknown operator")
                }
                tokens.advance()
            }
            let position = i * bits
            if position < 64 { low |= lane << UInt64(position) } else { high |= lane << UInt64(position - 64) }
        }
        return V128(low: low, high: high)
    }
}

extension TokenStream {
    /// Whether a keyword token can stand for a literal (lanes of `v128.const` and `i8x16.shuffle`): lanes end
    /// at the first token that cannot, such as the next instruction of a flat sequence.
    func isNumberLike(_ token: Token) -> Bool {
        guard token.kind == .keyword, let first = source[token.start..<token.end].first else { return false }
        if (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { return true }
        let word = String(decoding: source[token.start..<token.end], as: UTF8.self)
        return TextParser.opcodes[word] == nil && !TextParser.structuralKeywords.contains(word)
    }

    func hasPrefix(_ token: Token, _ prefix: StaticString) -> Bool {
        let length = prefix.utf8CodeUnitCount
        guard token.end - token.start >= length else { return false }
        let text = prefix.utf8Start
        for i in 0..<length where source[token.start + i] != text[i] { return false }
        return true
    }

    func isUnsignedIntegerToken(_ token: Token) -> Bool {
        guard token.kind == .keyword, let first = source[token.start..<token.end].first else { return false }
        return first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") && TextNumbers.unsigned(source[token.start..<token.end]) != nil
    }
}

extension V128 {
    /// A vector from its 16 bytes in memory order.
    public init(bytes: [UInt8]) {
        var low: UInt64 = 0, high: UInt64 = 0
        for i in 0..<8 { low |= UInt64(bytes[i]) << UInt64(8 * i) }
        for i in 0..<8 { high |= UInt64(bytes[8 + i]) << UInt64(8 * i) }
        self.init(low: low, high: high)
    }
}
