import WasmParser

/// Instantiation, step by step as the spec defines it: resolve and check imports, allocate functions,
/// tables, memories, tags and globals, evaluate segment initializers, apply active segments in order
/// (trapping on out-of-bounds, keeping what was written before), then run the start function.
struct Instantiation {
    let compiled: CompiledModule
    let store: Store
    let imports: Imports
    /// Import values in the module's import order, when given so (then `imports` is not consulted).
    let positional: [ExternalValue]?
    /// Held once: `compiled.module` is a struct of arrays, and copying it per access costs a retain each.
    let module: Module
    /// Memory 0 is taken from the module's kept memories even at its first instantiation (`ReusableInstance`).
    let keepMemoryReady: Bool

    init(module: CompiledModule, store: Store, imports: Imports, positional: [ExternalValue]? = nil, keepMemoryReady: Bool = false) {
        compiled = module
        self.module = module.module
        self.store = store
        self.imports = imports
        self.positional = positional
        self.keepMemoryReady = keepMemoryReady
    }

    func limitsMatch(_ actual: Limits, _ expected: Limits) -> Bool {
        guard actual.min >= expected.min else { return false }
        guard let expectedMax = expected.max else { return true }
        guard let actualMax = actual.max else { return false }
        return actualMax <= expectedMax
    }

    /// Subtyping of canonical value types (import matching across modules).
    func isSubtype(_ a: ValueType, of b: ValueType) -> Bool {
        guard case .ref(let x) = a, case .ref(let y) = b else { return a == b }
        if x.isNullable && !y.isNullable { return false }
        switch (x.heapType, y.heapType) {
        case (.bottom, _): return true
        case (_, .bottom): return false
        case (.concrete(let i), .concrete(let j)):
            return TypeRegistry.shared.isSubtype(Int(i), of: Int(j))
        case (.abstract(let p), .abstract(let q)):
            return p == q || (p == p.bottom && q.top == p.top) || (q == .any && p.top == .any)
                || (q == .eq && [.i31, .struct, .array].contains(p))
        case (.concrete, .abstract(let q)):
            return x.hierarchy == q || (q == .any && x.hierarchy == .any)
        case (.abstract(let p), .concrete):
            return p == p.bottom && p.top == y.hierarchy
        }
    }

