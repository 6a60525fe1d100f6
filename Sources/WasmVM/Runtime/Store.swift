#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import WasmParser

/// Limits an embedder sets on everything that runs in a store.
public struct ResourceLimits: Sendable {
    /// Most pages any memory may grow to (a 32-bit memory never beyond 65536, 4 GiB; a 64-bit one may be
    /// allowed more).
    public var maxMemoryPages: Int = 65536
    /// Most elements any table may grow to.
    public var maxTableElements: Int = 10_000_000
    /// Deepest guest call nesting before `call stack exhausted`.
    public var maxCallDepth: Int = 50_000
    /// 64-bit value slots for all frames' locals and operands (reserved lazily; 8 bytes each).
    public var stackSlots: Int = 1 << 22
    /// Fuel: how many instructions may run before `fuel exhausted` (nil: unlimited). Charged per taken
    /// branch and return with the number of Wasm instructions in the straight-line code they end.
    public var fuel: Int64?
    /// Most bytes of GC objects (structs and arrays) the store may hold; an allocation beyond it, after a
    /// collection, traps with `GC heap exhausted`.
    public var maxGCHeapBytes: Int = 1 << 30
    /// Collect at every allocation and keep freed objects poisoned, so that a reference the collector missed
    /// is caught at its next use (a testing mode: slow, and memory is not given back).
    public var gcStress = false

    public init() {}
}

/// Owns all runtime state: functions, memories, tables, globals, instances. Requests that must not see each
/// other's state get their own store; a store is used by one thread at a time (the interrupt flag excepted).
public final class Store {
    /// Unchecked for exclusivity (a store is used by one thread at a time): the GC instructions read it on
    /// every allocation, and a dynamic check there cost more than the read.
    @exclusivity(unchecked) public var limits: ResourceLimits

    var functions: UnsafeMutablePointer<FunctionInstance>
    var functionCount = 0
    var functionCapacity = 64
    var hostFunctions: [HostFunctionBody] = []
    /// Module names of each instance, for traps' backtraces.
    var names: [NameSection?] = []
    /// Keeps compiled code alive as long as functions refer to it.
    var modules: [CompiledModule] = []

    var tags: [TagInstance] = []
    /// Exceptions thrown in this store (see `ExceptionObject`), and the indices of freed ones to reuse.
    var exceptions: [ExceptionObject] = []
    var freeExceptions: [Int] = []
    /// The object count at which the next allocation collects unreachable exceptions (ExceptionCollection.swift).
    var nextExceptionCollection = 4096
    /// How many collections have run (for tests and statistics).
    public internal(set) var exceptionCollections = 0
    /// Exception objects allocated and not freed (for tests and statistics).
    public var liveExceptionCount: Int { exceptions.count - freeExceptions.count }
    /// An exception a host function threw, waiting for the interpreter to unwind to a handler.
    var pendingException = 0

    /// The GC heap, made at the first allocation (see `GCHeap`), and the roots it cannot find elsewhere:
    /// global cells and element segments that hold `any`/`extern` references, and host functions in progress.
    @exclusivity(unchecked) var gcHeap = GCHeap()
    var gcGlobalCells: [UnsafeMutablePointer<UInt64>] = []
    var gcSegments: [UnsafeMutablePointer<SegmentStorage>] = []
    var hostCalls: [HostCall] = []

    var memories: [UnsafeMutablePointer<MemoryStorage>] = []
    var tables: [UnsafeMutablePointer<TableStorage>] = []
    /// Every global's cell (the exception collector scans them); instances' cells live in their arena,
    /// host-made ones (`newGlobalCell`) are also in `ownedGlobalCells` and freed one by one.
    var globalCells: [UnsafeMutablePointer<UInt64>] = []
    var ownedGlobalCells: [UnsafeMutablePointer<UInt64>] = []
    var contexts: [UnsafeMutablePointer<InstanceContext>] = []
    var rawAllocations: [UnsafeMutableRawPointer] = []

