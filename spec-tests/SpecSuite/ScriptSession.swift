import Foundation
import WasmParser
import WasmVM

/// The state of one running script: a store, the instances by name, and what has been registered for import.
struct ScriptSession {
    enum Verdict {
        case passed
        case failed(expected: String, actual: String, messageMismatch: Bool)
        /// The command needs something the runner or interpreter cannot do (none in the 2.0 suite).
        case notRun
    }

    let directory: String
    let features: Features
    let store: Store
    var imports: Imports
    var current: Instance?
    var named: [String: Instance] = [:]
    /// Modules defined but not instantiated (`module definition`), by name.
    var definitions: [String: CompiledModule] = [:]
    /// The current module could not be compiled because it uses unimplemented instructions.
    var currentUnsupported = false
    var namedUnsupported: Set<String> = []

    init(directory: String, features: Features) {
        self.directory = directory
        self.features = features
        var limits = ResourceLimits()
        limits.maxCallDepth = 20_000
        store = Store(limits: limits)
        imports = SpecHost.imports(in: store)
    }

    enum Compiled {
        case module(CompiledModule)
        case unsupported
        case failed(String)
    }

    func compile(_ filename: String?) -> Compiled {
        guard let filename, let data = FileManager.default.contents(atPath: "\(directory)/\(filename)") else {
            return .failed("cannot read \(filename ?? "(no filename)")")
        }
        do throws(CompiledModule.LoadError) {
            return .module(try CompiledModule(bytes: [UInt8](data), features: features))
        } catch {
            if case .translation(let t) = error, t.message.contains("not supported") { return .unsupported }
            return .failed(error.description)
        }
    }

    mutating func run(_ command: SpecCommand) -> Verdict {
        switch command.type {
        case "module":
            switch compile(command.binaryFile) {
            case .unsupported:
                currentUnsupported = true
                current = nil
                if let name = command.name { namedUnsupported.insert(name) }
                return .notRun
            case .failed(let why):
                current = nil
                currentUnsupported = false
                return .failed(expected: "module to load", actual: why, messageMismatch: false)
            case .module(let module):
                currentUnsupported = false
                do {
                    let instance = try module.instantiate(store: store, imports: imports)
                    current = instance
                    if let name = command.name { named[name] = instance }
                    return .passed
                } catch {
                    current = nil
                    return .failed(expected: "module to instantiate", actual: "\(error)", messageMismatch: false)
                }
            }
        case "module_definition":
            switch compile(command.binaryFile) {
            case .unsupported: return .notRun
            case .failed(let why): return .failed(expected: "module to load", actual: why, messageMismatch: false)
            case .module(let module):
                if let name = command.name { definitions[name] = module }
                return .passed
            }
        case "module_instance":
            guard let name = command.module, let module = definitions[name] else {
                return .failed(expected: "a module definition", actual: "none named \(command.module ?? "")", messageMismatch: false)
            }
            do {
                let instance = try module.instantiate(store: store, imports: imports)
                current = instance
                currentUnsupported = false
                if let instanceName = command.instance { named[instanceName] = instance }
                return .passed
            } catch {
                return .failed(expected: "module to instantiate", actual: "\(error)", messageMismatch: false)
            }
        case "register":
            guard let as_ = command.registerAs else { return .failed(expected: "register name", actual: "none", messageMismatch: false) }
            if let name = command.name, namedUnsupported.contains(name) { return .notRun }
            if command.name == nil && currentUnsupported { return .notRun }
            guard let instance = command.name.flatMap({ named[$0] }) ?? current else {
                return .failed(expected: "a module to register", actual: "none", messageMismatch: false)
            }
            imports.define(module: as_, instance: instance)
            return .passed
        case "action", "assert_return", "assert_trap", "assert_exhaustion", "assert_exception":
            guard let action = command.action else { return runModuleAssertion(command) }
            if usesUnsupported(action) { return .notRun }
            let outcome = perform(action)
            return judge(command, outcome)
        case "assert_unlinkable", "assert_uninstantiable":
            return runModuleAssertion(command)
        default:
            return .notRun
        }
    }

    func usesUnsupported(_ action: SpecAction) -> Bool {
        if let name = action.module { return namedUnsupported.contains(name) }
        return currentUnsupported && current == nil
    }

    enum Outcome {
        case values([Value])
        case trap(Trap)
        case error(String)
        case unsupportedValue
    }

