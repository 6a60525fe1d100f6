import WasmParser

/// An instance made once and put back, after each use, into exactly the state its instantiation left:
/// memory 0's bytes and size, every global, every table's size and elements, which segments are dropped,
/// no GC object, no exception, no fuel spent (an interrupt left from a use is cleared, as on every call
/// from the host, when the next use starts). A server that gives every request a fresh
/// instance gets one this way without building a store, copying function records, defining host functions
/// and evaluating initializers per request (wasmtime's pooling allocator resets its slots the same way).
///
/// Only instances whose whole state can be put back qualify (`make` returns nil for the others, which are
/// instantiated afresh as usual): the module imports functions only (an imported memory, table or global is
/// state shared with someone else), has at most one memory, which it defines and its kept memories
/// (`MemorySlots`) can restore, has no start function (it would have to run again), and its instantiation
/// leaves no GC object behind. The imported functions stay bound for the instance's life: a host that serves
/// different callers with it routes their calls itself (as `WASI.Router` does).
///
/// Values taken out of the instance before a reset (GC references, exceptions, memory contents) belong to
/// the use that made them: a GC reference from before is refused after it, as a foreign one is.
public final class ReusableInstance {
    public let store: Store
    public let instance: Instance
    /// The instance's arena (function addresses, segment states, element references, global cells) as
    /// instantiation left it.
    private let arenaTemplate: [UInt64]
    private let tables: [(storage: UnsafeMutablePointer<TableStorage>, elements: [UInt64])]
    private let memory: (storage: UnsafeMutablePointer<MemoryStorage>, slots: MemorySlots)?
    /// What the store held after instantiation: anything added since was added by the embedder, and is not
    /// this type's to remove.
    private let counts: Counts

    /// Instantiates `module` in a new store with `limits`, its imports from `imports` (called once, with the
    /// store, in the module's import order; functions only); nil when the module does not qualify.
    public static func make(_ module: CompiledModule, limits: ResourceLimits = ResourceLimits(),
                            imports: (Store) throws -> [ExternalValue]) throws -> ReusableInstance? {
        let m = module.module
        guard m.start == nil, m.memories.count <= 1,
              m.imports.allSatisfy({ if case .function = $0.descriptor { true } else { false } }) else { return nil }
        let store = Store(limits: limits)
        let values = try imports(store)
        guard values.count == m.imports.count else {
            throw LinkError("expected \(m.imports.count) import values, got \(values.count)")
        }
        let instance = try Instantiation(module: module, store: store, imports: Imports(), positional: values, keepMemoryReady: true).run()
        guard store.gcHeap.objects.isEmpty, store.exceptions.isEmpty else { return nil }
        var memory: (UnsafeMutablePointer<MemoryStorage>, MemorySlots)?
        if let storage = store.memories.first {
            guard let slots = storage.pointee.slots?.takeUnretainedValue() else { return nil }
            memory = (storage, slots)
        }
        return ReusableInstance(store: store, instance: instance, memory: memory)
    }

    private init(store: Store, instance: Instance, memory: (UnsafeMutablePointer<MemoryStorage>, MemorySlots)?) {
        self.store = store
        self.instance = instance
        self.memory = memory
        arenaTemplate = Array(instance.arena)
        tables = store.tables.map { ($0, Array(UnsafeBufferPointer(start: $0.pointee.elements, count: $0.pointee.count))) }
        counts = ReusableInstance.counts(store)
    }

    private struct Counts: Equatable {
        let functions, memories, tables, globals, tags, contexts, allocations: Int
    }

    private static func counts(_ store: Store) -> Counts {
        Counts(functions: store.functionCount, memories: store.memories.count, tables: store.tables.count,
               globals: store.globalCells.count, tags: store.tags.count, contexts: store.contexts.count,
               allocations: store.rawAllocations.count)
    }

    /// Puts the instance back as instantiation left it; false when it cannot be (its memory moved to a
    /// larger reservation, the system refused a step, a call is still in progress, or the embedder added
    /// to the store): drop it then, and make another.
    public func reset() -> Bool {
        let store = self.store
        guard store.stackInUse == 0, store.depthInUse == 0, store.hostCalls.isEmpty,
              ReusableInstance.counts(store) == counts else { return false }
        if let memory {
            guard memory.slots.reset(memory.storage) else { return false }
        }
        for table in tables {
            let storage = table.storage
            if storage.pointee.count != table.elements.count {
                // table.grow replaced the elements with a larger array: back to the original size.
                storage.pointee.elements.deallocate()
                storage.pointee.elements = .allocate(capacity: Swift.max(table.elements.count, 1))
                storage.pointee.elements.initialize(repeating: 0, count: Swift.max(table.elements.count, 1))
                storage.pointee.count = table.elements.count
            }
            table.elements.withUnsafeBufferPointer { elements in
                if let first = elements.baseAddress { storage.pointee.elements.update(from: first, count: elements.count) }
            }
        }
        if let arena = instance.arena.baseAddress, !arenaTemplate.isEmpty {
            arenaTemplate.withUnsafeBufferPointer { arena.update(from: $0.baseAddress!, count: $0.count) }
        }
        store.gcHeap.empty()
        store.exceptions.removeAll(keepingCapacity: true)
        store.freeExceptions.removeAll(keepingCapacity: true)
        store.pendingException = 0
        store.nextExceptionCollection = 4096
        store.exceptionCollections = 0
        store.instructionsExecuted = 0
        store.fuelLeft = 0
        return true
    }
}
