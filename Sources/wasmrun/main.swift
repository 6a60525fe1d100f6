import Foundation
import NebulaHTTP
import WASI
import WasmParser
import WasmVM

/// `wasmrun`: the command-line face of Nebula's engine.
let version = "wasmrun (Nebula) 0.2.0"

func writeError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

func readModuleFile(_ path: String) -> [UInt8]? {
    guard let data = FileManager.default.contents(atPath: path) else {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            writeError("wasmrun: cannot read \(path): \(isDirectory.boolValue ? "is a directory" : "permission denied")")
        } else {
            writeError("wasmrun: cannot read \(path): no such file")
        }
        return nil
    }
    return [UInt8](data)
}

func elapsed(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }

func validate(_ path: String, features: Features) -> Int32 {
    guard let bytes = readModuleFile(path) else { return 1 }
    do throws(WasmParserError) {
        _ = try Module.load(textOrBinary: bytes, features: features)
        print("valid")
        return 0
    } catch {
        writeError("\(path): \(error)")
        return 1
    }
}

/// Parses a command-line value as `type`.
func parseValue(_ text: String, as type: ValueType) -> Value? {
    func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
        let lower = text.lowercased()
        if lower.hasPrefix("0x") { return T(lower.dropFirst(2), radix: 16) }
        if lower.hasPrefix("-0x") { return T("-" + lower.dropFirst(3), radix: 16) }
        return T(text)
    }
    switch type {
    case .i32: return (integer(Int32.self).map { .int32($0) }) ?? integer(UInt32.self).map { .i32($0) }
    case .i64: return (integer(Int64.self).map { .int64($0) }) ?? integer(UInt64.self).map { .i64($0) }
    case .f32: return Float(text).map { .float($0) }
    case .f64: return Double(text).map { .double($0) }
    case .ref: return text == "null" ? Value.zero(type) : nil
    case .v128: return parseV128(text).map { .v128($0) }
    }
}

/// A v128 argument: `0x` and up to 32 hex digits (the 128-bit number, lane 0 in its low bits), or a shape
/// and its lanes, e.g. `i32x4:1,2,3,4` or `f64x2:0.5,-1`.
func parseV128(_ text: String) -> V128? {
    let lower = text.lowercased()
    if lower.hasPrefix("0x") {
        let digits = lower.dropFirst(2)
        guard (1...32).contains(digits.count), digits.allSatisfy(\.isHexDigit) else { return nil }
        let lowDigits = digits.suffix(16), highDigits = digits.dropLast(lowDigits.count)
        guard let low = UInt64(lowDigits, radix: 16) else { return nil }
        return V128(low: low, high: highDigits.isEmpty ? 0 : UInt64(highDigits, radix: 16) ?? 0)
    }
    let parts = lower.split(separator: ":", maxSplits: 1)
    guard parts.count == 2 else { return nil }
    let lanes = parts[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    /// Integer lanes, written signed or unsigned (`-1` and `255` are the same i8 lane).
    func integers<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ count: Int) -> [T]? {
        let values = lanes.compactMap { lane -> T? in
            if let v = T(lane) { return v }
            guard let v = Int64(lane), v < 0, T.bitWidth == 64 || v >= -(Int64(1) << (T.bitWidth - 1)) else { return nil }
            return T(truncatingIfNeeded: v)
        }
        return values.count == count && lanes.count == count ? values : nil
    }
    switch parts[0] {
    case "i8x16": return integers(UInt8.self, 16).map { V128(i8x16: SIMD16($0)) }
    case "i16x8": return integers(UInt16.self, 8).map { V128(i16x8: SIMD8($0)) }
    case "i32x4": return integers(UInt32.self, 4).map { V128(i32x4: SIMD4($0)) }
    case "i64x2": return integers(UInt64.self, 2).map { V128(i64x2: SIMD2($0)) }
    case "f32x4":
        let values = lanes.compactMap(Float.init)
        return values.count == 4 && lanes.count == 4 ? V128(f32x4: SIMD4(values)) : nil
    case "f64x2":
        let values = lanes.compactMap(Double.init)
        return values.count == 2 && lanes.count == 2 ? V128(f64x2: SIMD2(values)) : nil
    default: return nil
    }
}

func format(_ value: Value) -> String {
    switch value {
    case .i32(let v): return "\(Int32(bitPattern: v))"
    case .i64(let v): return "\(Int64(bitPattern: v))"
    case .f32(let v): return "\(Float(bitPattern: v))"
    case .f64(let v): return "\(Double(bitPattern: v))"
    case .v128(let v):
        let high = String(v.high, radix: 16), low = String(v.low, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - high.count) + high + String(repeating: "0", count: 16 - low.count) + low
    default: return value.description
    }
}

