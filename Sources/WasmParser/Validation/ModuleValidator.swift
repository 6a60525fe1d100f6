/// Module-level validation: types, limits, imports and exports, tags, globals, segments, the start
/// function, and every function body.
extension Module {
    /// Validates a module obtained from `decode` (`load` does both in one pass).
    public func validate() throws(WasmParserError) {
        let context = ValidationContext(module: self)
        try validateDeclarations(context)
        var dataUse = DataSegmentUse()
        for result in validateBodies(context) {
            dataUse.merge(try result.get())
        }
        try dataUse.check(dataSegmentCount: data.count)
        try validateDataSegments(context)
    }

    /// Validates every function body, on several threads for large modules (Yosys: 37,000 bodies, 1.4 s on one
    /// thread; see `ParallelJobs`): results in function order, ending at the first failure, so the error
    /// reported is the first function's whatever the threads did.
    func validateBodies(_ context: ValidationContext, workers: Int? = nil) -> [Result<DataSegmentUse, WasmParserError>] {
        let imported = context.functionTypeIndices.count - functionTypeIndices.count
        return ParallelJobs.run(count: codes.count, workers: workers, isFailure: { if case .failure = $0 { true } else { false } }) { i in
            var use = DataSegmentUse()
            do throws(WasmParserError) {
                try FunctionValidator.validate(context: context, functionIndex: UInt32(imported + i), body: self.codes[i],
                                               bytes: self.bytes, dataUse: &use)
                return .success(use)
            } catch {
                return .failure(error)
            }
        }
    }

    func validateDeclarations(_ context: ValidationContext) throws(WasmParserError) {
        func invalid(_ message: String, _ offset: Int = 0) -> WasmParserError {
            WasmParserError(.invalid, message, offset: offset)
        }
        try validateTypes(context)
        for i in imports {
            switch i.descriptor {
            case .function(let typeIndex): _ = try context.functionType(at: typeIndex, offset: 0)
            case .table(let table): try validateTable(table, context)
            case .memory(let memory): try validateMemory(memory)
            case .global(let global): try context.checkValueType(global.valueType, at: 0)
            case .tag(let tag): try validateTag(tag, context)
            }
        }
        for typeIndex in functionTypeIndices { _ = try context.functionType(at: typeIndex, offset: 0) }
        for table in tables { try validateTable(table, context) }
        for memory in memories { try validateMemory(memory) }
        guard context.memories.count <= 1 || features.contains(.multiMemory) else {
            throw invalid("multiple memories (more than one needs the multi-memory feature)")
        }
        for tag in tags { try validateTag(tag, context) }

        // 2.0: constant expressions read imported globals only. 3.0 (extended constants): a global's
        // initializer also the globals defined before it, element and data segments every global; table
        // initializers still only imported ones.
        let laterGlobalsVisible = features.contains(.extendedConst) || features.contains(.gc)
        for (i, table) in tables.enumerated() {
            let index = context.tables.count - tables.count + i
            if let initializer = tableInitializers[i] {
                try validateConstant(initializer, type: table.elementType, context: context,
                                     visibleGlobals: context.importedGlobalCount)
            } else if !table.elementType.isDefaultable {
                throw invalid("type mismatch: table \(index) of \(table.elementType) needs an initializer")
            }
        }
        for (i, global) in globals.enumerated() {
            try context.checkValueType(global.type.valueType, at: global.initializer.offset)
            try validateConstant(global.initializer, type: global.type.valueType, context: context,
                                 visibleGlobals: laterGlobalsVisible ? context.importedGlobalCount + i : context.importedGlobalCount)
        }
        let segmentGlobals = laterGlobalsVisible ? context.globals.count : context.importedGlobalCount
        for element in elements {
            try context.checkValueType(element.type, at: element.offset)
            if case .active(let tableIndex, let offset) = element.mode {
                let table = try context.table(tableIndex, at: element.offset)
                try validateConstant(offset, type: table.is64 ? .i64 : .i32, context: context, visibleGlobals: segmentGlobals)
                guard context.isSubtype(element.type, of: table.elementType) else {
                    throw invalid("type mismatch: \(element.type) segment for a \(table.elementType) table", element.offset)
                }
            }
            switch element.initializers {
            case .functions(let functions):
                for f in functions { _ = try context.functionType(ofFunction: f, at: element.offset) }
            case .expressions(let expressions):
                for e in expressions {
                    try validateConstant(e, type: element.type, context: context, visibleGlobals: segmentGlobals)
                }
            }
        }
        if let start {
            let type = try context.functionType(ofFunction: start, at: 0)
            guard type.parameters.isEmpty, type.results.isEmpty else {
                throw invalid("start function must have type [] -> []")
            }
        }
        // Names compare as bytes: two spellings of "Å" (NFC and NFD) are different names.
        var names = Set<[UInt8]>()
        for export in exports {
            switch export.kind {
            case .function: _ = try context.functionType(ofFunction: export.index, at: 0)
            case .table: _ = try context.table(export.index, at: 0)
            case .memory: try context.checkMemory(export.index, at: 0)
            case .global: _ = try context.global(export.index, at: 0)
            case .tag: _ = try context.tagType(export.index, at: 0)
            }
            guard names.insert(Array(export.name.utf8)).inserted else { throw invalid("duplicate export name \"\(export.name)\"") }
        }
    }

