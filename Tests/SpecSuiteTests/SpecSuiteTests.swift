import Foundation
import XCTest
import WasmParser
import WasmTestSupport
@testable import SpecSuite

/// Runs the official spec suites vendored in `spec-tests/` in-process: any failure fails `swift test`.
final class SpecSuiteTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var core: String { repository.appendingPathComponent("spec-tests/core").path }
    static var wasm3: String { repository.appendingPathComponent("spec-tests/3.0").path }

    func testWebAssembly2Suite() throws {
        let summary = try SpecRunner(options: SpecRunner.Options(suiteDirectory: Self.core)).run()
        for failure in summary.failures.prefix(50) { XCTFail(failure.description) }
        XCTAssertEqual(summary.files.count, 148, "all core scripts ran")
        // Every command of the 2.0 suite is judged, the text-format ones included.
        XCTAssertEqual(summary.failed, 0)
        XCTAssertEqual(summary.skipped, 0)
        XCTAssertEqual(summary.notYetRun, 0, "every command executed")
        XCTAssertEqual(summary.passed, 54_006, "all commands of the 2.0 suite")
    }

    /// All of WebAssembly 3.0, garbage collection included: every command of every script judged and passed.
    func testWebAssembly3Suite() throws {
        let summary = try SpecRunner(options: SpecRunner.Options(suiteDirectory: Self.wasm3)).run()
        for failure in summary.failures.prefix(50) { XCTFail(failure.description) }
        let names = Set(summary.files.map(\.name))
        for legacy in ["legacy/rethrow", "legacy/throw", "legacy/try_catch", "legacy/try_delegate"] {
            XCTAssertTrue(names.contains(legacy), "\(legacy) ran")
        }
        XCTAssertEqual(summary.files.count, 264, "the 3.0 scripts with legacy/ and custom/ (proposals/ apart)")
        XCTAssertEqual(summary.failed, 0)
        XCTAssertEqual(summary.skipped, 0)
        XCTAssertEqual(summary.notYetRun, 0, "every command executed")
        XCTAssertEqual(summary.passed, 65_308, "all commands of the 3.0 suite")
    }

    /// The GC scripts again with a collection at every allocation and freed objects poisoned: a root the
    /// collector misses turns into a failure here.
    func testGarbageCollectionScriptsUnderStress() throws {
        var options = SpecRunner.Options(suiteDirectory: Self.wasm3)
        options.files = ["array", "array_copy", "array_fill", "array_init_data", "array_init_elem", "array_new_data",
                         "array_new_elem", "br_on_cast", "br_on_cast_fail", "extern", "i31", "ref_cast", "ref_eq",
                         "ref_test", "struct", "type-canon", "type-rec", "type-subtyping"]
        options.gcStress = true
        let summary = try SpecRunner(options: options).run()
        for failure in summary.failures.prefix(20) { XCTFail(failure.description) }
        XCTAssertEqual(summary.files.count, options.files.count)
        XCTAssertEqual(summary.failed, 0)
        XCTAssertEqual(summary.notYetRun, 0)
        XCTAssertEqual(summary.passed, 812, "every command of those scripts")
    }

    func testMissingSuiteIsReportedClearly() {
        let runner = SpecRunner(options: SpecRunner.Options(suiteDirectory: "/nonexistent/suite"))
        XCTAssertThrowsError(try runner.run()) { error in
            XCTAssertTrue("\(error)".contains("spec suite not found at /nonexistent/suite"))
        }
    }

    func testFiltersSelectFilesAndTypes() throws {
        var options = SpecRunner.Options(suiteDirectory: Self.core)
        options.files = ["binary-leb128"]
        options.onlyTypes = ["assert_malformed"]
        let summary = try SpecRunner(options: options).run()
        XCTAssertEqual(summary.files.map(\.name), ["binary-leb128"])
        XCTAssertEqual(summary.notYetRun, 0, "other command types were filtered out")
        XCTAssertGreaterThan(summary.passed, 50)
        options.files = []
        options.excludeSIMD = true
        XCTAssertFalse(try SpecRunner(options: options).scriptNames().contains { $0.hasPrefix("simd_") })
    }

    /// The JSON form (`wast2json`, `wasm-tools json-from-wast`) of a script reads as the `.wast` does.
    func testJSONFormOfTheSuite() throws {
        var options = SpecRunner.Options(suiteDirectory: Self.repository.appendingPathComponent("Tests/Fixtures/json-suite").path)
        options.features = .wasm3
        let summary = try SpecRunner(options: options).run()
        for failure in summary.failures { XCTFail(failure.description) }
        XCTAssertEqual(summary.files.map(\.name), ["exceptions"])
        XCTAssertEqual(summary.failed, 0)
        XCTAssertEqual(summary.notYetRun, 0)
        XCTAssertEqual(summary.passed, 8)
    }

    /// Every module of both suites that loads: printed as text, parsed, encoded and decoded, it is the
    /// same module.
    func testEveryModulePrintsAndParsesBack() throws {
        var checked = 0
        for suite in [Self.core, Self.wasm3] {
            let runner = SpecRunner(options: SpecRunner.Options(suiteDirectory: suite))
            let features = SpecRunner.features(forSuite: suite)
            for script in try runner.scripts() {
                for command in try runner.commands(of: script) where command.type == "module" || command.type == "module_definition" {
                    guard let source = command.source, case .success(let module) = ScriptSession.load(source, features: features) else { continue }
                    let text = module.printed()
                    let back: Module
                    do {
                        back = try Module.load(Module.parse(text: text, features: features).encode(), features: features)
                    } catch {
                        XCTFail("\(script.name):\(command.line): the printed module does not parse back: \(error)\n\(text.prefix(2000))")
                        continue
                    }
                    if let difference = firstDifference(module, back) {
                        XCTFail("\(script.name):\(command.line): \(difference)")
                    }
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 3700)
    }
}
