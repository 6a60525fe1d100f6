import Foundation
import WasmParser
import WasmVM

/// Runs the official spec suite against Nebula and tallies the outcome per script.
///
/// A suite is a folder of `.wast` scripts (the repository vendors the 2.0 set in `spec-tests/core` and the 3.0
/// set in `spec-tests/3.0`), or a folder in the JSON form (`NAME/NAME.json` with module files beside it, as
/// `wast2json` and `wasm-tools json-from-wast` write it). Every command is judged: modules are parsed (text)
/// or decoded, validated, compiled and instantiated (with the `spectest` host module and registered
/// instances as imports), actions run, and results, traps, exceptions and link errors compared with the
/// expectations. Commands the interpreter cannot perform (a module with instructions it does not execute
/// yet) are counted as "not yet run", never as passed.
public struct SpecRunner {
    public struct Options: Sendable {
        public var suiteDirectory: String
        /// Script names to run (e.g. `binary`, `legacy/try_catch`); all when empty.
        public var files: [String] = []
        public var excludeSIMD = false
        /// Command types to judge; all when nil.
        public var onlyTypes: Set<String>?
        /// The proposals modules may use; nil picks the suite's own set (`SpecRunner.features(forSuite:)`).
        public var features: Features?
        /// Also run the scripts of proposals beyond 3.0 (`proposals/`): reported, not required to pass.
        public var includeProposals = false
        /// Collect garbage at every allocation and keep freed objects poisoned (`ResourceLimits.gcStress`): a
        /// reference the collector missed shows up as a failure.
        public var gcStress = false
        /// Translate each function at its first call instead of at load (`TranslationMode.lazy`).
        public var lazyTranslation = false

        public init(suiteDirectory: String) { self.suiteDirectory = suiteDirectory }
    }

    /// The feature set a suite is written for: WebAssembly 3.0 for a folder named `3.0` (and its
    /// subfolders' scripts), else 2.0 — the 2.0 suite's `assert_invalid`/`assert_malformed` cases for, say,
    /// multiple memories must be rejected as a 2.0 engine rejects them.
    public static func features(forSuite directory: String) -> Features {
        URL(fileURLWithPath: directory).standardized.pathComponents.contains("3.0") ? .wasm3 : .wasm2
    }

    var features: Features { options.features ?? SpecRunner.features(forSuite: options.suiteDirectory) }

    public struct Failure: Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var command: String
        public var expected: String
        public var actual: String
        /// The module failed the right way but with other words than the suite expects.
        public var isMessageMismatch: Bool

