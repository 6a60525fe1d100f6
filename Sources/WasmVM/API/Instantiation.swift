import WasmParser

/// Instantiation, step by step as the spec defines it: resolve and check imports, allocate functions,
/// tables, memories and globals, evaluate segment initializers, apply active segments in order (trapping on
/// out-of-bounds, keeping what was written before), then run the start function.
struct Instantiation {
    let compiled: CompiledModule
    let store: Store
    let imports: Imports
    /// Held once: `compiled.module` is a struct of arrays, and copying it per access costs a retain each.
    let module: Module

    init(module: CompiledModule, store: Store, imports: Imports) {
        compiled = module
        self.module = module.module
        self.store = store
        self.imports = imports
    }

    func limitsMatch(_ actual: Limits, _ expected: Limits) -> Bool {
        guard actual.min >= expected.min else { return false }
        guard let expectedMax = expected.max else { return true }
        guard let actualMax = actual.max else { return false }
        return actualMax <= expectedMax
    }

    func run() throws -> Instance {
        var functionAddresses: [Int] = []
        var tables: [UnsafeMutablePointer<TableStorage>] = []
        var memory: UnsafeMutablePointer<MemoryStorage>?
        var globals: [UnsafeMutablePointer<UInt64>] = []

        for item in module.imports {
            guard let value = imports.lookup(module: item.module, name: item.name) else {
                throw LinkError("unknown import: \(item.module).\(item.name)")
            }
            func incompatible(_ detail: String) -> LinkError {
                LinkError("incompatible import type for \(item.module).\(item.name): \(detail)")
            }
            switch (item.descriptor, value) {
            case (.function(let typeIndex), .function(let f)):
                guard f.store === store else { throw incompatible("function belongs to another store") }
                let expected = module.types[Int(typeIndex)]
                guard f.type == expected else { throw incompatible("expected \(expected), found \(f.type)") }
                functionAddresses.append(f.address)
            case (.table(let expected), .table(let t)):
                guard t.type.elementType == expected.elementType, limitsMatch(t.type.limits, expected.limits) else {
                    throw incompatible("expected \(expected), found \(t.type)")
                }
                tables.append(t.storage)
            case (.memory(let expected), .memory(let m)):
                guard limitsMatch(m.type.limits, expected.limits) else {
                    throw incompatible("expected \(expected), found \(m.type)")
                }
                memory = m.storage
            case (.global(let expected), .global(let g)):
                guard g.type == expected else { throw incompatible("expected \(expected), found \(g.type)") }
                globals.append(g.cell)
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
        let internedTypes = compiled.typeIDs
        let first = store.addFunctions(from: compiled.functionTemplates, count: compiled.functions.count)
        functionAddresses.reserveCapacity(functionAddresses.count + compiled.functions.count)
        for i in 0..<compiled.functions.count {
            store.functions[first + i].context = context
            store.functions[first + i].namesIndex = namesIndex
            functionAddresses.append(first + i)
        }
        for type in module.tables {
            let table = store.defineTable(type)
            tables.append(table.storage)
        }
        for type in module.memories {
            guard let defined = store.defineMemory(type) else {
                throw LinkError("cannot allocate a memory of \(type.limits.min) pages")
            }
            memory = defined.storage
        }

        let functionPointer = store.allocateRaw(Int.self, count: functionAddresses.count)
        functionPointer.initialize(from: functionAddresses, count: functionAddresses.count)
        let typeIDs = store.allocateRaw(Int.self, count: module.types.count)
        typeIDs.initialize(from: internedTypes, count: module.types.count)

        // Globals: initializers may read imported globals only (Wasm 2.0).
        for global in module.globals {
            let cell = store.newGlobalCell(try evaluate(global.initializer, globals: globals, functions: functionAddresses))
            if global.type.valueType == .v128 {
                cell[1] = try evaluateHigh(global.initializer, globals: globals)
            }
            globals.append(cell)
        }
        let globalPointer = store.allocateRaw(UnsafeMutablePointer<UInt64>.self, count: globals.count)
        globalPointer.initialize(from: globals, count: globals.count)
        let tablePointer = store.allocateRaw(UnsafeMutablePointer<TableStorage>.self, count: tables.count)
        tablePointer.initialize(from: tables, count: tables.count)

        // Element segments become arrays of references; data segments point into the module's bytes.
        let elementPointer = store.allocateRaw(SegmentStorage.self, count: module.elements.count)
        for (i, segment) in module.elements.enumerated() {
            var references: [UInt64] = []
            switch segment.initializers {
            case .functions(let indices):
                references = indices.map { UInt64(functionAddresses[Int($0)]) + 1 }
            case .expressions(let expressions):
                for e in expressions { references.append(try evaluate(e, globals: globals, functions: functionAddresses)) }
            }
            let storage = store.allocateRaw(UInt64.self, count: references.count)
            storage.initialize(from: references, count: references.count)
            (elementPointer + i).initialize(to: SegmentStorage(pointer: UnsafeRawPointer(storage), count: references.count))
        }
        let dataPointer = store.allocateRaw(SegmentStorage.self, count: module.data.count)
        for (i, segment) in module.data.enumerated() {
            let base = compiled.bytes.baseAddress.map { UnsafeRawPointer($0 + segment.range.lowerBound) }
            (dataPointer + i).initialize(to: SegmentStorage(pointer: base, count: segment.range.count))
        }

        context.initialize(to: InstanceContext(memory: memory, globals: globalPointer, functions: functionPointer,
                                               tables: tablePointer, typeIDs: typeIDs, elements: elementPointer,
                                               data: dataPointer))

        var exports: [(name: String, value: ExternalValue)] = []
        for export in module.exports {
            let value: ExternalValue
            switch export.kind {
            case .function: value = .function(Function(store: store, address: functionAddresses[Int(export.index)]))
            case .table: value = .table(Table(store: store, storage: tables[Int(export.index)]))
            case .memory: value = .memory(Memory(store: store, storage: memory!))
            case .global:
                let type = (module.importedGlobals + module.globals.map(\.type))[Int(export.index)]
                value = .global(Global(store: store, cell: globals[Int(export.index)], type: type))
            }
            exports.append((export.name, value))
        }
        let instance = Instance(store: store, module: compiled, exports: exports)

        // Active segments, in order; then passive-only state: active and declarative segments are dropped.
        for (i, segment) in module.elements.enumerated() {
            switch segment.mode {
            case .active(let tableIndex, let offsetExpression):
                let offset = UInt64(UInt32(truncatingIfNeeded: try evaluate(offsetExpression, globals: globals, functions: functionAddresses)))
                let table = tables[Int(tableIndex)]
                let count = UInt64(elementPointer[i].count)
                guard offset + count <= UInt64(table.pointee.count) else { throw Trap(.outOfBoundsTableAccess) }
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
        for (i, segment) in module.data.enumerated() {
            guard case .active(_, let offsetExpression) = segment.mode else { continue }
            let offset = UInt64(UInt32(truncatingIfNeeded: try evaluate(offsetExpression, globals: globals, functions: functionAddresses)))
            let count = UInt64(dataPointer[i].count)
            guard let memory, offset + count <= UInt64(memory.pointee.byteCount) else { throw Trap(.outOfBoundsMemoryAccess) }
            if count > 0 {
                (memory.pointee.base + Int(offset)).copyMemory(from: dataPointer[i].pointer.unsafelyUnwrapped, byteCount: Int(count))
            }
            dataPointer[i].count = 0
        }
        if let start = module.start {
            _ = try store.invoke(functionAddresses[Int(start)], [])
        }
        return instance
    }

    /// The high half of a v128 constant expression (`v128.const` or `global.get` of a v128 global).
    func evaluateHigh(_ expression: ConstantExpression, globals: [UnsafeMutablePointer<UInt64>]) throws -> UInt64 {
        switch expression.instructions.last?.immediate {
        case .v128(let v): return v.high
        case .index(let index): return globals[Int(index)][1]
        default: throw LinkError("unsupported v128 constant expression")
        }
    }

    /// Evaluates a validated constant expression to its slot encoding (a v128's low half).
    func evaluate(_ expression: ConstantExpression, globals: [UnsafeMutablePointer<UInt64>], functions: [Int]) throws -> UInt64 {
        guard let instruction = expression.instructions.last else { return 0 }
        switch instruction.immediate {
        case .i32(let v): return UInt64(UInt32(bitPattern: v))
        case .i64(let v): return UInt64(bitPattern: v)
        case .f32(let bits): return UInt64(bits)
        case .f64(let bits): return bits
        case .v128(let v): return v.low
        case .refType: return 0
        case .index(let index):
            switch instruction.opcode {
            case .refFunc: return UInt64(functions[Int(index)]) + 1
            case .globalGet: return globals[Int(index)].pointee
            default: break
            }
        default: break
        }
        throw LinkError("unsupported constant expression \(instruction.opcode.mnemonic)")
    }
}
