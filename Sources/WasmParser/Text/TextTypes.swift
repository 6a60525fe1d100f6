/// Types in the text format: value and reference types, type definitions (functions, structs, arrays,
/// subtypes), type uses with their implicit type definitions, and table, memory and global types.
extension TextParser {
    /// The result of a type use: the type index and, for functions, the names of its parameters.
    struct TypeUse {
        var typeIndex: UInt32
        var function: FunctionType
        var parameterNames: [String?]
    }

    static let abstractHeapTypes: [String: AbstractHeapType] = [
        "func": .func, "extern": .extern, "any": .any, "eq": .eq, "i31": .i31, "struct": .struct, "array": .array,
        "exn": .exn, "none": .none, "nofunc": .noFunc, "noextern": .noExtern, "noexn": .noExn,
    ]

    static let referenceShorthands: [String: AbstractHeapType] = [
        "funcref": .func, "externref": .extern, "anyref": .any, "eqref": .eq, "i31ref": .i31, "structref": .struct,
        "arrayref": .array, "exnref": .exn, "nullref": .none, "nullfuncref": .noFunc, "nullexternref": .noExtern,
        "nullexnref": .noExn,
    ]

    func isReferenceTypeStart() -> Bool {
        if tokens.kind == .keyword, let word = try? tokens.text(of: tokens.current) { return TextParser.referenceShorthands[word] != nil }
        return tokens.isField("ref")
    }

    mutating func heapType() throws(WasmParserError) -> HeapType {
        if tokens.kind == .keyword, let abstract = TextParser.abstractHeapTypes[try tokens.text(of: tokens.current)] {
            tokens.advance()
            return .abstract(abstract)
        }
        guard tokens.kind == .identifier || tokens.isUnsignedInteger else { throw tokens.unexpected() }
        return .concrete(try index(in: .type))
    }

    mutating func referenceType() throws(WasmParserError) -> ValueType {
        if tokens.kind == .keyword, let abstract = TextParser.referenceShorthands[try tokens.text(of: tokens.current)] {
            tokens.advance()
            return .ref(ReferenceType(nullable: true, abstract))
        }
        guard tokens.takeField("ref") else {
            // Old names (`anyfunc`) are unknown operators; anything else is out of place.
            if tokens.kind == .keyword { throw error("unknown operator \(try tokens.text(of: tokens.current))") }
            throw tokens.unexpected()
        }
        let nullable = tokens.takeKeyword("null")
        let heap = try heapType()
        try tokens.expect(.rightParen)
        return .ref(ReferenceType(nullable: nullable, heap))
    }

    mutating func valueType() throws(WasmParserError) -> ValueType {
        if tokens.kind == .keyword {
            switch try tokens.text(of: tokens.current) {
            case "i32": tokens.advance(); return .i32
            case "i64": tokens.advance(); return .i64
            case "f32": tokens.advance(); return .f32
            case "f64": tokens.advance(); return .f64
            case "v128": tokens.advance(); return .v128
            default: break
            }
        }
        return try referenceType()
    }

    mutating func storageType() throws(WasmParserError) -> StorageType {
        if tokens.takeKeyword("i8") { return .i8 }
        if tokens.takeKeyword("i16") { return .i16 }
        return .value(try valueType())
    }

    mutating func fieldType() throws(WasmParserError) -> FieldType {
        if tokens.takeField("mut") {
            let storage = try storageType()
            try tokens.expect(.rightParen)
            return FieldType(storage, mutable: true)
        }
        return FieldType(try storageType(), mutable: false)
    }

    /// `(type $id? deftype)` at the current `(`.
    mutating func typeDefinition() throws(WasmParserError) -> SubType {
        try tokens.expect(.leftParen)
        try tokens.expectKeyword("type")
        _ = try tokens.takeIdentifier()
        let typeIndex = UInt32(module.types.count)
        let type = try subType(typeIndex)
        try tokens.expect(.rightParen)
        return type
    }

    mutating func subType(_ typeIndex: UInt32) throws(WasmParserError) -> SubType {
        guard tokens.takeField("sub") else { return SubType(try compositeType(typeIndex)) }
        let isFinal = tokens.takeKeyword("final")
        var supertype: UInt32?
        if tokens.kind == .identifier || tokens.isUnsignedInteger { supertype = try index(in: .type) }
        let composite = try compositeType(typeIndex)
        try tokens.expect(.rightParen)
        return SubType(isFinal: isFinal, supertype: supertype, composite)
    }

