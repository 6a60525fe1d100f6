import WasmParser

/// The target of `ref.test`, `ref.cast`, `br_on_cast` and `br_on_cast_fail`, packed in one instruction word:
/// bits 0..<8 an abstract heap type's code (0 for a defined type), bit 8 nullable, bit 9 negated (the test's
/// result inverted, for `br_on_cast_fail`), bit 10 a function type, bits 16... the canonical type ID.
struct CastTarget {
    var word: UInt64

    init(word: UInt64) { self.word = word }

    /// `reference` with concrete heap types given as canonical IDs (`canonical`) or resolved through `typeIDs`.
    init(_ reference: ReferenceType, canonical: Bool, typeIDs: [Int] = [], isFunction: ((UInt32) -> Bool)? = nil,
         negated: Bool = false) {
        var word: UInt64 = reference.isNullable ? 1 << 8 : 0
        if negated { word |= 1 << 9 }
        switch reference.heapType {
        case .abstract(let a): word |= UInt64(a.rawValue)
        case .bottom: word |= UInt64(AbstractHeapType.none.rawValue)
        case .concrete(let index):
            let id = canonical ? Int(index) : typeIDs[Int(index)]
            let function = isFunction.map { $0(index) } ?? (TypeRegistry.shared.type(id).functionType != nil)
            if function { word |= 1 << 10 }
            word |= UInt64(id) << 16
        }
        self.word = word
    }

    var abstract: AbstractHeapType? { AbstractHeapType(rawValue: UInt8(truncatingIfNeeded: word)) }
    var nullable: Bool { word & (1 << 8) != 0 }
    var negated: Bool { word & (1 << 9) != 0 }
    var isFunction: Bool { word & (1 << 10) != 0 }
    var typeID: Int { Int(truncatingIfNeeded: word >> 16) }

    /// Whether the target (and so the operand) is of the `any` or `extern` hierarchy.
    var holdsGCReference: Bool {
        if let abstract { return abstract.top == .any || abstract.top == .extern }
        return !isFunction
    }
}

/// Executing the GC instructions (one internal op, `gc`, with the instruction's 0xFB code in bits 8..<16 of
/// its word: see `TranslateGC.swift` for each one's operands). Kept out of the main loop, which gains a
/// single case.
enum GCExecution {
    /// Whether the reference in `slot` is of `target` (the translator's or the API's canonical form).
    static func test(_ slot: UInt64, _ target: CastTarget, functions: UnsafeMutablePointer<FunctionInstance>) -> Bool {
        let result: Bool
        if slot == 0 {
            result = target.nullable
        } else if let abstract = target.abstract {
            switch abstract {
            case .any, .func, .extern, .exn: result = true
            case .eq: result = GCSlot.isI31(slot) || (GCSlot.isObject(slot) && kind(slot) != .hostBox)
            case .i31: result = GCSlot.isI31(slot)
            case .struct: result = GCSlot.isObject(slot) && kind(slot) == .structure
            case .array: result = GCSlot.isObject(slot) && kind(slot) == .array
            case .none, .noFunc, .noExtern, .noExn: result = false
            }
        } else if target.isFunction {
            result = TypeRegistry.shared.isSubtype(functions[Int(truncatingIfNeeded: slot &- 1)].typeID, of: target.typeID)
        } else {
            result = GCSlot.isObject(slot) && kind(slot) != .hostBox && layout(slot).pointee.isSubtype(of: target.typeID)
        }
        return result != target.negated
    }

    @inline(__always) static func layout(_ slot: UInt64) -> UnsafePointer<GCLayout> {
        GCSlot.object(slot).load(as: GCHeader.self).layout
    }

    @inline(__always) static func kind(_ slot: UInt64) -> GCLayout.Kind { layout(slot).pointee.kind }

    @inline(__always) static func length(_ slot: UInt64) -> UInt32 { GCSlot.object(slot).load(as: GCHeader.self).length }