    /// Every type index a type names must exist and, outside its own recursion group, come before it; a
    /// declared supertype must be an earlier, non-final type whose shape this one refines, at most
    /// `maxSubtypingDepth` declarations deep.
    func validateTypes(_ context: ValidationContext) throws(WasmParserError) {
        var depths = [Int](repeating: 0, count: types.count)
        for group in recursionGroups {
            for i in group {
                let subtype = types[i]
                var badReference: UInt32?
                _ = subtype.mapReferences { index in
                    if Int(index) >= group.upperBound, badReference == nil { badReference = index }
                    return index
                }
                if let badReference { throw WasmParserError(.invalid, "unknown type \(badReference)", offset: 0) }
                guard let supertype = subtype.supertype else { continue }
                guard Int(supertype) < i else { throw WasmParserError(.invalid, "unknown type \(supertype): a supertype must come first", offset: 0) }
                let parent = types[Int(supertype)]
                guard !parent.isFinal, context.refines(subtype.composite, parent.composite) else {
                    throw WasmParserError(.invalid, "sub type \(i) does not match its supertype \(supertype)", offset: 0)
                }
                depths[i] = depths[Int(supertype)] + 1
                guard depths[i] <= Self.maxSubtypingDepth else {
                    throw WasmParserError(.invalid, "subtype depth of type \(i) exceeds the limit of \(Self.maxSubtypingDepth)", offset: 0)
                }
            }
        }
    }

    /// The longest chain of declared supertypes above a type: the implementation limit engines agree on
    /// (wasmparser's, V8's, SpiderMonkey's). Casts walk such a chain, and a layout keeps a copy of it.
    static let maxSubtypingDepth = 63

    func validateTable(_ table: TableType, _ context: ValidationContext) throws(WasmParserError) {
        try context.checkValueType(table.elementType, at: 0)
        try validateLimits(table.limits, maximum: table.is64 ? UInt64.max : UInt64(UInt32.max),
                           message: "table size must be at most 2^32-1 elements")
    }

    func validateTag(_ tag: TagType, _ context: ValidationContext) throws(WasmParserError) {
        let type = try context.functionType(at: tag.typeIndex, offset: 0)
        guard type.results.isEmpty else {
            throw WasmParserError(.invalid, "non-empty tag result type", offset: 0)
        }
    }

    /// Data segments come after the code section, so they are checked last.
    func validateDataSegments(_ context: ValidationContext) throws(WasmParserError) {
        let visible = features.contains(.extendedConst) || features.contains(.gc) ? context.globals.count : context.importedGlobalCount
        for segment in data {
            if case .active(let memory, let offset) = segment.mode {
                try context.checkMemory(memory, at: offset.offset)
                let is64 = context.memories[Int(memory)].is64
                try validateConstant(offset, type: is64 ? .i64 : .i32, context: context, visibleGlobals: visible)
            }
        }
    }