    func run() throws -> Instance {
        let shape = compiled.shape
        // Every per-instance array in one block (see `InstanceShape`); the store frees it.
        let block = store.allocateRaw(UInt64.self, count: shape.words)
        var arena = Arena(block, words: shape.words)
        let functionPointer = arena.take(Int.self, shape.functions)
        let typeIDs = arena.take(Int.self, shape.types)
        let tagPointer = arena.take(Int.self, shape.tags)
        let memoryPointer = arena.take(UnsafeMutablePointer<MemoryStorage>.self, shape.memories)
        let globalPointer = arena.take(UnsafeMutablePointer<UInt64>.self, shape.globals)
        let tablePointer = arena.take(UnsafeMutablePointer<TableStorage>.self, shape.tables)
        let elementPointer = arena.take(SegmentStorage.self, shape.elements)
        let dataPointer = arena.take(SegmentStorage.self, shape.data)
        var functionCount = 0, tableCount = 0, memoryCount = 0, globalCount = 0, tagCount = 0
        var globalTypes: [GlobalType] = []

        for (index, item) in module.imports.enumerated() {
            guard let value = positional.map({ $0[index] }) ?? imports.lookup(module: item.module, name: item.name) else {
                throw LinkError("unknown import: \(item.module).\(item.name)")
            }
            func incompatible(_ detail: String) -> LinkError {
                LinkError("incompatible import type for \(item.module).\(item.name): \(detail)")
            }
            switch (item.descriptor, value) {
            case (.function(let typeIndex), .function(let f)):
                guard f.store === store else { throw incompatible("function belongs to another store") }
                let expected = compiled.typeIDs[Int(typeIndex)]
                guard TypeRegistry.shared.isSubtype(store.functions[f.address].typeID, of: expected) else {
                    throw incompatible("expected \(compiled.canonical(module.functionType(at: typeIndex)!)), found \(f.type)")
                }
                functionPointer[functionCount] = f.address
                functionCount += 1
            case (.table(let expected), .table(let t)):
                let elementType = compiled.canonical(expected.elementType)
                guard t.type.is64 == expected.is64, t.type.elementType == elementType, limitsMatch(t.type.limits, expected.limits) else {
                    throw incompatible("expected \(expected), found \(t.type)")
                }
                tablePointer[tableCount] = t.storage
                tableCount += 1
            case (.memory(let expected), .memory(let m)):
                guard m.type.is64 == expected.is64, limitsMatch(m.type.limits, expected.limits) else {
                    throw incompatible("expected \(expected), found \(m.type)")
                }
                memoryPointer[memoryCount] = m.storage
                memoryCount += 1
            case (.global(let expected), .global(let g)):
                let expectedType = compiled.canonical(expected.valueType)
                let matches = g.type.mutability == expected.mutability
                    && (expected.mutability == .variable ? g.type.valueType == expectedType : isSubtype(g.type.valueType, of: expectedType))
                guard matches else { throw incompatible("expected \(expected), found \(g.type)") }
                globalPointer[globalCount] = g.cell
                globalCount += 1
                globalTypes.append(g.type)
            case (.tag(let expected), .tag(let t)):
                guard t.store === store else { throw incompatible("tag belongs to another store") }
                guard store.tags[t.address].typeID == compiled.typeIDs[Int(expected.typeIndex)] else {
                    throw incompatible("expected a tag of \(compiled.canonical(module.functionType(at: expected.typeIndex)!)), found \(t.type)")
                }
                tagPointer[tagCount] = t.address
                tagCount += 1
            default:
                throw incompatible("expected \(item.descriptor.kind), found \(value.kindName)")
            }
        }

        for type in module.memories where type.limits.min > UInt64(store.limits.maxMemoryPages) {
            throw LinkError("memory of \(type.limits.min) pages exceeds the limit of \(store.limits.maxMemoryPages) pages")
        }
        for type in module.tables where type.limits.min > UInt64(store.limits.maxTableElements) {
            throw LinkError("table of \(type.limits.min) elements exceeds the limit of \(store.limits.maxTableElements) elements")
        }

        // The context is allocated first so defined functions can point at it.
        let context = UnsafeMutablePointer<InstanceContext>.allocate(capacity: 1)
        store.contexts.append(context)
        let namesIndex = store.names.count
        store.names.append(module.names)
        store.modules.append(compiled)

        // Function records are copied from the module's template, then bound to this instance.
        let defined = compiled.functions.count
        let first = compiled.functions.withTemplates { store.addFunctions(from: $0, count: defined) }
        let records = store.functions + first
        for i in 0..<defined {
            records[i].context = context
            records[i].namesIndex = namesIndex
            functionPointer[functionCount + i] = first + i
        }
        functionCount += defined
        // Memory 0 comes ready (its data in place) from the module's kept memories when it can.
        let prepared = module.memories.isEmpty ? nil : compiled.preparedMemory(now: keepMemoryReady)
        var initialized = false
        for (i, type) in module.memories.enumerated() {
            if i == 0, let slots = prepared?.slots,
               let storage = slots.take(maxPages: store.memoryLimit(type), declaredMax: type.limits.max, is64: type.is64) {
                store.memories.append(storage)
                memoryPointer[memoryCount] = storage
                memoryCount += 1
                initialized = true
                continue
            }
            guard let defined = store.defineMemory(type) else {
                throw LinkError("cannot allocate a memory of \(type.limits.min) pages")
            }
            memoryPointer[memoryCount] = defined.storage
            memoryCount += 1
        }
        let memory = shape.memories > 0 ? memoryPointer[0] : nil
        for tag in module.tags {
            let payload = module.functionType(at: tag.typeIndex)!.parameters.map(compiled.canonical)
            tagPointer[tagCount] = store.addTag(typeID: compiled.typeIDs[Int(tag.typeIndex)], payload: payload).address
            tagCount += 1
        }
        typeIDs.initialize(from: compiled.typeIDs, count: shape.types)

        // Globals, in order: an initializer may read imported globals and (3.0) the globals defined before it.
        for global in module.globals {
            let value = try evaluate(global.initializer, globals: globalPointer, functions: functionPointer)
            let cell = arena.take(UInt64.self, 2)
            cell[0] = value.low
            cell[1] = value.high
            store.globalCells.append(cell)
            if compiled.canonical(global.type.valueType).holdsGCReference { store.gcGlobalCells.append(cell) }
            globalPointer[globalCount] = cell
            globalCount += 1
            globalTypes.append(GlobalType(valueType: compiled.canonical(global.type.valueType), mutability: global.type.mutability))
        }
        // Tables: filled with null, or with their initializer's value.
        for (i, type) in module.tables.enumerated() {
            guard let table = store.defineTable(TableType(elementType: compiled.canonical(type.elementType), limits: type.limits, is64: type.is64)) else {
                throw LinkError("table of \(type.limits.min) elements exceeds the limit of \(store.tableLimit(type)) elements")
            }
            if let initializer = module.tableInitializers[i] {
                let fill = try evaluate(initializer, globals: globalPointer, functions: functionPointer).low
                table.storage.pointee.elements.update(repeating: fill, count: table.storage.pointee.count)
            }
            tablePointer[tableCount] = table.storage
            tableCount += 1
        }

        // Element segments become arrays of references; data segments point into the module's bytes.
        for (i, segment) in module.elements.enumerated() {
            let references = arena.take(UInt64.self, segment.initializers.count)
            switch segment.initializers {
            case .functions(let indices):
                for (j, index) in indices.enumerated() { references[j] = UInt64(functionPointer[Int(index)]) + 1 }
            case .expressions(let expressions):
                for (j, e) in expressions.enumerated() {
                    references[j] = try evaluate(e, globals: globalPointer, functions: functionPointer).low
                }
            }
            (elementPointer + i).initialize(to: SegmentStorage(pointer: UnsafeRawPointer(references), count: segment.initializers.count))
            if compiled.canonical(segment.type).holdsGCReference { store.gcSegments.append(elementPointer + i) }
        }
        for (i, segment) in module.data.enumerated() {
            (dataPointer + i).initialize(to: SegmentStorage(pointer: compiled.segmentBytes.pointer(to: segment.range),
                                                            count: segment.range.count))
        }

        context.initialize(to: InstanceContext(memory: memory, globals: globalPointer, functions: functionPointer,
                                               tables: tablePointer, typeIDs: typeIDs, elements: elementPointer,
                                               data: dataPointer, memories: memoryPointer, tags: tagPointer))

        var exports: [(name: String, value: ExternalValue)] = []
        exports.reserveCapacity(module.exports.count)
        for export in module.exports {
            let value: ExternalValue
            let index = Int(export.index)
            switch export.kind {
            case .function: value = .function(Function(store: store, address: functionPointer[index]))
            case .table: value = .table(Table(store: store, storage: tablePointer[index]))
            case .memory: value = .memory(Memory(store: store, storage: memoryPointer[index]))
            case .global: value = .global(Global(store: store, cell: globalPointer[index], type: globalTypes[index]))
            case .tag: value = .tag(Tag(store: store, address: tagPointer[index]))
            }
            exports.append((export.name, value))
        }
        let instance = Instance(store: store, module: compiled, exports: exports,
                                arena: UnsafeMutableBufferPointer(start: block, count: shape.words), context: context)

        // Active segments, in order; then passive-only state: active and declarative segments are dropped.
        for (i, segment) in module.elements.enumerated() {
            switch segment.mode {
            case .active(let tableIndex, let offsetExpression):
                let table = tablePointer[Int(tableIndex)]
                var offset = try evaluate(offsetExpression, globals: globalPointer, functions: functionPointer).low
                if !table.pointee.is64 { offset = UInt64(UInt32(truncatingIfNeeded: offset)) }
                let count = UInt64(elementPointer[i].count)
                guard offset <= UInt64(table.pointee.count), count <= UInt64(table.pointee.count) - offset else {
                    throw Trap(.outOfBoundsTableAccess)
                }
                if count > 0 {
                    let references = elementPointer[i].pointer.unsafelyUnwrapped.assumingMemoryBound(to: UInt64.self)
                    (table.pointee.elements + Int(offset)).update(from: references, count: Int(count))
                }
                elementPointer[i].count = 0
            case .declarative:
                elementPointer[i].count = 0
            case .passive:
                break
            }
        }
        // With an image, the active segments (which all fit memory 0, see `InitialMemoryLayout`) are one mapping.
        if !initialized, !module.data.isEmpty, let image = prepared?.image, let memory {
            let outcome = image.map(at: memory.pointee.base)
            guard outcome.usable else { throw LinkError("cannot map the memory image of \(image.byteCount) bytes") }
            if outcome.mapped {
                memory.pointee.imageBytes = image.byteCount
                initialized = true
            }
        }
        if initialized {
            for (i, segment) in module.data.enumerated() {
                if case .active = segment.mode { dataPointer[i].count = 0 }
            }
        }
        for (i, segment) in module.data.enumerated() where !initialized {
            guard case .active(let memoryIndex, let offsetExpression) = segment.mode else { continue }
            let memory = memoryPointer[Int(memoryIndex)]
            var offset = try evaluate(offsetExpression, globals: globalPointer, functions: functionPointer).low
            if !memory.pointee.is64 { offset = UInt64(UInt32(truncatingIfNeeded: offset)) }
            let count = UInt64(dataPointer[i].count)
            guard offset <= UInt64(memory.pointee.byteCount), count <= UInt64(memory.pointee.byteCount) - offset else {
                throw Trap(.outOfBoundsMemoryAccess)
            }
            if count > 0 {
                (memory.pointee.base + Int(offset)).copyMemory(from: dataPointer[i].pointer.unsafelyUnwrapped, byteCount: Int(count))
            }
            dataPointer[i].count = 0
        }
        if let start = module.start {
            _ = try store.invoke(functionPointer[Int(start)], [])
        }
        return instance
    }

