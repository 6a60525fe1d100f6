import WasmParser
import XCTest
@testable import WasmVM

/// Instructions the translator fuses or shortcuts must mean exactly what the Wasm they replace means: a load
/// of `base + index` (`i32.add` then a load: one `loadAdd…`), and a call of a function the module defines
/// (the callee's template record in the call).
final class FusedInstructionTests: XCTestCase {
    /// Loads at `base + index` of every width, unsigned i64 loads (which share the i32 ops) and i64.store32.
    static let loads = """
        (module
          (memory (export "memory") 1)
          (data (i32.const 16) "\\81\\82\\83\\84\\85\\86\\87\\88")
          (func (export "i32") (param i32 i32) (result i32) (i32.load offset=0 (i32.add (local.get 0) (local.get 1))))
          (func (export "i64") (param i32 i32) (result i64) (i64.load (i32.add (local.get 0) (local.get 1))))
          (func (export "s8") (param i32 i32) (result i32) (i32.load8_s (i32.add (local.get 0) (local.get 1))))
          (func (export "u8") (param i32 i32) (result i32) (i32.load8_u (i32.add (local.get 0) (local.get 1))))
          (func (export "s16") (param i32 i32) (result i32) (i32.load16_s (i32.add (local.get 0) (local.get 1))))
          (func (export "u16") (param i32 i32) (result i32) (i32.load16_u offset=2 (i32.add (local.get 0) (local.get 1))))
          (func (export "i64u8") (param i32) (result i64) (i64.load8_u (local.get 0)))
          (func (export "i64u16") (param i32) (result i64) (i64.load16_u (local.get 0)))
          (func (export "i64u32") (param i32) (result i64) (i64.load32_u (local.get 0)))
          (func (export "i64s32") (param i32) (result i64) (i64.load32_s (local.get 0)))
          (func (export "store32") (param i32 i64) (i64.store32 (local.get 0) (local.get 1)))
          (func (export "far") (param i32 i32) (result i32) (i32.load8_u offset=65530 (i32.add (local.get 0) (local.get 1))))
          (func (export "put32") (param i32 i32 i32) (i32.store offset=4 (i32.add (local.get 0) (local.get 1)) (local.get 2)))
          (func (export "put8") (param i32 i32 i32) (i32.store8 (i32.add (local.get 0) (local.get 1)) (local.get 2))))
        """

