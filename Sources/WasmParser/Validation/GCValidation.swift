/// Typing of the garbage-collection instructions (WebAssembly 3.0: structs, arrays, i31, casts, and the
/// conversions between `any` and `extern`). Each rule is the spec's, in the order its operands are popped.
extension FunctionValidator {
    /// Whether this validator has a rule for `opcode` here (the 0xFB instructions and `ref.eq`).
    static func isGC(_ opcode: Opcode) -> Bool { opcode.info.prefix == 0xFB || opcode == .refEq }

    mutating func validateGC(_ instruction: Instruction, at offset: Int) throws(WasmParserError) {
        let opcode = instruction.opcode
        switch (opcode, instruction.immediate) {
        case (.structNew, .index(let type)):
            let fields = try structFields(type, at: offset)
            for field in fields.reversed() { try pop(field.storage.unpacked, at: offset) }
            push(reference(to: type))
        case (.structNewDefault, .index(let type)):
            for field in try structFields(type, at: offset) where !field.storage.unpacked.isDefaultable {
                throw typeMismatch("struct.new_default of a type with a non-defaultable field", at: offset)
            }
            push(reference(to: type))
        case (.structGet, .indexPair(let type, let index)), (.structGetS, .indexPair(let type, let index)),
             (.structGetU, .indexPair(let type, let index)):
            let field = try structField(type, index, at: offset)
            try checkPacking(field, signed: opcode != .structGet, at: offset)
            try pop(nullableReference(to: type), at: offset)
            push(field.storage.unpacked)
        case (.structSet, .indexPair(let type, let index)):
            let field = try structField(type, index, at: offset)
            guard field.isMutable else { throw WasmParserError(.invalid, "immutable field", offset: offset) }
            try pop(field.storage.unpacked, at: offset)
            try pop(nullableReference(to: type), at: offset)
        case (.arrayNew, .index(let type)):
            let element = try arrayElement(type, at: offset)
            try pop(.i32, at: offset)
            try pop(element.storage.unpacked, at: offset)
            push(reference(to: type))
        case (.arrayNewDefault, .index(let type)):
            guard try arrayElement(type, at: offset).storage.unpacked.isDefaultable else {
                throw typeMismatch("array.new_default of a type with a non-defaultable element", at: offset)
            }
            try pop(.i32, at: offset)
            push(reference(to: type))
        case (.arrayNewFixed, .indexPair(let type, let count)):
            let element = try arrayElement(type, at: offset).storage.unpacked
            // A bound on what one instruction may build (wasmparser's, 10,000); also keeps the pops below
            // from spinning on a huge count in unreachable code.
            guard count <= Self.maxArrayNewFixed else {
                throw WasmParserError(.invalid, "array.new_fixed of \(count) elements exceeds the limit of \(Self.maxArrayNewFixed)", offset: offset)
            }
            for _ in 0..<count { try pop(element, at: offset) }
            push(reference(to: type))
        case (.arrayNewData, .indexPair(let type, let data)):
            let element = try arrayElement(type, at: offset)
            try checkNumericElement(element, at: offset)
            try context.checkDataSegment(data, at: offset, use: &dataUse)
            try pop(.i32, at: offset)
            try pop(.i32, at: offset)
            push(reference(to: type))
        case (.arrayNewElem, .indexPair(let type, let segment)):
            try checkElementSegment(segment, into: try arrayElement(type, at: offset), at: offset)
            try pop(.i32, at: offset)
            try pop(.i32, at: offset)
            push(reference(to: type))
        case (.arrayGet, .index(let type)), (.arrayGetS, .index(let type)), (.arrayGetU, .index(let type)):
            let element = try arrayElement(type, at: offset)
            try checkPacking(element, signed: opcode != .arrayGet, at: offset)
            try pop(.i32, at: offset)
            try pop(nullableReference(to: type), at: offset)
            push(element.storage.unpacked)
        case (.arraySet, .index(let type)):
            let element = try mutableArrayElement(type, at: offset)
            try pop(element.storage.unpacked, at: offset)
            try pop(.i32, at: offset)
            try pop(nullableReference(to: type), at: offset)
        case (.arrayLen, _):
            try pop(.ref(ReferenceType(nullable: true, .array)), at: offset)
            push(.i32)
        case (.arrayFill, .index(let type)):
            let element = try mutableArrayElement(type, at: offset)
            try pop(.i32, at: offset)
            try pop(element.storage.unpacked, at: offset)
            try pop(.i32, at: offset)
            try pop(nullableReference(to: type), at: offset)
        case (.arrayCopy, .indexPair(let destination, let source)):
            let to = try mutableArrayElement(destination, at: offset)
            let from = try arrayElement(source, at: offset)
            guard isSubtype(from.storage, of: to.storage) else {
                throw WasmParserError(.invalid, "array types do not match: array.copy from an array of \(from.storage) to one of \(to.storage)", offset: offset)
            }
            try pop(.i32, at: offset)
            try pop(.i32, at: offset)
            try pop(nullableReference(to: source), at: offset)
            try pop(.i32, at: offset)
            try pop(nullableReference(to: destination), at: offset)
        case (.arrayInitData, .indexPair(let type, let data)):
            let element = try mutableArrayElement(type, at: offset)
            try checkNumericElement(element, at: offset)
            try context.checkDataSegment(data, at: offset, use: &dataUse)
            try popArrayInitOperands(type, at: offset)
        case (.arrayInitElem, .indexPair(let type, let segment)):
            try checkElementSegment(segment, into: try mutableArrayElement(type, at: offset), at: offset)
            try popArrayInitOperands(type, at: offset)
        case (.refI31, _):
            try pop(.i32, at: offset)
            push(.ref(ReferenceType(nullable: false, .i31)))
        case (.i31GetS, _), (.i31GetU, _):
            try pop(.ref(ReferenceType(nullable: true, .i31)), at: offset)
            push(.i32)
        case (.refEq, _):
            try pop(.ref(ReferenceType(nullable: true, .eq)), at: offset)
            try pop(.ref(ReferenceType(nullable: true, .eq)), at: offset)
            push(.i32)
        case (.refTest, .heapType(let heap)), (.refTestNull, .heapType(let heap)),
             (.refCast, .heapType(let heap)), (.refCastNull, .heapType(let heap)):
            try context.checkHeapType(heap, at: offset)
            let target = ReferenceType(nullable: opcode == .refTestNull || opcode == .refCastNull, heap)
            // The operand may be any reference of the target's hierarchy.
            try pop(.ref(ReferenceType(nullable: true, top(of: heap))), at: offset)
            push(opcode == .refTest || opcode == .refTestNull ? .i32 : .ref(target))
        case (.brOnCast, .brOnCast(let depth, let from, let to)), (.brOnCastFail, .brOnCast(let depth, let from, let to)):
            try context.checkHeapType(from.heapType, at: offset)
            try context.checkHeapType(to.heapType, at: offset)
            guard context.isSubtype(to, of: from) else {
                throw typeMismatch("br_on_cast to \(to), which is not a subtype of \(from)", at: offset)
            }
            // What the branch passes and what stays on the stack: the cast type, or the operand without it.
            let difference = ReferenceType(nullable: from.isNullable && !to.isNullable, from.heapType)
            let (branches, stays) = opcode == .brOnCast ? (to, difference) : (difference, to)
            let frame = try label(depth, at: offset)
            let types = labelTypes(frame)
            guard let last = types.last, case .ref(let labelReference) = last else {
                throw typeMismatch("\(opcode.mnemonic) needs a label whose last value is a reference", at: offset)
            }
            guard context.isSubtype(branches, of: labelReference) else {
                throw typeMismatch("\(opcode.mnemonic) passes \(branches) to a label of \(labelReference)", at: offset)
            }
            try pop(.ref(from), at: offset)
            let rest = Array(types.dropLast())
            try popTypes(rest, at: offset)
            for t in rest { push(t) }
            push(.ref(stays))
        case (.anyConvertExtern, _), (.externConvertAny, _):
            let (source, target): (AbstractHeapType, AbstractHeapType) = opcode == .anyConvertExtern ? (.extern, .any) : (.any, .extern)
            let operand = try pop(.ref(ReferenceType(nullable: true, source)), at: offset)
            let nullable = operand?.referenceType?.isNullable ?? false
            push(.ref(ReferenceType(nullable: nullable, target)))
        default:
            throw WasmParserError(.malformed, "unexpected immediate for \(opcode.mnemonic)", offset: offset)
        }
    }

