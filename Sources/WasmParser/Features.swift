/// The WebAssembly proposals a module may use, chosen by the embedder (like wasmtime's `Config`). Decoding
/// and validation reject what is off with the spec's message plus the feature's name, so a 2.0 engine still
/// says "illegal opcode" or "multiple memories" where the 2.0 suite expects it.
public struct Features: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `throw`, `throw_ref`, `try_table`, tags and `exnref` (WebAssembly 3.0).
    public static let exceptions = Features(rawValue: 1 << 0)
    /// The legacy `try`/`catch`/`catch_all`/`delegate`/`rethrow` that older toolchains emit.
    public static let legacyExceptions = Features(rawValue: 1 << 1)
    /// `return_call`, `return_call_indirect`, `return_call_ref`.
    public static let tailCall = Features(rawValue: 1 << 2)
    /// Typed function references: `(ref $t)`, `call_ref`, `br_on_null`, non-nullable locals, table initializers.
    public static let functionReferences = Features(rawValue: 1 << 3)
    /// `i32/i64.add/sub/mul` and `global.get` of any earlier immutable global in constant expressions.
    public static let extendedConst = Features(rawValue: 1 << 4)
    /// Garbage collection: structs, arrays, i31, casts, recursive type groups, subtyping.
    public static let gc = Features(rawValue: 1 << 5)
    /// More than one memory per module, and a memory index on memory instructions.
    public static let multiMemory = Features(rawValue: 1 << 6)
    /// Memories and tables indexed by i64.
    public static let memory64 = Features(rawValue: 1 << 7)
    /// Relaxed SIMD.
    public static let relaxedSIMD = Features(rawValue: 1 << 8)

    /// WebAssembly 2.0 (MVP, sign extension, saturating conversions, multi-value, reference types, bulk
    /// memory, fixed-width SIMD): no proposal beyond it.
    public static let wasm2: Features = []
    /// Everything of WebAssembly 3.0 that Nebula implements, plus legacy exceptions: the default.
    public static let wasm3: Features = [.exceptions, .legacyExceptions, .tailCall, .functionReferences, .extendedConst,
                                         .gc, .multiMemory, .memory64, .relaxedSIMD]

    public static let named: [(name: String, feature: Features)] = [
        ("exceptions", .exceptions), ("legacy-exceptions", .legacyExceptions), ("tail-call", .tailCall),
        ("function-references", .functionReferences), ("extended-const", .extendedConst), ("gc", .gc),
        ("multi-memory", .multiMemory), ("memory64", .memory64), ("relaxed-simd", .relaxedSIMD),
    ]

    /// Parses `2.0`, `3.0`, or a comma-separated list of names, each optionally prefixed with `-` to turn it
    /// off (e.g. `3.0,-tail-call` or `2.0,exceptions`). Returns nil for an unknown name.
    public static func parse(_ text: String) -> Features? {
        var features = Features.wasm3
        for (i, part) in text.split(separator: ",").enumerated() {
            let item = String(part.filter { $0 != " " })
            switch item {
            case "2.0", "wasm2": features = i == 0 ? .wasm2 : features.union(.wasm2)
            case "3.0", "wasm3", "all": features = i == 0 ? .wasm3 : features.union(.wasm3)
            default:
                let off = item.hasPrefix("-")
                let name = off ? String(item.dropFirst()) : item
                guard let feature = named.first(where: { $0.name == name })?.feature else { return nil }
                if i == 0 && !off { features = .wasm2 }
                if off { features.remove(feature) } else { features.insert(feature) }
            }
        }
        return features
    }

    /// The names of the features in this set, e.g. `exceptions, tail-call`.
    public var description: String {
        let names = Features.named.filter { contains($0.feature) }.map(\.name)
        return names.isEmpty ? "2.0" : names.joined(separator: ", ")
    }

    /// The 3.0 type system (recursion groups, declared subtypes) comes with typed references or GC.
    var hasTypeSystem3: Bool { contains(.functionReferences) || contains(.gc) }

    /// The name of a single feature, for error messages.
    var name: String { Features.named.first { $0.feature == self }?.name ?? description }
}
