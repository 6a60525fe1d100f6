#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WasmParser

/// The raw, pointer-stable state that the interpreter reads. Everything here is owned by a `Store` and lives
/// as long as it; the interpreter reaches it through plain pointers, so its loop does no reference counting.

/// A linear memory: `byteCount` bytes at `base` (never nil: a zero-page memory points at a dummy byte).
struct MemoryStorage {
    var base: UnsafeMutableRawPointer
    var byteCount: Int
    /// The most pages it may grow to: its declared maximum, capped by the store's limit.
    var maxPages: Int
    var declaredMax: UInt64?
    /// Indexed by i64 (memory64).
    var is64: Bool

    /// Bytes of address space reserved at `base`: normally room for the maximum, so the memory never moves.
    var reservedBytes: Int
    /// Bytes at `base` mapped privately from a `MemoryImage` (0: all anonymous).
    var imageBytes = 0
    /// The module's ready memories this one returns to when its store is released (see `MemorySlots`),
    /// retained while the memory is in use.
    var slots: Unmanaged<MemorySlots>?

    var pageCount: Int { byteCount / MemoryType.pageSize }

    /// Returns the reservation to the pool (zeroed by `madvise(MADV_DONTNEED)`, which drops the pages even
    /// if swapped out, and made inaccessible again), or unmaps it when the pool is full.
    func release() {
        MemoryStorage.release(base, byteCount: byteCount, reservedBytes: reservedBytes, imageBytes: imageBytes)
    }

    static func release(_ base: UnsafeMutableRawPointer, byteCount: Int, reservedBytes: Int, imageBytes: Int = 0) {
        if imageBytes > 0 {
            // `MADV_DONTNEED` would bring the image's bytes back, not zeros: anonymous pages replace the file
            // mapping and the grown pages alike. Should that fail, the reservation is not reused.
            let length = Swift.max(byteCount, imageBytes)
            let mapped = mmap(base, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0)
            guard mapped == base else {
                munmap(base, reservedBytes)
                return
            }
        } else if byteCount > 0 {
            madvise(base, byteCount, MADV_DONTNEED)
            mprotect(base, byteCount, PROT_NONE)
        }
        MemoryPool.shared.recycle(base, reservedBytes)
    }

    /// Reservations above this are attempted but may be refused by the system (address space, overcommit
    /// policy); a memory then reserves less and moves when it outgrows it.
    static let largestReservation = 1 << 40

    /// Reserves address space for the memory's maximum (`PROT_NONE`, nothing committed) and makes the
    /// initial pages accessible; the kernel hands out zero pages when first touched, so a module declaring
    /// megabytes costs only what it uses. Growing is an `mprotect`: the base never moves — unless the
    /// maximum was too large to reserve (a 64-bit memory with a huge or no maximum), in which case the
    /// reservation starts smaller and the memory is copied to a larger one when it outgrows it. Returns nil
    /// if the system refuses the mapping.
    static func allocate(pages: Int, maxPages: Int, declaredMax: UInt64?, is64: Bool = false) -> UnsafeMutablePointer<MemoryStorage>? {
        // A 64-bit memory may declare up to 2^48 pages, more than the address space: over the limit is refused
        // here, before any size is computed from it.
        guard pages >= 0, pages <= maxPages else { return nil }
        let bytes = pages * MemoryType.pageSize
        var reserved = reservation(pages: pages, maxPages: maxPages)
        var base = MemoryPool.shared.take(reserved)
        while base == nil && reserved / 2 >= Swift.max(bytes, 4096) {
            reserved /= 2
            base = MemoryPool.shared.take(reserved)
        }
        guard let base else { return nil }
        if bytes > 0 && mprotect(base, bytes, PROT_READ | PROT_WRITE) != 0 {
            MemoryPool.shared.recycle(base, reserved)
            return nil
        }
        let storage = UnsafeMutablePointer<MemoryStorage>.allocate(capacity: 1)
        storage.initialize(to: MemoryStorage(base: base, byteCount: bytes, maxPages: maxPages, declaredMax: declaredMax,
                                             is64: is64, reservedBytes: reserved))
        return storage
    }

