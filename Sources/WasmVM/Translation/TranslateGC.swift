import WasmParser

/// Translation of the GC instructions into the `gc` internal op (the 0xFB code in bits 8..<16; see
/// `GCExecution`). Field offsets, element sizes and layouts are resolved here, once: the interpreter reads
/// them from the instruction. Allocations record a safepoint (see `StackMaps.swift`) that includes their own
/// operands, which must survive a collection the allocation runs.
extension FunctionTranslator {
    mutating func translateGC(_ instruction: Instruction) throws(TranslationError) {
        switch (instruction.opcode, instruction.immediate) {
        case (.refEq, _):
            // Equal references are equal words (see `GCSlot`).
            let y = pop(), x = pop()
            _ = emitProducer(.i64Eq, x, y)
        case (.anyConvertExtern, _), (.externConvertAny, _):
            break  // the same word in either hierarchy
        case (.structNew, .index(let type)), (.structNewDefault, .index(let type)):
            let layout = try gcLayout(type)
            let isDefault = instruction.opcode == .structNewDefault
            var slots = 0
            if !isDefault { for i in 0..<layout.pointee.fieldCount { slots += layout.pointee.fieldKinds[i].slotCount } }
            materializeTop(slots)
            let positions = referencePositions(values: validatorHeight)
            let base = stack.count - slots
            truncateStack(to: base)
            emitGCProducer(isDefault ? 1 : 0, x: isDefault ? nil : .temporary(base), wide: false)
            emitWord(UInt64(UInt(bitPattern: layout)))
            addSafepoint(positions)
        case (.structGet, .indexPair(let type, let field)), (.structGetS, .indexPair(let type, let field)),
             (.structGetU, .indexPair(let type, let field)):
            let layout = try gcLayout(type)
            let kind = layout.pointee.fieldKinds[Int(field)]
            let reference = pop()
            let code: UInt8 = instruction.opcode == .structGet ? 2 : instruction.opcode == .structGetS ? 3 : 4
            emitGCProducer(code, x: reference, wide: kind == .v128)
            emitWord(UInt64(UInt32(layout.pointee.fieldOffsets[Int(field)])) | UInt64(kind.rawValue) << 32)
        case (.structSet, .indexPair(let type, let field)):
            let layout = try gcLayout(type)
            let kind = layout.pointee.fieldKinds[Int(field)]
            let value = kind == .v128 ? popWide() : pop()
            let reference = pop()
            emitGC(5, nil, reference, value)
            emitWord(UInt64(UInt32(layout.pointee.fieldOffsets[Int(field)])) | UInt64(kind.rawValue) << 32)
        case (.arrayNew, .index(let type)), (.arrayNewDefault, .index(let type)):
            let layout = try gcLayout(type)
            let positions = referencePositions(values: validatorHeight)
            let length = pop()
            var value: Location?
            if instruction.opcode == .arrayNew { value = layout.pointee.elementKind == .v128 ? popWide() : pop() }
            emitGCProducer(instruction.opcode == .arrayNew ? 6 : 7, x: value, y: length, wide: false)
            emitWord(UInt64(UInt(bitPattern: layout)))
            addSafepoint(positions)
        case (.arrayNewFixed, .indexPair(let type, let count)):
            let layout = try gcLayout(type)
            let slots = Int(count) * layout.pointee.elementKind.slotCount
            materializeTop(slots)
            let positions = referencePositions(values: validatorHeight)
            let base = stack.count - slots
            truncateStack(to: base)
            if base + 1 > maxHeight { maxHeight = base + 1 }
            emitGCProducer(8, x: .temporary(base), wide: false)
            emitWord(UInt64(UInt(bitPattern: layout)))
            emitWord(UInt64(count))
            addSafepoint(positions)
        case (.arrayNewData, .indexPair(let type, let segment)), (.arrayNewElem, .indexPair(let type, let segment)):
            let layout = try gcLayout(type)
            let positions = referencePositions(values: validatorHeight)
            let length = pop(), offset = pop()
            emitGCProducer(instruction.opcode == .arrayNewData ? 9 : 10, x: offset, y: length, wide: false)
            emitWord(UInt64(UInt(bitPattern: layout)))
            emitWord(UInt64(segment))
            addSafepoint(positions)
        case (.arrayGet, .index(let type)), (.arrayGetS, .index(let type)), (.arrayGetU, .index(let type)):
            let kind = try gcLayout(type).pointee.elementKind
            let index = pop(), reference = pop()
            let code: UInt8 = instruction.opcode == .arrayGet ? 11 : instruction.opcode == .arrayGetS ? 12 : 13
            emitGCProducer(code, x: reference, y: index, wide: kind == .v128)
            emitWord(UInt64(kind.rawValue))
        case (.arraySet, .index(let type)):
            let kind = try gcLayout(type).pointee.elementKind
            let value = kind == .v128 ? popWide() : pop()
            let index = pop(), reference = pop()
            emitGC(14, nil, reference, index)
            emitSlots([(value, 0)], tail: UInt64(kind.rawValue) << 32)
        case (.arrayLen, _):
            emitGCProducer(15, x: pop(), wide: false)
        case (.arrayFill, .index(let type)):
            let kind = try gcLayout(type).pointee.elementKind
            let count = pop()
            let value = kind == .v128 ? popWide() : pop()
            let offset = pop(), reference = pop()
            emitGC(16, nil, reference, offset)
            emitSlots([(value, 0), (count, 16)], tail: UInt64(kind.rawValue) << 32)
        case (.arrayCopy, .indexPair(let destinationType, _)):
            let size = try gcLayout(destinationType).pointee.elementKind.size
            let count = pop(), sourceOffset = pop(), source = pop(), offset = pop(), destination = pop()
            emitGC(17, nil, destination, offset)
            emitSlots([(source, 0), (sourceOffset, 16), (count, 32)], tail: UInt64(size) << 48)
        case (.arrayInitData, .indexPair(let type, let segment)), (.arrayInitElem, .indexPair(let type, let segment)):
            let size = try gcLayout(type).pointee.elementKind.size
            let count = pop(), sourceOffset = pop(), offset = pop(), reference = pop()
            emitGC(instruction.opcode == .arrayInitData ? 18 : 19, nil, reference, offset)
            emitSlots([(sourceOffset, 0), (count, 16)], tail: UInt64(size) << 32)
            emitWord(UInt64(segment))
        case (.refTest, .heapType(let heap)), (.refTestNull, .heapType(let heap)):
            let target = castTarget(ReferenceType(nullable: instruction.opcode == .refTestNull, heap))
            emitGCProducer(20, x: pop(), wide: false)
            emitWord(target.word)
        case (.refCast, .heapType(let heap)), (.refCastNull, .heapType(let heap)):
            let target = castTarget(ReferenceType(nullable: instruction.opcode == .refCastNull, heap))
            emitGCProducer(22, x: pop(), wide: false)
            emitWord(target.word)
        case (.brOnCast, .brOnCast(let depth, _, let to)), (.brOnCastFail, .brOnCast(let depth, _, let to)):
            // The reference stays on the stack (the label's last value, or what falls through); the test's result
            // is a condition above it that the branch consumes.
            let target = castTarget(to, negated: instruction.opcode == .brOnCastFail)
            let reference = stack[stack.count - 1]
            emitGCProducer(20, x: reference, wide: false)
            emitWord(target.word)
            lastProducer = nil
            branchIf(depth: Int(depth))
        case (.refI31, _):
            emitGCProducer(28, x: pop(), wide: false)
        case (.i31GetS, _), (.i31GetU, _):
            emitGCProducer(instruction.opcode == .i31GetS ? 29 : 30, x: pop(), wide: false)
        default:
            throw error("\(instruction.opcode.mnemonic) has an unexpected immediate")
        }
    }

