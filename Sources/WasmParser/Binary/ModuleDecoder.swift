/// Decodes the binary format's preamble and sections into a `Module`. Bodies are checked later by the
/// validator, which decodes their instructions in the same pass that types them.
extension Module {
    /// Decodes the binary format without validating. Function bodies are left as byte ranges. Encodings of
    /// proposals outside `features` are malformed.
    public static func decode(_ bytes: [UInt8], features: Features = .wasm3) throws(WasmParserError) -> Module {
        var decoder = ModuleDecoder(bytes: bytes, validating: false, features: features)
        return try decoder.decodeModule()
    }

    /// Decodes and validates in one pass over the bytes: the way to load untrusted modules. Each body is
    /// validated as the code section is read, so errors are reported in the order the spec's reference
    /// decoder finds them.
    public static func load(_ bytes: [UInt8], features: Features = .wasm3) throws(WasmParserError) -> Module {
        var decoder = ModuleDecoder(bytes: bytes, validating: true, features: features)
        return try decoder.decodeModule()
    }
}

/// Section ids, and the order the spec requires of the non-custom ones (tags sit between memories and
/// globals, data count before code).
enum SectionID: UInt8 {
    case custom = 0, type, `import`, function, table, memory, global, export, start, element, code, data, dataCount, tag

    var order: Int {
        switch self {
        case .custom: return 0
        case .type, .import, .function, .table, .memory: return Int(rawValue)
        case .tag: return 6
        case .global, .export, .start, .element: return Int(rawValue) + 1
        case .dataCount: return 11
        case .code: return 12
        case .data: return 13
        }
    }
}

struct ModuleDecoder {
    var reader: ByteReader
    var module: Module
    let validating: Bool
    /// Built once the sections that bodies depend on are read (everything before the code section).
    var context: ValidationContext?
    var dataUse = DataSegmentUse()

    var features: Features { reader.features }

    init(bytes: [UInt8], validating: Bool, features: Features) {
        reader = ByteReader(bytes: bytes, features: features)
        module = Module(bytes: bytes)
        module.features = features
        self.validating = validating
    }

    /// Validates the declarations read so far and prepares the context for function bodies.
    mutating func prepareBodyValidation() throws(WasmParserError) {
        guard validating, context == nil else { return }
        let context = ValidationContext(module: module)
        try module.validateDeclarations(context)
        self.context = context
    }

    func malformed(_ message: String, at offset: Int) -> WasmParserError {
        WasmParserError(.malformed, message, offset: offset)
    }

    mutating func decodeModule() throws(WasmParserError) -> Module {
        guard reader.remaining >= 4 else { throw malformed("unexpected end", at: reader.remaining) }
        guard try reader.readFixedUInt32() == 0x6D73_6100 else {
            throw malformed("magic header not detected", at: 0)
        }
        guard reader.remaining >= 4 else { throw malformed("unexpected end", at: reader.offset + reader.remaining) }
        guard try reader.readFixedUInt32() == 1 else { throw malformed("unknown binary version", at: 4) }

        var lastOrder = 0
        while !reader.isAtEnd {
            let sectionStart = reader.offset
            let idByte = try reader.readByte()
            guard let id = SectionID(rawValue: idByte) else {
                throw malformed("malformed section id", at: sectionStart)
            }
            if id == .tag && !features.contains(.exceptions) {
                throw malformed("malformed section id (the tag section needs the exceptions feature)", at: sectionStart)
            }
            let size = try reader.readByteLength()
            let contentStart = reader.offset
            guard size <= reader.remaining else {
                throw malformed("unexpected end of section or function", at: reader.offset + reader.remaining)
            }
            let end = contentStart + size
            module.sections.append((idByte, contentStart..<end))
            if id != .custom {
                guard id.order > lastOrder else {
                    throw malformed("unexpected content after last section", at: sectionStart)
                }
                lastOrder = id.order
                if id == .code || id == .data { try prepareBodyValidation() }
            }
            switch id {
            case .custom: try decodeCustomSection(end: end, lastOrder: lastOrder)
            case .type: try decodeTypeSection()
            case .import: try decodeImportSection()
            case .function: try decodeFunctionSection()
            case .table: try decodeTableSection()
            case .memory: try decodeMemorySection()
            case .tag: try decodeTagSection()
            case .global: try decodeGlobalSection()
            case .export: try decodeExportSection()
            case .start: module.start = try reader.readVarUInt32()
            case .element: try decodeElementSection()
            case .dataCount: module.dataCount = try reader.readVarUInt32()
            case .code:
                try decodeCodeSection()
            case .data: try decodeDataSection()
            }
            guard reader.offset == end else { throw malformed("section size mismatch", at: contentStart) }
        }
        if module.functionTypeIndices.count != module.codes.count {
            throw malformed("function and code section have inconsistent lengths", at: reader.offset)
        }
        if let dataCount = module.dataCount, Int(dataCount) != module.data.count {
            throw malformed("data count and data section have inconsistent lengths", at: reader.offset)
        }
        module.checkBranchHints()
        if validating {
            try prepareBodyValidation()
            guard let context else { return module }
            try dataUse.check(dataSegmentCount: module.data.count)
            try module.validateDataSegments(context)
        }
        return module
    }

