import XCTest
@testable import WasmParser

/// Large modules' bodies are validated on several threads (`Module.validateBodies`): the error reported must be
/// the one a single pass over the bodies finds first, whatever the threads did.
final class ParallelValidationTests: XCTestCase {
    /// `count` functions `() -> i32`; those in `invalid` return an i64 (a type mismatch).
    func module(count: Int, invalid: Set<Int>, extraBody: [UInt8]? = nil) -> [UInt8] {
        var b = ModuleBuilder()
        b.types([([], [.i32])])
        var functions: [(type: UInt32, locals: [(UInt32, ValueType)], body: [UInt8])] = []
        for i in 0..<count {
            functions.append((0, [], invalid.contains(i) ? [0x42, 0x07] : [0x41] + ModuleBuilder.sleb(Int64(i))))
        }
        b.functions(functions)
        guard let extraBody else { return b.bytes }
        // One more code entry than the function section declares (or a malformed one): the code section is rebuilt.
        var code = ModuleBuilder.uleb(UInt64(count + 1))
        for f in functions {
            let entry = [0] + f.body + [0x0B]
            code += ModuleBuilder.uleb(UInt64(entry.count)) + entry
        }
        code += extraBody
        b.sections.removeLast()
        b.section(10, code)
        return b.bytes
    }

    func error(_ bytes: [UInt8]) -> String? {
        do {
            _ = try Module.load(bytes)
            return nil
        } catch {
            return error.description
        }
    }

    func testTheFirstInvalidFunctionIsReported() throws {
        let bytes = module(count: 1000, invalid: [417, 418, 999])
        let message = try XCTUnwrap(error(bytes))
        XCTAssertTrue(message.contains("function 417"), message)
        // The same through decode + validate, and with one worker and many.
        let decoded = try Module.decode(bytes)
        let context = ValidationContext(module: decoded)
        for workers in [1, 2, 8] {
            let results = decoded.validateBodies(context, workers: workers)
            XCTAssertEqual(results.count, 418, "workers: \(workers)")  // stops at the first failure
            for (i, result) in results.enumerated() {
                if case .failure(let e) = result {
                    XCTAssertEqual(i, 417)
                    XCTAssertTrue(e.description.contains("function 417"), e.description)
                }
            }
        }
        XCTAssertThrowsError(try decoded.validate()) { XCTAssertTrue("\($0)".contains("function 417"), "\($0)") }
    }

    func testValidModulesPass() throws {
        XCTAssertNil(error(module(count: 1000, invalid: [])))
        XCTAssertNil(error(module(count: 3, invalid: [])))
        XCTAssertTrue(try XCTUnwrap(error(module(count: 3, invalid: [1]))).contains("function 1"))
    }

    /// An invalid body before a malformed code entry: a one-pass decoder reports the body first; after all valid
    /// bodies, the malformed entry.
    func testAnInvalidBodyBeforeAMalformedEntryIsReportedFirst() throws {
        let truncated: [UInt8] = [0x10, 0x00]  // claims 16 bytes, has 1
        let first = try XCTUnwrap(error(module(count: 600, invalid: [300], extraBody: truncated)))
        XCTAssertTrue(first.contains("function 300"), first)
        let second = try XCTUnwrap(error(module(count: 600, invalid: [], extraBody: truncated)))
        XCTAssertTrue(second.contains("malformed") && second.contains("length out of bounds"), second)
        let extra = try XCTUnwrap(error(module(count: 600, invalid: [], extraBody: [0x03, 0x00, 0x41, 0x0B])))
        XCTAssertTrue(extra.contains("inconsistent lengths"), extra)
    }
}
