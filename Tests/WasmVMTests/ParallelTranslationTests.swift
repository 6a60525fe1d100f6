import WasmParser
import XCTest
@testable import WasmVM

/// Large modules are translated on several threads (`TranslatedFunctions.translateBodies`).
final class ParallelTranslationTests: XCTestCase {
    /// 600 bodies of different shapes: the parallel translation must give each function its own code, in order.
    func testParallelTranslationMatchesOneThread() throws {
        var text = "(module"
        for i in 0..<600 {
            let body = String(repeating: "(local.set 0 (i32.add (local.get 0) (i32.const \(i))))", count: i % 7 + 1)
            text += " (func (export \"f\(i)\") (param i32) (result i32) \(body) (local.get 0))"
        }
        let module = try Module.load(textOrBinary: Array((text + ")").utf8), features: .wasm3)
        let context = ValidationContext(module: module)
        let serial = TranslatedFunctions.translateBodies(module, context, imported: 0, tracksReferences: false, workers: 1)
        let parallel = TranslatedFunctions.translateBodies(module, context, imported: 0, tracksReferences: false, workers: 4)
        XCTAssertEqual(serial.count, 600)
        for (i, (a, b)) in zip(serial, parallel).enumerated() {
            let one = try a.get(), other = try b.get()
            XCTAssertEqual(one.code, other.code, "function \(i)")
            XCTAssertEqual(one.functionIndex, UInt32(i))
            XCTAssertEqual(other.functionIndex, UInt32(i))
        }
        // And through the public path, which takes the parallel one for a module this size.
        let instance = try CompiledModule(bytes: Array((text + ")").utf8)).instantiate(store: Store(), imports: Imports())
        for i in [0, 1, 299, 599] {
            let expected = UInt32((i % 7 + 1) * i + 5)
            XCTAssertEqual(try call(instance, "f\(i)", [.i32(5)]), [.i32(expected)], "f\(i)")
        }
    }
}
