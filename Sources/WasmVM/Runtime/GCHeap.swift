import Foundation
import WasmParser

/// Garbage-collected objects (WebAssembly 3.0 structs and arrays) and how references are encoded.
///
/// **References in a slot.** Every reference of the `any` and `extern` hierarchies is one 64-bit word, and
/// both hierarchies share the encoding, so `any.convert_extern` and `extern.convert_any` are no-ops and
/// `ref.eq` is a comparison of words:
///
///     0                        null
///     low bit 1                an i31: its 31 bits in bits 1...31
///     low bits 10              a host value h < 2^62 (an `externref` from the embedder): h << 2 | 2
///     low bits 00, not 0       an object: the address of its header (16-byte aligned)
///
/// A host value of 2^62 or more is boxed in a small object (`GCLayout.Kind.hostBox`). Function references
/// (address + 1) and exception references (index + 1) keep their own encodings: no instruction converts
/// between their hierarchies and these.
///
/// **Objects.** A 16-byte header — the layout's address, then the array length and the mark bit with a
/// serial number — followed by the fields at natural alignment, or the elements packed at their size
/// (an `(array i8)` takes one byte per element). Layouts are computed once per canonical type for the whole
/// process and never freed, so the translator embeds a layout's address and field offsets in the code and the
/// interpreter never looks a type up.
enum GCSlot {
    @inline(__always) static func i31(_ value: UInt32) -> UInt64 { (UInt64(value & 0x7FFF_FFFF) << 1) | 1 }
    @inline(__always) static func isI31(_ slot: UInt64) -> Bool { slot & 1 != 0 }
    /// The 31-bit payload, zero-extended.
    @inline(__always) static func i31Unsigned(_ slot: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: slot >> 1) & 0x7FFF_FFFF }
    /// The 31-bit payload, sign-extended from bit 30.
    @inline(__always) static func i31Signed(_ slot: UInt64) -> UInt32 {
        UInt32(bitPattern: Int32(bitPattern: UInt32(truncatingIfNeeded: slot)) >> 1)
    }
    @inline(__always) static func isHost(_ slot: UInt64) -> Bool { slot & 3 == 2 }
    @inline(__always) static func isObject(_ slot: UInt64) -> Bool { slot != 0 && slot & 3 == 0 }
    static let largestInlineHost: UInt64 = (1 << 62) - 1

    @inline(__always) static func object(_ slot: UInt64) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: UInt(slot)).unsafelyUnwrapped
    }
}

/// How a field or element is stored: packed integers, 32-, 64- and 128-bit numbers, and references.
/// `reference` fields hold `any`/`extern` references (traced by the collector); `function` and `exception`
/// fields hold function and exception references (not GC objects; exceptions are roots of their own collector).
enum GCFieldKind: UInt8 {
    case i8, i16, bits32, bits64, v128, reference, function, exception

    var size: Int {
        switch self {
        case .i8: return 1
        case .i16: return 2
        case .bits32: return 4
        case .bits64, .reference, .function, .exception: return 8
        case .v128: return 16
        }
    }

    init(_ storage: StorageType) {
        switch storage {
        case .i8: self = .i8
        case .i16: self = .i16
        case .value(let t):
            switch t {
            case .i32, .f32: self = .bits32
            case .i64, .f64: self = .bits64
            case .v128: self = .v128
            case .ref(let r):
                switch r.hierarchy {
                case .func: self = .function
                case .exn: self = .exception
                default: self = .reference
                }
            }
        }
    }

    /// Slots a value of this kind takes on the operand stack.
    var slotCount: Int { self == .v128 ? 2 : 1 }
}

/// The shape of the objects of one canonical type: immutable, allocated once per process.
struct GCLayout {
    enum Kind: UInt8 { case structure, array, hostBox }
    var kind: Kind
    /// Arrays: how elements are stored.
    var elementKind: GCFieldKind
    /// Canonical type ID (`TypeRegistry`).
    var typeID: Int
    /// Structs: payload bytes; arrays: bytes per element.
    var size: Int
    /// The type and its declared supertypes, nearest first (casts walk it).
    var supertypes: UnsafeMutablePointer<Int>
    var supertypeCount: Int
    /// Structs: each field's byte offset from the object's start, and its kind.
    var fieldOffsets: UnsafeMutablePointer<Int32>
    var fieldKinds: UnsafeMutablePointer<GCFieldKind>
    var fieldCount: Int
    /// Structs: offsets of the `reference` fields (the collector's work list), and of `exception` fields.
    var referenceOffsets: UnsafeMutablePointer<Int32>
    var referenceCount: Int
    var exceptionOffsets: UnsafeMutablePointer<Int32>
    var exceptionCount: Int

