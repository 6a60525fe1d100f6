/// Which proposals a module actually uses (for `wasmrun inspect` and for choosing a feature set): read off
/// its types, declarations, constant expressions and every instruction of every body.
extension Module {
    public func usedFeatures() -> Features {
        var used: Features = []
        func note(_ type: ValueType) {
            guard case .ref(let r) = type else { return }
            switch r.heapType {
            case .abstract(let a): used.formUnion(a.feature)
            case .concrete: used.insert(.functionReferences)
            case .bottom: break
            }
            if !r.isNullable { used.insert(.functionReferences) }
        }
        func note(_ function: FunctionType) {
            function.parameters.forEach(note)
            function.results.forEach(note)
        }
        if recursionGroups.contains(where: { $0.count > 1 }) { used.insert(.gc) }
        for type in types {
            if type.supertype != nil || !type.isFinal { used.insert(.gc) }
            switch type.composite {
            case .function(let f): note(f)
            case .structure, .array: used.insert(.gc)
            }
        }
        let memories = importedMemories + self.memories
        if memories.count > 1 { used.insert(.multiMemory) }
        if memories.contains(where: \.is64) { used.insert(.memory64) }
        for table in importedTables + tables {
            note(table.elementType)
            if table.is64 { used.insert(.memory64) }
        }
        if !tags.isEmpty || !importedTags.isEmpty { used.insert(.exceptions) }
        if tableInitializers.contains(where: { $0 != nil }) { used.insert(.functionReferences) }
        for global in importedGlobals + globals.map(\.type) { note(global.valueType) }
        let importedGlobalCount = importedGlobals.count
        func note(_ expression: ConstantExpression) {
            for instruction in expression.instructions {
                used.formUnion(instruction.opcode.info.feature)
                switch instruction.opcode {
                case .i32Add, .i32Sub, .i32Mul, .i64Add, .i64Sub, .i64Mul: used.insert(.extendedConst)
                case .globalGet where instruction.index >= UInt32(importedGlobalCount): used.insert(.extendedConst)
                default: break
                }
            }
        }
        globals.forEach { note($0.initializer) }
        tableInitializers.forEach { $0.map(note) }
        for segment in data { if case .active(let memory, let offset) = segment.mode { note(offset); if memory != 0 { used.insert(.multiMemory) } } }
        for element in elements {
            // A segment of function indices is typed (ref func) under 3.0 decoding, which 2.0 calls funcref.
            if case .expressions(let expressions) = element.initializers {
                note(element.type)
                expressions.forEach(note)
            }
            if case .active(_, let offset) = element.mode { note(offset) }
        }
        for body in codes {
            body.locals.forEach { note($0.type) }
            var reader = ByteReader(bytes: bytes, offset: body.range.lowerBound, limit: body.range.upperBound, features: features)
            while !reader.isAtEnd, let instruction = try? reader.readInstruction() {
                used.formUnion(instruction.opcode.info.feature)
                switch instruction.immediate {
                case .memArg(let m) where m.memory != 0, .memArgLane(let m, _) where m.memory != 0:
                    used.insert(.multiMemory)
                case .blockType(.value(let t)), .tryTable(.value(let t), _): note(t)
                case .selectTypes(let types): types.forEach(note)
                case .heapType(.concrete): used.insert(.functionReferences)
                default: break
                }
            }
        }
        return used
    }
}
