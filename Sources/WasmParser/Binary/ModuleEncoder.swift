/// Writes a `Module` in the binary format: the inverse of the decoder, for modules parsed from text and for
/// tools. Function bodies and data payloads are copied from the module's bytes; custom sections go where
/// their `placement` says; a module with names but no `name` section gets one.
extension Module {
    public func encode() -> [UInt8] {
        var pieces: [(placement: Int, bytes: [UInt8])] = []
        func section(_ id: SectionID, _ content: [UInt8]) {
            var bytes: [UInt8] = [id.rawValue]
            Instruction.appendUnsigned(UInt64(content.count), to: &bytes)
            bytes += content
            pieces.append((2 * id.order, bytes))
        }
        func vector<T>(_ items: [T], _ encode: (T, inout [UInt8]) -> Void) -> [UInt8] {
            var bytes: [UInt8] = []
            Instruction.appendUnsigned(UInt64(items.count), to: &bytes)
            for item in items { encode(item, &bytes) }
            return bytes
        }
        func u32(_ value: UInt32, _ bytes: inout [UInt8]) { Instruction.appendUnsigned(UInt64(value), to: &bytes) }

        if !types.isEmpty {
            var content: [UInt8] = []
            Instruction.appendUnsigned(UInt64(recursionGroups.count), to: &content)
            for group in recursionGroups {
                if group.count != 1 {
                    content.append(0x4E)
                    Instruction.appendUnsigned(UInt64(group.count), to: &content)
                }
                for i in group { types[i].encode(into: &content) }
            }
            section(.type, content)
        }
        if !imports.isEmpty {
            section(.import, vector(imports) { item, bytes in
                Module.encodeName(item.module, &bytes)
                Module.encodeName(item.name, &bytes)
                switch item.descriptor {
                case .function(let t): bytes.append(0x00); u32(t, &bytes)
                case .table(let t): bytes.append(0x01); t.encode(into: &bytes)
                case .memory(let m): bytes.append(0x02); m.encode(into: &bytes)
                case .global(let g): bytes.append(0x03); g.encode(into: &bytes)
                case .tag(let t): bytes += [0x04, 0x00]; u32(t.typeIndex, &bytes)
                }
            })
        }
        if !functionTypeIndices.isEmpty { section(.function, vector(functionTypeIndices, u32)) }
        if !tables.isEmpty {
            section(.table, vector(Array(zip(tables, tableInitializers))) { pair, bytes in
                if let initializer = pair.1 {
                    bytes += [0x40, 0x00]
                    pair.0.encode(into: &bytes)
                    initializer.encode(into: &bytes)
                } else {
                    pair.0.encode(into: &bytes)
                }
            })
        }
        if !memories.isEmpty { section(.memory, vector(memories) { $0.encode(into: &$1) }) }
        if !tags.isEmpty { section(.tag, vector(tags) { tag, bytes in bytes.append(0x00); u32(tag.typeIndex, &bytes) }) }
        if !globals.isEmpty {
            section(.global, vector(globals) { global, bytes in
                global.type.encode(into: &bytes)
                global.initializer.encode(into: &bytes)
            })
        }
        if !exports.isEmpty {
            section(.export, vector(exports) { export, bytes in
                Module.encodeName(export.name, &bytes)
                bytes.append(export.kind.rawValue)
                u32(export.index, &bytes)
            })
        }
        if let start {
            var content: [UInt8] = []
            u32(start, &content)
            section(.start, content)
        }
        if !elements.isEmpty { section(.element, vector(elements) { $0.encode(into: &$1) }) }
        if let dataCount {
            var content: [UInt8] = []
            u32(dataCount, &content)
            section(.dataCount, content)
        }
        if !codes.isEmpty {
            section(.code, vector(codes) { body, bytes in
                let payload = self.bytes[body.start..<body.range.upperBound]
                Instruction.appendUnsigned(UInt64(payload.count), to: &bytes)
                bytes += payload
            })
        }
        if !data.isEmpty {
            section(.data, vector(data) { segment, bytes in
                switch segment.mode {
                case .passive: bytes.append(0x01)
                case .active(let memory, let offset):
                    if memory == 0 {
                        bytes.append(0x00)
                    } else {
                        bytes.append(0x02)
                        u32(memory, &bytes)
                    }
                    offset.encode(into: &bytes)
                }
                let payload = self.bytes[segment.range]
                Instruction.appendUnsigned(UInt64(payload.count), to: &bytes)
                bytes += payload
            })
        }
        for custom in customSections {
            var content: [UInt8] = []
            Module.encodeName(custom.name, &content)
            content += bytes[custom.range]
            var bytes: [UInt8] = [0]
            Instruction.appendUnsigned(UInt64(content.count), to: &bytes)
            pieces.append((custom.placement, bytes + content))
        }
        if let names, !customSections.contains(where: { $0.name == "name" }) {
            var content: [UInt8] = []
            Module.encodeName("name", &content)
            content += names.encode()
            var bytes: [UInt8] = [0]
            Instruction.appendUnsigned(UInt64(content.count), to: &bytes)
            pieces.append((Int.max, bytes + content))
        }
        var out: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
        // A stable sort keeps custom sections with the same placement in their order.
        for piece in pieces.enumerated().sorted(by: { ($0.element.placement, $0.offset) < ($1.element.placement, $1.offset) }) {
            out += piece.element.bytes
        }
        return out
    }

