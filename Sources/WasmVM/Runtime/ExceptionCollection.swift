import WasmParser

/// Reclaiming exception objects (`exnref`). An exception nobody can refer to is freed at once when a plain
/// `catch` takes its payload (see `Store.deliver`); one that was exposed — caught with `catch_ref` or
/// `catch_all_ref`, as LLVM does for every C++ cleanup, or kept by a legacy `catch` for `rethrow` — may be
/// stored anywhere a reference can go. Those are collected here, by mark and sweep, when the live count
/// reaches twice what survived the last collection (at least 4,096): a guest throwing and catching by
/// reference in a loop runs in bounded memory, amortized at a few nanoseconds per exception.
///
/// Roots, scanned conservatively (any word that equals index + 1 of a live object keeps it; a number that
/// happens to look like a reference only delays its reclamation, never frees what is referenced):
/// the value stack up to the frame in use, every global cell, the tables of `exnref` elements, the payloads
/// of marked exceptions, `exnref` fields and elements of GC objects, the exception a host function is
/// throwing, and every object the embedder has seen (`pinned`: it may hand it back at any time).
extension Store {
    func free(_ exception: Int) {
        exceptions[exception].payload = []
        exceptions[exception].isFree = true
        freeExceptions.append(exception)
    }

    func collectExceptions(stackTop: UnsafeMutablePointer<UInt64>) {
        let count = exceptions.count
        var marked = [Bool](repeating: false, count: count)
        var work: [Int] = []
        func consider(_ word: UInt64) {
            guard word != 0, word <= UInt64(count) else { return }
            let index = Int(word &- 1)
            if !marked[index] && !exceptions[index].isFree {
                marked[index] = true
                work.append(index)
            }
        }
        if let stack {
            var slot = stack
            let end = Swift.min(stackTop, stackLimit)
            while slot < end {
                consider(slot.pointee)
                slot += 1
            }
        }
        for cell in globalCells { consider(cell[0]) }
        for table in tables where table.pointee.elementType.isExceptionReference {
            let elements = table.pointee.elements
            for i in 0..<table.pointee.count { consider(elements[i]) }
        }
        if pendingException >= 0 && pendingException < count { consider(UInt64(pendingException) + 1) }
        // Exception references stored in structs and arrays (every object still allocated, reachable or not).
        for object in gcHeap.objects {
            let header = object.load(as: GCHeader.self)
            let layout = header.layout.pointee
            if layout.kind == .structure {
                for i in 0..<layout.exceptionCount { consider(object.load(fromByteOffset: Int(layout.exceptionOffsets[i]), as: UInt64.self)) }
            } else if layout.kind == .array && layout.elementKind == .exception {
                let elements = (object + GCLayout.headerSize).assumingMemoryBound(to: UInt64.self)
                for i in 0..<Int(header.length) { consider(elements[i]) }
            }
        }
        for index in 0..<count where exceptions[index].pinned { consider(UInt64(index) + 1) }
        while let index = work.popLast() {
            for word in exceptions[index].payload { consider(word) }
        }
        var live = 0
        for index in 0..<count where !exceptions[index].isFree {
            // Only exposed objects can be unreachable and still allocated; one in flight is not exposed yet.
            if marked[index] || !exceptions[index].exposed {
                live += 1
            } else {
                free(index)
            }
        }
        exceptionCollections += 1
        nextExceptionCollection = Swift.max(4096, 2 * live)
    }

    /// Pins every exception among `values`: the embedder now holds a reference to it.
    func pinExceptions(in values: [Value]) {
        for value in values {
            if case .exnref(let index?) = value, index >= 0, index < exceptions.count { exceptions[index].pinned = true }
        }
    }
}

extension ValueType {
    var isExceptionReference: Bool {
        if case .ref(let r) = self { return r.hierarchy == .exn }
        return false
    }
}