func run(_ options: Options) -> Int32 {
    guard let path = options.file, let bytes = readModuleFile(path) else { return 1 }
    var timings: [(String, Double)] = []
    var start = DispatchTime.now().uptimeNanoseconds
    let module: Module
    do throws(WasmParserError) {
        module = Module.isText(bytes) ? try Module.decode(Module.parse(text: bytes, features: options.features).encode(), features: options.features)
                                        : try Module.decode(bytes, features: options.features)
        timings.append((Module.isText(bytes) ? "parse" : "decode", elapsed(since: start)))
        start = DispatchTime.now().uptimeNanoseconds
        try module.validate()
        timings.append(("validate", elapsed(since: start)))
    } catch {
        writeError("\(path): \(error)")
        return 1
    }
    start = DispatchTime.now().uptimeNanoseconds
    let compiled: CompiledModule
    do throws(CompiledModule.LoadError) {
        compiled = try CompiledModule(validated: module, translation: options.translation)
    } catch {
        writeError("\(path): \(error)")
        return 1
    }
    timings.append(("translate", elapsed(since: start)))

    var limits = ResourceLimits()
    limits.fuel = options.fuel
    if let pages = options.maxMemoryPages { limits.maxMemoryPages = pages }
    if let bytes = options.maxGCHeapBytes { limits.maxGCHeapBytes = bytes }
    if let depth = options.maxCallDepth { limits.maxCallDepth = depth }
    let store = Store(limits: limits)
    var configuration = WASI.Configuration()
    configuration.arguments = [path] + options.guestArguments
    configuration.environment = options.environment.map { (name: $0.0, value: $0.1) }
    configuration.stdin = .fileDescriptor(0)
    configuration.stdout = .fileDescriptor(1)
    configuration.stderr = .fileDescriptor(2)
    configuration.preopens = options.directories
    if options.invoke != nil { configuration.arguments = [path] }
    let wasi: WASI
    do {
        wasi = try WASI(configuration)
    } catch {
        writeError("wasmrun: \(error)")
        return 1
    }
    var imports = Imports()
    wasi.define(in: &imports, store: store, for: module)

    var status: Int32 = 0
    start = DispatchTime.now().uptimeNanoseconds
    // The run's footprint, as nebula-serve measures an invocation's (docs/footprint.md).
    let energy = EnergyAccountant(options.energy)
    let energyStart = options.stats ? energy.start() : nil
    let cpuStart = Footprint.threadCPUSeconds()
    var memoryBytes = 0
    defer {
        if options.stats {
            let runMilliseconds = elapsed(since: start)
            timings.append(("run", runMilliseconds))
            var footprint = Footprint()
            footprint.wallSeconds = runMilliseconds / 1000
            footprint.cpuSeconds = Footprint.threadCPUSeconds() - cpuStart
            footprint.memoryBytes = memoryBytes
            energy.finish(energyStart, &footprint)
            var lines = ["instructions executed: \(store.instructionsExecuted)"]
            if store.gcHeapPeakBytes > 0 {
                lines.append("GC heap: peak \(store.gcHeapPeakBytes) bytes, \(store.gcHeapBytes) at exit in \(store.gcObjectCount) objects, \(store.gcCollections) collections")
            }
            lines += timings.map { String(format: "%@ time: %.3f ms", $0.0, $0.1) }
            lines.append(String(format: "cpu time: %.3f ms", footprint.cpuSeconds * 1000))
            if let joules = footprint.energyJoules, let source = footprint.energySource {
                lines.append(String(format: "energy: %.6f J (%@)", joules, source == .rapl ? "measured by RAPL" : "estimated by the power model \(energy.settings.model!)"))
            } else {
                lines.append("energy: not measured (RAPL is not readable here and the power model is off)")
            }
            if let grams = footprint.carbonGrams {
                lines.append(String(format: "carbon: %.9f g CO2e (at %g g/kWh)", grams, energy.settings.carbonGramsPerKWh ?? 0))
            }
            writeError(lines.joined(separator: "\n"))
        }
    }
    do {
        let instance = try compiled.instantiate(store: store, imports: imports)
        defer {
            let memories = instance.exports.compactMap { if case .memory(let m) = $0.value { return m } else { return nil } }
            memoryBytes = memories.reduce(0) { $0 + $1.byteCount }
            if options.stats, let memory = memories.first {
                writeError("peak memory: \(memory.pageCount) pages (\(memory.byteCount) bytes)")
            }
        }
        if let name = options.invoke {
            guard let function = instance.function(name) else {
                writeError("wasmrun: \(path) has no exported function \(name); exports: \(instance.exports.map(\.name).joined(separator: ", "))")
                return 1
            }
            if let initialize = instance.function("_initialize") { _ = try initialize.invoke() }
            let parameters = function.type.parameters
            guard parameters.count == options.guestArguments.count else {
                writeError("wasmrun: \(name) takes \(parameters.count) arguments (\(parameters.map(\.description).joined(separator: ", "))), got \(options.guestArguments.count)")
                return 2
            }
            var arguments: [Value] = []
            for (text, type) in zip(options.guestArguments, parameters) {
                guard let value = parseValue(text, as: type) else {
                    writeError("wasmrun: cannot read \(text) as \(type)")
                    return 2
                }
                arguments.append(value)
            }
            var results: [Value] = []
            var calls: [(milliseconds: Double, gcBytes: Int, residentBytes: Int)] = []
            for _ in 0..<options.repeatCount {
                let callStart = DispatchTime.now().uptimeNanoseconds
                results = try function.invoke(arguments)
                if options.repeatCount > 1 && options.stats {
                    calls.append((elapsed(since: callStart), store.gcHeapBytes, residentBytes()))
                }
            }
            for result in results { print(format(result)) }
            if !calls.isEmpty {
                let times = calls.map(\.milliseconds).sorted()
                var lines = [String(format: "calls: %d, per call %.3f ms (median), %.3f ms (first), %.3f ms (fastest)",
                                    calls.count, times[times.count / 2], calls[0].milliseconds, times[0])]
                for k in Set([0, calls.count / 10, calls.count / 2, calls.count - 1]).sorted() {
                    lines.append("after call \(k + 1): GC heap \(calls[k].gcBytes) bytes, resident \(calls[k].residentBytes / 1024) KiB")
                }
                writeError(lines.joined(separator: "\n"))
            }
        } else {
            status = try wasi.start(instance)
        }
    } catch let trap as Trap {
        if case .exit(let code) = trap.reason { return code }
        // wasmtime's convention: the message, a backtrace, and status 134.
        var lines = ["error: wasm trap: \(trap.message)"]
        if case .exception(let exception) = trap.reason {
            lines = ["error: uncaught wasm exception: tag \(exception.tagAddress), payload [\(exception.payload.map(\.description).joined(separator: ", "))]"]
        }
        lines += trap.backtrace.prefix(32).map { "    at \($0)" }
        if trap.backtrace.count > 32 { lines.append("    ... \(trap.backtrace.count - 32) more frames") }
        writeError(lines.joined(separator: "\n"))
        status = 134
    } catch {
        writeError("wasmrun: \(path): \(error)")
        status = 1
    }
    fflush(nil)
    return status
}

