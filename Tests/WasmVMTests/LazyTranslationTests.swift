import Foundation
import WasmParser
import WasmTestSupport
import XCTest
@testable import WasmVM

/// `TranslationMode.lazy`: a function is translated at its first call, through every way of calling it, and
/// behaves as if translated at load.
final class LazyTranslationTests: XCTestCase {
    /// Functions that call each other every way: direct calls to functions translated before and after the
    /// caller, recursion, `call_indirect`, `return_call`, `call_ref`, and an exception thrown in one lazily
    /// translated function and caught in another.
    let program = """
        (module
          (type $ii (func (param i32) (result i32)))
          (tag $oops (param i32))
          (table 2 funcref)
          (elem (i32.const 0) $double $fact)
          (elem declare func $triple)
          (func $double (type $ii) (i32.mul (local.get 0) (i32.const 2)))
          (func $triple (type $ii) (i32.mul (local.get 0) (i32.const 3)))
          (func $fact (type $ii)
            (if (result i32) (i32.le_s (local.get 0) (i32.const 1))
              (then (i32.const 1))
              (else (i32.mul (local.get 0) (call $fact (i32.sub (local.get 0) (i32.const 1)))))))
          (func $loop (param i32 i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0))
              (then (local.get 1))
              (else (return_call $loop (i32.sub (local.get 0) (i32.const 1)) (i32.add (local.get 1) (local.get 0))))))
          (func $thrower (param i32) (result i32)
            (if (i32.gt_s (local.get 0) (i32.const 10)) (then (throw $oops (local.get 0))))
            (call $double (local.get 0)))
          (func (export "mix") (param i32) (result i32)
            (i32.add
              (i32.add (call $double (local.get 0)) (call_indirect (type $ii) (local.get 0) (i32.const 1)))
              (i32.add (call_ref $ii (local.get 0) (ref.func $triple)) (call $loop (local.get 0) (i32.const 0)))))
          (func (export "catch") (param i32) (result i32)
            (block $caught (result i32)
              (try_table (catch $oops $caught) (return (call $thrower (local.get 0))))
              (unreachable)))
          (func (export "fact") (param i32) (result i32) (call $fact (local.get 0)))
          (func (export "unused") (result i32) (i32.const 7)))
        """

    /// mix(n) = 2n + n! + 3n + n(n+1)/2.
    func expectedMix(_ n: UInt32) -> UInt32 {
        var factorial: UInt32 = 1
        for k in stride(from: 2, through: max(n, 1), by: 1) { factorial &*= k }
        return 2 * n + factorial + 3 * n + n * (n + 1) / 2
    }

    func testEveryKindOfCallReachesLazilyTranslatedCode() throws {
        for mode in [TranslationMode.eager, .lazy] {
            let module = try CompiledModule(bytes: Array(program.utf8), translation: mode)
            XCTAssertEqual(module.functions.isLazy, mode == .lazy)
            XCTAssertEqual(module.functions.currentTranslatedCount, mode == .lazy ? 0 : 9)
            let instance = try module.instantiate(store: Store())
            for n: UInt32 in [0, 1, 5, 6] {
                XCTAssertEqual(try call(instance, "mix", [.i32(n)]), [.i32(expectedMix(n))], "mix(\(n)), \(mode)")
            }
            XCTAssertEqual(try call(instance, "catch", [.i32(4)]), [.i32(8)])
            XCTAssertEqual(try call(instance, "catch", [.i32(12)]), [.i32(12)])
            // Only what ran was translated: everything but "fact" and "unused".
            XCTAssertEqual(module.functions.currentTranslatedCount, mode == .lazy ? 7 : 9, "\(mode)")
            XCTAssertEqual(try call(instance, "fact", [.i32(10)]), [.i32(3_628_800)])
            XCTAssertEqual(module.functions.currentTranslatedCount, mode == .lazy ? 8 : 9, "\(mode)")
        }
    }