    /// Reads a field of `kind` at `address` into slots (a v128 into two).
    @inline(__always) static func read(_ kind: GCFieldKind, _ address: UnsafeRawPointer, signed: Bool,
                                       to slots: UnsafeMutablePointer<UInt64>) {
        switch kind {
        case .i8:
            let byte = address.load(as: UInt8.self)
            slots[0] = signed ? UInt64(UInt32(bitPattern: Int32(Int8(bitPattern: byte)))) : UInt64(byte)
        case .i16:
            let half = address.loadUnaligned(as: UInt16.self)
            slots[0] = signed ? UInt64(UInt32(bitPattern: Int32(Int16(bitPattern: half)))) : UInt64(half)
        case .bits32: slots[0] = UInt64(address.loadUnaligned(as: UInt32.self))
        case .bits64, .reference, .function, .exception: slots[0] = address.loadUnaligned(as: UInt64.self)
        case .v128:
            slots[0] = address.loadUnaligned(as: UInt64.self)
            slots[1] = address.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        }
    }

    /// Writes a value of `kind` from slots (packed kinds keep the low bits).
    @inline(__always) static func write(_ kind: GCFieldKind, _ address: UnsafeMutableRawPointer, from slots: UnsafePointer<UInt64>) {
        switch kind {
        case .i8: address.storeBytes(of: UInt8(truncatingIfNeeded: slots[0]), as: UInt8.self)
        case .i16: address.storeBytes(of: UInt16(truncatingIfNeeded: slots[0]), as: UInt16.self)
        case .bits32: address.storeBytes(of: UInt32(truncatingIfNeeded: slots[0]), as: UInt32.self)
        case .bits64, .reference, .function, .exception: address.storeBytes(of: slots[0], as: UInt64.self)
        case .v128:
            address.storeBytes(of: slots[0], as: UInt64.self)
            address.storeBytes(of: slots[1], toByteOffset: 8, as: UInt64.self)
        }
    }

    /// The slot field at `shift` of an extra word.
    @inline(__always) static func slotField(_ word: UInt64, _ shift: UInt64) -> Int { Int(truncatingIfNeeded: (word >> shift) & 0xFFFF) }
}