    static let headerSize = 16

    /// Whether an object of this layout is of canonical type `id` or a subtype of it.
    @inline(__always) func isSubtype(of id: Int) -> Bool {
        for i in 0..<supertypeCount where supertypes[i] == id { return true }
        return false
    }
}

/// The process's layouts, by canonical type ID.
final class GCLayouts: @unchecked Sendable {
    static let shared = GCLayouts()
    private let lock = NSLock()
    private var table: [Int: UnsafePointer<GCLayout>] = [:]

    /// The layout boxing a host value of 2^62 or more (one 8-byte field).
    nonisolated(unsafe) static let hostBox: UnsafePointer<GCLayout> = make(kind: .hostBox, elementKind: .bits64, typeID: -1, size: 8,
                                                        supertypes: [], fields: [(GCLayout.headerSize, .bits64)])

    /// The layout of canonical struct or array type `id`; nil for a function type.
    func layout(_ id: Int) -> UnsafePointer<GCLayout>? {
        lock.lock()
        let known = table[id]
        lock.unlock()
        if let known { return known }
        let type = TypeRegistry.shared.type(id)
        let layout: UnsafePointer<GCLayout>
        switch type.composite {
        case .function:
            return nil
        case .structure(let fields):
            var offset = GCLayout.headerSize
            var placed: [(Int, GCFieldKind)] = []
            for field in fields {
                let kind = GCFieldKind(field.storage)
                offset = (offset + kind.size - 1) / kind.size * kind.size
                placed.append((offset, kind))
                offset += kind.size
            }
            layout = Self.make(kind: .structure, elementKind: .bits64, typeID: id, size: offset - GCLayout.headerSize,
                               supertypes: TypeRegistry.shared.supertypeChain(id), fields: placed)
        case .array(let element):
            let kind = GCFieldKind(element.storage)
            layout = Self.make(kind: .array, elementKind: kind, typeID: id, size: kind.size,
                               supertypes: TypeRegistry.shared.supertypeChain(id), fields: [])
        }
        lock.lock()
        defer { lock.unlock() }
        if let raced = table[id] { return raced }
        table[id] = layout
        return layout
    }

    static func make(kind: GCLayout.Kind, elementKind: GCFieldKind, typeID: Int, size: Int, supertypes: [Int],
                     fields: [(Int, GCFieldKind)]) -> UnsafePointer<GCLayout> {
        func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
            let pointer = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(values.count, 1))
            pointer.initialize(from: values, count: values.count)
            return pointer
        }
        let references = fields.filter { $0.1 == .reference }.map { Int32($0.0) }
        let exceptions = fields.filter { $0.1 == .exception }.map { Int32($0.0) }
        let layout = UnsafeMutablePointer<GCLayout>.allocate(capacity: 1)
        layout.initialize(to: GCLayout(
            kind: kind, elementKind: elementKind, typeID: typeID, size: size,
            supertypes: copy(supertypes), supertypeCount: supertypes.count,
            fieldOffsets: copy(fields.map { Int32($0.0) }), fieldKinds: copy(fields.map(\.1)), fieldCount: fields.count,
            referenceOffsets: copy(references), referenceCount: references.count,
            exceptionOffsets: copy(exceptions), exceptionCount: exceptions.count))
        return UnsafePointer(layout)
    }
}

/// An object's header, at its address.
struct GCHeader {
    var layout: UnsafePointer<GCLayout>
    /// Arrays: the element count.
    var length: UInt32
    /// Bit 0: marked (during a collection); bits 1...31: the allocation's serial number.
    var flags: UInt32
}