func inspect(_ path: String, showCode: Bool, features: Features) -> Int32 {
    guard let bytes = readModuleFile(path) else { return 1 }
    let module: Module
    do throws(WasmParserError) {
        module = try Module.load(textOrBinary: bytes, features: features)
    } catch {
        writeError("\(path): \(error)")
        return 1
    }
    let sectionNames = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start",
                        "element", "code", "data", "data count", "tag"]
    print("\(path): \(bytes.count) bytes")
    print("features used: \(module.usedFeatures())")
    print("sections:")
    var customIndex = 0
    for section in module.sections {
        var name = sectionNames[Int(section.id)]
        if section.id == 0, customIndex < module.customSections.count {
            name += " \"\(module.customSections[customIndex].name)\""
            customIndex += 1
        }
        print("  \(name): \(section.range.count) bytes at 0x\(String(section.range.lowerBound, radix: 16))")
    }
    if module.types.contains(where: { $0.functionType == nil || $0.supertype != nil || !$0.isFinal }) || module.recursionGroups.count < module.types.count {
        print("types: \(module.types.count) in \(module.recursionGroups.count) recursion groups")
        for (i, type) in module.types.enumerated() { print("  \(i): \(type)") }
    }
    let importedFunctions = module.importedFunctionTypeIndices.count
    print("functions: \(importedFunctions + module.functionTypeIndices.count) (\(importedFunctions) imported)")
    func describe(_ limits: Limits) -> String { "min \(limits.min)" + (limits.max.map { ", max \($0)" } ?? "") }
    func describe(_ memory: MemoryType) -> String { "\(memory.is64 ? "i64" : "i32") \(describe(memory.limits)) pages" }
    func describe(_ table: TableType) -> String { "\(table.elementType) \(table.is64 ? "i64 " : "")\(describe(table.limits))" }
    func describe(tag typeIndex: UInt32) -> String { module.functionType(at: typeIndex).map(\.description) ?? "type \(typeIndex)" }
    print("imports: \(module.imports.count)")
    for item in module.imports {
        let what: String
        switch item.descriptor {
        case .function(let t): what = "func \(module.functionType(at: t).map(\.description) ?? "type \(t)")"
        case .table(let t): what = "table \(describe(t))"
        case .memory(let m): what = "memory \(describe(m))"
        case .global(let g): what = "global \(g.mutability == .variable ? "mut " : "")\(g.valueType)"
        case .tag(let t): what = "tag \(describe(tag: t.typeIndex))"
        }
        print("  \(item.module).\(item.name): \(what)")
    }
    let functionTypes = module.importedFunctionTypeIndices + module.functionTypeIndices
    let globalTypes = module.importedGlobals + module.globals.map(\.type)
    print("exports: \(module.exports.count)")
    for export in module.exports {
        var what = "\(export.kind) \(export.index)"
        if export.kind == .function { what += " \(module.functionType(at: functionTypes[Int(export.index)]).map(\.description) ?? "")" }
        if export.kind == .global {
            let g = globalTypes[Int(export.index)]
            what += " \(g.mutability == .variable ? "mut " : "")\(g.valueType)"
        }
        print("  \(export.name): \(what)")
    }
    let importedMemories = module.importedMemories.count
    for (i, memory) in module.memories.enumerated() { print("memory \(importedMemories + i): \(describe(memory))") }
    let importedTables = module.importedTables.count
    for (i, table) in module.tables.enumerated() {
        print("table \(importedTables + i): \(describe(table))\(module.tableInitializers[i] != nil ? ", initialized by an expression" : "")")
    }
    let importedTags = module.importedTags.count
    for (i, tag) in module.tags.enumerated() { print("tag \(importedTags + i): \(describe(tag: tag.typeIndex))") }
    for (i, global) in module.globals.enumerated() {
        print("global \(module.importedGlobals.count + i): \(global.type.mutability == .variable ? "mut " : "")\(global.type.valueType)")
    }
    print("custom sections: \(module.customSections.map { "\($0.name) (\($0.range.count) bytes)" }.joined(separator: ", "))")
    if !module.branchHints.isEmpty {
        let count = module.branchHints.values.reduce(0) { $0 + $1.count }
        print("branch hints: \(count) in \(module.branchHints.count) functions")
    }
    for issue in module.customSectionIssues { print("custom section issue: \(issue)") }
    if let start = module.start { print("start: function \(start)") }
    if showCode {
        do {
            let compiled = try CompiledModule(validated: module)
            for index in compiled.definedFunctionRange {
                print("")
                print(compiled.disassembly(ofFunction: index) ?? "")
            }
        } catch {
            writeError("\(path): \(error)")
            return 1
        }
    }
    return 0
}