    /// Evaluates a validated constant expression (constants, `ref.null`, `ref.func`, `global.get`, and the
    /// extended-constant integer arithmetic) to its slot encoding; `high` is a v128's second slot.
    func evaluate(_ expression: ConstantExpression, globals: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>>,
                  functions: UnsafeMutablePointer<Int>) throws -> (low: UInt64, high: UInt64) {
        // Nearly every initializer and offset is one constant: no stack for those.
        if expression.instructions.count == 1 {
            let instruction = expression.instructions[0]
            switch (instruction.opcode, instruction.immediate) {
            case (_, .i32(let v)): return (UInt64(UInt32(bitPattern: v)), 0)
            case (_, .i64(let v)): return (UInt64(bitPattern: v), 0)
            case (.refFunc, .index(let index)): return (UInt64(functions[Int(index)]) + 1, 0)
            case (.globalGet, .index(let index)): return (globals[Int(index)][0], globals[Int(index)][1])
            default: break
            }
        }
        var stack: [(low: UInt64, high: UInt64)] = []
        func binary(_ op: (UInt64, UInt64) -> UInt64) throws {
            guard stack.count >= 2 else { throw LinkError("malformed constant expression") }
            let b = stack.removeLast(), a = stack.removeLast()
            stack.append((op(a.low, b.low), 0))
        }
        for instruction in expression.instructions {
            switch (instruction.opcode, instruction.immediate) {
            case (_, .i32(let v)): stack.append((UInt64(UInt32(bitPattern: v)), 0))
            case (_, .i64(let v)): stack.append((UInt64(bitPattern: v), 0))
            case (_, .f32(let bits)): stack.append((UInt64(bits), 0))
            case (_, .f64(let bits)): stack.append((bits, 0))
            case (_, .v128(let v)): stack.append((v.low, v.high))
            case (.refNull, _): stack.append((0, 0))
            case (.refFunc, .index(let index)): stack.append((UInt64(functions[Int(index)]) + 1, 0))
            case (.globalGet, .index(let index)): stack.append((globals[Int(index)][0], globals[Int(index)][1]))
            case (.i32Add, _): try binary { UInt64(UInt32(truncatingIfNeeded: $0) &+ UInt32(truncatingIfNeeded: $1)) }
            case (.i32Sub, _): try binary { UInt64(UInt32(truncatingIfNeeded: $0) &- UInt32(truncatingIfNeeded: $1)) }
            case (.i32Mul, _): try binary { UInt64(UInt32(truncatingIfNeeded: $0) &* UInt32(truncatingIfNeeded: $1)) }
            case (.i64Add, _): try binary { $0 &+ $1 }
            case (.i64Sub, _): try binary { $0 &- $1 }
            case (.i64Mul, _): try binary { $0 &* $1 }
            case (.anyConvertExtern, _), (.externConvertAny, _): break  // the same word in either hierarchy
            case (.refI31, _):
                guard let value = stack.popLast() else { throw LinkError("malformed constant expression") }
                stack.append((GCSlot.i31(UInt32(truncatingIfNeeded: value.low)), 0))
            case (.structNew, .index(let type)), (.structNewDefault, .index(let type)),
                 (.arrayNew, .index(let type)), (.arrayNewDefault, .index(let type)), (.arrayNewFixed, .indexPair(let type, _)):
                stack.append((try construct(instruction, type: type, from: &stack), 0))
            default: throw LinkError("unsupported constant expression \(instruction.opcode.mnemonic)")
            }
        }
        guard stack.count == 1 else { throw LinkError("malformed constant expression") }
        return stack[0]
    }

