import Foundation
import XCTest
@testable import SpecSuite

/// Runs the official spec suite in-process: any failure fails `swift test`.
final class SpecSuiteTests: XCTestCase {
    static var suiteDirectory: String {
        if let env = ProcessInfo.processInfo.environment["NEBULA_SPEC_SUITE"], !env.isEmpty { return env }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repository.appendingPathComponent("../shared/spec-testsuite/json/core").standardized.path
    }

    func testWholeSuite() throws {
        let runner = SpecRunner(options: SpecRunner.Options(suiteDirectory: Self.suiteDirectory))
        let summary = try runner.run()
        for failure in summary.failures.prefix(50) { XCTFail(failure.description) }
        XCTAssertEqual(summary.failed, 0)
        XCTAssertEqual(summary.files.count, 148, "all core scripts ran")
        // Every command of the 2.0 suite runs, SIMD included; only assertions on text-format modules are
        // skipped (Nebula reads binary modules only).
        XCTAssertEqual(summary.notYetRun, 0, "every command executed")
        XCTAssertEqual(summary.skipped, 1091, "only text-format module assertions are skipped")
        XCTAssertGreaterThanOrEqual(summary.passed, 52915, "all binary-module commands judged")
    }

    func testMissingSuiteIsReportedClearly() {
        let runner = SpecRunner(options: SpecRunner.Options(suiteDirectory: "/nonexistent/suite"))
        XCTAssertThrowsError(try runner.run()) { error in
            XCTAssertTrue("\(error)".contains("spec suite not found at /nonexistent/suite"))
        }
    }

    func testFiltersSelectFilesAndTypes() throws {
        var options = SpecRunner.Options(suiteDirectory: Self.suiteDirectory)
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
}
