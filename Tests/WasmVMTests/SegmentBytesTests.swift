import WasmParser
import XCTest
@testable import WasmVM

/// A compiled module keeps only the span of its bytes that data segments cover (`SegmentBytes`), and every
/// segment — active or passive, first or last — reads from it the bytes it names.
final class SegmentBytesTests: XCTestCase {
    func testOnlyTheDataSpanIsKeptAndEverySegmentReadsItsBytes() throws {
        // A large body before the data section: the module is mostly code.
        let body = String(repeating: "(drop (i32.const 123456789)) ", count: 20_000)
        let text = """
            (module (memory 1)
              (func $big \(body))
              (func (export "init") (param i32 i32 i32) (memory.init 1 (local.get 0) (local.get 1) (local.get 2)))
              (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
              (data (i32.const 16) "first")
              (data "passive-segment")
              (data (i32.const 100) "last"))
            """
        let compiled = try CompiledModule(bytes: Array(text.utf8))
        let span = compiled.segmentBytes.end - compiled.segmentBytes.start
        XCTAssertGreaterThan(compiled.module.bytes.count, 100_000)
        XCTAssertLessThan(span, 64, "kept \(span) bytes")
        let instance = try compiled.instantiate(store: Store())
        func string(at address: Int, count: Int) throws -> String {
            var bytes: [UInt8] = []
            for i in 0..<count {
                guard case .i32(let byte)? = try call(instance, "load", [.i32(UInt32(address + i))]).first else { return "" }
                bytes.append(UInt8(byte))
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        XCTAssertEqual(try string(at: 16, count: 5), "first")
        XCTAssertEqual(try string(at: 100, count: 4), "last")
        _ = try call(instance, "init", [.i32(200), .i32(8), .i32(7)])
        XCTAssertEqual(try string(at: 200, count: 7), "segment")
        // Out of the segment's bounds still traps, as the spec says.
        XCTAssertEqual(trapMessage { try call(instance, "init", [.i32(0), .i32(10), .i32(6)]) }, "out of bounds memory access")
        // A module without data keeps nothing.
        let none = try CompiledModule(bytes: Array("(module (func))".utf8))
        XCTAssertEqual(none.segmentBytes.end - none.segmentBytes.start, 0)
    }
}
