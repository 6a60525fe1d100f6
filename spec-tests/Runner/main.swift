import Foundation
import SpecSuite
import WasmParser

/// `spec-tests`: runs the official WebAssembly spec suite against Nebula.
let usage = """
    usage: spec-tests [--suite DIR]... [--features SET] [--file NAME]... [--exclude simd] [--only TYPE,...]
                      [--proposals] [--gc-stress] [--lazy] [--verbose]

    Runs WebAssembly spec test suites against Nebula and prints a table per script and a closing line
    `N passed, N failed, N skipped` per suite. Exits non-zero on any failure. Without --suite it runs the
    suites in the repository: spec-tests/core (WebAssembly 2.0, with the 2.0 feature set) and spec-tests/3.0
    (WebAssembly 3.0, with all of it).

      --suite DIR      a folder of .wast scripts, or of the JSON form (NAME/NAME.json, as wast2json and
                       `wasm-tools json-from-wast` write it); repeatable
      --features SET   the proposals modules may use (2.0, 3.0, or a list; see `wasmrun --help`); default:
                       3.0 for a suite in a folder named 3.0, else 2.0
      --file NAME      run only this script (repeatable), e.g. --file binary or --file legacy/try_catch
      --exclude simd   drop the simd_* scripts
      --only TYPES     judge only these command types, comma-separated (e.g. assert_malformed,assert_invalid,module)
      --proposals      also run the scripts of proposals beyond 3.0 (proposals/: threads, wide arithmetic, ...)
      --gc-stress      collect garbage at every allocation and poison what is freed (a missed root fails)
      --lazy           translate each function at its first call instead of at load
      --verbose        print every failure with file, line and both messages
      --help           this text
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write("spec-tests: \(message)\n".data(using: .utf8)!)
    exit(2)
}

var suites: [String] = []
var template = SpecRunner.Options(suiteDirectory: "")
var verbose = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    func value(for flag: String) -> String {
        guard let v = arguments.popFirst() else { fail("\(flag) needs a value\n\(usage)") }
        return v
    }
    switch argument {
    case "--suite": suites.append(value(for: argument))
    case "--file": template.files.append(value(for: argument))
    case "--features":
        let text = value(for: argument)
        guard let features = Features.parse(text) else { fail("--features takes 2.0, 3.0 or a list of feature names, got \(text)") }
        template.features = features
    case "--exclude":
        let what = value(for: argument)
        guard what == "simd" else { fail("--exclude takes only `simd`") }
        template.excludeSIMD = true
    case "--only": template.onlyTypes = Set(value(for: argument).split(separator: ",").map(String.init))
    case "--proposals": template.includeProposals = true
    case "--gc-stress": template.gcStress = true
    case "--lazy": template.lazyTranslation = true
    case "--verbose", "-v": verbose = true
    case "--help", "-h":
        print(usage)
        exit(0)
    default: fail("unknown argument \(argument)\n\(usage)")
    }
}
if suites.isEmpty { suites = SpecRunner.vendoredSuites() }

func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
func lpad(_ s: String, _ width: Int) -> String { s.count >= width ? s : String(repeating: " ", count: width - s.count) + s }

var anyFailure = false
for suite in suites {
    var options = template
    options.suiteDirectory = suite
    let runner = SpecRunner(options: options)
    // With --file, a suite that does not hold the script is passed over.
    if !options.files.isEmpty, let names = try? runner.scriptNames(), !options.files.contains(where: names.contains) { continue }
    let summary: SpecRunner.Summary
    do {
        summary = try runner.run()
    } catch {
        fail("\(error)")
    }
    let features = options.features ?? SpecRunner.features(forSuite: suite)
    print("suite \(suite) (features: \(features))")
    print("\(pad("file", 40)) \(lpad("passed", 7)) \(lpad("failed", 7)) \(lpad("skipped", 8)) \(lpad("not run", 8))")
    for file in summary.files {
        print("\(pad(file.name, 40)) \(lpad("\(file.passed)", 7)) \(lpad("\(file.failed)", 7)) \(lpad("\(file.skipped)", 8)) \(lpad("\(file.notYetRun)", 8))")
    }
    if verbose {
        for failure in summary.failures { print(failure) }
    }
    if summary.messageMismatches > 0 {
        print("\(summary.messageMismatches) of the failures are message mismatches (right kind of error, other words)")
    }
    if summary.notYetRun > 0 {
        print("\(summary.notYetRun) commands not yet run (they need execution Nebula does not have yet)")
    }
    print("\(summary.passed) passed, \(summary.failed) failed, \(summary.skipped) skipped")
    if summary.failed > 0 { anyFailure = true }
}
exit(anyFailure ? 1 : 0)
