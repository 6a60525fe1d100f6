import Foundation
import WasmParser
import WasmTestSupport
import XCTest
@testable import WasmVM

/// Calls, control flow, limits, host functions and instantiation.
final class ExecutionTests: XCTestCase {
    func testFactorialWithLoopAndBranches() throws {
        // (local $acc i64) acc = 1; loop { if n == 0 break; acc *= n; n -= 1 }
        let fact = try single([.i64], [.i64], locals: [.i64], [
            i64(1), set(1),
            block(.block), block(.loop),
            get(0), op(.i64Eqz), op(.brIf, .index(1)),
            get(1), get(0), op(.i64Mul), set(1),
            get(0), i64(1), op(.i64Sub), set(0),
            op(.br, .index(0)),
            end, end,
            get(1),
        ])
        XCTAssertEqual(try fact.invoke([.i64(20)]), [.i64(2_432_902_008_176_640_000)])
    }

    func testI64EqzBranchTestsAllSixtyFourBits() throws {
        // Regression: a fused `i64.eqz; br_if` once tested only the low 32 bits.
        let f = try single([.i64], [.i32], [
            block(.block), get(0), op(.i64Eqz), op(.brIf, .index(0)), i32(1), op(.return), end, i32(0),
        ])
        XCTAssertEqual(try f.invoke([.i64(1 << 52)]), [.i32(1)])
        XCTAssertEqual(try f.invoke([.i64(0)]), [.i32(0)])
        let g = try single([.i64], [.i32], [get(0), op(.i64Eqz), block(.if, .value(.i32)), i32(7), op(.else), i32(8), end])
        XCTAssertEqual(try g.invoke([.i64(1 << 40)]), [.i32(8)])
        XCTAssertEqual(try g.invoke([.i64(0)]), [.i32(7)])
    }

    func testDroppedValueIsNotMistakenForTheNewTop() throws {
        // Regression: after `drop`, the dropped value's producer was retargeted by a following local.set,
        // and its comparison fused into a following br_if, though both now concern the value below.
        let set = try single([.i32, .i32], [.i32], locals: [.i32], [
            get(0), get(1), op(.i32Add),
            get(0), get(1), op(.i32Mul), op(.drop),
            set(2), get(2),
        ])
        XCTAssertEqual(try set.invoke([.i32(3), .i32(4)]), [.i32(7)])
        let branch = try single([.i32, .i32], [.i32], [
            block(.block),
            get(0), op(.i32Eqz),
            get(0), get(1), op(.i32LtS), op(.drop),
            op(.brIf, .index(0)),
            i32(1), op(.return),
            end,
            i32(2),
        ])
        XCTAssertEqual(try branch.invoke([.i32(5), .i32(10)]), [.i32(1)], "5 is not zero: no branch")
        XCTAssertEqual(try branch.invoke([.i32(0), .int32(-1)]), [.i32(2)], "0 is zero (though not below -1): branch")
    }

    func testFusedXorRotateMatchesTheTwoInstructions() throws {
        // rotl(a ^ b, k) is one fused instruction; a tee of the xor (its value used twice) must not fuse.
        var m = TestModule()
        m.function([.i32, .i32, .i32], [.i32], export: "r32", [get(0), get(1), op(.i32Xor), get(2), op(.i32Rotl)])
        m.function([.i64, .i64, .i64], [.i64], locals: [.i64], export: "r64", [
            get(0), get(1), op(.i64Xor), get(2), op(.i64Rotl), set(3), get(3),
        ])
        m.function([.i64, .i64], [.i64], locals: [.i64], export: "tee", [
            get(0), get(1), op(.i64Xor), tee(2), i64(13), op(.i64Rotl), get(2), op(.i64Add),
        ])
        let compiled = try CompiledModule(bytes: m.bytes)
        XCTAssertTrue(compiled.disassembly(ofFunction: 0)!.contains("i32XorRotl"))
        XCTAssertTrue(compiled.disassembly(ofFunction: 1)!.contains("i64XorRotl d=s3"), "the fused result is retargeted into the local")
        XCTAssertFalse(compiled.disassembly(ofFunction: 2)!.contains("XorRotl"))
        let instance = try compiled.instantiate(store: Store())
        func r32(_ a: UInt32, _ b: UInt32, _ k: UInt32) -> UInt32 { let v = a ^ b; return v << (k & 31) | v >> ((32 - (k & 31)) & 31) }
        func r64(_ a: UInt64, _ b: UInt64, _ k: UInt64) -> UInt64 { let v = a ^ b; return v << (k & 63) | v >> ((64 - (k & 63)) & 63) }
        for (a, b, k) in [(UInt32(0x8000_0001), UInt32(0x0F0F_0F0F), UInt32(7)), (0xDEAD_BEEF, 0x1234_5678, 33), (1, 1, 0)] {
            XCTAssertEqual(try instance.function("r32")!.invoke([.i32(a), .i32(b), .i32(k)]), [.i32(r32(a, b, k))])
        }
        for (a, b, k) in [(UInt64(0x9E37_79B9_7F4A_7C15), UInt64(5), UInt64(7)), (UInt64.max, 0x0123, 64 + 5), (3, 3, 1)] {
            XCTAssertEqual(try instance.function("r64")!.invoke([.i64(a), .i64(b), .i64(k)]), [.i64(r64(a, b, k))])
        }
        let a: UInt64 = 0xF00D_FACE_1234_5678, b: UInt64 = 0x0FF0_0FF0_0FF0_0FF0
        XCTAssertEqual(try instance.function("tee")!.invoke([.i64(a), .i64(b)]), [.i64(r64(a, b, 13) &+ (a ^ b))])
    }