    /// An instance made after some functions were translated starts from their translated records; one made
    /// before keeps working through its stubs (each store completes its own records).
    func testInstancesBeforeAndAfterTranslation() throws {
        let module = try CompiledModule(bytes: Array(program.utf8), translation: .lazy)
        let early = try module.instantiate(store: Store())
        let first = try module.instantiate(store: Store())
        XCTAssertEqual(try call(first, "mix", [.i32(5)]), [.i32(expectedMix(5))])
        let late = try module.instantiate(store: Store())
        XCTAssertEqual(try call(late, "mix", [.i32(6)]), [.i32(expectedMix(6))])
        XCTAssertEqual(try call(early, "mix", [.i32(4)]), [.i32(expectedMix(4))])
        XCTAssertEqual(try call(early, "fact", [.i32(5)]), [.i32(120)])
        XCTAssertEqual(try call(late, "fact", [.i32(6)]), [.i32(720)])
        // After its first call, each store's record of a function holds the translated code itself (the
        // stub is not run again), and an unused function's record still holds its stub.
        let code = try XCTUnwrap(module.functions.translatedFunction(7)?.code)  // the export "fact"
        for instance in [early, first, late] {
            let fact = try XCTUnwrap(instance.function("fact"))
            let record = instance.store.functions[fact.address].code
            if instance === first {
                XCTAssertNotEqual(record, UnsafePointer(code))  // `first` never called it
            } else {
                XCTAssertEqual(record, UnsafePointer(code))
            }
            let unused = try XCTUnwrap(instance.function("unused"))
            let stub = try XCTUnwrap(instance.store.functions[unused.address].code)
            XCTAssertEqual(stub.pointee & 0xFFFF, UInt64(InternalOp.enterUntranslated.rawValue))
        }
    }

