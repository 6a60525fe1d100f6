import WasmParser

/// Where a function's frame holds GC references at each point a collection can run: the collector's roots
/// in frames, exact (no slot is ever guessed to be a reference from its bits).
///
/// A collection runs only inside an allocation, so the points are the allocating instructions and every call
/// (a callee may allocate while this frame waits). Each is keyed by the code offset after the instruction:
/// for a call that is its return address, which a suspended frame's `CallFrame.pc` holds. At a point, the
/// references are the local slots whose type is a reference of the `any` or `extern` hierarchy (always), and
/// the operand-stack temporaries whose value is one; an allocation's own operands count, a call's arguments
/// do not (they are the callee's parameters, covered by the callee's map, or a host function's, covered by
/// the store's record of host calls).
///
/// The translator learns the operand types by running the validator in lockstep, only for modules whose
/// types can hold such references at all (`tracksReferences`): other modules translate as before.
struct StackMap {
    /// Slots of parameters and locals that hold references.
    var locals: [UInt16]
    /// Safepoint code offsets, ascending, and where each one's temporaries start in `slots`.
    var offsets: [Int32]
    var starts: [Int32]
    var slots: [UInt16]

    /// The temporaries holding references at the safepoint ending at code offset `offset`; nil if there is none.
    func temporaries(at offset: Int) -> ArraySlice<UInt16>? {
        var low = 0, high = offsets.count
        while low < high {
            let mid = (low + high) / 2
            if Int(offsets[mid]) < offset { low = mid + 1 } else { high = mid }
        }
        guard low < offsets.count, Int(offsets[low]) == offset else { return nil }
        let end = low + 1 < starts.count ? Int(starts[low + 1]) : slots.count
        return slots[Int(starts[low])..<end]
    }
}

extension FunctionTranslator {
    /// Whether anything in the module can hold a reference of the `any` or `extern` hierarchy: then its frames
    /// need stack maps.
    static func tracksReferences(_ context: ValidationContext, _ module: Module) -> Bool {
        func holds(_ type: ValueType) -> Bool { Self.holdsGCReference(type, context) }
        for type in context.types {
            switch type.composite {
            case .function(let f): if f.parameters.contains(where: holds) || f.results.contains(where: holds) { return true }
            case .structure(let fields): if fields.contains(where: { holds($0.storage.unpacked) }) { return true }
            case .array(let element): if holds(element.storage.unpacked) { return true }
            }
        }
        if context.globals.contains(where: { holds($0.valueType) }) { return true }
        if context.tables.contains(where: { holds($0.elementType) }) { return true }
        if context.elementTypes.contains(where: holds) { return true }
        return module.codes.contains { $0.locals.contains { holds($0.type) } }
    }

    /// Whether values of `type` can be GC objects (or host values): references of the `any` and `extern` hierarchies.
    static func holdsGCReference(_ type: ValueType, _ context: ValidationContext) -> Bool {
        guard case .ref(let r) = type else { return false }
        let top = context.top(of: r.heapType)
        return top == .any || top == .extern
    }

    /// How many values the validator has on its operand stack before the instruction being translated.
    var validatorHeight: Int { types?.operands.count ?? 0 }

    /// The stack positions, among the bottom `values` operands, of temporaries that hold references now.
    func referencePositions(values: Int) -> [Int] {
        guard let operands = types?.operands else { return [] }
        var positions: [Int] = []
        var position = 0
        for i in 0..<Swift.min(values, operands.count) {
            let type = operands[i]
            if let type, Self.holdsGCReference(type, context), position < stack.count, stack[position] == .temporary(position) {
                positions.append(position)
            }
            position += type == .v128 ? 2 : 1
        }
        return positions
    }

    /// Records a safepoint ending at the current code offset.
    mutating func addSafepoint(_ positions: [Int]) {
        guard types != nil else { return }
        safepoints.append((code.count, positions))
    }

    /// The stack map of the finished function (`base`: the first temporary's slot); nil when it has no roots.
    func stackMap(temporariesAt base: Int) -> StackMap? {
        guard types != nil else { return nil }
        var locals: [UInt16] = []
        var index = 0
        func add(_ type: ValueType, count: Int) {
            for _ in 0..<count {
                if Self.holdsGCReference(type, context) { locals.append(UInt16(slot(ofLocal: index))) }
                index += 1
            }
        }
        for p in type.parameters { add(p, count: 1) }
        for group in localGroups { add(group.type, count: Int(group.count)) }
        var map = StackMap(locals: locals, offsets: [], starts: [], slots: [])
        for (offset, positions) in safepoints where !positions.isEmpty {
            map.offsets.append(Int32(offset))
            map.starts.append(Int32(map.slots.count))
            map.slots += positions.map { UInt16(base + $0) }
        }
        return map.locals.isEmpty && map.offsets.isEmpty ? nil : map
    }
}