    func testLoadsAtASumReadWhatTheAddAndTheLoadRead() throws {
        let module = try CompiledModule(bytes: Array(Self.loads.utf8))
        XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: 0)).contains("loadAddI32"), "the add is fused into the load")
        XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: 5)).contains("loadAddI3216u"))
        let instance = try module.instantiate(store: Store())
        func run(_ name: String, _ args: [UInt32]) throws -> Value { try call(instance, name, args.map { .i32($0) })[0] }
        XCTAssertEqual(try run("i32", [10, 6]), .i32(0x8483_8281))
        XCTAssertEqual(try run("i64", [16, 0]), .i64(0x8887_8685_8483_8281))
        XCTAssertEqual(try run("s8", [16, 0]), .i32(UInt32(bitPattern: -127)))
        XCTAssertEqual(try run("u8", [16, 0]), .i32(0x81))
        XCTAssertEqual(try run("s16", [17, 0]), .i32(UInt32(bitPattern: Int32(Int16(bitPattern: 0x8382)))))
        XCTAssertEqual(try run("u16", [15, 1]), .i32(0x8483), "offset 2 after the sum")
        // The sum wraps to 32 bits (as i32.add does) before the offset is added.
        XCTAssertEqual(try run("i32", [0xFFFF_FFF0, 0x20]), .i32(0x8483_8281))
        XCTAssertEqual(try run("u8", [0x8000_0010, 0x8000_0000]), .i32(0x81))
        // ... and the offset does not wrap: past the end of memory traps, at the last byte reads.
        XCTAssertEqual(try run("far", [3, 2]), .i32(0))
        XCTAssertEqual(trapMessage { try run("far", [3, 3]) }, "out of bounds memory access")
        XCTAssertEqual(trapMessage { try run("far", [0xFFFF_FFFF, 7]) }, "out of bounds memory access")
        XCTAssertEqual(trapMessage { try run("i64", [65528, 1]) }, "out of bounds memory access")
        // Unsigned i64 loads zero-extend to 64 bits; the signed one sign-extends; i64.store32 stores 4 bytes.
        XCTAssertEqual(try call(instance, "i64u8", [.i32(16)]), [.i64(0x81)])
        XCTAssertEqual(try call(instance, "i64u16", [.i32(16)]), [.i64(0x8281)])
        XCTAssertEqual(try call(instance, "i64u32", [.i32(16)]), [.i64(0x8483_8281)])
        XCTAssertEqual(try call(instance, "i64s32", [.i32(16)]), [.i64(0xFFFF_FFFF_8483_8281)])
        _ = try call(instance, "store32", [.i32(100), .i64(0x1122_3344_5566_7788)])
        XCTAssertEqual(try instance.memory("memory")!.read(at: 100, count: 6), [0x88, 0x77, 0x66, 0x55, 0, 0])
    }

    func testStoresAtASumWriteWhereTheAddAndTheStoreWrite() throws {
        let module = try CompiledModule(bytes: Array(Self.loads.utf8))
        XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: 12)).contains("storeAddI32"), "the add is fused into the store")
        XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: 13)).contains("storeAdd8"))
        let instance = try module.instantiate(store: Store())
        let memory = try XCTUnwrap(instance.memory("memory"))
        _ = try call(instance, "put32", [.i32(200), .i32(8), .i32(0xA1B2_C3D4)])
        XCTAssertEqual(try memory.read(at: 211, count: 6), [0, 0xD4, 0xC3, 0xB2, 0xA1, 0], "at 200 + 8 + offset 4")
        _ = try call(instance, "put8", [.i32(0xFFFF_FF00), .i32(0x100 + 300), .i32(0x1FF)])
        XCTAssertEqual(try memory.read(at: 299, count: 3), [0, 0xFF, 0], "the sum wraps to 300; one byte of the value")
        XCTAssertEqual(trapMessage { try call(instance, "put32", [.i32(65528), .i32(1), .i32(7)]) }, "out of bounds memory access")
        XCTAssertEqual(trapMessage { try call(instance, "put8", [.i32(65535), .i32(1), .i32(7)]) }, "out of bounds memory access")
        XCTAssertNoThrow(try call(instance, "put8", [.i32(65534), .i32(1), .i32(7)]))
        XCTAssertEqual(try memory.read(at: 65535, count: 1), [7])
    }

    /// `a * b + c`, `c + a * b`, `a * b - c` fuse; each operation still rounds on its own: with a = 1 + 2^-30,
    /// b = 1 - 2^-30, c = -1 the product rounds to 1 and the sum is 0 (a fused multiply-add would give
    /// -2^-60). `c - a * b` is not fused and must still be right; a product kept in a local is not fused.
    func testMultiplyAddRoundsTwice() throws {
        let source = """
            (module
              (func (export "madd") (param f64 f64 f64) (result f64) (f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2)))
              (func (export "addm") (param f64 f64 f64) (result f64) (f64.add (local.get 2) (f64.mul (local.get 0) (local.get 1))))
              (func (export "msub") (param f64 f64 f64) (result f64) (f64.sub (f64.mul (local.get 0) (local.get 1)) (local.get 2)))
              (func (export "subm") (param f64 f64 f64) (result f64) (f64.sub (local.get 2) (f64.mul (local.get 0) (local.get 1))))
              (func (export "kept") (param f64 f64 f64) (result f64) (local f64)
                (f64.add (local.tee 3 (f64.mul (local.get 0) (local.get 1))) (local.get 2)))
              (func (export "madd32") (param f32 f32 f32) (result f32) (f32.add (f32.mul (local.get 0) (local.get 1)) (local.get 2)))
              (func (export "msub32") (param f32 f32 f32) (result f32) (f32.sub (f32.mul (local.get 0) (local.get 1)) (local.get 2))))
            """
        let module = try CompiledModule(bytes: Array(source.utf8))
        for (index, op) in [(0, "f64MulAdd"), (1, "f64MulAdd"), (2, "f64MulSub"), (5, "f32MulAdd"), (6, "f32MulSub")] {
            XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: index)).contains(op), "function \(index): \(op)")
        }
        for index in [3, 4] { XCTAssertFalse(try XCTUnwrap(module.disassembly(ofFunction: index)).contains("Mul"  + "Add")) }
        let instance = try module.instantiate(store: Store())
        let a = 1 + 0x1p-30, b = 1 - 0x1p-30
        func f64(_ name: String, _ x: Double, _ y: Double, _ z: Double) throws -> Double {
            guard case .f64(let bits) = try call(instance, name, [.double(x), .double(y), .double(z)])[0] else { throw Trap(.unreachable) }
            return Double(bitPattern: bits)
        }
        for name in ["madd", "addm", "kept"] { XCTAssertEqual(try f64(name, a, b, -1), 0, name) }
        XCTAssertEqual(try f64("msub", a, b, 1), 0)
        XCTAssertEqual(try f64("subm", a, b, 1), 0)
        XCTAssertEqual(try f64("subm", 2, 3, 10), 4)
        XCTAssertEqual(try f64("msub", 2, 3, 10), -4)
        XCTAssertEqual(try f64("madd", -0.0, 1, 0).sign, .plus, "-0 + +0 is +0")
        XCTAssertEqual(try f64("msub", -0.0, 1, 0).sign, .minus, "-0 - +0 is -0")
        XCTAssertTrue(try f64("madd", .infinity, 0, 1).isNaN)
        let fa: Float = 1 + 0x1p-13, fb: Float = 1 - 0x1p-13
        XCTAssertEqual(try call(instance, "madd32", [.float(fa), .float(fb), .float(-1)]), [.float(0)])
        XCTAssertEqual(try call(instance, "msub32", [.float(fa), .float(fb), .float(1)]), [.float(0)])
    }

    /// `s = a + b; br_if (s <cmp> c)` on floats is one instruction: the branch follows the comparison's outcome
    /// (NaN included, in `br_if` and negated in `if`), and the sum is still stored where a `local.tee` put it.
    func testFloatAddAndBranch() throws {
        let source = """
            (module
              (func (export "lt") (param f64 f64 f64) (result i32)
                (block (br_if 0 (f64.lt (f64.add (local.get 0) (local.get 1)) (local.get 2))) (return (i32.const 0)))
                (i32.const 1))
              (func (export "ne") (param f64 f64 f64) (result i32)
                (block (br_if 0 (f64.ne (f64.add (local.get 0) (local.get 1)) (local.get 2))) (return (i32.const 0)))
                (i32.const 1))
              (func (export "ge_if") (param f32 f32 f32) (result i32)
                (if (result i32) (f32.ge (f32.add (local.get 0) (local.get 1)) (local.get 2)) (then (i32.const 1)) (else (i32.const 0))))
              (func (export "tee") (param f64 f64 f64) (result f64) (local f64)
                (if (f64.gt (local.tee 3 (f64.add (local.get 0) (local.get 1))) (local.get 2)) (then (return (f64.const -1))))
                (local.get 3)))
            """
        let module = try CompiledModule(bytes: Array(source.utf8))
        for (index, op) in [(0, "addBrIfF64"), (1, "addBrIfF64"), (2, "addBrIfF32"), (3, "addBrIfF64")] {
            XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: index)).contains(op), "function \(index)")
        }
        let instance = try module.instantiate(store: Store())
        func branch(_ name: String, _ a: Double, _ b: Double, _ c: Double) throws -> Bool {
            let args: [Value] = name.hasSuffix("_if") ? [.float(Float(a)), .float(Float(b)), .float(Float(c))] : [.double(a), .double(b), .double(c)]
            return try call(instance, name, args) == [.i32(1)]
        }
        let nan = Double.nan
        for (a, b, c) in [(1.0, 2.0, 4.0), (1.0, 2.0, 3.0), (2.0, 2.0, 3.0), (nan, 1.0, 0.0), (1.0, 1.0, nan), (.infinity, -.infinity, 0.0),
                          (0.5, 0.25, 0.75), (-0.0, 0.0, 0.0)] {
            let s = a + b
            XCTAssertEqual(try branch("lt", a, b, c), s < c, "\(a) + \(b) < \(c)")
            XCTAssertEqual(try branch("ne", a, b, c), s != c, "\(a) + \(b) != \(c)")
            XCTAssertEqual(try branch("ge_if", a, b, c), Float(a) + Float(b) >= Float(c), "\(a) + \(b) >= \(c) (f32)")
        }
        XCTAssertEqual(try call(instance, "tee", [.double(1.5), .double(2), .double(10)]), [.double(3.5)], "the sum lands in the local")
        XCTAssertEqual(try call(instance, "tee", [.double(1.5), .double(20), .double(10)]), [.double(-1)])
    }

    /// `if c <cmp> (a + b)` — the sum on the right, as in `while (n != ++i)` — fuses into the add-and-branch
    /// with the comparison mirrored (`a + b <cmp'> c`); every integer comparison, in `br_if` and negated in
    /// `if`, at both widths, must agree with the comparison run apart (signed and unsigned edges, wrapping sums),
    /// and the sum still lands in the local a `local.tee` put it in.
    func testAddAndBranchWithTheSumOnTheRight() throws {
        let comparisons = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
        var functions = ""
        for type in ["i32", "i64"] {
            for cmp in comparisons {
                functions += """
                  (func (export "\(type)_\(cmp)") (param \(type) \(type) \(type)) (result i32) (local \(type))
                    (block (br_if 0 (\(type).\(cmp) (local.get 2) (local.tee 3 (\(type).add (local.get 0) (local.get 1)))))
                      (return (i32.const 0)))
                    (i32.const 1))
                  (func (export "\(type)_\(cmp)_if") (param \(type) \(type) \(type)) (result i32)
                    (if (result i32) (\(type).\(cmp) (local.get 2) (\(type).add (local.get 0) (local.get 1)))
                      (then (i32.const 1)) (else (i32.const 0))))
                  (func (export "\(type)_\(cmp)_plain") (param \(type) \(type) \(type)) (result i32)
                    (\(type).\(cmp) (local.get 2) (\(type).add (local.get 0) (local.get 1))))

                """
            }
        }
        functions += """
              (func (export "count") (param i32) (result i32) (local i32 i32)
                (loop $next
                  (local.set 2 (i32.add (local.get 2) (i32.const 3)))
                  (br_if $next (i32.ne (local.get 0) (local.tee 1 (i32.add (local.get 1) (i32.const 1))))))
                (local.get 2))
            """
        let module = try CompiledModule(bytes: Array("(module \(functions))".utf8))
        let count = comparisons.count * 2 * 3
        XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: count)).contains("addBrIfI32Ne"), "the counting loop's step and test are one instruction")
        for index in 0..<(2 * comparisons.count) {
            let text = try XCTUnwrap(module.disassembly(ofFunction: index * 3))
            XCTAssertTrue(text.contains("addBrIf"), "function \(index * 3) fuses: \(text)")
        }
        let instance = try module.instantiate(store: Store())
        let edges32: [UInt32] = [0, 1, 2, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE]
        let edges64: [UInt64] = [0, 1, 2, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFE]
        for cmp in comparisons {
            for a in edges32 { for b in [UInt32(0), 1, 0xFFFF_FFFF] { for c in edges32 {
                let args: [Value] = [.i32(a), .i32(b), .i32(c)]
                let expected = try call(instance, "i32_\(cmp)_plain", args)
                XCTAssertEqual(try call(instance, "i32_\(cmp)", args), expected, "i32 \(c) \(cmp) \(a) + \(b)")
                XCTAssertEqual(try call(instance, "i32_\(cmp)_if", args), expected, "i32 \(c) \(cmp) \(a) + \(b) (if)")
            } } }
            for a in edges64 { for b in [UInt64(0), 1, 0xFFFF_FFFF_FFFF_FFFF] { for c in edges64 {
                let args: [Value] = [.i64(a), .i64(b), .i64(c)]
                let expected = try call(instance, "i64_\(cmp)_plain", args)
                XCTAssertEqual(try call(instance, "i64_\(cmp)", args), expected, "i64 \(c) \(cmp) \(a) + \(b)")
                XCTAssertEqual(try call(instance, "i64_\(cmp)_if", args), expected, "i64 \(c) \(cmp) \(a) + \(b) (if)")
            } } }
        }
        XCTAssertEqual(try call(instance, "count", [.i32(5)]), [.i32(15)], "the loop runs until the tee'd counter reaches n")
    }

    /// Two instances of one module share its code and template records; a direct call must run the callee
    /// in the caller's instance (its globals, its memory), and a trap's backtrace must name every frame.
    func testDirectCallsRunInTheCallersInstance() throws {
        let source = """
            (module
              (global $g (export "g") (mut i32) (i32.const 0))
              (func $read (result i32) (global.get $g))
              (func $deep (param i32) (result i32)
                (if (result i32) (i32.eqz (local.get 0)) (then (unreachable)) (else (call $deep (i32.sub (local.get 0) (i32.const 1))))))
              (func (export "f") (result i32) (call $read))
              (func (export "fail") (result i32) (call $deep (i32.const 3)))
              (func $forever (export "forever") (result i32) (call $forever)))
            """
        let module = try CompiledModule(bytes: Array(source.utf8))
        XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: 2)).contains("call"))
        let a = try module.instantiate(store: Store()), b = try module.instantiate(store: Store())
        try a.global("g")!.set(.i32(11))
        try b.global("g")!.set(.i32(22))
        XCTAssertEqual(try call(a, "f"), [.i32(11)])
        XCTAssertEqual(try call(b, "f"), [.i32(22)])
        do {
            _ = try call(a, "fail")
            XCTFail("unreachable")
        } catch let trap as Trap {
            XCTAssertEqual(trap.backtrace.map(\.functionIndex), [1, 1, 1, 1, 3], "deep x4 <- fail")
        }
        XCTAssertEqual(trapMessage { try call(a, "forever") }, "call stack exhausted")
        XCTAssertEqual(try call(a, "f"), [.i32(11)], "the store goes on after the trap")
    }
}
