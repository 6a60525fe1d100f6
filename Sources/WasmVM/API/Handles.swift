#if canImport(Glibc)
import Glibc
#endif
import WasmParser

/// A function in a store (exported by an instance or defined by the host).
public struct Function {
    public let store: Store
    public let address: Int

    public var type: FunctionType { store.type(ofFunction: address) }
    /// The canonical ID of its defined type (`TypeRegistry`): equal IDs are the same type, whatever module
    /// defined it.
    public var typeID: Int { store.functions[address].typeID }

    /// Calls the function. Arguments must match its parameter types.
    public func invoke(_ arguments: [Value] = []) throws(Trap) -> [Value] {
        try store.invoke(address, arguments)
    }
}

/// A linear memory. All accesses are bounds-checked.
public struct Memory {
    public let store: Store
    let storage: UnsafeMutablePointer<MemoryStorage>

    public var byteCount: Int { storage.pointee.byteCount }
    public var pageCount: Int { storage.pointee.pageCount }

    public var type: MemoryType {
        MemoryType(limits: Limits(min: UInt64(pageCount), max: storage.pointee.declaredMax), is64: storage.pointee.is64)
    }

    /// Grows by `pages`; returns the previous page count, or nil if the limits forbid it.
    @discardableResult
    public func grow(by pages: Int) -> Int? { storage.pointee.grow(by: UInt64(max(pages, 0))) }

    func check(_ offset: UInt64, _ count: UInt64) throws(Trap) -> Int {
        guard offset <= UInt64(byteCount), count <= UInt64(byteCount) - offset else {
            throw Trap(.outOfBoundsMemoryAccess)
        }
        return Int(offset)
    }

    public func read(at offset: UInt64, count: Int) throws(Trap) -> [UInt8] {
        let start = try check(offset, UInt64(max(count, 0)))
        return [UInt8](UnsafeRawBufferPointer(start: storage.pointee.base + start, count: count))
    }

    /// Copies `bytes` into memory at `offset` (one bounds check, one memcpy).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(Trap) {
        copy(bytes, to: try check(offset, UInt64(bytes.count)))
    }

    public func write(_ bytes: [UInt8], at offset: UInt64) throws(Trap) {
        let start = try check(offset, UInt64(bytes.count))
        bytes.withUnsafeBytes { copy($0, to: start) }
    }

    public func write(_ bytes: ArraySlice<UInt8>, at offset: UInt64) throws(Trap) {
        let start = try check(offset, UInt64(bytes.count))
        bytes.withUnsafeBytes { copy($0, to: start) }
    }

    /// Copies already bounds-checked bytes to `start`.
    func copy(_ bytes: UnsafeRawBufferPointer, to start: Int) {
        if let source = bytes.baseAddress, bytes.count > 0 {
            (storage.pointee.base + start).copyMemory(from: source, byteCount: bytes.count)
        }
    }

    public func loadUInt32(at offset: UInt64) throws(Trap) -> UInt32 { try load(UInt32.self, at: offset) }
    public func loadUInt64(at offset: UInt64) throws(Trap) -> UInt64 { try load(UInt64.self, at: offset) }
    public func storeUInt32(_ value: UInt32, at offset: UInt64) throws(Trap) { try store(value, at: offset) }
    public func storeUInt64(_ value: UInt64, at offset: UInt64) throws(Trap) { try store(value, at: offset) }

    /// A little-endian integer at any (bounds-checked) address.
    func load<T: FixedWidthInteger>(_: T.Type, at offset: UInt64) throws(Trap) -> T {
        let start = try check(offset, UInt64(MemoryLayout<T>.size))
        return storage.pointee.base.loadUnaligned(fromByteOffset: start, as: T.self)
    }

    func store<T: FixedWidthInteger>(_ value: T, at offset: UInt64) throws(Trap) {
        let start = try check(offset, UInt64(MemoryLayout<T>.size))
        storage.pointee.base.storeBytes(of: value, toByteOffset: start, as: T.self)
    }

    /// Direct access to `count` bytes at `offset`, after a bounds check; do not keep the pointer
    /// (growing the memory moves it).
    public func withUnsafeMutableBytes<R>(at offset: UInt64, count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        let start = try check(offset, UInt64(max(count, 0)))
        return try body(UnsafeMutableRawBufferPointer(start: storage.pointee.base + start, count: count))
    }
}

public struct Table {
    public let store: Store
    let storage: UnsafeMutablePointer<TableStorage>

    public var count: Int { storage.pointee.count }
    public var type: TableType {
        TableType(elementType: storage.pointee.elementType,
                  limits: Limits(min: UInt64(count), max: storage.pointee.declaredMax), is64: storage.pointee.is64)
    }