    /// The stacks this store holds, sized by `limits` when they were taken (`prepareStack`). Everything
    /// that bounds an access to them reads these sizes, never `limits`, which the embedder may change.
    var stacks: ExecutionStacks?
    var stack: UnsafeMutablePointer<UInt64>?
    var frames: UnsafeMutablePointer<CallFrame>?
    /// The interpreter's view of the two stacks (valid once `prepareStack` ran): plain stored fields, so the
    /// loop reads them without an exclusivity check (a runtime call there changes register allocation of
    /// the whole loop: 10-45% on the 2.0 benchmarks when `limits` was read in `run`).
    var framesBase = UnsafeMutablePointer<CallFrame>(bitPattern: 8)!
    var stackLimit = UnsafeMutablePointer<UInt64>(bitPattern: 8)!
    var callDepthLimit = 0
    /// Interpreter state touched only by calls, returns and traps (the hot state stays in registers).
    var runEntryDepth = 0
    var runDepth = 0
    var runEntry = 0
    var runMemoryMoved = false
    /// Slots in use by executions in progress (a host function may call back into the guest).
    var stackInUse = 0
    var depthInUse = 0

    /// Stops the running guest with `interrupted` at its next backward branch or call; hand it to
    /// another thread (a watchdog enforcing a wall-clock deadline).
    public let interruptHandle = InterruptHandle()
    /// Instructions charged so far (see `ResourceLimits.fuel`).
    public internal(set) var instructionsExecuted: Int64 = 0

    /// Bytes of all linear memories in the store. Memories never shrink, so after a run this is its peak.
    public var linearMemoryBytes: Int { memories.reduce(0) { $0 + $1.pointee.byteCount } }
    /// Fuel left in the execution in progress (the interpreter keeps it in a register and stores it here on exit).
    @exclusivity(unchecked) var fuelLeft: Int64 = 0

    /// What the threaded handlers share with the loop (see Threaded.swift). Runs nested in host calls share
    /// it too: the loop writes what they need each time it enters the handlers.
    let threadedState: UnsafeMutablePointer<ThreadedState>

    public init(limits: ResourceLimits = ResourceLimits()) {
        self.limits = limits
        functions = .allocate(capacity: functionCapacity)
        threadedState = .allocate(capacity: 1)
        threadedState.initialize(to: ThreadedState(table: handlerTable, interrupt: Unmanaged.passUnretained(interruptHandle)))
    }

    deinit {
        functions.deallocate()
        threadedState.deinitialize(count: 1)
        threadedState.deallocate()
        for memory in memories {
            // A memory taken from its module's ready set goes back there, restored, if it can.
            if let slots = memory.pointee.slots {
                memory.pointee.slots = nil
                if slots.takeRetainedValue().giveBack(memory) { continue }
            }
            memory.pointee.release()
            memory.deallocate()
        }
        for table in tables {
            table.pointee.elements.deallocate()
            table.deallocate()
        }
        for cell in ownedGlobalCells { cell.deallocate() }
        gcHeap.release()
        for context in contexts { context.deallocate() }
        for raw in rawAllocations { raw.deallocate() }
        if let stacks { StackPool.shared.recycle(stacks) }
    }

    /// Asks the running guest to stop (see `interruptHandle` for other threads).
    public func interrupt() { interruptHandle.interrupt() }

    func internType(_ type: FunctionType) -> Int { TypeRegistry.shared.intern(type) }

    /// Makes room for `count` more functions at once.
    func reserveFunctions(_ count: Int) {
        guard functionCount + count > functionCapacity else { return }
        let capacity = max(functionCapacity * 2, functionCount + count)
        let grown = UnsafeMutablePointer<FunctionInstance>.allocate(capacity: capacity)
        grown.moveInitialize(from: functions, count: functionCount)
        functions.deallocate()
        functions = grown
        functionCapacity = capacity
    }

    func addFunction(_ function: FunctionInstance) -> Int {
        if functionCount == functionCapacity {
            let grown = UnsafeMutablePointer<FunctionInstance>.allocate(capacity: functionCapacity * 2)
            grown.moveInitialize(from: functions, count: functionCount)
            functions.deallocate()
            functions = grown
            functionCapacity *= 2
        }
        (functions + functionCount).initialize(to: function)
        functionCount += 1
        return functionCount - 1
    }