    mutating func compositeType(_ typeIndex: UInt32) throws(WasmParserError) -> CompositeType {
        try tokens.expect(.leftParen)
        let kind = try tokens.keyword()
        switch kind {
        case "func":
            let (params, _) = try parameters(allowNames: true)
            let results = try resultTypes()
            try tokens.expect(.rightParen)
            return .function(FunctionType(parameters: params, results: results))
        case "struct":
            var fields: [FieldType] = []
            var names: [String: UInt32] = [:]
            while tokens.takeField("field") {
                if let name = try tokens.takeIdentifier() {
                    guard names[name] == nil else { throw error("duplicate field") }
                    names[name] = UInt32(fields.count)
                    fields.append(try fieldType())
                } else {
                    while tokens.kind != .rightParen { fields.append(try fieldType()) }
                }
                try tokens.expect(.rightParen)
            }
            try tokens.expect(.rightParen)
            if !names.isEmpty { fieldNames[typeIndex] = names }
            return .structure(fields)
        case "array":
            let field = try fieldType()
            try tokens.expect(.rightParen)
            return .array(field)
        default:
            throw error("unexpected token")
        }
    }

    /// `(param $x t)` or `(param t*)`, repeated.
    mutating func parameters(allowNames: Bool) throws(WasmParserError) -> ([ValueType], [String?]) {
        var types: [ValueType] = []
        var names: [String?] = []
        while tokens.takeField("param") {
            if let name = try tokens.takeIdentifier() {
                guard allowNames else { throw error("unexpected token") }
                types.append(try valueType())
                names.append(name)
            } else {
                while tokens.kind != .rightParen {
                    types.append(try valueType())
                    names.append(nil)
                }
            }
            try tokens.expect(.rightParen)
        }
        return (types, names)
    }

    mutating func resultTypes() throws(WasmParserError) -> [ValueType] {
        var types: [ValueType] = []
        while tokens.takeField("result") {
            while tokens.kind != .rightParen { types.append(try valueType()) }
            try tokens.expect(.rightParen)
        }
        return types
    }

    /// `(type x)? (param ...)* (result ...)*`. Without `(type x)` the index is that of the first function
    /// type declared as plain `(type (func ...))` with the same signature, or a new one appended after all
    /// others; with both, the inline signature must be the type's (`inline function type`).
    mutating func typeUse(allowNames: Bool = true) throws(WasmParserError) -> TypeUse {
        var explicit: UInt32?
        if tokens.takeField("type") {
            explicit = try index(in: .type)
            try tokens.expect(.rightParen)
        }
        let hasInline = tokens.isField("param") || tokens.isField("result")
        let (params, names) = try parameters(allowNames: allowNames)
        let results = try resultTypes()
        // Parameters after results are out of order, whatever they say.
        if tokens.isField("param") { throw error("unexpected token") }
        let inline = FunctionType(parameters: params, results: results)
        if let explicit {
            // A numeric index beyond the types is for the validator to reject (`unknown type`), unless an
            // inline signature needs the type to compare with.
            guard Int(explicit) < module.types.count else {
                if hasInline { throw error("unknown type") }
                return TypeUse(typeIndex: explicit, function: inline, parameterNames: names)
            }
            guard let defined = module.types[Int(explicit)].functionType else { throw error("inline function type") }
            if hasInline && defined != inline { throw error("inline function type") }
            return TypeUse(typeIndex: explicit, function: defined, parameterNames: hasInline ? names : defined.parameters.map { _ in nil })
        }
        return TypeUse(typeIndex: implicitType(inline), function: inline, parameterNames: names)
    }

    /// The index of a plain function type with this signature, added at the end if there is none.
    mutating func implicitType(_ function: FunctionType) -> UInt32 {
        for (groupIndex, group) in module.recursionGroups.enumerated() where group.count == 1 {
            let type = module.types[group.lowerBound]
            if type.isFinal, type.supertype == nil, type.functionType == function {
                _ = groupIndex
                return UInt32(group.lowerBound)
            }
        }
        module.types.append(SubType(.function(function)))
        module.recursionGroups.append((module.types.count - 1)..<module.types.count)
        return UInt32(module.types.count - 1)
    }

    /// With memory64, limits are read as 64-bit numbers whatever the index type (validation bounds a
    /// 32-bit memory or table); without it, as 32-bit ones.
    mutating func limits(is64: Bool) throws(WasmParserError) -> Limits {
        let bits = is64 || features.contains(.memory64) ? 64 : 32
        let min = try tokens.unsignedInteger(bits: bits)
        let max = tokens.isUnsignedInteger ? try tokens.unsignedInteger(bits: bits) : nil
        return Limits(min: min, max: max)
    }

    mutating func tableType() throws(WasmParserError) -> TableType {
        let is64 = tokens.takeKeyword("i64")
        if !is64 { _ = tokens.takeKeyword("i32") }
        let limits = try self.limits(is64: is64)
        return TableType(elementType: try referenceType(), limits: limits, is64: is64)
    }

    mutating func memoryType() throws(WasmParserError) -> MemoryType {
        let is64 = tokens.takeKeyword("i64")
        if !is64 { _ = tokens.takeKeyword("i32") }
        return MemoryType(limits: try limits(is64: is64), is64: is64)
    }

    mutating func globalType() throws(WasmParserError) -> GlobalType {
        if tokens.takeField("mut") {
            let type = try valueType()
            try tokens.expect(.rightParen)
            return GlobalType(valueType: type, mutability: .variable)
        }
        return GlobalType(valueType: try valueType(), mutability: .constant)
    }
}
