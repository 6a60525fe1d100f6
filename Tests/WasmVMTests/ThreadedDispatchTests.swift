import Foundation
import WasmParser
import XCTest
@testable import WasmVM

/// The threaded handlers (Execution/Threaded.swift) and the fused ops they run.
final class ThreadedDispatchTests: XCTestCase {
    /// `if (f64.lt a b)` and `br_if` on a float comparison fuse into one branch op with an outcome mask; NaN
    /// operands must take exactly the branches the unfused comparison would (`not <` is not `>=`).
    func testFusedFloatCompareAndBranchAgreesWithTheComparison() throws {
        let comparisons: [(String, (Double, Double) -> Bool)] = [
            ("eq", { $0 == $1 }), ("ne", { $0 != $1 }), ("lt", { $0 < $1 }),
            ("gt", { $0 > $1 }), ("le", { $0 <= $1 }), ("ge", { $0 >= $1 }),
        ]
        var text = "(module"
        for type in ["f32", "f64"] {
            for (name, _) in comparisons {
                let compare = "(\(type).\(name) (local.get 0) (local.get 1))"
                // `if` branches over the then-arm when the comparison is false (the negated mask).
                text += """
                 (func (export "if_\(type)_\(name)") (param \(type) \(type)) (result i32)
                   (if (result i32) \(compare) (then (i32.const 1)) (else (i32.const 0))))
                 (func (export "br_\(type)_\(name)") (param \(type) \(type)) (result i32)
                   (block (br_if 0 \(compare)) (return (i32.const 0))) (i32.const 1))
                """
            }
        }
        let module = try instance(text + ")")
        let values: [Double] = [-.infinity, -1.5, -0.0, 0.0, 1.5, .infinity, .nan]
        for type in ["f32", "f64"] {
            for (name, expected) in comparisons {
                for a in values {
                    for b in values {
                        let arguments: [Value] = type == "f32" ? [.f32(Float(a).bitPattern), .f32(Float(b).bitPattern)] : [.f64(a.bitPattern), .f64(b.bitPattern)]
                        let want: [Value] = [.i32(expected(a, b) ? 1 : 0)]
                        XCTAssertEqual(try call(module, "if_\(type)_\(name)", arguments), want, "if \(type).\(name) \(a) \(b)")
                        XCTAssertEqual(try call(module, "br_\(type)_\(name)", arguments), want, "br_if \(type).\(name) \(a) \(b)")
                    }
                }
            }
        }
    }

    /// Handlers call the next one; where the compiler does not make those tail calls (debug builds), the
    /// chain returns to the loop every `threadedBudget` instructions, so a long straight-line function runs
    /// in a small host stack.
    func testLongStraightLineCodeRunsInASmallHostStack() throws {
        let steps = 100_000
        let body = String(repeating: "(local.set 0 (i32.add (local.get 0) (i32.const 3))) ", count: steps)
        final class Run: @unchecked Sendable {
            let module: Instance
            var result: [Value] = []
            var failure: Error?
            init(_ module: Instance) { self.module = module }
        }
        let run = Run(try instance("(module (func (export \"f\") (param i32) (result i32) \(body) (local.get 0)))"))
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            do { run.result = try call(run.module, "f", [.i32(1)]) } catch { run.failure = error }
            done.signal()
        }
        thread.stackSize = 256 << 10
        thread.start()
        done.wait()
        XCTAssertNil(run.failure)
        XCTAssertEqual(run.result, [.i32(UInt32(1 + 3 * steps))])
    }
}