    func testBrTableChoosesTargetsAndDefault() throws {
        let f = try single([.i32], [.i32], [
            block(.block), block(.block), block(.block),
            get(0), op(.brTable, .brTable(targets: [0, 1], default: 2)),
            end, i32(10), op(.return),
            end, i32(11), op(.return),
            end, i32(12),
        ])
        XCTAssertEqual(try f.invoke([.i32(0)]), [.i32(10)])
        XCTAssertEqual(try f.invoke([.i32(1)]), [.i32(11)])
        XCTAssertEqual(try f.invoke([.i32(99)]), [.i32(12)])
    }

    func testMultiValueBlockAndReturn() throws {
        var m = TestModule()
        let pair = m.typeIndex(FunctionType(parameters: [.i32], results: [.i32, .i32]))
        m.function([.i32], [.i32, .i32], export: "f", [
            get(0), block(.block, .typeIndex(pair)), i32(1), op(.i32Add), get(0), end,
        ])
        XCTAssertEqual(try instantiate(m).function("f")!.invoke([.i32(5)]), [.i32(6), .i32(5)])
    }

    func testMillionDeepRecursionTrapsAndTheStoreStaysUsable() throws {
        var m = TestModule()
        // f(n) = n == 0 ? 0 : 1 + f(n - 1)
        m.function([.i32], [.i32], export: "f", [
            get(0), op(.i32Eqz), block(.if, .value(.i32)), i32(0), op(.else),
            get(0), i32(1), op(.i32Sub), call(0), i32(1), op(.i32Add), end,
        ])
        let store = Store()
        let f = try instantiate(m, store: store).function("f")!
        XCTAssertEqual(trapMessage { try f.invoke([.i32(1_000_000)]) }, "call stack exhausted")
        XCTAssertEqual(try f.invoke([.i32(10_000)]), [.i32(10_000)], "the store runs again after the trap")
    }

    /// f(n) = n == 0 ? 0 : f(n - 1): n + 1 frames deep.
    var countdown: TestModule {
        var m = TestModule()
        m.function([.i32], [.i32], export: "f", [
            get(0), op(.i32Eqz), block(.if, .value(.i32)), i32(0), op(.else),
            get(0), i32(1), op(.i32Sub), call(0), end,
        ])
        return m
    }

    func testCallDepthLimitIsConfigurable() throws {
        let m = countdown
        var limits = ResourceLimits()
        limits.maxCallDepth = 100
        let f = try instantiate(m, store: Store(limits: limits)).function("f")!
        XCTAssertEqual(try f.invoke([.i32(90)]), [.i32(0)])
        XCTAssertEqual(trapMessage { try f.invoke([.i32(200)]) }, "call stack exhausted")
    }