extension Store {
    /// Executes the GC instruction whose word is `w` (its extra words follow at `pc`); returns the pc after it.
    @inline(never)
    func executeGC(_ w: UInt64, _ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                   _ context: UnsafeMutablePointer<InstanceContext>, fuel: Int64) throws(Trap) -> UnsafePointer<UInt64> {
        let d = Int(truncatingIfNeeded: (w >> 16) & 0xFFFF)
        let x = Int(truncatingIfNeeded: (w >> 32) & 0xFFFF)
        let y = Int(truncatingIfNeeded: w >> 48)
        let code = UInt8(truncatingIfNeeded: w >> 8)
        func fail(_ reason: Trap.Reason) -> Trap { fault(reason, fuel: fuel) }
        func object(_ slot: UInt64, _ null: Trap.Reason) throws(Trap) -> UnsafeMutableRawPointer {
            guard slot != 0 else { throw fail(null) }
            if limits.gcStress { try checkLive(slot) }
            return GCSlot.object(slot)
        }
        /// Under stress, freed objects stay mapped with a poisoned header: reaching one is a missed root.
        func checkLive(_ slot: UInt64) throws(Trap) {
            if GCSlot.isObject(slot), GCSlot.object(slot).load(as: GCHeader.self).layout == GCHeap.poison {
                throw fail(.host("dangling reference to a collected object (a root the collector missed)"))
            }
        }
        if limits.gcStress, (2...5).contains(code) || (11...19).contains(code) || (20...23).contains(code) && CastTarget(word: pc[0]).holdsGCReference {
            // The operands these instructions read as references (x; array.copy's source too).
            try checkLive(fp[x])
            if code == 17 { try checkLive(fp[GCExecution.slotField(pc[0], 0)]) }
        }
        /// An allocation: the pc after the instruction keys its stack map.
        func allocate(_ layout: UnsafePointer<GCLayout>, length: UInt64, next: UnsafePointer<UInt64>) throws(Trap) -> UnsafeMutableRawPointer {
            let size = layout.pointee.kind == .array ? UInt64(layout.pointee.size) &* length : UInt64(layout.pointee.size)
            guard length <= UInt64(UInt32.max), size <= UInt64(limits.maxGCHeapBytes) else { throw fail(.gcHeapExhausted) }
            fuelLeft = fuel
            do {
                return try allocateObject(layout, payload: Int(size), length: UInt32(length), site: GCSite(pc: next, fp: fp))
            } catch {
                throw fail(error.reason)
            }
        }
        func layoutWord(_ word: UInt64) -> UnsafePointer<GCLayout> { UnsafePointer(bitPattern: UInt(word)).unsafelyUnwrapped }
        /// Checks `offset + count <= length` without overflow.
        func inBounds(_ offset: UInt64, _ count: UInt64, _ length: UInt64) -> Bool { offset <= length && count <= length - offset }

        switch code {
        case 0, 1:  // struct.new, struct.new_default: fields from consecutive slots at x (or zero)
            let layout = layoutWord(pc[0])
            let next = pc + 1
            let created = try allocate(layout, length: 0, next: next)
            if code == 0 {
                var slot = x
                for i in 0..<layout.pointee.fieldCount {
                    let kind = layout.pointee.fieldKinds[i]
                    GCExecution.write(kind, created + Int(layout.pointee.fieldOffsets[i]), from: fp + slot)
                    slot += kind.slotCount
                }
            }
            fp[d] = UInt64(UInt(bitPattern: created))
            return next
        case 2, 3, 4:  // struct.get(_s/_u): offset and kind in the next word
            let target = try object(fp[x], .nullStructureReference)
            let kind = GCFieldKind(rawValue: UInt8(truncatingIfNeeded: pc[0] >> 32)).unsafelyUnwrapped
            GCExecution.read(kind, target + Int(truncatingIfNeeded: pc[0] & 0xFFFF_FFFF), signed: code == 3, to: fp + d)
            return pc + 1
        case 5:  // struct.set
            let target = try object(fp[x], .nullStructureReference)
            let kind = GCFieldKind(rawValue: UInt8(truncatingIfNeeded: pc[0] >> 32)).unsafelyUnwrapped
            GCExecution.write(kind, target + Int(truncatingIfNeeded: pc[0] & 0xFFFF_FFFF), from: fp + y)
            return pc + 1
        case 6, 7:  // array.new (value at x), array.new_default; length at y
            let layout = layoutWord(pc[0])
            let next = pc + 1
            let count = UInt64(UInt32(truncatingIfNeeded: fp[y]))
            let value0 = fp[x], value1 = fp[x + 1]
            let created = try allocate(layout, length: count, next: next)
            if code == 6 {
                let kind = layout.pointee.elementKind
                let values = [value0, value1]
                values.withUnsafeBufferPointer { v in
                    for i in 0..<Int(count) { GCExecution.write(kind, created + GCLayout.headerSize + i * kind.size, from: v.baseAddress!) }
                }
            }
            fp[d] = UInt64(UInt(bitPattern: created))
            return next
        case 8:  // array.new_fixed: count in the second word, values from consecutive slots at x
            let layout = layoutWord(pc[0])
            let count = Int(truncatingIfNeeded: pc[1])
            let next = pc + 2
            let created = try allocate(layout, length: UInt64(count), next: next)
            let kind = layout.pointee.elementKind
            for i in 0..<count { GCExecution.write(kind, created + GCLayout.headerSize + i * kind.size, from: fp + x + i * kind.slotCount) }
            fp[d] = UInt64(UInt(bitPattern: created))
            return next
        case 9, 10:  // array.new_data, array.new_elem: segment offset at x, length at y; segment in the second word
            let layout = layoutWord(pc[0])
            let segment = Int(truncatingIfNeeded: pc[1])
            let next = pc + 2
            let offset = UInt64(UInt32(truncatingIfNeeded: fp[x])), count = UInt64(UInt32(truncatingIfNeeded: fp[y]))
            let size = UInt64(layout.pointee.size)
            if code == 9 {
                let data = context.pointee.data[segment]
                guard count <= UInt64(Int32.max), inBounds(offset, count &* size, UInt64(data.count)) else {
                    throw fail(.outOfBoundsMemoryAccess)
                }
                let created = try allocate(layout, length: count, next: next)
                if count > 0 {
                    (created + GCLayout.headerSize).copyMemory(from: data.pointer.unsafelyUnwrapped + Int(offset), byteCount: Int(count * size))
                }
                fp[d] = UInt64(UInt(bitPattern: created))
            } else {
                let elements = context.pointee.elements[segment]
                guard inBounds(offset, count, UInt64(elements.count)) else { throw fail(.outOfBoundsTableAccess) }
                let created = try allocate(layout, length: count, next: next)
                // Re-read: the segment's storage does not move, but the collection above may have run.
                let source = context.pointee.elements[segment].pointer.unsafelyUnwrapped.assumingMemoryBound(to: UInt64.self)
                if count > 0 { (created + GCLayout.headerSize).copyMemory(from: source + Int(offset), byteCount: Int(count) * 8) }
                fp[d] = UInt64(UInt(bitPattern: created))
            }
            return next
        case 11, 12, 13:  // array.get(_s/_u): array at x, index at y; element kind in the next word
            let target = try object(fp[x], .nullArrayReference)
            let index = UInt64(UInt32(truncatingIfNeeded: fp[y]))
            guard index < UInt64(GCExecution.length(fp[x])) else { throw fail(.outOfBoundsArrayAccess) }
            let kind = GCFieldKind(rawValue: UInt8(truncatingIfNeeded: pc[0])).unsafelyUnwrapped
            GCExecution.read(kind, target + GCLayout.headerSize + Int(index) * kind.size, signed: code == 12, to: fp + d)
            return pc + 1
        case 14:  // array.set: array at x, index at y; the value's slot and the kind in the next word
            let target = try object(fp[x], .nullArrayReference)
            let index = UInt64(UInt32(truncatingIfNeeded: fp[y]))
            guard index < UInt64(GCExecution.length(fp[x])) else { throw fail(.outOfBoundsArrayAccess) }
            let kind = GCFieldKind(rawValue: UInt8(truncatingIfNeeded: pc[0] >> 32)).unsafelyUnwrapped
            GCExecution.write(kind, target + GCLayout.headerSize + Int(index) * kind.size, from: fp + GCExecution.slotField(pc[0], 0))
            return pc + 1
        case 15:  // array.len
            _ = try object(fp[x], .nullArrayReference)
            fp[d] = UInt64(GCExecution.length(fp[x]))
            return pc
        case 16:  // array.fill: array at x, offset at y; value slot, count slot and kind in the next word
            let target = try object(fp[x], .nullArrayReference)
            let offset = UInt64(UInt32(truncatingIfNeeded: fp[y]))
            let count = UInt64(UInt32(truncatingIfNeeded: fp[GCExecution.slotField(pc[0], 16)]))
            guard inBounds(offset, count, UInt64(GCExecution.length(fp[x]))) else { throw fail(.outOfBoundsArrayAccess) }
            let kind = GCFieldKind(rawValue: UInt8(truncatingIfNeeded: pc[0] >> 32)).unsafelyUnwrapped
            let value = fp + GCExecution.slotField(pc[0], 0)
            for i in 0..<Int(count) { GCExecution.write(kind, target + GCLayout.headerSize + (Int(offset) + i) * kind.size, from: value) }
            return pc + 1
        case 17:  // array.copy: destination at x, its offset at y; source, source offset, count slots and kind next
            let words = pc[0]
            let destinationSlot = fp[x], sourceSlot = fp[GCExecution.slotField(words, 0)]
            let destination = try object(destinationSlot, .nullArrayReference)
            let source = try object(sourceSlot, .nullArrayReference)
            let destinationOffset = UInt64(UInt32(truncatingIfNeeded: fp[y]))
            let sourceOffset = UInt64(UInt32(truncatingIfNeeded: fp[GCExecution.slotField(words, 16)]))
            let count = UInt64(UInt32(truncatingIfNeeded: fp[GCExecution.slotField(words, 32)]))
            guard inBounds(destinationOffset, count, UInt64(GCExecution.length(destinationSlot))),
                  inBounds(sourceOffset, count, UInt64(GCExecution.length(sourceSlot))) else { throw fail(.outOfBoundsArrayAccess) }
            let size = Int(truncatingIfNeeded: words >> 48)
            if count > 0 {
                // Overlapping ranges of one array copy as if through a temporary (memmove).
                (destination + GCLayout.headerSize + Int(destinationOffset) * size)
                    .copyMemory(from: source + GCLayout.headerSize + Int(sourceOffset) * size, byteCount: Int(count) * size)
            }
            return pc + 1
        case 18, 19:  // array.init_data, array.init_elem: array at x, offset at y; source offset, count, size; segment
            let words = pc[0]
            let segment = Int(truncatingIfNeeded: pc[1])
            let target = try object(fp[x], .nullArrayReference)
            let offset = UInt64(UInt32(truncatingIfNeeded: fp[y]))
            let sourceOffset = UInt64(UInt32(truncatingIfNeeded: fp[GCExecution.slotField(words, 0)]))
            let count = UInt64(UInt32(truncatingIfNeeded: fp[GCExecution.slotField(words, 16)]))
            let size = UInt64(truncatingIfNeeded: words >> 32)
            guard inBounds(offset, count, UInt64(GCExecution.length(fp[x]))) else { throw fail(.outOfBoundsArrayAccess) }
            if code == 18 {
                let data = context.pointee.data[segment]
                guard inBounds(sourceOffset, count &* size, UInt64(data.count)) else { throw fail(.outOfBoundsMemoryAccess) }
                if count > 0 {
                    (target + GCLayout.headerSize + Int(offset * size)).copyMemory(from: data.pointer.unsafelyUnwrapped + Int(sourceOffset), byteCount: Int(count * size))
                }
            } else {
                let elements = context.pointee.elements[segment]
                guard inBounds(sourceOffset, count, UInt64(elements.count)) else { throw fail(.outOfBoundsTableAccess) }
                if count > 0 {
                    let source = elements.pointer.unsafelyUnwrapped.assumingMemoryBound(to: UInt64.self) + Int(sourceOffset)
                    (target + GCLayout.headerSize + Int(offset) * 8).copyMemory(from: source, byteCount: Int(count) * 8)
                }
            }
            return pc + 2
        case 20, 21:  // ref.test: the target in the next word
            fp[d] = GCExecution.test(fp[x], CastTarget(word: pc[0]), functions: functions) ? 1 : 0
            return pc + 1
        case 22, 23:  // ref.cast
            let value = fp[x]
            guard GCExecution.test(value, CastTarget(word: pc[0]), functions: functions) else { throw fail(.castFailure) }
            fp[d] = value
            return pc + 1
        case 28:  // ref.i31
            fp[d] = GCSlot.i31(UInt32(truncatingIfNeeded: fp[x]))
            return pc
        case 29, 30:  // i31.get_s, i31.get_u
            let value = fp[x]
            guard value != 0 else { throw fail(.nullI31Reference) }
            fp[d] = UInt64(code == 29 ? GCSlot.i31Signed(value) : GCSlot.i31Unsigned(value))
            return pc
        default:
            throw fail(.host("internal error: GC instruction code \(code)"))
        }
    }
}
