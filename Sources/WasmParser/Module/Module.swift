/// A decoded WebAssembly module: every section of the binary format in typed form.
///
/// Function bodies and data segments are kept as ranges into `bytes` (decoded lazily by the validator
/// and translator), so decoding does one linear pass and copies nothing large.
public struct Module: Sendable {
    public let bytes: [UInt8]
    /// The type section, flattened: every defined type in index order.
    public var types: [SubType] = []
    /// The type section's recursion groups, as ranges of `types` (a type outside `rec` is a group of one).
    public var recursionGroups: [Range<Int>] = []
    public var imports: [Import] = []
    /// Type index of each function defined in the module (the function section).
    public var functionTypeIndices: [UInt32] = []
    public var tables: [TableType] = []
    /// Per defined table: its initializer expression (typed function references), or nil for null.
    public var tableInitializers: [ConstantExpression?] = []
    public var memories: [MemoryType] = []
    /// Exception tags defined by the module (the tag section).
    public var tags: [TagType] = []
    public var globals: [Global] = []
    public var exports: [Export] = []
    public var start: UInt32?
    public var elements: [ElementSegment] = []
    public var dataCount: UInt32?
    public var codes: [FunctionBody] = []
    public var data: [DataSegment] = []
    public var customSections: [CustomSection] = []
    /// Every section in file order: id (0 custom, 1 type, ... 12 data count, 13 tag) and content byte range.
    public var sections: [(id: UInt8, range: Range<Int>)] = []
    /// Decoded `name` custom section; nil when absent or malformed (the spec says a malformed name section is ignored).
    public var names: NameSection?
    /// Valid branch hints (the `metadata.code.branch_hint` section) by function index.
    public var branchHints: [UInt32: [BranchHint]] = [:]
    /// What is wrong with custom sections Nebula reads (they never make a module malformed or invalid).
    public var customSectionIssues: [String] = []

    /// The proposals the module was decoded with, and is validated and compiled under.
    public var features: Features = .wasm3

    public init(bytes: [UInt8]) { self.bytes = bytes }

    // MARK: Index spaces (imports come first in each)

    public var importedFunctionTypeIndices: [UInt32] {
        imports.compactMap { if case .function(let t) = $0.descriptor { return t } else { return nil } }
    }
    public var importedTables: [TableType] {
        imports.compactMap { if case .table(let t) = $0.descriptor { return t } else { return nil } }
    }
    public var importedMemories: [MemoryType] {
        imports.compactMap { if case .memory(let m) = $0.descriptor { return m } else { return nil } }
    }
    public var importedGlobals: [GlobalType] {
        imports.compactMap { if case .global(let g) = $0.descriptor { return g } else { return nil } }
    }
    public var importedTags: [TagType] {
        imports.compactMap { if case .tag(let t) = $0.descriptor { return t } else { return nil } }
    }

    /// The function type at `typeIndex`, or nil if there is none (out of range, or a struct or array type).
    public func functionType(at typeIndex: UInt32) -> FunctionType? {
        guard Int(typeIndex) < types.count else { return nil }
        return types[Int(typeIndex)].functionType
    }

    /// The payload of a data segment.
    public func bytes(of segment: DataSegment) -> ArraySlice<UInt8> { bytes[segment.range] }
}

public enum ExternalKind: UInt8, Sendable, CustomStringConvertible {
    case function = 0
    case table = 1
    case memory = 2
    case global = 3
    case tag = 4

    public var description: String {
        switch self {
        case .function: return "func"
        case .table: return "table"
        case .memory: return "memory"
        case .global: return "global"
        case .tag: return "tag"
        }
    }
}

public enum ImportDescriptor: Hashable, Sendable {
    case function(typeIndex: UInt32)
    case table(TableType)
    case memory(MemoryType)
    case global(GlobalType)
    case tag(TagType)

    public var kind: ExternalKind {
        switch self {
        case .function: return .function
        case .table: return .table
        case .memory: return .memory
        case .global: return .global
        case .tag: return .tag
        }
    }
}

public struct Import: Hashable, Sendable {
    public var module: String
    public var name: String
    public var descriptor: ImportDescriptor

    public init(module: String, name: String, descriptor: ImportDescriptor) {
        self.module = module
        self.name = name
        self.descriptor = descriptor
    }
}

public struct Export: Hashable, Sendable {
    public var name: String
    public var kind: ExternalKind
    public var index: UInt32

    public init(name: String, kind: ExternalKind, index: UInt32) {
        self.name = name
        self.kind = kind
        self.index = index
    }
}

/// A constant expression (global initializers, segment offsets, element expressions), without its `end`.
public struct ConstantExpression: Hashable, Sendable {
    public var instructions: [Instruction]
    /// Where the expression starts in the module, for error messages.
    public var offset: Int

    public init(instructions: [Instruction], offset: Int = 0) {
        self.instructions = instructions
        self.offset = offset
    }
}

public struct Global: Hashable, Sendable {
    public var type: GlobalType
    public var initializer: ConstantExpression
}

public struct ElementSegment: Hashable, Sendable {
    public enum Mode: Hashable, Sendable {
        case passive
        case active(table: UInt32, offset: ConstantExpression)
        case declarative
    }

    public enum Initializers: Hashable, Sendable {
        /// Encodings 0–3: a list of function indices.
        case functions([UInt32])
        /// Encodings 4–7: a list of constant expressions.
        case expressions([ConstantExpression])

        public var count: Int {
            switch self {
            case .functions(let f): return f.count
            case .expressions(let e): return e.count
            }
        }
    }

    public var type: ValueType
    public var mode: Mode
    public var initializers: Initializers
    public var offset: Int
}

public struct DataSegment: Hashable, Sendable {
    public enum Mode: Hashable, Sendable {
        case passive
        case active(memory: UInt32, offset: ConstantExpression)
    }

    public var mode: Mode
    /// The payload's position in the module's bytes.
    public var range: Range<Int>
}

/// Locals declared as runs of one type, as the binary format stores them.
public struct LocalGroup: Hashable, Sendable {
    public var count: UInt32
    public var type: ValueType
}

public struct FunctionBody: Hashable, Sendable {
    public var locals: [LocalGroup]
    /// Sum of the group counts (fits in UInt32: the decoder rejects more as `too many locals`).
    public var localCount: UInt32
    /// The instructions, from the first one to the function's final `end` inclusive.
    public var range: Range<Int>
    /// Where the body (its local declarations) starts: branch hints count their offsets from here.
    public var start: Int

    public init(locals: [LocalGroup], localCount: UInt32, range: Range<Int>, start: Int) {
        self.locals = locals
        self.localCount = localCount
        self.range = range
        self.start = start
    }
}

public struct CustomSection: Hashable, Sendable {
    public var name: String
    public var range: Range<Int>
    /// Where the section goes among the others, for encoding: the standard section of order k (type 1,
    /// import 2, … data 13, see `SectionID.order`) sits at 2k, so `2k + 1` is right after it and `2k - 1`
    /// right before it; -1 is before everything, `Int.max` after everything.
    public var placement: Int

    public init(name: String, range: Range<Int>, placement: Int = .max) {
        self.name = name
        self.range = range
        self.placement = placement
    }
}

public struct NameSection: Hashable, Sendable {
    public var moduleName: String?
    public var functionNames: [UInt32: String] = [:]
    public var localNames: [UInt32: [UInt32: String]] = [:]
}
