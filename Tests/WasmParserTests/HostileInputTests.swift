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
}
