/// Module-level validation: limits, imports and exports, globals, segments, the start function, and
/// every function body.
extension Module {
    /// Validates a module obtained from `decode` (`load` does both in one pass).
    public func validate() throws(WasmParserError) {
        let context = ValidationContext(module: self)
        try validateDeclarations(context)
        var dataUse = DataSegmentUse()
        for (i, body) in codes.enumerated() {
            let functionIndex = UInt32(context.functionTypeIndices.count - codes.count + i)
            try FunctionValidator.validate(context: context, functionIndex: functionIndex, body: body,
                                           bytes: bytes, dataUse: &dataUse)
        }
        try dataUse.check(dataSegmentCount: data.count)
        try validateDataSegments(context)
    }

    func validateDeclarations(_ context: ValidationContext) throws(WasmParserError) {
        func invalid(_ message: String, _ offset: Int = 0) -> WasmParserError {
            WasmParserError(.invalid, message, offset: offset)
        }
        for i in imports {
            switch i.descriptor {
            case .function(let typeIndex): _ = try context.type(at: typeIndex, offset: 0)
            case .table(let table): try validateLimits(table.limits, maximum: UInt64(UInt32.max), message: "")
            case .memory(let memory): try validateMemory(memory)
            case .global: break
            }
        }
        for typeIndex in functionTypeIndices { _ = try context.type(at: typeIndex, offset: 0) }
        for table in tables { try validateLimits(table.limits, maximum: UInt64(UInt32.max), message: "") }
        for memory in memories { try validateMemory(memory) }
        guard context.memories.count <= 1 else { throw invalid("multiple memories") }

        // Global initializers see only imported globals.
        for global in globals {
            try validateConstant(global.initializer, type: global.type.valueType, context: context,
                                 visibleGlobals: context.importedGlobalCount)
        }
        for element in elements {
            if case .active(let tableIndex, let offset) = element.mode {
                let table = try context.table(tableIndex, at: element.offset)
                try validateConstant(offset, type: .i32, context: context, visibleGlobals: context.importedGlobalCount)
                guard table.elementType == element.type else {
                    throw invalid("type mismatch: \(element.type) segment for a \(table.elementType) table", element.offset)
                }
            }
            switch element.initializers {
            case .functions(let functions):
                for f in functions { _ = try context.functionType(ofFunction: f, at: element.offset) }
            case .expressions(let expressions):
                for e in expressions {
                    try validateConstant(e, type: element.type, context: context, visibleGlobals: context.importedGlobalCount)
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
            }
            guard names.insert(Array(export.name.utf8)).inserted else { throw invalid("duplicate export name \"\(export.name)\"") }
        }
    }

    /// Data segments come after the code section, so they are checked last.
    func validateDataSegments(_ context: ValidationContext) throws(WasmParserError) {
        for segment in data {
            if case .active(let memory, let offset) = segment.mode {
                try context.checkMemory(memory, at: offset.offset)
                try validateConstant(offset, type: .i32, context: context, visibleGlobals: context.importedGlobalCount)
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
        try validateLimits(memory.limits, maximum: MemoryType.maxPages,
                           message: "memory size must be at most 65536 pages (4GiB)")
    }

    /// In Wasm 2.0 constant expressions may read only imported globals (`visibleGlobals` of them).
    /// A constant expression must consist of constant instructions and leave exactly one value of `type`.
    func validateConstant(_ expression: ConstantExpression, type: ValueType, context: ValidationContext,
                          visibleGlobals: Int) throws(WasmParserError) {
        let offset = expression.offset
        var stack: [ValueType] = []
        for instruction in expression.instructions {
            switch (instruction.opcode, instruction.immediate) {
            case (.i32Const, _): stack.append(.i32)
            case (.i64Const, _): stack.append(.i64)
            case (.f32Const, _): stack.append(.f32)
            case (.f64Const, _): stack.append(.f64)
            case (.v128Const, _): stack.append(.v128)
            case (.refNull, .refType(let t)): stack.append(t)
            case (.refFunc, .index(let f)):
                _ = try context.functionType(ofFunction: f, at: offset)
                stack.append(.funcref)
            case (.globalGet, .index(let g)):
                guard Int(g) < visibleGlobals else {
                    throw WasmParserError(.invalid, "unknown global \(g)", offset: offset)
                }
                let global = context.globals[Int(g)]
                guard global.mutability == .constant else {
                    throw WasmParserError(.invalid, "constant expression required", offset: offset)
                }
                stack.append(global.valueType)
            default:
                throw WasmParserError(.invalid, "constant expression required", offset: offset)
            }
        }
        guard stack.count == 1, stack[0] == type else {
            throw WasmParserError(.invalid, "type mismatch: constant expression must produce \(type), produces [\(stack.map(\.description).joined(separator: " "))]", offset: offset)
        }
    }
}
