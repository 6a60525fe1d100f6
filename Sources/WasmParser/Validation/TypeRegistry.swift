import Synchronization

/// Process-wide canonical types (iso-recursive type equivalence, WebAssembly 3.0).
///
/// Two defined types are the same type when their recursion groups have the same shape and the same
/// position in it, with references inside the group compared by position and references outside it by
/// canonical identity. The registry gives every distinct (group, position) one canonical ID, so equality
/// of types — within a module, across modules at link time, and at run time (`call_indirect`, casts) — is
/// equality of integers. Declared supertypes are recorded by ID, so subtyping is a walk up a chain.
///
/// Types stored here are in canonical form: every `.concrete(n)` inside them is a canonical ID.
public final class TypeRegistry: @unchecked Sendable {
    public static let shared = TypeRegistry()

    /// A group with its references rewritten: inside the group `localBit | position`, outside a canonical ID.
    struct GroupKey: Hashable {
        let types: [SubType]
    }

    struct Entry {
        /// The type with every reference a canonical ID.
        var type: SubType
        var supertype: Int?
        /// Length of the supertype chain above this type.
        var depth: Int
        /// How many types its recursion group has.
        var groupSize = 1
    }

    static let localBit: UInt32 = 0x8000_0000
    /// Stands for an out-of-range index in an invalid module (validation reports it; it is never used).
    static let invalidReference: UInt32 = 0x7FFF_FFFF

    struct State {
        var groups: [GroupKey: Int] = [:]
        var entries: [Entry] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Canonical IDs for a module's types, given its recursion groups (ranges of `types`).
    public func canonicalize(_ types: [SubType], groups moduleGroups: [Range<Int>]) -> [Int] {
        state.withLock { state in Self.canonicalize(types, groups: moduleGroups, into: &state) }
    }

    static func canonicalize(_ types: [SubType], groups moduleGroups: [Range<Int>], into state: inout State) -> [Int] {
        var ids = [Int](repeating: 0, count: types.count)
        for group in moduleGroups where group.lowerBound >= 0 && group.upperBound <= types.count {
            func rewrite(_ index: UInt32) -> UInt32 {
                let i = Int(index)
                if group.contains(i) { return TypeRegistry.localBit | UInt32(i - group.lowerBound) }
                if i < group.lowerBound { return UInt32(ids[i]) }
                return TypeRegistry.invalidReference
            }
            let key = GroupKey(types: types[group].map { $0.mapReferences(rewrite) })
            let first: Int
            if let existing = state.groups[key] {
                first = existing
            } else {
                first = state.entries.count
                state.groups[key] = first
                for local in key.types {
                    let resolved = local.mapReferences { $0 & TypeRegistry.localBit != 0 ? UInt32(first) + ($0 & ~TypeRegistry.localBit) : $0 }
                    let supertype = resolved.supertype.flatMap { $0 == TypeRegistry.invalidReference ? nil : Int($0) }
                    let depth = supertype.map { $0 < state.entries.count ? state.entries[$0].depth + 1 : 1 } ?? 0
                    state.entries.append(Entry(type: resolved, supertype: supertype, depth: depth, groupSize: key.types.count))
                }
            }
            for (k, i) in group.enumerated() { ids[i] = first + k }
        }
        return ids
    }

    /// The canonical ID of a function type that stands alone (a host function's type). References in it must
    /// be abstract or canonical IDs.
    public func intern(_ function: FunctionType) -> Int {
        state.withLock { state in
            let key = GroupKey(types: [SubType(.function(function))])
            if let existing = state.groups[key] { return existing }
            let id = state.entries.count
            state.groups[key] = id
            state.entries.append(Entry(type: key.types[0], supertype: nil, depth: 0))
            return id
        }
    }

    /// The type with canonical ID `id`, its references canonical IDs.
    public func type(_ id: Int) -> SubType {
        state.withLock { $0.entries[id].type }
    }

    /// Whether canonical type `a` is `b` or declares it (transitively) as a supertype.
    public func isSubtype(_ a: Int, of b: Int) -> Bool {
        if a == b { return true }
        return state.withLock { state in
            guard a < state.entries.count, b < state.entries.count else { return false }
            var current = a
            let targetDepth = state.entries[b].depth
            while state.entries[current].depth > targetDepth, let next = state.entries[current].supertype {
                current = next
            }
            return current == b
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }

    /// Whether `id` is a type of its own: alone in its recursion group, final, without a supertype — the type a
    /// plain `(type (func ...))` defines, so any module that writes the same definition has it.
    public func isPlain(_ id: Int) -> Bool {
        state.withLock { state in
            guard id >= 0, id < state.entries.count else { return false }
            let entry = state.entries[id]
            return entry.groupSize == 1 && entry.type.isFinal && entry.supertype == nil
        }
    }

    /// `id` and its declared supertypes, nearest first.
    public func supertypeChain(_ id: Int) -> [Int] {
        state.withLock { state in
            var chain: [Int] = []
            var current: Int? = id
            while let c = current, c < state.entries.count, chain.count <= state.entries.count {
                chain.append(c)
                current = state.entries[c].supertype
            }
            return chain
        }
    }
}

extension SubType {
    /// The same type with every type index (supertype and concrete heap types) passed through `map`.
    func mapReferences(_ map: (UInt32) -> UInt32) -> SubType {
        func value(_ t: ValueType) -> ValueType {
            if case .ref(let r) = t, case .concrete(let i) = r.heapType {
                return .ref(ReferenceType(nullable: r.isNullable, .concrete(map(i))))
            }
            return t
        }
        func field(_ f: FieldType) -> FieldType {
            if case .value(let t) = f.storage { return FieldType(.value(value(t)), mutable: f.isMutable) }
            return f
        }
        let composite: CompositeType
        switch self.composite {
        case .function(let f):
            composite = .function(FunctionType(parameters: f.parameters.map(value), results: f.results.map(value)))
        case .structure(let fields): composite = .structure(fields.map(field))
        case .array(let f): composite = .array(field(f))
        }
        return SubType(isFinal: isFinal, supertype: supertype.map(map), composite)
    }
}