    /// A struct or array built by a constant expression, from the values on top of `stack`. No collection
    /// runs during instantiation (the values being built are not rooted yet).
    func construct(_ instruction: Instruction, type: UInt32, from stack: inout [(low: UInt64, high: UInt64)]) throws -> UInt64 {
        guard let layout = GCLayouts.shared.layout(compiled.typeIDs[Int(type)]) else { throw LinkError("type \(type) is not a struct or array type") }
        func take(_ count: Int) throws -> [(low: UInt64, high: UInt64)] {
            guard stack.count >= count else { throw LinkError("malformed constant expression") }
            defer { stack.removeLast(count) }
            return Array(stack.suffix(count))
        }
        func write(_ kind: GCFieldKind, _ address: UnsafeMutableRawPointer, _ value: (low: UInt64, high: UInt64)) {
            [value.low, value.high].withUnsafeBufferPointer { GCExecution.write(kind, address, from: $0.baseAddress!) }
        }
        switch instruction.opcode {
        case .structNew, .structNewDefault:
            let values = instruction.opcode == .structNew ? try take(layout.pointee.fieldCount) : []
            let object = try store.allocateObject(layout, payload: layout.pointee.size, length: 0, site: nil)
            for (i, value) in values.enumerated() {
                write(layout.pointee.fieldKinds[i], object + Int(layout.pointee.fieldOffsets[i]), value)
            }
            return UInt64(UInt(bitPattern: object))
        default:
            var values: [(low: UInt64, high: UInt64)] = []
            var count: UInt64
            if case .indexPair(_, let n) = instruction.immediate {
                values = try take(Int(n))
                count = UInt64(n)
            } else {
                count = UInt64(UInt32(truncatingIfNeeded: try take(1)[0].low))
                if instruction.opcode == .arrayNew { values = try take(1) }
            }
            let kind = layout.pointee.elementKind
            guard count <= UInt64(store.limits.maxGCHeapBytes / kind.size) else { throw Trap(.gcHeapExhausted) }
            let object = try store.allocateObject(layout, payload: Int(count) * kind.size, length: UInt32(count), site: nil)
            for i in 0..<Int(count) where !values.isEmpty {
                write(kind, object + GCLayout.headerSize + i * kind.size, values.count == 1 ? values[0] : values[i])
            }
            return UInt64(UInt(bitPattern: object))
        }
    }
}