    /// The stacks are sized by the limits in force at the outermost call: raising them between calls must
    /// take effect (and must never let the guest run past stacks sized for the old limits), lowering them too.
    func testLimitsChangedBetweenCallsTakeEffect() throws {
        let m = countdown
        var limits = ResourceLimits()
        limits.maxCallDepth = 100
        let store = Store(limits: limits)
        let f = try instantiate(m, store: store).function("f")!
        XCTAssertEqual(trapMessage { try f.invoke([.i32(5_000)]) }, "call stack exhausted")
        store.limits.maxCallDepth = 10_000
        XCTAssertEqual(try f.invoke([.i32(5_000)]), [.i32(0)], "a raised limit is used, on stacks sized for it")
        store.limits.maxCallDepth = 50
        XCTAssertEqual(trapMessage { try f.invoke([.i32(90)]) }, "call stack exhausted")
        store.limits.stackSlots = 64
        store.limits.maxCallDepth = 10_000
        XCTAssertEqual(trapMessage { try f.invoke([.i32(5_000)]) }, "call stack exhausted", "the value stack bounds it too")
        store.limits.stackSlots = Int.max
        store.limits.maxCallDepth = Int.max
        XCTAssertEqual(try f.invoke([.i32(20_000)]), [.i32(0)], "absurd limits are clamped, not overflowed")
    }

    func testFuelStopsAnInfiniteLoop() throws {
        var m = TestModule()
        m.function([], [], export: "spin", [block(.loop), op(.br, .index(0)), end])
        var limits = ResourceLimits()
        limits.fuel = 100_000
        let store = Store(limits: limits)
        let spin = try instantiate(m, store: store).function("spin")!
        XCTAssertEqual(trapMessage { try spin.invoke() }, "fuel exhausted")
        XCTAssertGreaterThanOrEqual(store.instructionsExecuted, 100_000)
    }

    func testInstructionsAreCounted() throws {
        let store = Store()
        var m = TestModule()
        m.function([.i32], [], locals: [], export: "count", [
            block(.loop), get(0), i32(1), op(.i32Sub), tee(0), op(.brIf, .index(0)), end,
        ])
        _ = try instantiate(m, store: store).function("count")!.invoke([.i32(1000)])
        XCTAssertGreaterThanOrEqual(store.instructionsExecuted, 4000, "about five instructions per iteration")
        XCTAssertLessThan(store.instructionsExecuted, 10_000)
    }

    func testInterruptFromAnotherThreadStopsTheGuest() throws {
        var m = TestModule()
        m.function([], [], export: "spin", [block(.loop), op(.br, .index(0)), end])
        let store = Store()
        let spin = try instantiate(m, store: store).function("spin")!
        let handle = store.interruptHandle
        let timer = Thread { Thread.sleep(forTimeInterval: 0.05); handle.interrupt() }
        timer.start()
        XCTAssertEqual(trapMessage { try spin.invoke() }, "interrupted")
    }

    func testHostFunctionsSeeArgumentsMemoryAndCanTrap() throws {
        let store = Store()
        var seen: [Value] = []
        let log = store.defineFunction(type: FunctionType(parameters: [.i32, .i64], results: [.i32])) { (caller: Caller, args: [Value]) throws(Trap) -> [Value] in
            seen = args
            guard let memory = caller.memory else { throw Trap(.host("no memory")) }
            try memory.write([42], at: 10)
            return [.i32(7)]
        }
        let fail = store.defineFunction(type: FunctionType(parameters: [], results: [])) { (_: Caller, _: [Value]) throws(Trap) -> [Value] in
            throw Trap(.host("host says no"))
        }
        var imports = Imports()
        imports.define(module: "env", name: "log", .function(log))
        imports.define(module: "env", name: "fail", .function(fail))
        var m = TestModule()
        m.importFunction("env", "log", [.i32, .i64], [.i32])
        m.importFunction("env", "fail", [], [])
        m.memory = Limits(min: 1)
        m.function([], [.i32], export: "f", [i32(3), i64(-4), call(0), i32(10), load(.i32Load8U), op(.i32Add)])
        m.function([], [], export: "g", [call(1)])
        let instance = try instantiate(m, store: store, imports: imports)
        XCTAssertEqual(try instance.function("f")!.invoke(), [.i32(49)])
        XCTAssertEqual(seen, [.i32(3), .int64(-4)])
        let trap = try XCTUnwrap(captureTrap { _ = try instance.function("g")!.invoke() })
        XCTAssertEqual(trap.message, "host says no")
        XCTAssertEqual(trap.backtrace.first?.functionIndex, 3, "the trap names the guest frame that called the host")
    }