    func perform(_ action: SpecAction) -> Outcome {
        guard let instance = action.module.flatMap({ named[$0] }) ?? (action.module == nil ? current : nil) else {
            return .error("no instance for the action")
        }
        switch action.type {
        case "invoke":
            guard let function = instance.function(action.field) else { return .error("no function export \(action.field)") }
            var arguments: [Value] = []
            for argument in action.args ?? [] {
                guard let value = SpecValues.value(argument) else { return .unsupportedValue }
                arguments.append(value)
            }
            do throws(Trap) {
                return .values(try function.invoke(arguments))
            } catch {
                return .trap(error)
            }
        case "get":
            guard let global = instance.global(action.field) else { return .error("no global export \(action.field)") }
            return .values([global.value])
        default:
            return .error("unknown action \(action.type)")
        }
    }

    func judge(_ command: SpecCommand, _ outcome: Outcome) -> Verdict {
        if case .unsupportedValue = outcome { return .notRun }
        switch command.type {
        case "action":
            if case .values = outcome { return .passed }
            return .failed(expected: "action to complete", actual: "\(outcome)", messageMismatch: false)
        case "assert_return":
            guard case .values(let values) = outcome else {
                return .failed(expected: "values", actual: "\(outcome)", messageMismatch: false)
            }
            let expected = command.expected ?? []
            guard values.count == expected.count else {
                return .failed(expected: "\(expected.count) results", actual: "\(values)", messageMismatch: false)
            }
            for (value, expectation) in zip(values, expected) where !SpecValues.matches(value, expectation) {
                return .failed(expected: "\(expected.map { "\($0.type):\($0.value.joined(separator: ","))" })", actual: "\(values)", messageMismatch: false)
            }
            return .passed
        case "assert_exception":
            if case .trap(let trap) = outcome, case .exception = trap.reason { return .passed }
            return .failed(expected: "an uncaught exception", actual: "\(outcome)", messageMismatch: false)
        default:  // assert_trap, assert_exhaustion
            guard case .trap(let trap) = outcome else {
                return .failed(expected: "trap: \(command.text ?? "")", actual: "\(outcome)", messageMismatch: false)
            }
            let text = command.text ?? ""
            if trap.message.contains(text) { return .passed }
            return .failed(expected: "trap: \(text)", actual: trap.message, messageMismatch: true)
        }
    }

    /// `assert_unlinkable`, `assert_uninstantiable`, and the module form of `assert_trap`.
    mutating func runModuleAssertion(_ command: SpecCommand) -> Verdict {
        let text = command.text ?? ""
        switch compile(command.binaryFile) {
        case .unsupported: return .notRun
        case .failed(let why): return .failed(expected: "module to compile", actual: why, messageMismatch: false)
        case .module(let module):
            do {
                _ = try module.instantiate(store: store, imports: imports)
                return .failed(expected: "instantiation to fail: \(text)", actual: "instantiated", messageMismatch: false)
            } catch let error as LinkError {
                guard command.type == "assert_unlinkable" else {
                    return .failed(expected: "trap: \(text)", actual: "link error: \(error)", messageMismatch: false)
                }
                return error.message.contains(text) ? .passed
                    : .failed(expected: text, actual: error.message, messageMismatch: true)
            } catch let trap as Trap {
                guard command.type != "assert_unlinkable" else {
                    return .failed(expected: "link error: \(text)", actual: "trap: \(trap)", messageMismatch: false)
                }
                return trap.message.contains(text) ? .passed
                    : .failed(expected: text, actual: trap.message, messageMismatch: true)
            } catch {
                return .failed(expected: text, actual: "\(error)", messageMismatch: false)
            }
        }
    }
}