    func allocateRaw<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(count, 1))
        rawAllocations.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    func newGlobalCell(_ value: UInt64, type: ValueType) -> UnsafeMutablePointer<UInt64> {
        let cell = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
        cell.initialize(repeating: 0, count: 2)
        cell.pointee = value
        globalCells.append(cell)
        ownedGlobalCells.append(cell)
        if type.holdsGCReference { gcGlobalCells.append(cell) }
        return cell
    }

    func type(ofFunction address: Int) -> FunctionType { TypeRegistry.shared.type(functions[address].typeID).functionType! }

    /// Appends `count` function records copied from `template`, returning the first address.
    func addFunctions(from template: UnsafePointer<FunctionInstance>, count: Int) -> Int {
        reserveFunctions(count)
        let first = functionCount
        (functions + first).initialize(from: template, count: count)
        functionCount += count
        return first
    }

    // MARK: Host functions

    /// Defines a host function with the raw calling convention: arguments in `slots[0..<params]`, results
    /// written to `slots[0..<results]` (each value in one 64-bit slot, as `Value.slot` encodes it; a v128 in
    /// two, low half first).
    public func defineFunction(type: FunctionType, raw body: @escaping HostFunctionBody) -> Function {
        defineFunction(type: InternedFunctionType(type), raw: body)
    }

    /// Defines a host function of a type interned beforehand (a server defining the same functions in a
    /// store per request skips the type lookup).
    public func defineFunction(type: InternedFunctionType, raw body: @escaping HostFunctionBody) -> Function {
        let index = hostFunctions.count
        hostFunctions.append(body)
        let address = addFunction(FunctionInstance(
            code: nil, context: nil, typeID: type.id, paramSlots: type.parameterSlots,
            resultSlots: type.resultSlots, initTemplate: nil, initCount: 0,
            frameSize: Swift.max(type.parameterSlots, type.resultSlots), hostIndex: index,
            functionIndex: UInt32(index), namesIndex: -1))
        return Function(store: self, address: address)
    }

    /// Defines a host function taking and returning `Value`s.
    public func defineFunction(type: FunctionType, _ body: @escaping (Caller, [Value]) throws(Trap) -> [Value]) -> Function {
        defineFunction(type: type, raw: { (caller: Caller, slots: UnsafeMutablePointer<UInt64>) throws(Trap) in
            let arguments = caller.store.load(type.parameters, from: slots)
            caller.store.pinExceptions(in: arguments)
            let results = try body(caller, arguments)
            guard results.count == type.results.count,
                  zip(results, type.results).allSatisfy({ caller.store.matches($0, $1) }) else {
                throw Trap(.host("host function returned \(results) for results \(type.results)"))
            }
            try caller.store.store(results, to: slots)
        })
    }

    /// Defines a memory; nil if the system cannot map its initial size.
    public func defineMemory(_ type: MemoryType) -> Memory? {
        guard let storage = MemoryStorage.allocate(pages: Int(clamping: type.limits.min), maxPages: memoryLimit(type),
                                                   declaredMax: type.limits.max, is64: type.is64) else {
            return nil
        }
        memories.append(storage)
        return Memory(store: self, storage: storage)
    }

    /// Defines an exception tag with the payload `type` (no results); each call makes a distinct tag.
    public func defineTag(_ type: FunctionType) -> Tag {
        addTag(typeID: internType(type), payload: type.parameters)
    }

    func addTag(typeID: Int, payload: [ValueType]) -> Tag {
        tags.append(TagInstance(typeID: typeID, payload: payload, slotCount: FunctionTranslator.slotCount(payload)))
        return Tag(store: self, address: tags.count - 1)
    }

    /// Defines a table; nil if its initial size is over the store's table limit (`ResourceLimits.maxTableElements`).
    public func defineTable(_ type: TableType) -> Table? {
        guard type.limits.min <= UInt64(tableLimit(type)) else { return nil }
        let storage = TableStorage.allocate(count: Int(clamping: type.limits.min), maxCount: tableLimit(type),
                                            declaredMax: type.limits.max, elementType: type.elementType, is64: type.is64)
        tables.append(storage)
        return Table(store: self, storage: storage)
    }

    /// Defines a global holding `value`; throws when the value is not of its type.
    public func defineGlobal(_ type: GlobalType, value: Value) throws(Trap) -> Global {
        let global = Global(store: self, cell: newGlobalCell(0, type: type.valueType), type: type)
        try global.set(value)
        return global
    }

    /// The most pages a memory may have: its declared maximum, the store's limit, and 4 GiB for a 32-bit memory.
    func memoryLimit(_ type: MemoryType) -> Int {
        let ceiling = type.is64 ? UInt64(1) << 48 : MemoryType.maxPages
        return Swift.min(Int(clamping: Swift.min(type.limits.max ?? ceiling, ceiling)), limits.maxMemoryPages)
    }

    func tableLimit(_ type: TableType) -> Int {
        Swift.min(Int(clamping: type.limits.max ?? (type.is64 ? UInt64.max : UInt64(UInt32.max))), limits.maxTableElements)
    }
}