        public var description: String {
            "\(file):\(line): \(command): expected \(expected); got \(actual)\(isMessageMismatch ? " (message mismatch)" : "")"
        }
    }

    public struct FileResult: Sendable {
        public var name: String
        public var passed = 0
        public var failed = 0
        public var skipped = 0
        public var notYetRun = 0
        public var failures: [Failure] = []
    }

    public struct Summary: Sendable {
        public var files: [FileResult] = []
        public var passed: Int { files.reduce(0) { $0 + $1.passed } }
        public var failed: Int { files.reduce(0) { $0 + $1.failed } }
        public var skipped: Int { files.reduce(0) { $0 + $1.skipped } }
        public var notYetRun: Int { files.reduce(0) { $0 + $1.notYetRun } }
        public var failures: [Failure] { files.flatMap(\.failures) }
        public var messageMismatches: Int { failures.filter(\.isMessageMismatch).count }
    }

    public enum RunnerError: Error, CustomStringConvertible {
        case suiteMissing(String)
        case unknownFile(String)
        case unreadable(String, String)

        public var description: String {
            switch self {
            case .suiteMissing(let dir):
                return "spec suite not found at \(dir): give a folder of .wast scripts or of the JSON form (NAME/NAME.json) with --suite DIR"
            case .unknownFile(let name): return "no spec script named \(name) in the suite"
            case .unreadable(let path, let why): return "cannot read \(path): \(why)"
            }
        }
    }

    public struct ReadError: Error {
        var message: String
    }

    /// One script of a suite.
    public struct Script: Sendable {
        public var name: String
        public var path: String
        public var isJSON: Bool
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// The suites vendored in the repository (`spec-tests/core`: 2.0, `spec-tests/3.0`: 3.0), from `root`.
    public static func vendoredSuites(root: String = FileManager.default.currentDirectoryPath) -> [String] {
        ["core", "3.0"].map { URL(fileURLWithPath: root).appendingPathComponent("spec-tests/\($0)").standardized.path }
    }

    public func scripts() throws -> [Script] {
        let directory = options.suiteDirectory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunnerError.suiteMissing(directory)
        }
        var all: [Script] = []
        let entries = (try? FileManager.default.subpathsOfDirectory(atPath: directory)) ?? []
        for entry in entries.sorted() {
            if entry.hasSuffix(".wast") {
                all.append(Script(name: String(entry.dropLast(5)), path: "\(directory)/\(entry)", isJSON: false))
            } else if !entry.contains("/"), FileManager.default.fileExists(atPath: "\(directory)/\(entry)/\(entry).json") {
                all.append(Script(name: entry, path: "\(directory)/\(entry)/\(entry).json", isJSON: true))
            }
        }
        guard !all.isEmpty else { throw RunnerError.suiteMissing(directory) }
        if !options.includeProposals && options.files.isEmpty {
            all = all.filter { !$0.name.hasPrefix("proposals") }
        }
        if !options.files.isEmpty {
            for file in options.files where !all.contains(where: { $0.name == file }) { throw RunnerError.unknownFile(file) }
            all = all.filter { options.files.contains($0.name) }
        }
        if options.excludeSIMD { all = all.filter { !$0.name.hasPrefix("simd_") } }
        return all
    }

    public func scriptNames() throws -> [String] { try scripts().map(\.name) }

    public func run() throws -> Summary {
        var summary = Summary()
        for script in try scripts() {
            summary.files.append(try run(script))
        }
        return summary
    }

    public func runScript(_ name: String) throws -> FileResult {
        guard let script = try scripts().first(where: { $0.name == name }) else { throw RunnerError.unknownFile(name) }
        return try run(script)
    }

    func commands(of script: Script) throws -> [SpecCommand] {
        if script.isJSON {
            do {
                return try JSONDecoder().decode(SpecScript.self, from: Data(contentsOf: URL(fileURLWithPath: script.path))).commands
            } catch {
                throw RunnerError.unreadable(script.path, "\(error)")
            }
        }
        guard let data = FileManager.default.contents(atPath: script.path) else { throw RunnerError.unreadable(script.path, "no such file") }
        do throws(WasmParserError) {
            return try WastScript.parse([UInt8](data))
        } catch {
            throw RunnerError.unreadable(script.path, error.description)
        }
    }

    public func run(_ script: Script) throws -> FileResult {
        let commands = try self.commands(of: script)
        let directory = URL(fileURLWithPath: script.path).deletingLastPathComponent().path
        var result = FileResult(name: script.name)
        var session = ScriptSession(directory: directory, features: features, gcStress: options.gcStress,
                                    translation: options.lazyTranslation ? .lazy : .eager)
        for command in commands {
            if let only = options.onlyTypes, !only.contains(command.type) {
                // Modules still have to be instantiated for the commands that follow.
                if command.type == "module" || command.type == "register" { _ = session.run(command) }
                continue
            }
            let verdict: ScriptSession.Verdict
            switch command.type {
            case "assert_malformed", "assert_invalid", "assert_malformed_custom", "assert_invalid_custom":
                verdict = judgeModule(command, in: directory)
            default:
                verdict = session.run(command)
            }
            switch verdict {
            case .passed: result.passed += 1
            case .notRun: result.notYetRun += 1
            case .failed(let expected, let actual, let mismatch):
                result.failed += 1
                result.failures.append(Failure(file: script.name, line: command.line, command: command.type,
                                               expected: expected, actual: actual, isMessageMismatch: mismatch))
            }
        }
        return result
    }

    /// `assert_malformed`/`assert_invalid`: the module must fail to load, with the right kind of error and
    /// the suite's words. `_custom`: the module loads, and a custom section (or annotation) has the problem.
    func judgeModule(_ command: SpecCommand, in directory: String) -> ScriptSession.Verdict {
        let text = command.text ?? ""
        let source: SpecCommand.ModuleSource
        switch command.moduleSource(in: directory) {
        case .success(let s): source = s
        case .failure(let error): return .failed(expected: text, actual: error.message, messageMismatch: false)
        }
        let outcome = ScriptSession.load(source, features: features)
        if command.type == "assert_invalid_custom" || command.type == "assert_malformed_custom" {
            switch outcome {
            case .success(let module):
                if module.customSectionIssues.contains(where: { $0.contains(text) }) { return .passed }
                return .failed(expected: "a custom section with: \(text)", actual: "issues \(module.customSectionIssues)", messageMismatch: false)
            case .failure(let error):
                // A malformed annotation fails the text parser (it cannot become a section at all).
                if command.type == "assert_malformed_custom", error.kind == .malformed, error.message.contains(text) { return .passed }
                return .failed(expected: "\(command.type): \(text)", actual: error.description, messageMismatch: false)
            }
        }
        let wantedKind: WasmParserError.Kind = command.type == "assert_malformed" ? .malformed : .invalid
        let expectation = "\(wantedKind) module: \(text)"
        switch outcome {
        case .success:
            return .failed(expected: expectation, actual: "module loaded", messageMismatch: false)
        case .failure(let error):
            if error.kind != wantedKind { return .failed(expected: expectation, actual: error.description, messageMismatch: false) }
            if !error.message.contains(text) { return .failed(expected: expectation, actual: error.description, messageMismatch: true) }
            return .passed
        }
    }
}
