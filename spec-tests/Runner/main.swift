import Foundation
import SpecSuite

/// `spec-tests`: runs the official WebAssembly spec suite against Nebula.
let usage = """
    usage: spec-tests [--suite DIR] [--file NAME]... [--exclude simd] [--only TYPE,...] [--verbose]

    Runs the WebAssembly spec test suite (wast2json form) against Nebula and prints a table per file
    and a closing line `N passed, N failed, N skipped`. Exits non-zero on any failure.

      --suite DIR      suite directory (default: $NEBULA_SPEC_SUITE, else ../shared/spec-testsuite/json/core)
      --file NAME      run only this script (repeatable), e.g. --file binary
      --exclude simd   drop the simd_* scripts
      --only TYPES     judge only these command types, comma-separated (e.g. assert_malformed,assert_invalid,module)
      --verbose        print every failure with file, line and both messages
      --help           this text
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write("spec-tests: \(message)\n".data(using: .utf8)!)
    exit(2)
}

var options = SpecRunner.Options(suiteDirectory: SpecRunner.defaultSuiteDirectory())
var verbose = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    func value(for flag: String) -> String {
        guard let v = arguments.popFirst() else { fail("\(flag) needs a value\n\(usage)") }
        return v
    }
    switch argument {
    case "--suite": options.suiteDirectory = value(for: argument)
    case "--file": options.files.append(value(for: argument))
    case "--exclude":
        let what = value(for: argument)
        guard what == "simd" else { fail("--exclude takes only `simd`") }
        options.excludeSIMD = true
    case "--only": options.onlyTypes = Set(value(for: argument).split(separator: ",").map(String.init))
    case "--verbose", "-v": verbose = true
    case "--help", "-h":
        print(usage)
        exit(0)
    default: fail("unknown argument \(argument)\n\(usage)")
    }
}

let summary: SpecRunner.Summary
do {
    summary = try SpecRunner(options: options).run()
} catch {
    fail("\(error)")
}

func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
func lpad(_ s: String, _ width: Int) -> String { s.count >= width ? s : String(repeating: " ", count: width - s.count) + s }
print("\(pad("file", 34)) \(lpad("passed", 7)) \(lpad("failed", 7)) \(lpad("skipped", 8)) \(lpad("not run", 8))")
for file in summary.files {
    print("\(pad(file.name, 34)) \(lpad("\(file.passed)", 7)) \(lpad("\(file.failed)", 7)) \(lpad("\(file.skipped)", 8)) \(lpad("\(file.notYetRun)", 8))")
}
if verbose {
    for failure in summary.failures { print(failure) }
}
if summary.messageMismatches > 0 {
    print("\(summary.messageMismatches) of the failures are message mismatches (right kind of error, other words)")
}
if summary.notYetRun > 0 {
    print("\(summary.notYetRun) commands not yet run (they need execution)")
}
print("\(summary.passed) passed, \(summary.failed) failed, \(summary.skipped) skipped")
exit(summary.failed == 0 ? 0 : 1)
