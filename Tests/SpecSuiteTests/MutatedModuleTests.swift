import Foundation
import XCTest
import WasmParser
import WasmTestSupport
@testable import SpecSuite

/// Hostile bytes built from real modules: every module of both vendored suites (binary ones as written,
/// text ones encoded), truncated and with seeded random byte mutations, must decode and validate or throw
/// a `WasmParserError`. This test crashing is the failure.
final class MutatedModuleTests: XCTestCase {
    func suiteModules() throws -> [(bytes: [UInt8], features: Features)] {
        var modules: [(bytes: [UInt8], features: Features)] = []
        for suite in [SpecSuiteTests.core, SpecSuiteTests.wasm3] {
            let runner = SpecRunner(options: SpecRunner.Options(suiteDirectory: suite))
            let features = SpecRunner.features(forSuite: suite)
            for script in try runner.scripts() {
                for command in try runner.commands(of: script) {
                    switch command.source {
                    case .binary(let bytes)?: modules.append((bytes, features))
                    case .text(let text)?:
                        if let bytes = try? Module.parse(text: text, features: features).encode() { modules.append((bytes, features)) }
                    default: break
                    }
                }
            }
        }
        return modules
    }

    func testMutatedSuiteModulesNeverCrash() throws {
        let modules = try suiteModules()
        XCTAssertGreaterThan(modules.count, 8000, "found the suites' modules")
        var random = SplitMix64(seed: 0x5EED)
        var cases = 0, rejected = 0
        func check(_ bytes: [UInt8], _ features: Features) {
            cases += 1
            do { _ = try Module.load(bytes, features: features) } catch { rejected += 1 }
        }
        for (module, features) in modules {
            // Truncations: every prefix of small modules, 16 spread-out prefixes of large ones.
            let cuts = module.count <= 64 ? Array(0..<module.count) : (0..<16).map { module.count * $0 / 16 }
            for cut in cuts { check(Array(module.prefix(cut)), features) }
            // Mutations: 1–4 random bytes set to random values (often 0x00, 0xFF, 0x80 or a nearby opcode).
            for _ in 0..<4 where !module.isEmpty {
                var mutated = module
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    let at = Int(random.next() % UInt64(mutated.count))
                    let choices: [UInt8] = [0x00, 0xFF, 0x80, 0x7F, UInt8(truncatingIfNeeded: random.next()), mutated[at] &+ 1]
                    mutated[at] = choices[Int(random.next() % UInt64(choices.count))]
                }
                check(mutated, features)
            }
        }
        print("mutated suite modules: \(cases) cases, \(rejected) rejected")
        XCTAssertGreaterThan(cases, 50_000)
        XCTAssertGreaterThan(rejected, cases / 4, "mutations are mostly caught")
    }
}