/// Reading and comparing the suite's values (decimal bit patterns, NaN classes, references).
enum SpecValues {
    static func value(_ v: SpecValue) -> Value? {
        let text = v.value.first ?? ""
        switch v.type {
        case "i32": return bits32(text).map { .i32($0) }
        case "i64": return bits64(text).map { .i64($0) }
        case "f32": return UInt32(text).map { .f32($0) }
        case "f64": return UInt64(text).map { .f64($0) }
        case "externref": return text == "null" ? .externref(nil) : UInt64(text).map { .externref($0) }
        case "funcref": return text == "null" ? .funcref(nil) : Int(text).map { .funcref($0) }
        case "exnref": return text == "null" ? .exnref(nil) : nil
        case "nullfuncref": return .funcref(nil)
        case "nullexternref": return .externref(nil)
        case "nullexnref": return .exnref(nil)
        case "v128":
            guard let width = laneBits(v.laneType), v.value.count == 128 / width else { return nil }
            var low: UInt64 = 0, high: UInt64 = 0
            for (i, lane) in v.value.enumerated() {
                guard let bits = laneValue(lane, width: width) else { return nil }
                let shift = UInt64(i * width % 64)
                if i * width < 64 { low |= bits << shift } else { high |= bits << shift }
            }
            return .v128(V128(low: low, high: high))
        default: return nil
        }
    }

    /// An integer written as its unsigned bit pattern (wast2json) or signed (wasm-tools json-from-wast).
    static func bits32(_ text: String) -> UInt32? { UInt32(text) ?? Int32(text).map { UInt32(bitPattern: $0) } }
    static func bits64(_ text: String) -> UInt64? { UInt64(text) ?? Int64(text).map { UInt64(bitPattern: $0) } }

    /// A lane's width in bits for a `lane_type` (i8 … f64).
    static func laneBits(_ laneType: String?) -> Int? {
        switch laneType {
        case "i8": return 8
        case "i16": return 16
        case "i32", "f32": return 32
        case "i64", "f64": return 64
        default: return nil
        }
    }

    /// A lane written as its unsigned bit pattern (wast2json also writes negative integers for some lanes).
    static func laneValue(_ text: String, width: Int) -> UInt64? {
        let mask: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
        if let u = UInt64(text) { return u & mask }
        if let s = Int64(text) { return UInt64(bitPattern: s) & mask }
        return nil
    }

    static func matches(_ value: Value, _ expected: SpecValue) -> Bool {
        let text = expected.value.first ?? ""
        // No value given for a reference type: any non-null reference of that kind.
        let anyNonNull = expected.value.isEmpty
        switch (value, expected.type) {
        case (_, "either"):
            return (expected.values ?? []).contains { matches(value, $0) }
        case (_, "refnull"), (_, "nullref"), (_, "nullfuncref"), (_, "nullexternref"), (_, "nullexnref"):
            return value.isNull
        case (.externref(let reference), "externref") where anyNonNull:
            return reference != nil
        case (.exnref(let reference), "exnref"):
            return anyNonNull ? reference != nil : (text == "null" && reference == nil)
        case (.i32(let bits), "i32"): return bits32(text) == bits
        case (.i64(let bits), "i64"): return bits64(text) == bits
        case (.f32(let bits), "f32"):
            if text == "nan:canonical" { return bits & 0x7FFF_FFFF == 0x7FC0_0000 }
            if text == "nan:arithmetic" { return bits & 0x7FC0_0000 == 0x7FC0_0000 }
            return UInt32(text) == bits
        case (.f64(let bits), "f64"):
            if text == "nan:canonical" { return bits & 0x7FFF_FFFF_FFFF_FFFF == 0x7FF8_0000_0000_0000 }
            if text == "nan:arithmetic" { return bits & 0x7FF8_0000_0000_0000 == 0x7FF8_0000_0000_0000 }
            return UInt64(text) == bits
        case (.externref(let reference), "externref"):
            return text == "null" ? reference == nil : reference == UInt64(text)
        case (.funcref(let reference), "funcref"):
            return text == "null" ? reference == nil : reference != nil
        case (.v128(let v), "v128"):
            guard let width = laneBits(expected.laneType), expected.value.count == 128 / width else { return false }
            for (i, lane) in expected.value.enumerated() {
                let bitIndex = i * width
                let word = bitIndex < 64 ? v.low : v.high
                let mask: UInt64 = width == 64 ? .max : (1 << UInt64(width)) - 1
                let bits = (word >> UInt64(bitIndex % 64)) & mask
                let laneExpectation = SpecValue(type: expected.laneType ?? "", value: [lane])
                let actual: Value
                switch expected.laneType {
                case "f32": actual = .f32(UInt32(bits))
                case "f64": actual = .f64(bits)
                default:
                    guard laneValue(lane, width: width) == bits else { return false }
                    continue
                }
                if !matches(actual, laneExpectation) { return false }
            }
            return true
        default:
            return false
        }
    }
}