    /// Many threads, each with its own store, call into one lazily translated module at once: each function is
    /// translated once and every thread gets the right results.
    func testThreadsShareALazilyTranslatedModule() throws {
        let module = try CompiledModule(bytes: Array(program.utf8), translation: .lazy)
        let failures = NSLock()
        nonisolated(unsafe) var wrong: [String] = []
        let expected = (0..<7).map { expectedMix(UInt32($0)) }
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            do {
                for round in 0..<20 {
                    let instance = try module.instantiate(store: Store())
                    let n = UInt32((worker + round) % 7)
                    let got = try call(instance, "mix", [.i32(n)])
                    if got != [.i32(expected[Int(n)])] {
                        failures.lock(); wrong.append("worker \(worker) round \(round): \(got)"); failures.unlock()
                    }
                }
            } catch {
                failures.lock(); wrong.append("worker \(worker): \(error)"); failures.unlock()
            }
        }
        XCTAssertEqual(wrong, [])
        XCTAssertEqual(module.functions.currentTranslatedCount, 5)  // mix, $double, $fact, $triple, $loop
    }

    /// The stub's frame is only the parameters: the real frame is checked at the first call, so deep recursion
    /// into a function with a large frame still stops with `call stack exhausted`, never past the stack.
    func testTheFirstCallChecksTheRealFrame() throws {
        var locals = ""
        for _ in 0..<2000 { locals += " i64" }
        let text = """
            (module (func $deep (export "deep") (param i32) (result i32) (local \(locals))
              (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
                (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1))))))))
            """
        let module = try CompiledModule(bytes: Array(text.utf8), translation: .lazy)
        let instance = try module.instantiate(store: Store())
        XCTAssertEqual(trapMessage { try call(instance, "deep", [.i32(1_000_000)]) }, "call stack exhausted")
        XCTAssertEqual(try call(instance, "deep", [.i32(100)]), [.i32(100)])
        // And a store whose stack holds the parameter but not the frame: the very first call traps (it does not
        // return 0 having written past the stack).
        var limits = ResourceLimits()
        limits.stackSlots = 1000
        let fresh = try CompiledModule(bytes: Array(text.utf8), translation: .lazy)  // `module`'s templates are translated now
        let small = try fresh.instantiate(store: Store(limits: limits))
        XCTAssertEqual(trapMessage { try call(small, "deep", [.i32(0)]) }, "call stack exhausted")
    }

    /// The collector finds a frame's references through the stack maps of the functions translated so far: a
    /// function translated after the first collection must be found too (its object survives collections).
    func testTheCollectorSeesFunctionsTranslatedAfterItsFirstCollection() throws {
        let text = """
            (module
              (type $box (struct (field i32)))
              (func (export "warm") (result i32) (struct.get $box 0 (struct.new $box (i32.const 1))))
              (func $churn (drop (struct.new $box (i32.const 2))) (drop (struct.new $box (i32.const 3))))
              (func (export "keep") (result i32) (local $b (ref null $box))
                (local.set $b (struct.new $box (i32.const 42)))
                (call $churn)
                (struct.get $box 0 (local.get $b))))
            """
        var limits = ResourceLimits()
        limits.gcStress = true  // collect at every allocation, poison what is freed
        let module = try CompiledModule(bytes: Array(text.utf8), translation: .lazy)
        let instance = try module.instantiate(store: Store(limits: limits))
        XCTAssertEqual(try call(instance, "warm"), [.i32(1)])
        XCTAssertEqual(try call(instance, "keep"), [.i32(42)])
        XCTAssertEqual(try call(instance, "keep"), [.i32(42)])
    }

    /// A function the interpreter cannot translate (its operand stack needs more than 65,535 slots): eager
    /// translation fails the load; lazy translation loads, runs the module's other functions, and traps at
    /// that function's first call with the same message.
    func testAnUntranslatableFunctionTrapsAtItsFirstCall() throws {
        var m = TestModule()
        m.function([], [.i32], export: "fine", [i32(42)])
        var body: [Instruction] = []
        for _ in 0..<66_000 { body += [get(0), get(0), op(.i32Add)] }
        for _ in 0..<66_000 { body.append(op(.drop)) }
        body.append(i32(1))
        m.function([.i32], [.i32], export: "huge", body)
        let bytes = m.bytes
        XCTAssertThrowsError(try CompiledModule(bytes: bytes, translation: .eager)) { error in
            XCTAssertTrue("\(error)".contains("cannot translate function 1: needs"), "\(error)")
        }
        let instance = try CompiledModule(bytes: bytes, translation: .lazy).instantiate(store: Store())
        XCTAssertEqual(try call(instance, "fine"), [.i32(42)])
        let trap = try XCTUnwrap(captureTrap { _ = try call(instance, "huge", [.i32(1)]) })
        XCTAssertTrue(trap.message.contains("cannot translate function 1: needs"), trap.message)
        XCTAssertEqual(try call(instance, "fine"), [.i32(42)])
    }

    /// What cannot be translated for its locals alone (30,001 v128 locals are valid, but take 60,002 slots)
    /// is found at load in both modes.
    func testTooManyLocalSlotsFailTheLoadEitherWay() throws {
        var m = TestModule()
        m.function([], [], locals: Array(repeating: .v128, count: 30_001), export: "f", [])
        for mode in [TranslationMode.eager, .lazy] {
            XCTAssertThrowsError(try CompiledModule(bytes: m.bytes, translation: mode)) { error in
                XCTAssertTrue("\(error)".contains("cannot translate function 0: 60002 local slots"), "\(error)")
            }
        }
    }

    /// `automatic` is lazy only past the threshold of code bytes.
    func testAutomaticChoosesByCodeSize() throws {
        XCTAssertFalse(try CompiledModule(bytes: Array(program.utf8), translation: .automatic).functions.isLazy)
        var m = TestModule()
        m.function([], [], export: "f", [i32(1), op(.drop)])
        // `i32.const 1000000; drop` is 5 bytes.
        var body: [Instruction] = []
        for _ in 0...(TranslationMode.lazyThreshold / 5) { body += [i32(1_000_000), op(.drop)] }
        m.function([], [], export: "g", body)
        let module = try CompiledModule(bytes: m.bytes, translation: .automatic)
        XCTAssertTrue(module.functions.isLazy)
        _ = try call(try module.instantiate(store: Store()), "f")
        XCTAssertEqual(module.functions.currentTranslatedCount, 1)
    }
}