    static func encodeName(_ name: String, _ bytes: inout [UInt8]) {
        Instruction.appendUnsigned(UInt64(name.utf8.count), to: &bytes)
        bytes += Array(name.utf8)
    }
}

extension SubType {
    func encode(into bytes: inout [UInt8]) {
        if !isFinal || supertype != nil {
            bytes.append(isFinal ? 0x4F : 0x50)
            if let supertype {
                bytes.append(1)
                Instruction.appendUnsigned(UInt64(supertype), to: &bytes)
            } else {
                bytes.append(0)
            }
        }
        switch composite {
        case .function(let f):
            bytes.append(0x60)
            Instruction.appendUnsigned(UInt64(f.parameters.count), to: &bytes)
            for t in f.parameters { t.encode(into: &bytes) }
            Instruction.appendUnsigned(UInt64(f.results.count), to: &bytes)
            for t in f.results { t.encode(into: &bytes) }
        case .structure(let fields):
            bytes.append(0x5F)
            Instruction.appendUnsigned(UInt64(fields.count), to: &bytes)
            for field in fields { field.encode(into: &bytes) }
        case .array(let field):
            bytes.append(0x5E)
            field.encode(into: &bytes)
        }
    }
}

extension FieldType {
    func encode(into bytes: inout [UInt8]) {
        switch storage {
        case .i8: bytes.append(0x78)
        case .i16: bytes.append(0x77)
        case .value(let t): t.encode(into: &bytes)
        }
        bytes.append(isMutable ? 1 : 0)
    }
}

extension Limits {
    func encode(into bytes: inout [UInt8], is64: Bool) {
        bytes.append((max == nil ? 0 : 1) | (is64 ? 4 : 0))
        Instruction.appendUnsigned(min, to: &bytes)
        if let max { Instruction.appendUnsigned(max, to: &bytes) }
    }
}

extension TableType {
    func encode(into bytes: inout [UInt8]) {
        elementType.encode(into: &bytes)
        limits.encode(into: &bytes, is64: is64)
    }
}

extension MemoryType {
    func encode(into bytes: inout [UInt8]) { limits.encode(into: &bytes, is64: is64) }
}

extension GlobalType {
    func encode(into bytes: inout [UInt8]) {
        valueType.encode(into: &bytes)
        bytes.append(mutability.rawValue)
    }
}

extension ConstantExpression {
    func encode(into bytes: inout [UInt8]) {
        for instruction in instructions { instruction.encode(into: &bytes) }
        bytes.append(0x0B)
    }
}

extension ElementSegment {
    /// Chooses the flags (0–7) that express the segment: function indices where they can, expressions with
    /// an explicit type otherwise.
    func encode(into bytes: inout [UInt8]) {
        switch initializers {
        case .functions(let functions):
            switch mode {
            case .active(0, let offset):
                bytes.append(0x00)
                offset.encode(into: &bytes)
            case .active(let table, let offset):
                bytes.append(0x02)
                Instruction.appendUnsigned(UInt64(table), to: &bytes)
                offset.encode(into: &bytes)
                bytes.append(0x00)
            case .passive:
                bytes += [0x01, 0x00]
            case .declarative:
                bytes += [0x03, 0x00]
            }
            Instruction.appendUnsigned(UInt64(functions.count), to: &bytes)
            for f in functions { Instruction.appendUnsigned(UInt64(f), to: &bytes) }
        case .expressions(let expressions):
            switch mode {
            case .active(0, let offset) where type == .funcref:
                bytes.append(0x04)
                offset.encode(into: &bytes)
            case .active(let table, let offset):
                bytes.append(0x06)
                Instruction.appendUnsigned(UInt64(table), to: &bytes)
                offset.encode(into: &bytes)
                type.encode(into: &bytes)
            case .passive:
                bytes.append(0x05)
                type.encode(into: &bytes)
            case .declarative:
                bytes.append(0x07)
                type.encode(into: &bytes)
            }
            Instruction.appendUnsigned(UInt64(expressions.count), to: &bytes)
            for e in expressions { e.encode(into: &bytes) }
        }
    }
}

extension NameSection {
    /// The `name` section's payload: module name, function names, local names (in index order).
    func encode() -> [UInt8] {
        var out: [UInt8] = []
        func subsection(_ id: UInt8, _ content: [UInt8]) {
            out.append(id)
            Instruction.appendUnsigned(UInt64(content.count), to: &out)
            out += content
        }
        func nameMap(_ map: [UInt32: String]) -> [UInt8] {
            var bytes: [UInt8] = []
            Instruction.appendUnsigned(UInt64(map.count), to: &bytes)
            for (index, name) in map.sorted(by: { $0.key < $1.key }) {
                Instruction.appendUnsigned(UInt64(index), to: &bytes)
                Module.encodeName(name, &bytes)
            }
            return bytes
        }
        if let moduleName {
            var content: [UInt8] = []
            Module.encodeName(moduleName, &content)
            subsection(0, content)
        }
        if !functionNames.isEmpty { subsection(1, nameMap(functionNames)) }
        if !localNames.isEmpty {
            var content: [UInt8] = []
            Instruction.appendUnsigned(UInt64(localNames.count), to: &content)
            for (function, map) in localNames.sorted(by: { $0.key < $1.key }) {
                Instruction.appendUnsigned(UInt64(function), to: &content)
                content += nameMap(map)
            }
            subsection(2, content)
        }
        return out
    }
}