    /// The address space reserved for a memory of `pages` that may grow to `maxPages` (when the system grants it).
    static func reservation(pages: Int, maxPages: Int) -> Int {
        Swift.max(Swift.min(Swift.max(pages, maxPages), largestReservation / MemoryType.pageSize) * MemoryType.pageSize, 4096)
    }

    /// Grows by `delta` pages; returns the old page count, or nil when the limit forbids it (or the system
    /// has no memory to give).
    mutating func grow(by delta: UInt64) -> Int? {
        let old = pageCount
        guard delta <= UInt64(maxPages), old + Int(delta) <= maxPages else { return nil }
        if delta == 0 { return old }
        let newBytes = (old + Int(delta)) * MemoryType.pageSize
        if newBytes > reservedBytes {
            guard move(toHold: newBytes) else { return nil }
        }
        guard mprotect(base + byteCount, newBytes - byteCount, PROT_READ | PROT_WRITE) == 0 else { return nil }
        byteCount = newBytes
        return old
    }

    /// Copies the memory to a larger reservation (at least twice the current one, at most the maximum).
    mutating func move(toHold bytes: Int) -> Bool {
        let limit = maxPages * MemoryType.pageSize
        var reserved = Swift.min(Swift.max(bytes, reservedBytes * 2), Swift.max(limit, bytes))
        var newBase = MemoryPool.shared.take(reserved)
        while newBase == nil && reserved > bytes {
            reserved = Swift.max(bytes, reserved / 2)
            newBase = MemoryPool.shared.take(reserved)
        }
        guard let newBase, mprotect(newBase, bytes, PROT_READ | PROT_WRITE) == 0 else {
            if let newBase { MemoryPool.shared.recycle(newBase, reserved) }
            return false
        }
        if byteCount > 0 { newBase.copyMemory(from: base, byteCount: byteCount) }
        MemoryStorage.release(base, byteCount: byteCount, reservedBytes: reservedBytes, imageBytes: imageBytes)
        base = newBase
        reservedBytes = reserved
        imageBytes = 0
        // The new pages beyond the copied ones are already accessible; `grow` makes the same range accessible again.
        return true
    }
}

/// Linear-memory reservations kept for reuse: a server creates a memory per request, and mapping and
/// unmapping address space each time costs more than handing back a zeroed, inaccessible reservation.
final class MemoryPool: @unchecked Sendable {
    static let shared = MemoryPool()
    let lock = NSLock()
    var free: [Int: [UnsafeMutableRawPointer]] = [:]
    var count = 0

    func take(_ bytes: Int) -> UnsafeMutableRawPointer? {
        lock.lock()
        if var list = free[bytes], let base = list.popLast() {
            free[bytes] = list
            count -= 1
            lock.unlock()
            return base
        }
        lock.unlock()
        let base = mmap(nil, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let base, base != MAP_FAILED else { return nil }
        return base
    }

    func recycle(_ base: UnsafeMutableRawPointer, _ bytes: Int) {
        lock.lock()
        if count < 64 {
            free[bytes, default: []].append(base)
            count += 1
            lock.unlock()
            return
        }
        lock.unlock()
        munmap(base, bytes)
    }
}

/// A table of references (0 is null, else store address + 1 for functions, host value + 1 for externs).
struct TableStorage {
    var elements: UnsafeMutablePointer<UInt64>
    var count: Int
    var maxCount: Int
    var declaredMax: UInt64?
    /// Canonical (see `TypeRegistry`).
    var elementType: ValueType
    var is64: Bool