    /// The most elements `array.new_fixed` may take (the limit wasmparser and wasmtime apply).
    public static let maxArrayNewFixed: UInt32 = 10_000

    func reference(to type: UInt32) -> ValueType { .ref(ReferenceType(nullable: false, .concrete(type))) }
    func nullableReference(to type: UInt32) -> ValueType { .ref(ReferenceType(nullable: true, .concrete(type))) }

    func top(of heap: HeapType) -> AbstractHeapType { context.top(of: heap) }

    func structFields(_ type: UInt32, at offset: Int) throws(WasmParserError) -> [FieldType] {
        try context.checkType(type, at: offset)
        guard case .structure(let fields) = context.types[Int(type)].composite else {
            throw typeMismatch("type \(type) is not a struct type", at: offset)
        }
        return fields
    }

    func structField(_ type: UInt32, _ index: UInt32, at offset: Int) throws(WasmParserError) -> FieldType {
        let fields = try structFields(type, at: offset)
        guard Int(index) < fields.count else { throw WasmParserError(.invalid, "unknown field \(index)", offset: offset) }
        return fields[Int(index)]
    }

    func arrayElement(_ type: UInt32, at offset: Int) throws(WasmParserError) -> FieldType {
        try context.checkType(type, at: offset)
        guard case .array(let element) = context.types[Int(type)].composite else {
            throw typeMismatch("type \(type) is not an array type", at: offset)
        }
        return element
    }

