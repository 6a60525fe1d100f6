/// Subtyping of value and heap types within a module (WebAssembly 3.0, section "Matching"). Defined types
/// compare by canonical ID, so structurally equal types in different recursion groups positions match.
extension ValidationContext {
    public func isSubtype(_ a: ValueType, of b: ValueType) -> Bool {
        switch (a, b) {
        case (.ref(let x), .ref(let y)): return isSubtype(x, of: y)
        default: return a == b
        }
    }

    public func isSubtype(_ a: ReferenceType, of b: ReferenceType) -> Bool {
        if a.isNullable && !b.isNullable { return false }
        return isSubtype(heap: a.heapType, of: b.heapType)
    }

    /// Whether every value of `a` is a value of `b`.
    public func isSubtype(heap a: HeapType, of b: HeapType) -> Bool {
        switch (a, b) {
        case (.bottom, _): return true
        case (_, .bottom): return false
        case (.abstract(let x), .abstract(let y)):
            return Self.isSubtype(abstract: x, of: y)
        case (.concrete(let x), .abstract(let y)):
            guard let kind = compositeKind(x) else { return false }
            return Self.isSubtype(abstract: kind, of: y)
        case (.abstract(let x), .concrete(let y)):
            // Only the bottom of a hierarchy is below a defined type.
            guard let kind = compositeKind(y) else { return false }
            return x == kind.bottom
        case (.concrete(let x), .concrete(let y)):
            return isDefinedSubtype(x, of: y)
        }
    }

    /// The abstract type a defined type's values belong to: `func`, `struct` or `array`.
    func compositeKind(_ index: UInt32) -> AbstractHeapType? {
        guard Int(index) < types.count else { return nil }
        switch types[Int(index)].composite {
        case .function: return .func
        case .structure: return .struct
        case .array: return .array
        }
    }

    /// Defined types: the same canonical type, or a declared supertype (transitively).
    func isDefinedSubtype(_ a: UInt32, of b: UInt32) -> Bool {
        guard Int(a) < types.count, Int(b) < types.count else { return false }
        let target = canonicalTypeIDs[Int(b)]
        var current = Int(a)
        var steps = 0
        while true {
            if canonicalTypeIDs[current] == target { return true }
            // Supertypes precede their subtypes (validated), so the walk ends; the step bound guards invalid input.
            guard let next = types[current].supertype, Int(next) < types.count, steps < types.count else { return false }
            current = Int(next)
            steps += 1
        }
    }

    static func isSubtype(abstract a: AbstractHeapType, of b: AbstractHeapType) -> Bool {
        if a == b { return true }
        switch b {
        case .any: return a.top == .any
        case .eq: return a == .i31 || a == .struct || a == .array || a == .none
        case .i31, .struct, .array: return a == .none
        case .func: return a == .noFunc
        case .extern: return a == .noExtern
        case .exn: return a == .noExn
        default: return false
        }
    }

    /// The top of the hierarchy a heap type belongs to.
    public func top(of heap: HeapType) -> AbstractHeapType {
        switch heap {
        case .abstract(let a): return a.top
        case .concrete(let i): return compositeKind(i)?.top ?? .any
        case .bottom: return .any  // below every hierarchy; never asked of a module's own types
        }
    }

    /// Whether two value types are the same type (mutually subtypes).
    func isEquivalent(_ a: ValueType, _ b: ValueType) -> Bool {
        isSubtype(a, of: b) && isSubtype(b, of: a)
    }
}