    func testTrapsCarryABacktrace() throws {
        var m = TestModule()
        m.function([], [], [op(.unreachable)])
        m.function([], [], export: "outer", [call(0)])
        let trap = try XCTUnwrap(captureTrap { _ = try instantiate(m).function("outer")!.invoke() })
        XCTAssertEqual(trap.message, "unreachable")
        XCTAssertEqual(trap.backtrace.map { $0.functionIndex }, [0, 1])
    }

    func testImportsAreMatchedAndTypeChecked() throws {
        var m = TestModule()
        m.importFunction("env", "f", [.i32], [])
        XCTAssertThrowsError(try instantiate(m)) { error in
            XCTAssertEqual("\(error)", "unknown import: env.f")
        }
        let store = Store()
        var imports = Imports()
        imports.define(module: "env", name: "f", .function(store.defineFunction(type: FunctionType(parameters: [.i64], results: []), raw: { _, _ in })))
        XCTAssertThrowsError(try instantiate(m, store: store, imports: imports)) { error in
            XCTAssertTrue("\(error)".hasPrefix("incompatible import type for env.f"), "\(error)")
        }
    }

    func testActiveDataOutOfBoundsTrapsAtInstantiation() throws {
        var m = TestModule()
        m.memory = Limits(min: 1)
        m.data = [(offset: 65535, bytes: [1, 2])]
        XCTAssertThrowsError(try instantiate(m)) { error in
            XCTAssertEqual((error as? Trap)?.message, "out of bounds memory access")
        }
    }

    func testStartFunctionRunsAndInstancesAreIndependent() throws {
        var m = TestModule()
        m.memory = Limits(min: 1)
        m.exports = [("memory", .memory, 0)]
        let start = m.function([], [], [i32(0), i32(5), load(.i32Store8)])
        m.start = start
        m.function([], [.i32], export: "bump", [i32(0), i32(0), load(.i32Load8U), i32(1), op(.i32Add), load(.i32Store8), i32(0), load(.i32Load8U)])
        let compiled = try CompiledModule(bytes: m.bytes)
        let a = try compiled.instantiate(store: Store())
        let b = try compiled.instantiate(store: Store())
        XCTAssertEqual(try a.function("bump")!.invoke(), [.i32(6)], "start wrote 5")
        XCTAssertEqual(try a.function("bump")!.invoke(), [.i32(7)])
        XCTAssertEqual(try b.function("bump")!.invoke(), [.i32(6)], "a second instance starts fresh")
    }

    func testCallIndirectChecksTypesAndElements() throws {
        var m = TestModule()
        m.table = TableType(elementType: .funcref, limits: Limits(min: 3))
        let one = m.function([], [.i32], [i32(1)])
        let other = m.function([.i32], [.i32], [get(0)])
        m.elements = [(offset: 0, functions: [one, other])]
        let type = m.typeIndex(FunctionType(parameters: [], results: [.i32]))
        m.function([.i32], [.i32], export: "f", [get(0), op(.callIndirect, .indexPair(type, 0))])
        let f = try instantiate(m).function("f")!
        XCTAssertEqual(try f.invoke([.i32(0)]), [.i32(1)])
        XCTAssertEqual(trapMessage { try f.invoke([.i32(1)]) }, "indirect call type mismatch")
        XCTAssertEqual(trapMessage { try f.invoke([.i32(2)]) }, "uninitialized element 2")
        XCTAssertEqual(trapMessage { try f.invoke([.i32(3)]) }, "undefined element")
    }
}

/// The README's embedding example, kept true.
final class ReadmeExampleTests: XCTestCase {
    func testEmbeddingExampleFromTheReadme() throws {
        var m = TestModule()
        m.importFunction("env", "log", [.i32], [])
        m.function([.i32, .i32], [.i32], export: "add", [get(0), call(0), get(0), get(1), op(.i32Add)])
        let bytes = m.bytes

        let compiled = try CompiledModule(bytes: bytes)
        let store = Store()
        var imports = Imports()
        var logged: [Value] = []
        let log = store.defineFunction(type: FunctionType(parameters: [.i32], results: [])) { caller, args in
            logged.append(args[0])
            return []
        }
        imports.define(module: "env", name: "log", .function(log))
        let instance = try compiled.instantiate(store: store, imports: imports)
        let results = try instance.function("add")!.invoke([.i32(2), .i32(3)])
        XCTAssertEqual(results, [.i32(5)])
        XCTAssertEqual(logged, [.i32(2)])
    }
}