/// A thread-safe way to stop a store's running guest.
public final class InterruptHandle: Sendable {
    let flag = Atomic<Bool>(false)

    public init() {}

    public func interrupt() { flag.store(true, ordering: .relaxed) }
    public var isInterrupted: Bool { flag.load(ordering: .relaxed) }
    func reset() { flag.store(false, ordering: .relaxed) }
}

/// The raw host calling convention; see `Store.defineFunction(type:raw:)`.
public typealias HostFunctionBody = (Caller, UnsafeMutablePointer<UInt64>) throws(Trap) -> Void

/// What a host function sees of its caller: the store, and the calling instance's memory.
public struct Caller {
    public let store: Store
    let context: UnsafeMutablePointer<InstanceContext>?

    /// The calling instance's memory 0, if it has one.
    public var memory: Memory? {
        guard let storage = context?.pointee.memory else { return nil }
        return Memory(store: store, storage: storage)
    }
}

/// A suspended caller: where to continue, its frame and instance, and the function it called (for backtraces).
struct CallFrame {
    var pc: UnsafePointer<UInt64>
    var fp: UnsafeMutablePointer<UInt64>
    var context: UnsafeMutablePointer<InstanceContext>
    var function: Int
}

/// A store's value stack and call-frame stack: mapped lazily (untouched pages cost nothing) and reused
/// across stores, because a server creates a store per request.
struct ExecutionStacks {
    var values: UnsafeMutablePointer<UInt64>
    var valueCount: Int
    var frames: UnsafeMutablePointer<CallFrame>
    var frameCount: Int
}

final class StackPool: @unchecked Sendable {
    static let shared = StackPool()
    let lock = NSLock()
    var free: [ExecutionStacks] = []

    func take(valueCount: Int, frameCount: Int) -> ExecutionStacks? {
        lock.lock()
        defer { lock.unlock() }
        if let i = free.firstIndex(where: { $0.valueCount == valueCount && $0.frameCount == frameCount }) {
            return free.remove(at: i)
        }
        let valueBytes = valueCount * 8, frameBytes = frameCount * MemoryLayout<CallFrame>.stride
        guard let values = mmap(nil, valueBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              values != MAP_FAILED else { return nil }
        guard let frames = mmap(nil, frameBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              frames != MAP_FAILED else {
            munmap(values, valueBytes)
            return nil
        }
        return ExecutionStacks(values: values.assumingMemoryBound(to: UInt64.self), valueCount: valueCount,
                               frames: frames.assumingMemoryBound(to: CallFrame.self), frameCount: frameCount)
    }

    func recycle(_ stacks: ExecutionStacks) {
        lock.lock()
        defer { lock.unlock() }
        if free.count < 64 {
            free.append(stacks)
        } else {
            munmap(stacks.values, stacks.valueCount * 8)
            munmap(stacks.frames, stacks.frameCount * MemoryLayout<CallFrame>.stride)
        }
    }
}

/// A function type with its process-wide canonical ID (types are interned once per process, shared by all
/// stores) and slot counts: made once, used to define host functions in many stores.
public struct InternedFunctionType: Sendable {
    public let type: FunctionType
    let id: Int
    let parameterSlots: Int
    let resultSlots: Int

    public init(_ type: FunctionType) {
        self.type = type
        id = TypeRegistry.shared.intern(type)
        parameterSlots = FunctionTranslator.slotCount(type.parameters)
        resultSlots = FunctionTranslator.slotCount(type.results)
    }
}
