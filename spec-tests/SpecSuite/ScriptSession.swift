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

    /// When modules' functions are translated (the suite passes either way).
    let translation: TranslationMode

    init(directory: String, features: Features, gcStress: Bool = false, translation: TranslationMode = .eager) {
        self.directory = directory
        self.features = features
        self.translation = translation
        var limits = ResourceLimits()
        limits.maxCallDepth = 20_000
        limits.gcStress = gcStress
        store = Store(limits: limits)
        imports = SpecHost.imports(in: store)
    }

    enum Compiled {
        case module(CompiledModule)
        case unsupported
        case failed(String)
    }

    /// Loads a module (binary or text: parsed, encoded, then decoded and validated like any binary).
    static func load(_ source: SpecCommand.ModuleSource, features: Features) -> Result<Module, WasmParserError> {
        do throws(WasmParserError) {
            switch source {
            case .binary(let bytes):
                return .success(try Module.load(bytes, features: features))
            case .text(let text), .quote(let text):
                return .success(try Module.load(Module.parse(text: text, features: features).encode(), features: features))
            }
        } catch {
            return .failure(error)
        }
    }

    func compile(_ command: SpecCommand) -> Compiled {
        guard command.source != nil || command.filename != nil || command.binaryFilename != nil else {
            return .failed("no module in the command")
        }
        let source: SpecCommand.ModuleSource
        switch command.moduleSource(in: directory) {
        case .success(let s): source = s
        case .failure(let error): return .failed(error.message)
        }
        switch ScriptSession.load(source, features: features) {
        case .failure(let error): return .failed(error.description)
        case .success(let module):
            do throws(CompiledModule.LoadError) {
                return .module(try CompiledModule(validated: module, translation: translation))
            } catch {
                if case .translation(let t) = error, t.message.contains("not supported") { return .unsupported }
                return .failed(error.description)
            }
        }
    }

    mutating func run(_ command: SpecCommand) -> Verdict {
        switch command.type {
        case "module":
            switch compile(command) {
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
            switch compile(command) {
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
        switch compile(command) {
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