/// `print`: any module (binary or text) in the text format.
func printModule(_ options: Options) -> Int32 {
    guard let path = options.file, let bytes = readModuleFile(path) else { return 1 }
    do throws(WasmParserError) {
        let module = try Module.load(textOrBinary: bytes, features: options.features)
        let text = module.printed()
        if let output = options.output {
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                writeError("wasmrun: cannot write \(output)")
                return 1
            }
        } else {
            print(text, terminator: "")
        }
        return 0
    } catch {
        writeError("\(path): \(error)")
        return 1
    }
}

/// `wat2wasm`: a text module, validated, written as a binary.
func watToWasm(_ options: Options) -> Int32 {
    guard let path = options.file, let bytes = readModuleFile(path), let output = options.output else { return 1 }
    guard Module.isText(bytes) else {
        writeError("\(path): this is a binary module already (it starts with \\0asm); wat2wasm reads the text format")
        return 1
    }
    do throws(WasmParserError) {
        let binary = try Module.parse(text: bytes, features: options.features).encode()
        _ = try Module.load(binary, features: options.features)
        guard FileManager.default.createFile(atPath: output, contents: Data(binary)) else {
            writeError("wasmrun: cannot write \(output)")
            return 1
        }
        return 0
    } catch {
        writeError("\(path): \(error)")
        return 1
    }
}

let options: Options
do throws(Options.UsageError) {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    writeError("wasmrun: \(error)\n\n\(Options.usage)")
    exit(2)
}
switch options.command {
case .help: print(Options.usage); exit(0)
case .version: print(version); exit(0)
case .validate: exit(validate(options.file!, features: options.features))
case .inspect: exit(inspect(options.file!, showCode: options.showCode, features: options.features))
case .print: exit(printModule(options))
case .wat2wasm: exit(watToWasm(options))
case .run: exit(run(options))
}

/// This process's resident memory (`/proc/self/statm`), in bytes; 0 where it cannot be read.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