    func mutableArrayElement(_ type: UInt32, at offset: Int) throws(WasmParserError) -> FieldType {
        let element = try arrayElement(type, at: offset)
        guard element.isMutable else { throw WasmParserError(.invalid, "immutable array", offset: offset) }
        return element
    }

    /// `get` reads unpacked storage; `get_s` and `get_u` packed storage only.
    func checkPacking(_ field: FieldType, signed: Bool, at offset: Int) throws(WasmParserError) {
        let packed = field.storage == .i8 || field.storage == .i16
        if packed != signed {
            throw typeMismatch(packed ? "a packed field needs get_s or get_u" : "get_s and get_u need a packed field", at: offset)
        }
    }

    /// `array.new_data` and `array.init_data` copy bytes: the element must be a number or a vector.
    func checkNumericElement(_ element: FieldType, at offset: Int) throws(WasmParserError) {
        if element.storage.unpacked.isReference {
            throw WasmParserError(.invalid, "array type is not numeric or vector: an array of \(element.storage) cannot be filled from a data segment", offset: offset)
        }
    }

    func checkElementSegment(_ segment: UInt32, into element: FieldType, at offset: Int) throws(WasmParserError) {
        let segmentType = try context.elementType(segment, at: offset)
        guard context.isSubtype(segmentType, of: element.storage.unpacked), element.storage.unpacked.isReference else {
            throw typeMismatch("element segment of \(segmentType) into an array of \(element.storage)", at: offset)
        }
    }

    mutating func popArrayInitOperands(_ type: UInt32, at offset: Int) throws(WasmParserError) {
        try pop(.i32, at: offset)
        try pop(.i32, at: offset)
        try pop(.i32, at: offset)
        try pop(nullableReference(to: type), at: offset)
    }

    /// Storage subtyping: packed types match only themselves; value types by subtyping.
    func isSubtype(_ a: StorageType, of b: StorageType) -> Bool {
        switch (a, b) {
        case (.value(let x), .value(let y)): return context.isSubtype(x, of: y)
        default: return a == b
        }
    }
}