    public func get(_ index: Int) throws(Trap) -> Value {
        guard index >= 0, index < count else { throw Trap(.outOfBoundsTableAccess) }
        let value = store.value(slot: storage.pointee.elements[index], type: storage.pointee.elementType)
        store.pinExceptions(in: [value])
        return value
    }

    /// Throws when the index is out of bounds or the value is not of the table's element type.
    public func set(_ index: Int, _ value: Value) throws(Trap) {
        guard index >= 0, index < count else { throw Trap(.outOfBoundsTableAccess) }
        guard store.matches(value, storage.pointee.elementType) else {
            throw Trap(.host("\(value) is not a value of the table's element type \(storage.pointee.elementType)"))
        }
        storage.pointee.elements[index] = try store.slot(for: value)
    }
}

public struct Global {
    public let store: Store
    let cell: UnsafeMutablePointer<UInt64>
    public let type: GlobalType

    public var value: Value {
        if type.valueType == .v128 { return .v128(V128(low: cell[0], high: cell[1])) }
        let value = store.value(slot: cell.pointee, type: type.valueType)
        store.pinExceptions(in: [value])
        return value
    }

    /// Throws when the value is not of the global's type (or names an object the store no longer has).
    public func set(_ value: Value) throws(Trap) {
        guard store.matches(value, type.valueType) else {
            throw Trap(.host("\(value) is not a value of the global's type \(type.valueType)"))
        }
        if case .v128(let v) = value {
            cell[0] = v.low
            cell[1] = v.high
        } else {
            cell.pointee = try store.slot(for: value)
        }
    }
}

/// An exception tag: exceptions are matched by tag identity (each defined tag is distinct; an imported
/// tag is the exporter's).
public struct Tag {
    public let store: Store
    public let address: Int

    /// The payload's types (canonical).
    public var type: FunctionType { FunctionType(parameters: store.tags[address].payload, results: []) }
    /// The canonical ID of its function type (`TypeRegistry`).
    public var typeID: Int { store.tags[address].typeID }
}

public enum ExternalValue {
    case function(Function)
    case table(Table)
    case memory(Memory)
    case global(Global)
    case tag(Tag)

    var kindName: String {
        switch self {
        case .function: return "function"
        case .table: return "table"
        case .memory: return "memory"
        case .global: return "global"
        case .tag: return "tag"
        }
    }
}

/// A name compared byte for byte (Wasm names are not Unicode-normalized: "Å" precomposed and decomposed
/// are different names), hashed in one pass over its UTF-8.
struct ExactName: Hashable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (a: ExactName, b: ExactName) -> Bool {
        var (x, y) = (a.text, b.text)
        return x.withUTF8 { p in y.withUTF8 { q in p.count == q.count && (p.count == 0 || memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0) } }
    }

    func hash(into hasher: inout Hasher) {
        var copy = text
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// The values an instance's imports are resolved from, by module and name (compared byte for byte).
public struct Imports {
    var entries: [ExactName: [ExactName: ExternalValue]] = [:]

    public init() {}

    public mutating func define(module: String, name: String, _ value: ExternalValue) {
        entries[ExactName(module), default: [:]][ExactName(name)] = value
    }

    /// Makes every export of `instance` importable under `module`.
    public mutating func define(module: String, instance: Instance) {
        for (name, value) in instance.exports { define(module: module, name: name, value) }
    }

    public func lookup(module: String, name: String) -> ExternalValue? {
        entries[ExactName(module)]?[ExactName(name)]
    }

    public func hasModule(_ module: String) -> Bool { entries[ExactName(module)] != nil }
}

/// The embedder's hold on a reference: the struct or array it names stays alive until `release()` (or until the
/// hold is dropped), across any number of calls and collections. References returned by a call are only
/// kept until the next call into the store (which keeps its own arguments); hold the ones needed longer.
public final class HeldReference {
    public let value: Value
    weak var store: Store?
    let address: UInt?

    init(value: Value, store: Store, address: UInt?) {
        self.value = value
        self.store = store
        self.address = address
    }

    /// Lets the object go (a no-op the second time, and for references that are not objects).
    public func release() {
        guard let address, let holder = store, let count = holder.gcHeap.held[address] else { return }
        holder.gcHeap.held[address] = count > 1 ? count - 1 : nil
        store = nil
    }

    deinit { release() }
}

extension Store {
    /// Holds `value` (any value; only structs and arrays need it) so that it outlives the next call.
    /// Throws when it names an object this store does not have.
    public func hold(_ value: Value) throws(Trap) -> HeldReference {
        var address: UInt?
        switch value {
        case .anyref(.object(let object)?), .externref(.object(let object)?):
            _ = try slot(for: value)  // checks the object is live and this store's
            gcHeap.held[object.address, default: 0] += 1
            address = object.address
        default:
            break
        }
        return HeldReference(value: value, store: self, address: address)
    }
}
