import WasmParser

/// Throwing and catching Wasm exceptions (3.0 `throw`/`throw_ref`/`try_table`, and the legacy `try`
/// forms, which translate to the same handler tables).
///
/// Entering a `try_table` costs nothing at run time: each translated function carries a table of handlers
/// by code range (`ExceptionHandler`). A throw allocates an exception object and searches outward: the
/// innermost handler covering the throwing pc, its parents, then the caller's frame at its return
/// address, and so on. A matching clause writes the payload (and the `exnref`) into the frame slots its
/// label expects and execution continues at the label. An exception that leaves the outermost frame of
/// this run escapes as `Trap.Reason.exception`; when a host function was the caller, the interpreter
/// that called it raises it again at its call site.
struct Landing {
    var pc: UnsafePointer<UInt64>
    var fp: UnsafeMutablePointer<UInt64>
    var context: UnsafeMutablePointer<InstanceContext>
}

extension Store {
    /// A `return` with no fuel charge: where a caught exception that targets the function's own label
    /// continues (its values already in the result slots), and where a tail call to a host function ends.
    nonisolated(unsafe) static let returnStub: UnsafePointer<UInt64> = {
        let code = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
        code[0] = UInt64(InternalOp.return.rawValue)
        code[1] = 0
        return UnsafePointer(code)
    }()

    /// A new exception of the tag at store address `tag`, its payload copied from `payload`, thrown by the
    /// function running in the frame at `fp` (its frame is the top of the value stack in use).
    @inline(never)
    func newException(tag: Int, payload: UnsafeMutablePointer<UInt64>, fp: UnsafeMutablePointer<UInt64>) -> Int {
        let values = Array(UnsafeBufferPointer(start: payload, count: tags[tag].slotCount))
        let running = runDepth == runEntryDepth ? runEntry : framesBase[runDepth - 1].function
        return allocateException(ExceptionObject(tag: tag, payload: values, exposed: false),
                                 stackTop: fp + functions[running].frameSize)
    }

    /// Stores `object`, reusing a free slot; collects unreachable exceptions first when enough have been
    /// made since the last collection. `stackTop`: the end of the value stack in use.
    func allocateException(_ object: ExceptionObject, stackTop: UnsafeMutablePointer<UInt64>) -> Int {
        if freeExceptions.isEmpty && exceptions.count >= nextExceptionCollection {
            collectExceptions(stackTop: stackTop)
        }
        if let index = freeExceptions.popLast() {
            exceptions[index] = object
            return index
        }
        exceptions.append(object)
        return exceptions.count - 1
    }

    /// Unwinds from `pc` in the current frame (`fp`) to the nearest handler that catches `exception`,
    /// popping call frames on the way. Throws `Trap.Reason.exception` when it leaves this run.
    @inline(never)
    func raise(_ exception: Int, pc: UnsafePointer<UInt64>, fp: UnsafeMutablePointer<UInt64>, fuel: Int64) throws(Trap) -> Landing {
        guard exception >= 0, exception < exceptions.count else { throw fault(.nullExceptionReference, fuel: fuel) }
        var pc = pc, fp = fp
        while true {
            let address = runDepth == runEntryDepth ? runEntry : framesBase[runDepth - 1].function
            let function = functions[address]
            if let code = function.code, let context = function.context,
               let target = catchInFrame(function, exception, offset: pc - code, fp: fp) {
                let landingPC = target == HandlerClause.returnTarget ? Store.returnStub : code + Int(target)
                return Landing(pc: landingPC, fp: fp, context: context)
            }
            if runDepth == runEntryDepth {
                fuelLeft = fuel
                throw Trap(.exception(escaping(exception)))
            }
            runDepth &-= 1
            let frame = framesBase[runDepth]
            pc = frame.pc
            fp = frame.fp
        }
    }