    static func allocate(count: Int, maxCount: Int, declaredMax: UInt64?, elementType: ValueType, is64: Bool, fill: UInt64 = 0) -> UnsafeMutablePointer<TableStorage> {
        let elements = UnsafeMutablePointer<UInt64>.allocate(capacity: Swift.max(count, 1))
        elements.initialize(repeating: fill, count: Swift.max(count, 1))
        let storage = UnsafeMutablePointer<TableStorage>.allocate(capacity: 1)
        storage.initialize(to: TableStorage(elements: elements, count: count, maxCount: maxCount, declaredMax: declaredMax,
                                            elementType: elementType, is64: is64))
        return storage
    }

    mutating func grow(by delta: UInt64, fill: UInt64) -> Int? {
        let old = count
        guard delta <= UInt64(maxCount), old + Int(delta) <= maxCount else { return nil }
        if delta == 0 { return old }
        let newCount = old + Int(delta)
        let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: newCount)
        grown.moveInitialize(from: elements, count: old)
        (grown + old).initialize(repeating: fill, count: Int(delta))
        elements.deallocate()
        elements = grown
        count = newCount
        return old
    }
}

/// A passive element or data segment's remaining contents (count 0 once dropped).
struct SegmentStorage {
    var pointer: UnsafeRawPointer?
    var count: Int
}

/// One function in the store: a compiled Wasm function bound to its instance, or a host function.
struct FunctionInstance {
    /// The translated code; nil for host functions.
    var code: UnsafePointer<UInt64>?
    var context: UnsafeMutablePointer<InstanceContext>?
    /// Interned function type, compared by `call_indirect`.
    var typeID: Int
    var paramSlots: Int
    var resultSlots: Int
    /// Copied to slots [paramSlots, paramSlots + initCount) on entry: zeros for the declared locals, then
    /// the function's constants (one copy initializes both).
    var initTemplate: UnsafePointer<UInt64>?
    var initCount: Int
    /// Slots the frame needs above its base.
    var frameSize: Int
    /// Index into the store's host functions (host functions only).
    var hostIndex: Int
    /// For traces: the function's index in its module, and the instance's module names.
    var functionIndex: UInt32
    var namesIndex: Int
}

/// What one instance's code refers to at run time, laid out for the interpreter.
struct InstanceContext {
    var memory: UnsafeMutablePointer<MemoryStorage>?
    var globals: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>>
    /// Store address of each function in the module's function index space.
    var functions: UnsafeMutablePointer<Int>
    var tables: UnsafeMutablePointer<UnsafeMutablePointer<TableStorage>>
    /// Interned type ID of each of the module's types.
    var typeIDs: UnsafeMutablePointer<Int>
    var elements: UnsafeMutablePointer<SegmentStorage>
    var data: UnsafeMutablePointer<SegmentStorage>
    /// Every memory in the module's memory index space (`memory` is the first, kept apart for the hot path).
    var memories: UnsafeMutablePointer<UnsafeMutablePointer<MemoryStorage>>
    /// Store address of each tag in the module's tag index space.
    var tags: UnsafeMutablePointer<Int>
}

/// An exception tag in the store: every defined tag is a distinct identity, shared by whoever imports it.
struct TagInstance {
    /// Canonical ID of its function type.
    var typeID: Int
    /// The payload's types (canonical) and the slots they take.
    var payload: [ValueType]
    var slotCount: Int
}

/// A thrown exception: its tag and payload slots. Referenced by `exnref` values as index + 1.
struct ExceptionObject {
    var tag: Int
    var payload: [UInt64]
    /// Whether a reference to it exists beyond the exception in flight (`catch_ref`, legacy `catch` kept
    /// for `rethrow`, or the host saw it). An exception that was never exposed is freed when `catch` takes
    /// its payload.
    var exposed: Bool
    /// Whether the embedder has seen it (a result, an argument of a host function, a global or table read,
    /// an exception that escaped): it may come back at any time, so it is never collected.
    var pinned = false
    /// Whether the slot is on the free list (a stale `exnref` to it must not keep it alive).
    var isFree = false
}
