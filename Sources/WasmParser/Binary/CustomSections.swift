/// Custom sections Nebula understands: `name` (function and local names for traps and tools) and
/// `metadata.code.branch_hint` (branch hints). A malformed or invalid custom section never makes the
/// module malformed or invalid: what is wrong is reported in `Module.customSectionIssues` and the rest is kept.
/// The `name` custom section: module name, function names, local names.
struct NameSectionDecoder {
    var reader: ByteReader

    mutating func decode() throws(WasmParserError) -> NameSection {
        var names = NameSection()
        var lastID: Int = -1
        while !reader.isAtEnd {
            let id = Int(try reader.readByte())
            guard id > lastID else { throw reader.malformed("name subsections out of order") }
            lastID = id
            let size = try reader.readByteLength()
            guard size <= reader.remaining else { throw reader.unexpectedEnd() }
            let end = reader.offset + size
            switch id {
            case 0:
                names.moduleName = try reader.readName()
            case 1:
                names.functionNames = try readNameMap()
            case 2:
                let count = try reader.readCount()
                for _ in 0..<count {
                    let function = try reader.readVarUInt32()
                    names.localNames[function] = try readNameMap()
                }
            default:
                reader.offset = end
            }
            guard reader.offset == end else { throw reader.malformed("name subsection size mismatch") }
        }
        return names
    }

    mutating func readNameMap() throws(WasmParserError) -> [UInt32: String] {
        let count = try reader.readCount()
        var map: [UInt32: String] = [:]
        map.reserveCapacity(reader.boundedCapacity(count))
        for _ in 0..<count {
            let index = try reader.readVarUInt32()
            map[index] = try reader.readName()
        }
        return map
    }
}

/// One branch hint: the `if` or `br_if` at `offset` (bytes from the start of the function's body, its local
/// declarations included) is likely (or unlikely) to be taken.
public struct BranchHint: Hashable, Sendable {
    public var offset: UInt32
    public var likely: Bool

    public init(offset: UInt32, likely: Bool) {
        self.offset = offset
        self.likely = likely
    }
}

extension Module {
    static let branchHintSectionName = "metadata.code.branch_hint"

    /// Decodes and checks the branch hint section (once the code section is known): function indices
    /// increasing and defined, offsets increasing, each hint one byte of 0 or 1 on an `if` or `br_if`.
    /// Hints that break a rule are dropped with an issue, as the spec says; the module stays valid.
    mutating func checkBranchHints() {
        guard let section = customSections.last(where: { $0.name == Module.branchHintSectionName }) else { return }
        func issue(_ message: String) { customSectionIssues.append("@metadata.code.branch_hint annotation: \(message)") }
        var reader = ByteReader(bytes: bytes, offset: section.range.lowerBound, limit: section.range.upperBound, features: features)
        let imported = importedFunctionTypeIndices.count
        var previousFunction: Int64 = -1
        do throws(WasmParserError) {
            let functionCount = try reader.readCount()
            for _ in 0..<functionCount {
                let function = try reader.readVarUInt32()
                guard Int64(function) > previousFunction else { return issue("function \(function) out of order") }
                previousFunction = Int64(function)
                let count = try reader.readCount()
                var hints: [BranchHint] = []
                var previousOffset: Int64 = -1
                for _ in 0..<count {
                    let offset = try reader.readVarUInt32()
                    let size = try reader.readVarUInt32()
                    guard size == 1 else { return issue("hint of \(size) bytes") }
                    let value = try reader.readByte()
                    guard value <= 1 else { return issue("hint value \(value)") }
                    guard Int64(offset) > previousOffset else { return issue("offset \(offset) out of order") }
                    previousOffset = Int64(offset)
                    hints.append(BranchHint(offset: offset, likely: value == 1))
                }
                let defined = Int(function) - imported
                guard defined >= 0, defined < codes.count else { issue("unknown function \(function)"); continue }
                let targets = conditionalBranchOffsets(in: codes[defined])
                let valid = hints.filter { targets.contains($0.offset) }
                if valid.count < hints.count { issue("invalid target in function \(function)") }
                if !valid.isEmpty { branchHints[function] = valid }
            }
            guard reader.isAtEnd else { return issue("section size mismatch") }
        } catch {
            issue(error.message)
        }
    }

    /// Offsets (from the body's start, locals included) of the body's `if` and `br_if` instructions.
    func conditionalBranchOffsets(in body: FunctionBody) -> Set<UInt32> {
        var reader = ByteReader(bytes: bytes, offset: body.range.lowerBound, limit: body.range.upperBound, features: features)
        let bodyStart = body.start
        var offsets = Set<UInt32>()
        while !reader.isAtEnd {
            let at = reader.offset
            guard let instruction = try? reader.readInstruction() else { break }
            if instruction.opcode == .if || instruction.opcode == .brIf { offsets.insert(UInt32(at - bodyStart)) }
        }
        return offsets
    }
}