/// The store's GC heap: every object it allocated, their bytes, and when to collect next. A value inside the
/// store (`Store.gcHeap`, not checked for exclusivity: a store is used by one thread at a time): as a class of
/// its own, the retain and release around each allocation, and the dynamic exclusivity checks, cost more
/// than the allocation. Empty, it costs a store nothing but a few words.
struct GCHeap {
    var objects: [UnsafeMutableRawPointer] = []
    /// Bytes of all live objects (headers included), and the most there ever were.
    var bytes = 0
    var peakBytes = 0
    /// Collect when `bytes` would pass this (twice what survived the last collection, at least 1 MiB).
    var nextCollection = 1 << 20
    var collections = 0
    var serial: UInt32 = 0
    /// Objects handed to the embedder (address -> serial): a reference that comes back in is checked here.
    var escaped: [UInt: UInt32] = [:]
    /// Objects the embedder holds (`Store.hold`), with their hold counts: roots.
    var held: [UInt: Int] = [:]
    /// Objects handed to the embedder since the last call into the store began: roots until the next one
    /// (whose arguments its frames keep).
    var recent: [UInt] = []
    /// Freed objects are kept, poisoned, instead of released (the stress mode's dangling-reference check).
    var quarantine: [UnsafeMutableRawPointer] = []
    /// Functions' code ranges and stack maps (see `Store.codeIndex`).
    var codeIndex: CodeIndex?

    /// Frees every object (the store is going away).
    mutating func release() {
        for object in objects { object.deallocate() }
        for object in quarantine { object.deallocate() }
        objects = []
        quarantine = []
    }

    /// Frees every object and forgets every reference handed out, as a new store's heap (`ReusableInstance`).
    /// The serial goes on counting, so a reference from before cannot match an object made after; the code
    /// index stays (it describes code, not objects).
    mutating func empty() {
        release()
        let (serial, codeIndex) = (self.serial, self.codeIndex)
        self = GCHeap()
        self.serial = serial
        self.codeIndex = codeIndex
    }

    nonisolated(unsafe) static let poison = UnsafePointer<GCLayout>(bitPattern: 0xDEAD_0000)!
}

extension Store {
    /// Allocates an object of `payload` bytes after its header, zeroed. Collects first when the heap is due
    /// (`site` says where the guest is, for its roots; nil where a collection must not run, e.g. during
    /// instantiation). Throws when the object would not fit under the heap limit.
    func allocateObject(_ layout: UnsafePointer<GCLayout>, payload: Int, length: UInt32,
                        site: GCSite?) throws(Trap) -> UnsafeMutableRawPointer {
        let total = GCLayout.headerSize + payload
        let limits = self.limits
        if let site, gcHeap.bytes + total > gcHeap.nextCollection || limits.gcStress {
            collectGarbage(site)
        }
        guard payload >= 0, gcHeap.bytes + total <= limits.maxGCHeapBytes else { throw Trap(.gcHeapExhausted) }
        let object = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 16)
        object.initializeMemory(as: UInt8.self, repeating: 0, count: total)
        gcHeap.serial &+= 1
        object.initializeMemory(as: GCHeader.self, repeating: GCHeader(layout: layout, length: length, flags: (gcHeap.serial << 1)), count: 1)
        gcHeap.objects.append(object)
        gcHeap.bytes += total
        gcHeap.peakBytes = Swift.max(gcHeap.peakBytes, gcHeap.bytes)
        return object
    }

    /// The slot encoding of a host value (boxed when it does not fit the inline form).
    func hostSlot(_ value: UInt64) -> UInt64 {
        if value <= GCSlot.largestInlineHost { return value << 2 | 2 }
        // Not a collection point: the embedder's other values are not rooted while it converts them.
        guard let box = try? allocateObject(GCLayouts.hostBox, payload: 8, length: 0, site: nil) else { return 0 }
        box.storeBytes(of: value, toByteOffset: GCLayout.headerSize, as: UInt64.self)
        return UInt64(UInt(bitPattern: box))
    }

    /// Bytes of GC objects live in this store (after the last collection, plus what was allocated since).
    public var gcHeapBytes: Int { gcHeap.bytes }
    /// The most bytes the GC heap ever held.
    public var gcHeapPeakBytes: Int { gcHeap.peakBytes }
    /// How many collections have run.
    public var gcCollections: Int { gcHeap.collections }
    /// Objects allocated and not yet reclaimed.
    public var gcObjectCount: Int { gcHeap.objects.count }
}

/// Where the guest is when it allocates: the pc after the allocating instruction (its stack map's key) and
/// the frame.
struct GCSite {
    var pc: UnsafePointer<UInt64>
    var fp: UnsafeMutablePointer<UInt64>
}