    /// Searches the handlers of `function` covering code offset `offset`, innermost first; on a match,
    /// delivers the payload and reference into the frame and returns the landing's code offset.
    func catchInFrame(_ function: FunctionInstance, _ exception: Int, offset: Int, fp: UnsafeMutablePointer<UInt64>) -> Int32? {
        guard function.namesIndex >= 0, function.namesIndex < modules.count else { return nil }
        let compiled = modules[function.namesIndex]
        let defined = Int(function.functionIndex) - compiled.importedFunctionCount
        guard defined >= 0, defined < compiled.functions.count else { return nil }
        let handlers = compiled.functions.handlers(defined)
        guard !handlers.isEmpty, let tagAddresses = function.context?.pointee.tags else { return nil }
        // Handlers are listed as they open: scanning backwards, the first that covers the pc is the innermost.
        var h = handlers.count - 1
        while h >= 0 && !handlers[h].covers(offset) { h -= 1 }
        let tag = exceptions[exception].tag
        while h >= 0 {
            for clause in handlers[h].clauses where clause.tag.map({ tagAddresses[Int($0)] == tag }) ?? true {
                deliver(exception, clause, fp)
                return clause.target
            }
            h = Int(handlers[h].parent)
        }
        return nil
    }

    func deliver(_ exception: Int, _ clause: HandlerClause, _ fp: UnsafeMutablePointer<UInt64>) {
        if clause.payloadSlot >= 0 {
            let payload = exceptions[exception].payload
            for k in 0..<payload.count { fp[Int(clause.payloadSlot) + k] = payload[k] }
        }
        if clause.referenceSlot >= 0 {
            fp[Int(clause.referenceSlot)] = UInt64(exception) + 1
            exceptions[exception].exposed = true
        } else if !exceptions[exception].exposed {
            // Nothing can refer to it any more: its payload was the only thing wanted.
            free(exception)
        }
    }

    /// The embedder's view of an exception leaving the guest; it stays alive (the host may rethrow it).
    func escaping(_ exception: Int) -> WasmException {
        exceptions[exception].exposed = true
        exceptions[exception].pinned = true
        let object = exceptions[exception]
        var slots = object.payload + [0]  // never empty, so the buffer has an address
        let payload = slots.withUnsafeMutableBufferPointer { load(tags[object.tag].payload, from: $0.baseAddress!) }
        return WasmException(tagAddress: object.tag, payload: payload, reference: exception, store: ObjectIdentifier(self))
    }

    /// The exception object for a `WasmException` a host function threw: the original one if it came from
    /// this store, else a new one (its payload checked against the tag's type).
    func adopt(_ exception: WasmException) throws(Trap) -> Int {
        if let reference = exception.reference, exception.store == ObjectIdentifier(self),
           reference < exceptions.count, exceptions[reference].tag == exception.tagAddress {
            return reference
        }
        guard exception.tagAddress >= 0, exception.tagAddress < tags.count else {
            throw Trap(.host("a host function threw an exception with tag \(exception.tagAddress), which is not in this store"))
        }
        let types = tags[exception.tagAddress].payload
        guard exception.payload.count == types.count, zip(exception.payload, types).allSatisfy({ matches($0, $1) }) else {
            throw Trap(.host("a host function threw an exception whose payload \(exception.payload) does not match its tag's \(types)"))
        }
        var slots = [UInt64](repeating: 0, count: tags[exception.tagAddress].slotCount + 1)
        try slots.withUnsafeMutableBufferPointer { (buffer) throws(Trap) in try store(exception.payload, to: buffer.baseAddress!) }
        slots.removeLast()
        // Thrown from a host function: its caller's frame is the top of the stack in use.
        return allocateException(ExceptionObject(tag: exception.tagAddress, payload: slots, exposed: false),
                                 stackTop: stack.unsafelyUnwrapped + stackInUse)
    }

    /// `call_indirect`'s callee: bounds, null and type checks (an exact type, or a declared subtype).
    @inline(__always)
    func indirectCallee(_ context: UnsafeMutablePointer<InstanceContext>, _ immediate: UInt64, _ index: UInt64,
                        fuel: Int64) throws(Trap) -> Int {
        let table = context.pointee.tables[Int(truncatingIfNeeded: immediate >> 32)]
        guard index < UInt64(table.pointee.count) else { throw fault(.undefinedElement, fuel: fuel) }
        let reference = table.pointee.elements[Int(index)]
        guard reference != 0 else { throw fault(.uninitializedElement(UInt32(truncatingIfNeeded: index)), fuel: fuel) }
        let callee = Int(truncatingIfNeeded: reference &- 1)
        let expected = context.pointee.typeIDs[Int(truncatingIfNeeded: immediate & 0xFFFF_FFFF)]
        let actual = functions[callee].typeID
        guard actual == expected || TypeRegistry.shared.isSubtype(actual, of: expected) else {
            throw fault(.indirectCallTypeMismatch, fuel: fuel)
        }
        return callee
    }
}
