import Foundation
import XCTest
@testable import WasmParser

/// Untrusted bytes must end in a module or an error, never a crash, a hang, or an allocation sized by a lie.
final class HostileInputTests: XCTestCase {
    func testHundredThousandNestedBlocksDoNotUseHostStack() {
        let depth = 100_000
        let body = [UInt8](repeating: 0x02, count: depth).flatMap { [$0, 0x40] } + [UInt8](repeating: 0x0B, count: depth)
        XCTAssertNil(loadError(ModuleBuilder.function(body: body)))
        // The same nesting with one `end` missing is malformed, and reported as such.
        let truncated = Array(body.dropLast())
        XCTAssertEqual(loadError(ModuleBuilder.function(body: truncated))?.kind, .malformed)
    }

    func testLocalCountsAreBoundedByTheSpecAndTheImplementationLimit() {
        // 2^32 locals in total is malformed (the spec's bound); 4 billion is valid by the spec but beyond the
        // implementation limit every engine agrees on (found by Utilities/fuzz.py: a 4-byte mutation asked
        // for 3,758,096,386 locals, which wasmparser refuses).
        let overflow = loadError(ModuleBuilder.function(locals: [(UInt32.max, .i32), (1, .i64)], body: []))
        XCTAssertEqual(overflow?.kind, .malformed)
        XCTAssertEqual(overflow?.message, "too many locals")
        let huge = loadError(ModuleBuilder.function(locals: [(3_758_096_386, .i32)], body: []))
        XCTAssertEqual(huge?.kind, .invalid)
        XCTAssertEqual(huge?.message, "too many locals: 3758096386 exceed the implementation limit of 50000")
        XCTAssertEqual(loadError(ModuleBuilder.function([.i32], locals: [(50_000, .i32)], body: []))?.kind, .invalid)
        XCTAssertNil(loadError(ModuleBuilder.function([.i32], locals: [(49_999, .i32)], body: [])), "the limit itself is fine")
    }

    func testHugeDeclaredCountsFailWithoutAllocating() {
        let preamble: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
        // Sections that claim 2^32-1 entries but hold none.
        for id: UInt8 in [1, 2, 3, 4, 5, 6, 7, 9, 11] {
            let content: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
            let bytes = preamble + [id, UInt8(content.count)] + content
            XCTAssertNotNil(loadError(bytes), "section \(id)")
        }
        // A br_table with 2^32-1 targets in a tiny body.
        XCTAssertNotNil(loadError(ModuleBuilder.function(body: [0x41, 0, 0x0E, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])))
        // A typed select claiming 2^32-1 types.
        XCTAssertNotNil(loadError(ModuleBuilder.function(body: [0x1C, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])))
    }

    /// Every binary module of the spec suite, truncated and with seeded random byte mutations, must decode and
    /// validate or throw: this test crashing is the failure.
    func testMutatedSpecModulesNeverCrash() throws {
        let suite = SpecSuiteLocation.directory
        guard FileManager.default.fileExists(atPath: suite) else {
            return XCTFail("spec suite missing at \(suite); set NEBULA_SPEC_SUITE")
        }
        var modules: [[UInt8]] = []
        let enumerator = FileManager.default.enumerator(atPath: suite)
        while let path = enumerator?.nextObject() as? String {
            guard path.hasSuffix(".wasm"), let data = FileManager.default.contents(atPath: "\(suite)/\(path)") else { continue }
            modules.append([UInt8](data))
        }
        XCTAssertGreaterThan(modules.count, 2000, "found the suite's binary modules")
        var random = SplitMix64(seed: 0x5EED)
        var cases = 0, rejected = 0
        for module in modules {
            // Truncations: every prefix of small modules, 16 spread-out prefixes of large ones.
            let cuts = module.count <= 64 ? Array(0..<module.count) : (0..<16).map { module.count * $0 / 16 }
            for cut in cuts {
                cases += 1
                if loadError(Array(module.prefix(cut))) != nil { rejected += 1 }
            }
            // Mutations: 1–4 random bytes set to random values (often 0x00, 0xFF, 0x80 or a nearby opcode).
            for _ in 0..<8 where !module.isEmpty {
                var mutated = module
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    let at = Int(random.next() % UInt64(mutated.count))
                    let choices: [UInt8] = [0x00, 0xFF, 0x80, 0x7F, UInt8(truncatingIfNeeded: random.next()), mutated[at] &+ 1]
                    mutated[at] = choices[Int(random.next() % UInt64(choices.count))]
                }
                cases += 1
                if loadError(mutated) != nil { rejected += 1 }
            }
        }
        XCTAssertGreaterThan(cases, 20_000)
        XCTAssertGreaterThan(rejected, cases / 4, "mutations are mostly caught")
    }
}

/// A small deterministic generator, so failures reproduce.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum SpecSuiteLocation {
    /// `NEBULA_SPEC_SUITE`, else `../shared/spec-testsuite/json/core` beside the repository.
    static var directory: String {
        if let env = ProcessInfo.processInfo.environment["NEBULA_SPEC_SUITE"], !env.isEmpty { return env }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repository.appendingPathComponent("../shared/spec-testsuite/json/core").standardized.path
    }
}