    /// The layout of the module's struct or array type `index`.
    func gcLayout(_ index: UInt32) throws(TranslationError) -> UnsafePointer<GCLayout> {
        guard Int(index) < context.canonicalTypeIDs.count, let layout = GCLayouts.shared.layout(context.canonicalTypeIDs[Int(index)]) else {
            throw error("type \(index) is not a struct or array type")
        }
        return layout
    }

    func castTarget(_ reference: ReferenceType, negated: Bool = false) -> CastTarget {
        CastTarget(reference, canonical: false, typeIDs: context.canonicalTypeIDs,
                   isFunction: { [context] index in context.types[Int(index)].functionType != nil }, negated: negated)
    }

    @discardableResult
    mutating func emitGC(_ code: UInt8, _ d: Location?, _ x: Location?, _ y: Location?) -> Int {
        let at = emit(.gc, d, x, y)
        self.code[at] |= UInt64(code) << 8
        return at
    }

    /// Emits a GC instruction whose result is the new stack top (one slot, or two for a v128 field).
    mutating func emitGCProducer(_ code: UInt8, x: Location?, y: Location? = nil, wide: Bool) {
        let at = wide ? emitWideProducer(.gc, x, y) : emitProducer(.gc, x, y)
        self.code[at] |= UInt64(code) << 8
    }

    /// An extra word of 16-bit slot fields (at their shifts) and other bits.
    mutating func emitSlots(_ fields: [(Location, UInt64)], tail: UInt64) {
        let at = code.count
        emitWord(tail)
        for (location, shift) in fields { code[at] |= field(location, word: at, shift: shift) }
    }
}
