import WasmParser

/// The collector: mark and sweep over the store's objects, with exact roots.
///
/// Roots: the frames of every guest function that is running or suspended (through each function's stack
/// map: see `StackMaps.swift`), the arguments of host functions in progress, globals, tables and element
/// segments that hold `any`/`extern` references, the payloads of exceptions, the objects the embedder holds,
/// and those returned by the last call into the store. Marking follows reference fields and elements with an
/// explicit work list (no recursion: a million-long linked list costs heap, not host stack). Objects do not
/// move, so the interpreter's words stay valid; the mark bit lives in each header.
///
/// A collection runs only inside an allocation by the guest (`GCSite`); one in progress never allocates.
extension Store {
    func collectGarbage(_ site: GCSite) {
        var work: [UnsafeMutableRawPointer] = []
        func mark(_ slot: UInt64) {
            guard GCSlot.isObject(slot) else { return }
            let object = GCSlot.object(slot)
            let flags = object.load(fromByteOffset: 12, as: UInt32.self)
            if flags & 1 != 0 { return }
            object.storeBytes(of: flags | 1, toByteOffset: 12, as: UInt32.self)
            work.append(object)
        }

        // Frames: the allocating one, each suspended caller, and each guest frame waiting on a host function.
        let index = codeIndex()
        func scanFrame(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>) {
            guard let map = index.map(containing: pc) else { return }
            for slot in map.map.locals { mark(fp[Int(slot)]) }
            if let temporaries = map.map.temporaries(at: pc - map.start) {
                for slot in temporaries { mark(fp[Int(slot)]) }
            }
        }
        scanFrame(site.pc, site.fp)
        for depth in 0..<runDepth { scanFrame(framesBase[depth].pc, framesBase[depth].fp) }
        for call in hostCalls {
            if let pc = call.callerPC { scanFrame(pc, call.callerFP) }
            let type = TypeRegistry.shared.type(functions[call.function].typeID).functionType!
            var slot = 0
            for parameter in type.parameters {
                if parameter.holdsGCReference { mark(call.arguments[slot]) }
                slot += parameter == .v128 ? 2 : 1
            }
        }

        // The store's own state.
        for cell in gcGlobalCells { mark(cell.pointee) }
        for table in tables where table.pointee.elementType.holdsGCReference {
            let elements = table.pointee.elements
            for i in 0..<table.pointee.count { mark(elements[i]) }
        }
        for segment in gcSegments where segment.pointee.count > 0 {
            let references = segment.pointee.pointer.unsafelyUnwrapped.assumingMemoryBound(to: UInt64.self)
            for i in 0..<segment.pointee.count { mark(references[i]) }
        }
        for exception in exceptions where !exception.isFree {
            var slot = 0
            for type in tags[exception.tag].payload {
                if type.holdsGCReference, slot < exception.payload.count { mark(exception.payload[slot]) }
                slot += type == .v128 ? 2 : 1
            }
        }
        for address in gcHeap.held.keys { mark(UInt64(address)) }
        for address in gcHeap.recent { mark(UInt64(address)) }

        // Everything reachable from there.
        while let object = work.popLast() {
            let layout = object.load(as: GCHeader.self).layout.pointee
            switch layout.kind {
            case .structure:
                for i in 0..<layout.referenceCount {
                    mark(object.load(fromByteOffset: Int(layout.referenceOffsets[i]), as: UInt64.self))
                }
            case .array where layout.elementKind == .reference:
                let count = Int(object.load(fromByteOffset: 8, as: UInt32.self))
                let elements = (object + GCLayout.headerSize).assumingMemoryBound(to: UInt64.self)
                for i in 0..<count { mark(elements[i]) }
            default:
                break
            }
        }

        // Sweep: unmarked objects go (or, under stress, are poisoned and kept to catch a dangling use).
        var kept = 0
        var bytes = 0
        for object in gcHeap.objects {
            let flags = object.load(fromByteOffset: 12, as: UInt32.self)
            if flags & 1 != 0 {
                object.storeBytes(of: flags & ~1, toByteOffset: 12, as: UInt32.self)
                gcHeap.objects[kept] = object
                kept += 1
                bytes += Self.objectSize(object)
            } else {
                if !gcHeap.escaped.isEmpty { gcHeap.escaped.removeValue(forKey: UInt(bitPattern: object)) }
                if limits.gcStress {
                    object.storeBytes(of: GCHeap.poison, as: UnsafePointer<GCLayout>.self)
                    gcHeap.quarantine.append(object)
                } else {
                    object.deallocate()
                }
            }
        }
        gcHeap.objects.removeLast(gcHeap.objects.count - kept)
        gcHeap.bytes = bytes
        gcHeap.nextCollection = Swift.max(1 << 20, 2 * bytes)
        gcHeap.collections += 1
    }

    /// Header and payload bytes of an object.
    static func objectSize(_ object: UnsafeMutableRawPointer) -> Int {
        let header = object.load(as: GCHeader.self)
        let layout = header.layout.pointee
        return GCLayout.headerSize + (layout.kind == .array ? layout.size * Int(header.length) : layout.size)
    }

    /// The code ranges of every function with a stack map in this store's modules, sorted (made again when the
    /// set of modules changed since the last collection, or they translated more functions at first calls).
    func codeIndex() -> CodeIndex {
        // Counted before listing: a function translated in between makes the index newer than its count, and
        // only costs a rebuild next time.
        let translated = modules.reduce(0) { $0 + $1.functions.currentTranslatedCount }
        if let index = gcHeap.codeIndex, index.moduleCount == modules.count, index.translatedCount == translated { return index }
        var seen = Set<ObjectIdentifier>()
        var entries: [CodeIndex.Entry] = []
        for module in modules where seen.insert(ObjectIdentifier(module)).inserted {
            entries += module.functions.stackMaps()
        }
        entries.sort { $0.start < $1.start }
        let index = CodeIndex(moduleCount: modules.count, translatedCount: translated, entries: entries)
        gcHeap.codeIndex = index
        return index
    }
}

/// Functions' code ranges, to find the stack map of a frame from its pc.
struct CodeIndex {
    struct Entry {
        var start: UnsafePointer<UInt64>
        var end: UnsafePointer<UInt64>
        var map: StackMap
    }
    var moduleCount: Int
    /// Functions translated in those modules (counted once per instance of a module) when the index was made.
    var translatedCount: Int
    var entries: [Entry]

    /// The function whose code holds `pc` (a return address may equal the end of the code).
    func map(containing pc: UnsafePointer<UInt64>) -> Entry? {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].end < pc { low = mid + 1 } else { high = mid }
        }
        guard low < entries.count, entries[low].start < pc, pc <= entries[low].end else { return nil }
        return entries[low]
    }
}

/// A host function in progress, called by the guest: its arguments, and the guest frame that called it
/// (nil for a tail call, which replaced that frame).
struct HostCall {
    var function: Int
    var arguments: UnsafeMutablePointer<UInt64>
    var callerPC: UnsafePointer<UInt64>?
    var callerFP: UnsafeMutablePointer<UInt64>
}

extension ValueType {
    /// Whether a value of this canonical type may be a GC object: a reference of the `any` or `extern` hierarchy.
    var holdsGCReference: Bool {
        guard case .ref(let r) = self else { return false }
        return r.hierarchy == .any || r.hierarchy == .extern
    }
}