    // MARK: Sections

    mutating func decodeVector(_ element: (inout ModuleDecoder) throws(WasmParserError) -> Void) throws(WasmParserError) {
        let count = try reader.readCount()
        for _ in 0..<count { try element(&self) }
    }

    mutating func decodeCustomSection(end: Int, lastOrder: Int) throws(WasmParserError) {
        let name = try reader.readName()
        guard reader.offset <= end else {
            throw malformed("unexpected end of section or function", at: end)
        }
        let payload = reader.offset..<end
        module.customSections.append(CustomSection(name: name, range: payload, placement: lastOrder == 0 ? -1 : 2 * lastOrder + 1))
        if name == "name" {
            // A malformed name section does not make the module malformed (spec, appendix "Name Section").
            var names = NameSectionDecoder(reader: ByteReader(bytes: module.bytes, offset: payload.lowerBound, limit: end))
            do throws(WasmParserError) {
                module.names = try names.decode()
            } catch {
                module.customSectionIssues.append("malformed name section: \(error.message)")
            }
        }
        reader.offset = end
    }

    mutating func decodeTypeSection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.types.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count {
            let start = reader.offset
            if reader.peekByte() == 0x4E {
                guard features.hasTypeSystem3 else { throw malformed("malformed function type (rec groups need the function-references feature)", at: start) }
                reader.offset += 1
                let groupCount = try reader.readCount()
                let first = module.types.count
                for _ in 0..<groupCount { module.types.append(try readSubType()) }
                module.recursionGroups.append(first..<module.types.count)
            } else {
                module.types.append(try readSubType())
                module.recursionGroups.append((module.types.count - 1)..<module.types.count)
            }
        }
    }

    /// `sub`, `sub final` (with at most one supertype) or a plain composite type.
    mutating func readSubType() throws(WasmParserError) -> SubType {
        let start = reader.offset
        guard let byte = reader.peekByte() else { throw reader.unexpectedEnd() }
        guard byte == 0x50 || byte == 0x4F else { return SubType(try readCompositeType()) }
        guard features.hasTypeSystem3 else { throw malformed("malformed function type (sub types need the function-references feature)", at: start) }
        reader.offset += 1
        let count = try reader.readCount()
        var supertypes: [UInt32] = []
        for _ in 0..<count { supertypes.append(try reader.readVarUInt32()) }
        guard supertypes.count <= 1 else { throw WasmParserError(.invalid, "multiple supertypes", offset: start) }
        return SubType(isFinal: byte == 0x4F, supertype: supertypes.first, try readCompositeType())
    }

    mutating func readCompositeType() throws(WasmParserError) -> CompositeType {
        let start = reader.offset
        let form = try reader.readByte()
        // The form is a signed LEB128 byte: a continuation bit makes it over-long, not just wrong.
        guard form & 0x80 == 0 else { throw malformed("integer representation too long", at: start) }
        switch form {
        case 0x60:
            let parameters = try readValueTypes()
            let results = try readValueTypes()
            return .function(FunctionType(parameters: parameters, results: results))
        case 0x5F where features.contains(.gc):
            let count = try reader.readCount()
            var fields: [FieldType] = []
            fields.reserveCapacity(reader.boundedCapacity(count))
            for _ in 0..<count { fields.append(try readFieldType()) }
            return .structure(fields)
        case 0x5E where features.contains(.gc):
            return .array(try readFieldType())
        default:
            throw malformed(features.contains(.gc) ? "malformed composite type" : "malformed function type", at: start)
        }
    }

    mutating func readFieldType() throws(WasmParserError) -> FieldType {
        let storage: StorageType
        switch reader.peekByte() {
        case 0x78: reader.offset += 1; storage = .i8
        case 0x77: reader.offset += 1; storage = .i16
        default: storage = .value(try reader.readValueType())
        }
        let start = reader.offset
        guard let mutability = Mutability(rawValue: try reader.readByte()) else {
            throw malformed("malformed mutability", at: start)
        }
        return FieldType(storage, mutable: mutability == .variable)
    }

    mutating func readValueTypes() throws(WasmParserError) -> [ValueType] {
        let count = try reader.readCount()
        var types: [ValueType] = []
        types.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count { types.append(try reader.readValueType()) }
        return types
    }

    /// Limits and whether they index with i64 (flag bit 2, memory64). Without memory64 the flag is 0 or 1.
    mutating func readLimits() throws(WasmParserError) -> (Limits, is64: Bool) {
        let start = reader.offset
        let flags: UInt64
        if features.contains(.memory64) {
            flags = UInt64(try reader.readByte())
            guard flags & ~0x05 == 0 else { throw malformed("malformed limits flags", at: start) }
        } else {
            flags = try reader.readUnsignedLEB(bits: 1)
        }
        let is64 = flags & 4 != 0
        // With memory64, limits are read as u64 whatever the index type; validation bounds 32-bit ones.
        let bits = features.contains(.memory64) ? 64 : 32
        let min = try reader.readUnsignedLEB(bits: bits)
        let max = flags & 1 != 0 ? try reader.readUnsignedLEB(bits: bits) : nil
        return (Limits(min: min, max: max), is64)
    }

    mutating func readTableType() throws(WasmParserError) -> TableType {
        let elementType = try reader.readReferenceType()
        let (limits, is64) = try readLimits()
        return TableType(elementType: elementType, limits: limits, is64: is64)
    }

    mutating func readMemoryType() throws(WasmParserError) -> MemoryType {
        let (limits, is64) = try readLimits()
        return MemoryType(limits: limits, is64: is64)
    }

    mutating func readTagType() throws(WasmParserError) -> TagType {
        let start = reader.offset
        guard try reader.readByte() == 0x00 else { throw malformed("malformed tag attribute", at: start) }
        return TagType(typeIndex: try reader.readVarUInt32())
    }

    mutating func readGlobalType() throws(WasmParserError) -> GlobalType {
        let valueType = try reader.readValueType()
        let start = reader.offset
        guard let mutability = Mutability(rawValue: try reader.readByte()) else {
            throw malformed("malformed mutability", at: start)
        }
        return GlobalType(valueType: valueType, mutability: mutability)
    }

    mutating func decodeImportSection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.imports.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count {
            let moduleName = try reader.readName()
            let name = try reader.readName()
            let kindOffset = reader.offset
            let descriptor: ImportDescriptor
            switch try reader.readByte() {
            case 0x00: descriptor = .function(typeIndex: try reader.readVarUInt32())
            case 0x01: descriptor = .table(try readTableType())
            case 0x02: descriptor = .memory(try readMemoryType())
            case 0x03: descriptor = .global(try readGlobalType())
            case 0x04 where features.contains(.exceptions): descriptor = .tag(try readTagType())
            default: throw malformed("malformed import kind", at: kindOffset)
            }
            module.imports.append(Import(module: moduleName, name: name, descriptor: descriptor))
        }
    }

    mutating func decodeFunctionSection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.functionTypeIndices.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count { module.functionTypeIndices.append(try reader.readVarUInt32()) }
    }

    mutating func decodeTableSection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.tables.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count {
            // 0x40 0x00 starts a table with an initializer expression (typed function references).
            if reader.peekByte() == 0x40, features.contains(.functionReferences) {
                let start = reader.offset
                reader.offset += 1
                guard try reader.readByte() == 0x00 else { throw malformed("malformed table", at: start) }
                module.tables.append(try readTableType())
                module.tableInitializers.append(try readConstantExpression())
            } else {
                module.tables.append(try readTableType())
                module.tableInitializers.append(nil)
            }
        }
    }

    mutating func decodeMemorySection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.memories.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count { module.memories.append(try readMemoryType()) }
    }

    mutating func decodeTagSection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.tags.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count { module.tags.append(try readTagType()) }
    }

    /// Reads instructions up to the `end` that closes the expression. Like the reference decoder, it reads
    /// block structure (an `end` may close a nested block, which validation then rejects) and is bounded
    /// by the module, not the section.
    mutating func readConstantExpression() throws(WasmParserError) -> ConstantExpression {
        let start = reader.offset
        var instructions: [Instruction] = []
        var depth = 0
        while true {
            let instruction = try reader.readInstruction()
            switch instruction.opcode {
            case .block, .loop, .if, .tryTable, .try: depth += 1
            case .end:
                if depth == 0 { return ConstantExpression(instructions: instructions, offset: start) }
                depth -= 1
            default: break
            }
            instructions.append(instruction)
        }
    }

    mutating func decodeGlobalSection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.globals.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count {
            let type = try readGlobalType()
            module.globals.append(Global(type: type, initializer: try readConstantExpression()))
        }
    }

    mutating func decodeExportSection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.exports.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count {
            let name = try reader.readName()
            let kindOffset = reader.offset
            guard let kind = ExternalKind(rawValue: try reader.readByte()), kind != .tag || features.contains(.exceptions) else {
                throw malformed("malformed export kind", at: kindOffset)
            }
            module.exports.append(Export(name: name, kind: kind, index: try reader.readVarUInt32()))
        }
    }

    mutating func decodeElementSection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.elements.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count {
            let start = reader.offset
            let flags = try reader.readVarUInt32()
            guard flags <= 7 else { throw malformed("malformed elements segment kind", at: start) }
            // Bit 0: passive or declarative; bit 1: explicit table index (active) or declarative;
            // bit 2: initializers are expressions instead of function indices.
            let mode: ElementSegment.Mode
            if flags & 1 == 0 {
                let table = flags & 2 != 0 ? try reader.readVarUInt32() : 0
                mode = .active(table: table, offset: try readConstantExpression())
            } else {
                mode = flags & 2 != 0 ? .declarative : .passive
            }
            // Function indices are never null: with typed references their segment type is (ref func).
            var type = flags & 4 == 0 && features.contains(.functionReferences)
                ? ValueType.ref(ReferenceType(nullable: false, .func)) : ValueType.funcref
            if flags & 3 != 0 {
                if flags & 4 != 0 {
                    type = try reader.readReferenceType()
                } else {
                    let kindOffset = reader.offset
                    guard try reader.readByte() == 0x00 else {
                        throw malformed("malformed element kind", at: kindOffset)
                    }
                }
            }
            let n = try reader.readCount()
            let initializers: ElementSegment.Initializers
            if flags & 4 != 0 {
                var expressions: [ConstantExpression] = []
                expressions.reserveCapacity(reader.boundedCapacity(n))
                for _ in 0..<n { expressions.append(try readConstantExpression()) }
                initializers = .expressions(expressions)
            } else {
                var functions: [UInt32] = []
                functions.reserveCapacity(reader.boundedCapacity(n))
                for _ in 0..<n { functions.append(try reader.readVarUInt32()) }
                initializers = .functions(functions)
            }
            module.elements.append(ElementSegment(type: type, mode: mode, initializers: initializers, offset: start))
        }
    }

    mutating func decodeCodeSection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.codes.reserveCapacity(reader.boundedCapacity(count))
        // With validation: the bodies are validated once their headers are read, on several threads (see
        // `validateBodies`), and a malformed header is reported only after the bodies before it were found
        // valid, so errors come in the order a one-pass decoder finds them.
        do throws(WasmParserError) {
            for i in 0..<count {
                let body = try readBody()
                if context != nil, i >= module.functionTypeIndices.count {
                    throw malformed("function and code section have inconsistent lengths", at: body.start)
                }
                module.codes.append(body)
            }
        } catch {
            if let context { try validateBodies(context) }
            throw error
        }
        if let context { try validateBodies(context) }
    }

    /// Reads one entry of the code section: its size, local declarations and the range of its instructions.
    mutating func readBody() throws(WasmParserError) -> FunctionBody {
        let size = try reader.readByteLength()
        let start = reader.offset
        guard size <= reader.remaining else {
            throw malformed("unexpected end of section or function", at: reader.offset + reader.remaining)
        }
        let end = start + size
        var body = ByteReader(bytes: module.bytes, offset: start, limit: end)
        let groupCount = try body.readCount()
        var groups: [LocalGroup] = []
        groups.reserveCapacity(body.boundedCapacity(groupCount))
        var total: UInt64 = 0
        for _ in 0..<groupCount {
            let n = try body.readVarUInt32()
            let type = try body.readValueType()
            total += UInt64(n)
            guard total <= UInt64(UInt32.max) else { throw malformed("too many locals", at: start) }
            if n > 0 { groups.append(LocalGroup(count: n, type: type)) }
        }
        reader.offset = end
        return FunctionBody(locals: groups, localCount: UInt32(total), range: body.offset..<end, start: start)
    }

    /// Validates the bodies read so far, throwing the first function's error.
    mutating func validateBodies(_ context: ValidationContext) throws(WasmParserError) {
        for result in module.validateBodies(context) {
            dataUse.merge(try result.get())
        }
    }

    mutating func decodeDataSection() throws(WasmParserError) {
        let count = try reader.readCount()
        module.data.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count {
            let start = reader.offset
            let flags = try reader.readVarUInt32()
            let mode: DataSegment.Mode
            switch flags {
            case 0: mode = .active(memory: 0, offset: try readConstantExpression())
            case 1: mode = .passive
            case 2:
                let memory = try reader.readVarUInt32()
                mode = .active(memory: memory, offset: try readConstantExpression())
            default: throw malformed("malformed data segment kind", at: start)
            }
            let length = try reader.readByteLength()
            let payloadStart = reader.offset
            try reader.skip(length)
            module.data.append(DataSegment(mode: mode, range: payloadStart..<reader.offset))
        }
    }
}
