import WasmParser

/// Structural equality of modules, whatever bytes they were decoded from: the first difference, or nil.
/// Function bodies compare by their decoded instructions and locals, segments by mode and contents, custom
/// sections (but `name`) by name and payload.
public func firstDifference(_ a: Module, _ b: Module) -> String? {
    func check<T: Equatable>(_ what: String, _ x: T, _ y: T) -> String? { x == y ? nil : "\(what): \(x) vs \(y)" }
    if let d = check("types", a.types, b.types) { return d }
    if let d = check("recursion groups", a.recursionGroups, b.recursionGroups) { return d }
    if let d = check("imports", a.imports, b.imports) { return d }
    if let d = check("function types", a.functionTypeIndices, b.functionTypeIndices) { return d }
    if let d = check("tables", a.tables, b.tables) { return d }
    if let d = check("table initializers", a.tableInitializers.map { $0?.instructions }, b.tableInitializers.map { $0?.instructions }) { return d }
    if let d = check("memories", a.memories, b.memories) { return d }
    if let d = check("tags", a.tags, b.tags) { return d }
    if let d = check("globals", a.globals.map { "\($0.type) \($0.initializer.instructions)" }, b.globals.map { "\($0.type) \($0.initializer.instructions)" }) { return d }
    if let d = check("exports", a.exports, b.exports) { return d }
    if let d = check("start", a.start, b.start) { return d }
    func elements(_ m: Module) -> [String] {
        m.elements.map { e in
            let mode: String
            switch e.mode {
            case .passive: mode = "passive"
            case .declarative: mode = "declarative"
            case .active(let t, let o): mode = "active \(t) \(o.instructions)"
            }
            let items: String
            switch e.initializers {
            case .functions(let f): items = "\(f)"
            case .expressions(let x): items = "\(x.map(\.instructions))"
            }
            return "\(e.type) \(mode) \(items)"
        }
    }
    if let d = check("elements", elements(a), elements(b)) { return d }
    func data(_ m: Module) -> [String] {
        m.data.map { s in
            switch s.mode {
            case .passive: return "passive \(Array(m.bytes(of: s)))"
            case .active(let memory, let offset): return "active \(memory) \(offset.instructions) \(Array(m.bytes(of: s)))"
            }
        }
    }
    if let d = check("data", data(a), data(b)) { return d }
    if let d = check("body count", a.codes.count, b.codes.count) { return d }
    for (i, (x, y)) in zip(a.codes, b.codes).enumerated() {
        if let d = check("locals of body \(i)", x.locals, y.locals) { return d }
        if let d = check("code of body \(i)", instructions(a, x), instructions(b, y)) { return d }
    }
    func customs(_ m: Module) -> [String] {
        m.customSections.filter { $0.name != "name" }.map { "\($0.name): \(Array(m.bytes[$0.range]))" }
    }
    if let d = check("custom sections", customs(a), customs(b)) { return d }
    return nil
}

func instructions(_ module: Module, _ body: FunctionBody) -> [Instruction] {
    var reader = ByteReader(bytes: module.bytes, offset: body.range.lowerBound, limit: body.range.upperBound, features: module.features)
    var result: [Instruction] = []
    while !reader.isAtEnd, let instruction = try? reader.readInstruction() { result.append(instruction) }
    return result
}
