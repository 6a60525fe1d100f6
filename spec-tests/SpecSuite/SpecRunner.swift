import Foundation
import WasmParser
import WasmVM

/// Runs the official spec suite (wast2json form) against Nebula and tallies the outcome per file.
///
/// Every command is judged: modules are compiled and instantiated (with the `spectest` host module and
/// registered instances as imports), actions run, and results, traps and link errors compared with the
/// expectations. Text-format modules are skipped (Nebula reads binaries only). Commands the runner cannot
/// perform (a module the interpreter refuses to translate, a value it cannot express) are counted as "not
/// yet run" rather than passed; on the 2.0 suite there are none, and the test suite asserts that.
public struct SpecRunner {
    public struct Options: Sendable {
        public var suiteDirectory: String
        /// Script names to run (e.g. `binary`); all when empty.
        public var files: [String] = []
        public var excludeSIMD = false
        /// Command types to judge; all when nil.
        public var onlyTypes: Set<String>?
        /// The proposals modules may use; nil picks the suite's own set (`SpecRunner.features(forSuite:)`).
        public var features: Features?

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
                return "spec suite not found at \(dir): put the WebAssembly test suite (wast2json form) there, or pass --suite DIR or set NEBULA_SPEC_SUITE"
            case .unknownFile(let name): return "no spec script named \(name) in the suite"
            case .unreadable(let path, let why): return "cannot read \(path): \(why)"
            }
        }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// The suite location: `NEBULA_SPEC_SUITE`, else `../shared/spec-testsuite/json/core` from `root`.
    public static func defaultSuiteDirectory(root: String = FileManager.default.currentDirectoryPath) -> String {
        if let fromEnvironment = ProcessInfo.processInfo.environment["NEBULA_SPEC_SUITE"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return URL(fileURLWithPath: root).appendingPathComponent("../shared/spec-testsuite/json/core").standardized.path
    }

    public func scriptNames() throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.suiteDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunnerError.suiteMissing(options.suiteDirectory)
        }
        let all = try FileManager.default.contentsOfDirectory(atPath: options.suiteDirectory).filter { name in
            FileManager.default.fileExists(atPath: "\(options.suiteDirectory)/\(name)/\(name).json")
        }.sorted()
        guard !all.isEmpty else { throw RunnerError.suiteMissing(options.suiteDirectory) }
        var names = all
        if !options.files.isEmpty {
            for file in options.files where !all.contains(file) { throw RunnerError.unknownFile(file) }
            names = all.filter { options.files.contains($0) }
        }
        if options.excludeSIMD { names = names.filter { !$0.hasPrefix("simd_") } }
        return names
    }

    public func run() throws -> Summary {
        var summary = Summary()
        for name in try scriptNames() {
            summary.files.append(try runScript(name))
        }
        return summary
    }

    public func runScript(_ name: String) throws -> FileResult {
        let directory = "\(options.suiteDirectory)/\(name)"
        let path = "\(directory)/\(name).json"
        let script: SpecScript
        do {
            script = try JSONDecoder().decode(SpecScript.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw RunnerError.unreadable(path, "\(error)")
        }
        var result = FileResult(name: name)
        var session = ScriptSession(directory: directory, features: features)
        for command in script.commands {
            if let only = options.onlyTypes, !only.contains(command.type) {
                // Modules still have to be instantiated for the commands that follow.
                if command.type == "module" || command.type == "register" { _ = session.run(command) }
                continue
            }
            if ["module", "module_definition", "assert_malformed", "assert_invalid", "assert_malformed_custom",
                "assert_invalid_custom"].contains(command.type) && command.isTextModule {
                result.skipped += 1
                continue
            }
            if command.type == "assert_malformed" || command.type == "assert_invalid" {
                judge(command, in: directory, file: name, result: &result)
                continue
            }
            if command.type == "assert_invalid_custom" {
                judgeCustom(command, in: directory, file: name, result: &result)
                continue
            }
            switch session.run(command) {
            case .passed: result.passed += 1
            case .notRun: result.notYetRun += 1
            case .failed(let expected, let actual, let mismatch):
                result.failed += 1
                result.failures.append(Failure(file: name, line: command.line, command: command.type,
                                               expected: expected, actual: actual, isMessageMismatch: mismatch))
            }
        }
        return result
    }

    enum Outcome {
        case loaded
        case failed(WasmParserError)
        case unreadable(String)
    }

    func load(_ filename: String, in directory: String) -> Outcome {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(filename)") else {
            return .unreadable("cannot read \(filename)")
        }
        do throws(WasmParserError) {
            _ = try Module.load([UInt8](data), features: features)
            return .loaded
        } catch {
            return .failed(error)
        }
    }

    /// `assert_invalid_custom`: the module is valid, but a custom section Nebula reads has the problem named.
    func judgeCustom(_ command: SpecCommand, in directory: String, file: String, result: inout FileResult) {
        let text = command.text ?? ""
        func fail(_ actual: String) {
            result.failed += 1
            result.failures.append(Failure(file: file, line: command.line, command: command.type,
                                           expected: "a valid module whose custom section has: \(text)", actual: actual,
                                           isMessageMismatch: false))
        }
        guard let filename = command.binaryFile, let data = FileManager.default.contents(atPath: "\(directory)/\(filename)") else {
            return fail("no module file")
        }
        do throws(WasmParserError) {
            let module = try Module.load([UInt8](data), features: features)
            if module.customSectionIssues.contains(where: { $0.contains(text) }) {
                result.passed += 1
            } else {
                fail("custom section issues: \(module.customSectionIssues)")
            }
        } catch {
            fail(error.description)
        }
    }

    func judge(_ command: SpecCommand, in directory: String, file: String, result: inout FileResult) {
        func fail(_ expected: String, _ actual: String, mismatch: Bool = false) {
            result.failed += 1
            result.failures.append(Failure(file: file, line: command.line, command: command.type,
                                           expected: expected, actual: actual, isMessageMismatch: mismatch))
        }
        switch command.type {
        case "module", "assert_malformed", "assert_invalid":
            guard let filename = command.binaryFile else {
                fail("a module file", "no filename in the command")
                return
            }
            if command.isTextModule {
                result.skipped += 1
                return
            }
            let outcome = load(filename, in: directory)
            if command.type == "module" {
                switch outcome {
                case .loaded: result.passed += 1
                case .failed(let error): fail("module to load", error.description)
                case .unreadable(let why): fail("module to load", why)
                }
                return
            }
            let wantedKind: WasmParserError.Kind = command.type == "assert_malformed" ? .malformed : .invalid
            let expectedText = command.text ?? ""
            let expectation = "\(wantedKind) module: \(expectedText)"
            switch outcome {
            case .loaded:
                fail(expectation, "module loaded")
            case .unreadable(let why):
                fail(expectation, why)
            case .failed(let error):
                if error.kind != wantedKind {
                    fail(expectation, error.description)
                } else if !error.message.contains(expectedText) {
                    fail(expectation, error.description, mismatch: true)
                } else {
                    result.passed += 1
                }
            }
        default:
            result.notYetRun += 1
        }
    }
}
