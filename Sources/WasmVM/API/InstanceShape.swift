import WasmParser

/// How many functions, tables, memories, globals, tags, segments and element references one instance of
/// a module holds, counted once per module. Instantiation carves every per-instance array the interpreter
/// reads (`InstanceContext`'s pointers, element references, global cells) out of one allocation of
/// `words` 64-bit words, instead of a dozen allocations made and freed per instance.
struct InstanceShape {
    var functions = 0
    var tables = 0
    var memories = 0
    var globals = 0
    var tags = 0
    var types = 0
    var elements = 0
    var data = 0
    /// Element segment entries, all segments together.
    var references = 0
    var definedGlobals = 0

    init(_ module: Module) {
        for item in module.imports {
            switch item.descriptor {
            case .function: functions += 1
            case .table: tables += 1
            case .memory: memories += 1
            case .global: globals += 1
            case .tag: tags += 1
            }
        }
        functions += module.codes.count
        tables += module.tables.count
        memories += module.memories.count
        globals += module.globals.count
        tags += module.tags.count
        types = module.types.count
        elements = module.elements.count
        data = module.data.count
        references = module.elements.reduce(0) { $0 + $1.initializers.count }
        definedGlobals = module.globals.count
    }

    var words: Int {
        functions + tables + memories + globals + tags + types + references
            + (elements + data) * Arena.words(SegmentStorage.self) + definedGlobals * 2
    }
}

/// Hands out consecutive pieces of one block of 64-bit words (all of an instance's arrays hold 8-byte
/// aligned values); the store frees the block as a whole.
struct Arena {
    private var next: UnsafeMutablePointer<UInt64>
    private let end: UnsafeMutablePointer<UInt64>

    init(_ block: UnsafeMutablePointer<UInt64>, words: Int) {
        next = block
        end = block + words
    }

    static func words<T>(_ type: T.Type) -> Int {
        precondition(MemoryLayout<T>.alignment <= 8 && MemoryLayout<T>.stride % 8 == 0)
        return MemoryLayout<T>.stride / 8
    }

    /// Room for `count` values of `T`, uninitialized.
    mutating func take<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        let words = Arena.words(T.self) * count
        precondition(next + words <= end, "instance arena overrun")
        let piece = UnsafeMutableRawPointer(next).bindMemory(to: T.self, capacity: count)
        next += words
        return piece
    }
}