    func validateLimits(_ limits: Limits, maximum: UInt64, message: String) throws(WasmParserError) {
        if !message.isEmpty {
            guard limits.min <= maximum, (limits.max ?? 0) <= maximum else {
                throw WasmParserError(.invalid, message, offset: 0)
            }
        }
        if let max = limits.max, limits.min > max {
            throw WasmParserError(.invalid, "size minimum must not be greater than maximum", offset: 0)
        }
    }

    func validateMemory(_ memory: MemoryType) throws(WasmParserError) {
        if memory.is64 {
            try validateLimits(memory.limits, maximum: 1 << 48, message: "memory size must be at most 2^48 pages")
        } else {
            try validateLimits(memory.limits, maximum: MemoryType.maxPages,
                               message: "memory size must be at most 65536 pages (4GiB)")
        }
    }

    /// A constant expression must consist of constant instructions and leave exactly one value of `type`
    /// (or a subtype). `global.get` may read immutable globals below `visibleGlobals`. The typing is the
    /// function validator's; this decides which instructions are constant.
    func validateConstant(_ expression: ConstantExpression, type: ValueType, context: ValidationContext,
                          visibleGlobals: Int) throws(WasmParserError) {
        let offset = expression.offset
        var validator = FunctionValidator(context: context, constantOf: type)
        for instruction in expression.instructions {
            switch (instruction.opcode, instruction.immediate) {
            case (.i32Const, _), (.i64Const, _), (.f32Const, _), (.f64Const, _), (.v128Const, _), (.refNull, _):
                break
            case (.refFunc, .index(let f)):
                // Constant expressions are where functions get declared: no declaration check here.
                _ = try context.functionType(ofFunction: f, at: offset)
                validator.push(context.referenceType(ofFunction: f))
                continue
            case (.globalGet, .index(let g)):
                guard Int(g) < visibleGlobals else {
                    throw WasmParserError(.invalid, "unknown global \(g)", offset: offset)
                }
                guard context.globals[Int(g)].mutability == .constant else {
                    throw WasmParserError(.invalid, "constant expression required", offset: offset)
                }
            case (.i32Add, _), (.i32Sub, _), (.i32Mul, _), (.i64Add, _), (.i64Sub, _), (.i64Mul, _):
                guard features.contains(.extendedConst) else {
                    throw WasmParserError(.invalid, "constant expression required (arithmetic needs the extended-const feature)", offset: offset)
                }
            case (.structNew, _), (.structNewDefault, _), (.arrayNew, _), (.arrayNewDefault, _), (.arrayNewFixed, _),
                 (.refI31, _), (.anyConvertExtern, _), (.externConvertAny, _):
                break
            default:
                throw WasmParserError(.invalid, "constant expression required", offset: offset)
            }
            try validator.validate(instruction, at: offset)
        }
        do throws(WasmParserError) {
            try validator.validate(Instruction(.end), at: offset)
        } catch {
            throw WasmParserError(.invalid, "type mismatch: constant expression must produce \(type): \(error.message)", offset: offset)
        }
    }
}

extension ValidationContext {
    /// Whether a composite type refines its declared supertype's: functions contravariant in parameters and
    /// covariant in results, structs extending a prefix, arrays with a matching element; mutable fields invariant.
    func refines(_ sub: CompositeType, _ parent: CompositeType) -> Bool {
        func field(_ a: FieldType, _ b: FieldType) -> Bool {
            guard a.isMutable == b.isMutable else { return false }
            switch (a.storage, b.storage) {
            case (.value(let x), .value(let y)): return a.isMutable ? isEquivalent(x, y) : isSubtype(x, of: y)
            default: return a.storage == b.storage
            }
        }
        switch (sub, parent) {
        case (.function(let a), .function(let b)):
            return a.parameters.count == b.parameters.count && a.results.count == b.results.count
                && zip(b.parameters, a.parameters).allSatisfy { isSubtype($0, of: $1) }
                && zip(a.results, b.results).allSatisfy { isSubtype($0, of: $1) }
        case (.structure(let a), .structure(let b)):
            return a.count >= b.count && zip(a, b).allSatisfy(field)
        case (.array(let a), .array(let b)):
            return field(a, b)
        default:
            return false
        }
    }
}
