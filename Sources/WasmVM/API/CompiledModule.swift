import Foundation
import WasmParser

/// A module decoded, validated and translated once; instantiate it as often as needed (the HTTP server does
/// so per request). Thread-safe to share: instantiation only reads it.
public final class CompiledModule: @unchecked Sendable {
    public let module: Module
    let context: ValidationContext
    /// The defined functions' code and records, translated at load or at first call (see `TranslationMode`).
    let functions: TranslatedFunctions
    /// The data segments' bytes, where instances' segments point.
    let segmentBytes: SegmentBytes
    /// Process-wide canonical type ID of each of the module's types (see `TypeRegistry`).
    let typeIDs: [Int]
    let importedFunctionCount: Int
    /// Export position by name, shared by every instance.
    let exportIndex: [ExactName: Int]
    /// How many of each thing an instance holds, counted once (see `InstanceShape`).
    let shape: InstanceShape
    /// Memory 0 prepared once: its initial contents as a copy-on-write image (see `MemoryImage`) and memories
    /// kept ready between instances (see `MemorySlots`). Made at the second instantiation: a module
    /// instantiated once gains nothing from them.
    private var prepared = PreparedMemory()
    private let preparedLock = NSLock()

    struct PreparedMemory {
        var instantiations = 0
        /// Whether the image and kept memories were made (or found impossible): tried once.
        var made = false
        var image: MemoryImage?
        var slots: MemorySlots?
    }

    public enum LoadError: Error, CustomStringConvertible {
        case parse(WasmParserError)
        case translation(TranslationError)

        public var description: String {
            switch self {
            case .parse(let e): return e.description
            case .translation(let e): return e.description
            }
        }
    }

    /// Decodes, validates and translates `bytes`, accepting the proposals in `features`. Like wasmtime's
    /// `Module::new`, the bytes may be a binary module or a text one (told apart by the binary's magic number).
    public convenience init(bytes: [UInt8], features: Features = .wasm3, translation: TranslationMode = .eager) throws(LoadError) {
        let module: Module
        do throws(WasmParserError) {
            module = try Module.load(textOrBinary: bytes, features: features)
        } catch {
            throw .parse(error)
        }
        try self.init(validated: module, translation: translation)
    }

    /// Translates a module `validate` accepted, its functions at once or each at its first call.
    public init(validated module: Module, translation: TranslationMode = .eager) throws(LoadError) {
        self.module = module
        context = ValidationContext(module: module)
        let typeIDs = context.canonicalTypeIDs
        self.typeIDs = typeIDs
        functions = try TranslatedFunctions(module: module, context: context, typeIDs: typeIDs, mode: translation)
        importedFunctionCount = functions.importedCount
        segmentBytes = SegmentBytes(module)
        var exportIndex: [ExactName: Int] = [:]
        for (i, export) in module.exports.enumerated() { exportIndex[ExactName(export.name)] = i }
        self.exportIndex = exportIndex
        shape = InstanceShape(module)
    }

    deinit {
        segmentBytes.deallocate()
    }

    /// What is prepared of memory 0 for an instantiation: made at the second instantiation (a module
    /// instantiated once does not pay for it), or at the first when `now` (an instance that will be reset
    /// needs its memory kept ready from the start).
    func preparedMemory(now: Bool = false) -> PreparedMemory {
        preparedLock.lock()
        defer { preparedLock.unlock() }
        prepared.instantiations += 1
        guard !prepared.made, prepared.instantiations >= 2 || now else { return prepared }
        prepared.made = true
        if let layout = InitialMemoryLayout(module) {
            let image = MemoryImage.make(for: layout, bytes: segmentBytes)
            prepared.image = image
            prepared.slots = MemorySlots(layout: layout, bytes: segmentBytes, image: image)
        }
        return prepared
    }

    /// Memory 0's kept memories, once made (for tests).
    var memorySlots: MemorySlots? {
        preparedLock.lock()
        defer { preparedLock.unlock() }
        return prepared.slots
    }

    /// Instantiates the module in `store`, resolving its imports from `imports`, running active segments and the
    /// start function. Throws `LinkError` for unresolvable imports and `Trap` for failures while initializing.
    public func instantiate(store: Store, imports: Imports = Imports()) throws -> Instance {
        try Instantiation(module: self, store: store, imports: imports).run()
    }

    /// Instantiates the module with one value per import, in the module's import order (as wasmtime's
    /// `Instance::new` takes them): no lookup by name, each value checked against its import's type just the
    /// same. Throws `LinkError` when the count differs from the module's imports.
    public func instantiate(store: Store, importValues: [ExternalValue]) throws -> Instance {
        guard importValues.count == module.imports.count else {
            throw LinkError("expected \(module.imports.count) import values, got \(importValues.count)")
        }
        return try Instantiation(module: self, store: store, imports: Imports(), positional: importValues).run()
    }

    /// The function type at a type index in canonical form (the type a host function must have to be
    /// imported where the module expects this type); nil if the index is not a function type.
    public func canonicalFunctionType(at typeIndex: UInt32) -> FunctionType? {
        module.functionType(at: typeIndex).map(canonical)
    }

    /// A type of this module in the store's canonical form: concrete heap types become canonical IDs.
    public func canonical(_ type: ValueType) -> ValueType {
        guard case .ref(let r) = type, case .concrete(let index) = r.heapType, Int(index) < typeIDs.count else { return type }
        return .ref(ReferenceType(nullable: r.isNullable, .concrete(UInt32(typeIDs[Int(index)]))))
    }

    public func canonical(_ type: FunctionType) -> FunctionType {
        FunctionType(parameters: type.parameters.map(canonical), results: type.results.map(canonical))
    }
}

/// An instantiated module: its exports, backed by state in its store.
public final class Instance {
    public let store: Store
    public let module: CompiledModule
    /// In the module's export order.
    public let exports: [(name: String, value: ExternalValue)]
    /// The block every per-instance array was carved from (see `InstanceShape`), and what the code reads.
    let arena: UnsafeMutableBufferPointer<UInt64>
    let context: UnsafeMutablePointer<InstanceContext>

    init(store: Store, module: CompiledModule, exports: [(name: String, value: ExternalValue)],
         arena: UnsafeMutableBufferPointer<UInt64>, context: UnsafeMutablePointer<InstanceContext>) {
        self.store = store
        self.module = module
        self.exports = exports
        self.arena = arena
        self.context = context
    }

    /// The export called `name` (compared byte for byte).
    public func export(_ name: String) -> ExternalValue? {
        module.exportIndex[ExactName(name)].map { exports[$0].value }
    }

    public func function(_ name: String) -> Function? {
        if case .function(let f)? = export(name) { return f }
        return nil
    }

    public func memory(_ name: String) -> Memory? {
        if case .memory(let m)? = export(name) { return m }
        return nil
    }

    public func global(_ name: String) -> Global? {
        if case .global(let g)? = export(name) { return g }
        return nil
    }

    public func table(_ name: String) -> Table? {
        if case .table(let t)? = export(name) { return t }
        return nil
    }

    public func tag(_ name: String) -> Tag? {
        if case .tag(let t)? = export(name) { return t }
        return nil
    }
}
