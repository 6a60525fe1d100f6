/// What function bodies and constant expressions are checked against: the module's index spaces
/// (imports first), as the spec's validation context C.
public final class ValidationContext: Sendable {
    public let features: Features
    public let types: [SubType]
    /// Canonical type ID of each type index (see `TypeRegistry`): equal IDs are the same type.
    public let canonicalTypeIDs: [Int]
    /// Type index of every function, imported ones first.
    public let functionTypeIndices: [UInt32]
    public let tables: [TableType]
    public let memories: [MemoryType]
    public let globals: [GlobalType]
    public let importedGlobalCount: Int
    /// Type index of every tag, imported ones first.
    public let tagTypeIndices: [UInt32]
    public let elementTypes: [ValueType]
    public let dataCount: UInt32?
    /// Functions that `ref.func` may name in a body: those referenced outside function bodies
    /// (element segments, exports, global and table initializers).
    let declaredFunctions: [Bool]

    public init(module: Module) {
        features = module.features
        types = module.types
        canonicalTypeIDs = TypeRegistry.shared.canonicalize(module.types, groups: module.recursionGroups)
        functionTypeIndices = module.importedFunctionTypeIndices + module.functionTypeIndices
        tables = module.importedTables + module.tables
        memories = module.importedMemories + module.memories
        let imported = module.importedGlobals
        importedGlobalCount = imported.count
        globals = imported + module.globals.map(\.type)
        tagTypeIndices = module.importedTags.map(\.typeIndex) + module.tags.map(\.typeIndex)
        elementTypes = module.elements.map(\.type)
        dataCount = module.dataCount

        var declared = [Bool](repeating: false, count: functionTypeIndices.count)
        func declare(_ index: UInt32) {
            if Int(index) < declared.count { declared[Int(index)] = true }
        }
        func declare(in expression: ConstantExpression) {
            for instruction in expression.instructions where instruction.opcode == .refFunc {
                declare(instruction.index)
            }
        }
        for global in module.globals { declare(in: global.initializer) }
        for case let initializer? in module.tableInitializers { declare(in: initializer) }
        for export in module.exports where export.kind == .function { declare(export.index) }
        for element in module.elements {
            if case .active(_, let offset) = element.mode { declare(in: offset) }
            switch element.initializers {
            case .functions(let functions): functions.forEach { declare($0) }
            case .expressions(let expressions): expressions.forEach { declare(in: $0) }
            }
        }
        for segment in module.data {
            if case .active(_, let offset) = segment.mode { declare(in: offset) }
        }
        declaredFunctions = declared
    }

    func invalid(_ message: String, at offset: Int) -> WasmParserError {
        WasmParserError(.invalid, message, offset: offset)
    }

    public func functionType(ofFunction index: UInt32, at offset: Int) throws(WasmParserError) -> FunctionType {
        guard Int(index) < functionTypeIndices.count else { throw invalid("unknown function \(index)", at: offset) }
        return try functionType(at: functionTypeIndices[Int(index)], offset: offset)
    }

    /// The function type at a type index (`unknown type` if there is none, a mismatch if it is a struct or array).
    public func functionType(at index: UInt32, offset: Int) throws(WasmParserError) -> FunctionType {
        guard Int(index) < types.count else { throw invalid("unknown type \(index)", at: offset) }
        guard let function = types[Int(index)].functionType else {
            throw invalid("type mismatch: type \(index) is not a function type", at: offset)
        }
        return function
    }

    public func checkType(_ index: UInt32, at offset: Int) throws(WasmParserError) {
        guard Int(index) < types.count else { throw invalid("unknown type \(index)", at: offset) }
    }

    /// Checks that every type index a value type names exists.
    public func checkValueType(_ type: ValueType, at offset: Int) throws(WasmParserError) {
        if case .ref(let r) = type, case .concrete(let index) = r.heapType { try checkType(index, at: offset) }
    }

    public func checkHeapType(_ type: HeapType, at offset: Int) throws(WasmParserError) {
        if case .concrete(let index) = type { try checkType(index, at: offset) }
    }

    public func table(_ index: UInt32, at offset: Int) throws(WasmParserError) -> TableType {
        guard Int(index) < tables.count else { throw invalid("unknown table \(index)", at: offset) }
        return tables[Int(index)]
    }

    public func checkMemory(_ index: UInt32, at offset: Int) throws(WasmParserError) {
        guard Int(index) < memories.count else { throw invalid("unknown memory \(index)", at: offset) }
    }

    public func global(_ index: UInt32, at offset: Int) throws(WasmParserError) -> GlobalType {
        guard Int(index) < globals.count else { throw invalid("unknown global \(index)", at: offset) }
        return globals[Int(index)]
    }

    /// The payload type of a tag.
    public func tagType(_ index: UInt32, at offset: Int) throws(WasmParserError) -> FunctionType {
        guard Int(index) < tagTypeIndices.count else { throw invalid("unknown tag \(index)", at: offset) }
        return try functionType(at: tagTypeIndices[Int(index)], offset: offset)
    }

    public func elementType(_ index: UInt32, at offset: Int) throws(WasmParserError) -> ValueType {
        guard Int(index) < elementTypes.count else { throw invalid("unknown elem segment \(index)", at: offset) }
        return elementTypes[Int(index)]
    }

    /// Checks a data index; without a data count section the check waits for the end of the module.
    func checkDataSegment(_ index: UInt32, at offset: Int, use: inout DataSegmentUse) throws(WasmParserError) {
        guard let dataCount else {
            use.record(index, at: offset)
            return
        }
        guard index < dataCount else { throw invalid("unknown data segment \(index)", at: offset) }
    }

    func isDeclared(_ function: UInt32) -> Bool {
        Int(function) < declaredFunctions.count && declaredFunctions[Int(function)]
    }

    /// The type `ref.func` gives: the function's exact type with typed references, else `funcref`.
    func referenceType(ofFunction index: UInt32) -> ValueType {
        guard features.contains(.functionReferences) || features.contains(.gc) else { return .funcref }
        return .ref(ReferenceType(nullable: false, .concrete(functionTypeIndices[Int(index)])))
    }
}

/// Data indices used by bodies (`memory.init`, `data.drop`) in a module without a data count section.
/// The binary format requires that section whenever they are used; a module with no data segments at all
/// is judged as the text format is, by the index being unknown.
struct DataSegmentUse {
    var largestIndex: UInt32?
    var offset = 0

    mutating func record(_ index: UInt32, at offset: Int) {
        if largestIndex == nil || index > largestIndex! { largestIndex = index; self.offset = offset }
    }

    /// Folds in a later function's use (functions merged in order report the same offset as one pass).
    mutating func merge(_ later: DataSegmentUse) {
        if let index = later.largestIndex { record(index, at: later.offset) }
    }

    func check(dataSegmentCount: Int) throws(WasmParserError) {
        guard let largestIndex else { return }
        if dataSegmentCount == 0 {
            throw WasmParserError(.invalid, "unknown data segment \(largestIndex)", offset: offset)
        }
        throw WasmParserError(.malformed, "data count section required", offset: offset)
    }
}
