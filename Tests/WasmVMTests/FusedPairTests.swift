import WasmParser
import XCTest
@testable import WasmVM

/// The fused pairs `second(first(a, b), c)` (extended ops, `InternalOp.fusedPair`) and the branch on an `eqz`
/// of a comparison must compute exactly what their Wasm instructions compute. Each case runs three functions
/// over the same operands: the pair with c on the left of `second`, with c on the right, and the two
/// instructions kept apart (the intermediate stored in a local, which the translator does not fuse).
final class FusedPairTests: XCTestCase {
    static let integerFirst = ["add", "sub", "mul", "xor", "and", "or", "shl", "shr_s", "shr_u", "rotl", "rotr"]
    static let integerSecond = ["add", "xor", "and", "or"]
    static let floatPairs = [("add", "add"), ("sub", "add"), ("mul", "mul"), ("add", "mul"), ("sub", "mul"), ("mul", "div")]

    /// Operands where wrapping, sign and shift-count masking show (counts of 0, 31, 32, 33, 63, 64 and more).
    static let i32Values: [UInt32] = [0, 1, 7, 31, 32, 33, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xDEAD_BEEF]
    static let i64Values: [UInt64] = [0, 1, 31, 63, 64, 65, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000,
                                      0xFFFF_FFFF_FFFF_FFFF, 0xDEAD_BEEF_0123_4567]
    /// Signed zeros, infinities, NaNs with payloads, subnormals, values whose sum or product overflows or rounds.
    static let f64Values: [Double] = [0, -0.0, 1, -1.5, .infinity, -.infinity, .nan, Double(bitPattern: 0x7FF0_0000_0000_0BAD),
                                      .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1 + 0x1p-52, 3.25e-300]
    static let f32Values: [Float] = [0, -0.0, 1, -1.5, .infinity, -.infinity, .nan, Float(bitPattern: 0x7FC0_0BAD),
                                     .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1 + 0x1p-23, 3.25e-30]

    /// The fused op's name; a float op with c on the left (`second(c, first(a, b))`) is the `R` form.
    /// The operands above as values of `type`.
    static func values(_ type: String) -> [Value] {
        switch type {
        case "i32": return i32Values.map { .i32($0) }
        case "i64": return i64Values.map { .i64($0) }
        case "f32": return f32Values.map { .f32($0.bitPattern) }
        default: return f64Values.map { .f64($0.bitPattern) }
        }
    }

    static func name(_ type: String, _ first: String, _ second: String, cOnLeft: Bool) -> String {
        let reversed = cOnLeft && type.hasPrefix("f")
        return (type + "_" + first + "_" + (reversed ? "r" : "") + second).split(separator: "_").enumerated()
            .map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined()
    }

    /// Four functions per pair: `<t>.<first>` then `<t>.<second>` with c pushed before (left) or after (right)
    /// the first's result, and both apart (the first's result through local 3).
    static func module(_ type: String, _ pairs: [(String, String)]) -> String {
        var functions = ""
        for (first, second) in pairs {
            let tag = "\(first)_\(second)"
            functions += """
                (func (export "\(tag)_left") (param \(type) \(type) \(type)) (result \(type))
                  local.get 2 local.get 0 local.get 1 \(type).\(first) \(type).\(second))
                (func (export "\(tag)_right") (param \(type) \(type) \(type)) (result \(type))
                  local.get 0 local.get 1 \(type).\(first) local.get 2 \(type).\(second))
                (func (export "\(tag)_apart_left") (param \(type) \(type) \(type)) (result \(type)) (local \(type))
                  local.get 0 local.get 1 \(type).\(first) local.set 3 local.get 2 local.get 3 \(type).\(second))
                (func (export "\(tag)_apart_right") (param \(type) \(type) \(type)) (result \(type)) (local \(type))
                  local.get 0 local.get 1 \(type).\(first) local.set 3 local.get 3 local.get 2 \(type).\(second))

                """
        }
        return "(module\n\(functions))"
    }

    func check(_ type: String, _ pairs: [(String, String)], _ operands: [Value], sample: [(Int, Int, Int)]) throws {
        let module = try CompiledModule(bytes: Array(Self.module(type, pairs).utf8))
        let instance = try module.instantiate(store: Store())
        for (k, (first, second)) in pairs.enumerated() {
            let left = Self.name(type, first, second, cOnLeft: true), right = Self.name(type, first, second, cOnLeft: false)
            let firstOp = try XCTUnwrap(InternalOp.registerForm[Int(try opcode(type, first).rawValue)])
            let secondOp = try XCTUnwrap(InternalOp.registerForm[Int(try opcode(type, second).rawValue)])
            XCTAssertEqual(InternalOp.fusedPair(firstOp, secondOp, firstOnLeft: false).map { "\($0)" }, left)
            XCTAssertEqual(InternalOp.fusedPair(firstOp, secondOp, firstOnLeft: true).map { "\($0)" }, right)
            XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: 4 * k)).contains(left + " "), "\(left) is fused")
            XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: 4 * k + 1)).contains(right + " "), "\(right) is fused")
            XCTAssertFalse(try XCTUnwrap(module.disassembly(ofFunction: 4 * k + 2)).contains(left + " "), "apart is not fused")
            XCTAssertFalse(try XCTUnwrap(module.disassembly(ofFunction: 4 * k + 3)).contains(right + " "), "apart is not fused")
            let tag = "\(first)_\(second)"
            for (a, b, c) in sample {
                let arguments = [operands[a], operands[b], operands[c]]
                XCTAssertEqual(try call(instance, "\(tag)_left", arguments), try call(instance, "\(tag)_apart_left", arguments),
                               "\(left) \(arguments)")
                XCTAssertEqual(try call(instance, "\(tag)_right", arguments), try call(instance, "\(tag)_apart_right", arguments),
                               "\(right) \(arguments)")
            }
        }
    }

    func opcode(_ type: String, _ operation: String) throws -> Opcode {
        try XCTUnwrap(Opcode.allCases.first { $0.mnemonic == "\(type).\(operation)" }, "\(type).\(operation)")
    }

    /// Every a and b from the list with three values of c (all triples would be 1,000 per pair).
    static func sample(_ count: Int) -> [(Int, Int, Int)] {
        var triples: [(Int, Int, Int)] = []
        for a in 0..<count { for b in 0..<count { for c in [0, (a + b) % count, count - 1] { triples.append((a, b, c)) } } }
        return triples
    }

    func testIntegerPairsComputeWhatTheirTwoInstructionsCompute() throws {
        let pairs = Self.integerFirst.flatMap { first in Self.integerSecond.map { (first, $0) } }
        try check("i32", pairs, Self.i32Values.map { .i32($0) }, sample: Self.sample(Self.i32Values.count))
        try check("i64", pairs, Self.i64Values.map { .i64($0) }, sample: Self.sample(Self.i64Values.count))
        // An i32 comparison's 0 or 1 added, and-ed or or-ed right away.
        let comparisons = ["eq", "ne", "lt_s", "lt_u"].flatMap { first in ["add", "and", "or"].map { (first, $0) } }
        try check("i32", comparisons, Self.i32Values.map { .i32($0) }, sample: Self.sample(Self.i32Values.count))
    }

    func testFloatPairsRoundEachStepAndKeepNaNBits() throws {
        try check("f64", Self.floatPairs, Self.f64Values.map { .f64($0.bitPattern) }, sample: Self.sample(Self.f64Values.count))
        try check("f32", Self.floatPairs, Self.f32Values.map { .f32($0.bitPattern) }, sample: Self.sample(Self.f32Values.count))
        // Each step rounds on its own: 1e16 + 1 rounds (to even) to 1e16, so adding -1e16 gives 0, not the exact 1.
        let instance = try WasmVMTests.instance(Self.module("f64", [("add", "add")]))
        XCTAssertEqual(try call(instance, "add_add_left", [.f64(1e16.bitPattern), .f64(1.0.bitPattern), .f64((-1e16).bitPattern)]),
                       [.f64(0.0.bitPattern)], "1e16 + 1 rounds to 1e16 before -1e16 is added")
    }

    /// `op(load, c)` and `op(c, load)`: the load fused with the operation that uses its value, for every
    /// operation and type, at an offset in the word, with memory holding the same operands as the other tests;
    /// a load past the end still traps, and a large offset (not in the word) is left unfused and still right.
    func testLoadsFusedWithTheirOperationComputeWhatTheTwoCompute() throws {
        let operations: [(String, [String], width: Int)] = [
            ("i32", ["add", "sub", "mul", "xor", "and", "or"], 4), ("i64", ["add", "sub", "mul", "xor", "and", "or"], 8),
            ("f32", ["add", "sub", "mul"], 4), ("f64", ["add", "sub", "mul"], 8),
        ]
        for (type, names, width) in operations {
            var functions = ""
            for name in names {
                functions += """
                    (func (export "\(name)_left") (param i32 \(type)) (result \(type))
                      (\(type).\(name) (\(type).load offset=8 (local.get 0)) (local.get 1)))
                    (func (export "\(name)_right") (param i32 \(type)) (result \(type))
                      (\(type).\(name) (local.get 1) (\(type).load offset=8 (local.get 0))))
                    (func (export "\(name)_apart") (param i32 \(type) \(type)) (result \(type))
                      (\(type).\(name) (local.get 1) (local.get 2)))
                    (func (export "\(name)_far") (param i32 \(type)) (result \(type))
                      (\(type).\(name) (local.get 1) (\(type).load offset=70000 (local.get 0))))

                    """
            }
            let module = try CompiledModule(bytes: Array("(module (memory (export \"memory\") 2)\n\(functions))".utf8))
            for (k, name) in names.enumerated() {
                let left = try XCTUnwrap(module.disassembly(ofFunction: 4 * k)), right = try XCTUnwrap(module.disassembly(ofFunction: 4 * k + 1))
                let op = name.prefix(1).uppercased() + name.dropFirst()
                let commutes = type.hasPrefix("i") && name != "sub"
                XCTAssertTrue(left.contains(commutes ? "\(type)\(op)Load " : "\(type)Load\(op) "), "\(type).\(name) with the load on the left is fused:\n\(left)")
                XCTAssertTrue(right.contains("\(type)\(op)Load "), "\(type).\(name) with the load on the right is fused:\n\(right)")
                XCTAssertFalse(try XCTUnwrap(module.disassembly(ofFunction: 4 * k + 3)).contains("Load "), "a large offset is not fused")
            }
            let instance = try module.instantiate(store: Store())
            let memory = try XCTUnwrap(instance.memory("memory"))
            let values = Self.values(type)
            for m in values {
                try memory.write(bytes(m), at: 100 + 8)
                try memory.write(bytes(m), at: 100 + 70000)
                for z in values {
                    for name in names {
                        let address = Value.i32(100)
                        XCTAssertEqual(try call(instance, "\(name)_left", [address, z]), try call(instance, "\(name)_apart", [address, m, z]),
                                       "\(type).\(name)(memory \(m), \(z))")
                        XCTAssertEqual(try call(instance, "\(name)_right", [address, z]), try call(instance, "\(name)_apart", [address, z, m]),
                                       "\(type).\(name)(\(z), memory \(m))")
                        XCTAssertEqual(try call(instance, "\(name)_far", [address, z]), try call(instance, "\(name)_apart", [address, z, m]))
                    }
                }
            }
            let last = UInt32(2 * 65536 - 8 - width)
            XCTAssertNoThrow(try call(instance, "\(names[0])_left", [.i32(last), values[1]]), "the last \(width) bytes load")
            XCTAssertEqual(trapMessage { try call(instance, "\(names[0])_left", [.i32(last + 1), values[1]]) }, "out of bounds memory access")
            XCTAssertEqual(trapMessage { try call(instance, "\(names[0])_right", [.i32(0xFFFF_FFFF), values[1]]) }, "out of bounds memory access")
        }
    }

    /// `memory[a + offset] = op(x, y)` as one op, and `memory[a + offset] = op(memory[a + offset], z)` (the same
    /// local address, offset and width) as one update: each leaves memory as the instructions kept apart do and
    /// traps where they trap; a store to another offset or address is not taken for an update.
    func testStoresOfAComputedValueAndUpdatesInPlace() throws {
        let operations: [(String, [String])] = [
            ("i32", ["add", "sub", "mul", "xor", "and", "or", "shl", "shr_s", "shr_u", "rotl"]),
            ("i64", ["add", "sub", "mul", "xor", "and", "or", "shl", "shr_s", "shr_u", "rotl"]),
            ("f32", ["add", "sub", "mul", "div"]), ("f64", ["add", "sub", "mul", "div"]),
        ]
        for (type, names) in operations {
            let updated = names.filter { ["add", "sub", "mul"].contains($0) || (type.hasPrefix("i") && ["xor", "and", "or"].contains($0)) }
            var functions = ""
            for name in names {
                let op = "\(type).\(name)"
                functions += """
                    (func (export "\(name)_store") (param i32 \(type) \(type))
                      (\(type).store offset=70000 (local.get 0) (\(op) (local.get 1) (local.get 2))))
                    (func (export "\(name)_store_apart") (param i32 \(type) \(type)) (local \(type))
                      (local.set 3 (\(op) (local.get 1) (local.get 2))) (\(type).store offset=70000 (local.get 0) (local.get 3)))

                    """
                guard updated.contains(name) else { continue }
                functions += """
                    (func (export "\(name)_update_left") (param i32 \(type))
                      (\(type).store offset=8 (local.get 0) (\(op) (\(type).load offset=8 (local.get 0)) (local.get 1))))
                    (func (export "\(name)_update_right") (param i32 \(type))
                      (\(type).store offset=8 (local.get 0) (\(op) (local.get 1) (\(type).load offset=8 (local.get 0)))))
                    (func (export "\(name)_apart_left") (param i32 \(type)) (local \(type))
                      (local.set 2 (\(op) (\(type).load offset=8 (local.get 0)) (local.get 1))) (\(type).store offset=8 (local.get 0) (local.get 2)))
                    (func (export "\(name)_apart_right") (param i32 \(type)) (local \(type))
                      (local.set 2 (\(op) (local.get 1) (\(type).load offset=8 (local.get 0)))) (\(type).store offset=8 (local.get 0) (local.get 2)))
                    (func (export "\(name)_elsewhere") (param i32 \(type)) (local i32)
                      (local.set 2 (i32.add (local.get 0) (i32.const 16)))
                      (\(type).store offset=16 (local.get 0) (\(op) (local.get 1) (\(type).load offset=8 (local.get 0))))
                      (\(type).store offset=8 (local.get 2) (\(op) (local.get 1) (\(type).load offset=8 (local.get 0)))))

                    """
            }
            let module = try CompiledModule(bytes: Array("(module (memory (export \"memory\") 2)\n\(functions))".utf8))
            var listing = ""
            var index = 0
            while let code = module.disassembly(ofFunction: index) { listing += code + "\n"; index += 1 }
            let instance = try module.instantiate(store: Store())
            let memory = try XCTUnwrap(instance.memory("memory"))
            let values = Self.values(type)
            let width = type.hasSuffix("32") ? 4 : 8
            for name in names {
                let op = name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
                XCTAssertTrue(listing.contains("\(type)\(op)Store "), "\(type).\(name) and its store are fused")
                for x in values {
                    for y in values {
                        _ = try call(instance, "\(name)_store", [.i32(100), x, y])
                        let fused = try memory.read(at: 70100, count: width)
                        try memory.write([UInt8](repeating: 0xEE, count: width), at: 70100)
                        _ = try call(instance, "\(name)_store_apart", [.i32(100), x, y])
                        XCTAssertEqual(fused, try memory.read(at: 70100, count: width), "\(type).\(name)(\(x), \(y)) stored")
                    }
                }
                XCTAssertEqual(trapMessage { try call(instance, "\(name)_store", [.i32(UInt32(2 * 65536 - 70000 - width + 1)), values[1], values[2]]) },
                               "out of bounds memory access")
                guard updated.contains(name) else { continue }
                let commutes = type.hasPrefix("i") && name != "sub"
                XCTAssertTrue(listing.contains(commutes ? "\(type)\(op)LoadStore " : "\(type)Load\(op)Store "), "\(type).\(name) update, load on the left")
                XCTAssertTrue(listing.contains("\(type)\(op)LoadStore "), "\(type).\(name) update, load on the right")
                for m in values {
                    for z in values {
                        func run(_ function: String) throws -> [UInt8] {
                            try memory.write(bytes(m) + [UInt8](repeating: 0xEE, count: 24), at: 108)
                            _ = try call(instance, function, [.i32(100), z])
                            return try memory.read(at: 108, count: 24 + width)
                        }
                        XCTAssertEqual(try run("\(name)_update_left"), try run("\(name)_apart_left"), "\(type).\(name)(memory \(m), \(z))")
                        let right = try run("\(name)_apart_right")
                        XCTAssertEqual(try run("\(name)_update_right"), right, "\(type).\(name)(\(z), memory \(m))")
                        // Elsewhere: offsets 16 and 24 get op(z, memory); offset 8 keeps what was loaded.
                        let elsewhere = try run("\(name)_elsewhere")
                        XCTAssertEqual(Array(elsewhere[0..<width]), bytes(m), "\(type).\(name): the loaded bytes are left alone")
                        XCTAssertEqual(Array(elsewhere[8..<(8 + width)]), Array(right[0..<width]))
                        XCTAssertEqual(Array(elsewhere[16..<(16 + width)]), Array(right[0..<width]))
                    }
                }
                XCTAssertEqual(trapMessage { try call(instance, "\(name)_update_left", [.i32(UInt32(2 * 65536 - 8 - width + 1)), values[1]]) },
                               "out of bounds memory access")
            }
        }
    }

    func bytes(_ value: Value) -> [UInt8] {
        switch value {
        case .i32(let v), .f32(let v): return withUnsafeBytes(of: v.littleEndian, Array.init)
        case .i64(let v), .f64(let v): return withUnsafeBytes(of: v.littleEndian, Array.init)
        default: return []
        }
    }

    /// `d = load(a + offset); br_if (d <cmp> y)` (and `y <cmp> d`, and the `if` form) as one op for 4-byte and
    /// zero-extended byte loads: the branch goes where the comparison says for every signed and unsigned order,
    /// the loaded value is still written, and a load past the end traps.
    func testLoadsFusedWithTheBranchOnTheirValue() throws {
        let conditions = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
        var functions = ""
        for load in ["i32.load", "i32.load8_u"] {
            let tag = load == "i32.load" ? "w" : "b"
            for c in conditions {
                // Returns 1 if the branch was taken, 0 if not; local 2 keeps the loaded value for `kept`.
                functions += """
                    (func (export "\(tag)_\(c)_left") (param i32 i32) (result i32)
                      (block (br_if 0 (i32.\(c) (\(load) offset=3 (local.get 0)) (local.get 1))) (return (i32.const 0))) (i32.const 1))
                    (func (export "\(tag)_\(c)_right") (param i32 i32) (result i32)
                      (block (br_if 0 (i32.\(c) (local.get 1) (\(load) offset=3 (local.get 0)))) (return (i32.const 0))) (i32.const 1))
                    (func (export "\(tag)_\(c)_if") (param i32 i32) (result i32)
                      (if (result i32) (i32.\(c) (\(load) offset=3 (local.get 0)) (local.get 1)) (then (i32.const 1)) (else (i32.const 0))))
                    (func (export "\(tag)_\(c)_kept") (param i32 i32) (result i32) (local i32)
                      (block (br_if 0 (i32.\(c) (local.tee 2 (\(load) offset=3 (local.get 0))) (local.get 1))) (return (local.get 2)))
                      (i32.add (local.get 2) (i32.const 1000)))

                    """
            }
        }
        let module = try CompiledModule(bytes: Array("(module (memory (export \"memory\") 1)\n\(functions))".utf8))
        var index = 0
        while let code = module.disassembly(ofFunction: index) {
            XCTAssertTrue(code.contains("BrIf"), "function \(index) fuses its load into the branch:\n\(code)")
            XCTAssertFalse(code.contains(" loadI32 ") || code.contains(" loadI328u "), "function \(index):\n\(code)")
            index += 1
        }
        XCTAssertEqual(index, 80)
        let instance = try module.instantiate(store: Store())
        let memory = try XCTUnwrap(instance.memory("memory"))
        let values: [UInt32] = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]
        for stored in values {
            try memory.write(withUnsafeBytes(of: stored.littleEndian, Array.init), at: 203)
            for (tag, loaded) in [("w", stored), ("b", stored & 0xFF)] {
                for y in values {
                    for c in conditions {
                        let arguments: [Value] = [.i32(200), .i32(y)]
                        let left: UInt32 = Self.holds(c, loaded, y) ? 1 : 0, right: UInt32 = Self.holds(c, y, loaded) ? 1 : 0
                        XCTAssertEqual(try call(instance, "\(tag)_\(c)_left", arguments), [.i32(left)], "\(tag) \(loaded) \(c) \(y)")
                        XCTAssertEqual(try call(instance, "\(tag)_\(c)_right", arguments), [.i32(right)], "\(tag) \(y) \(c) \(loaded)")
                        XCTAssertEqual(try call(instance, "\(tag)_\(c)_if", arguments), [.i32(left)], "\(tag) if \(loaded) \(c) \(y)")
                        XCTAssertEqual(try call(instance, "\(tag)_\(c)_kept", arguments), [.i32(left == 1 ? loaded &+ 1000 : loaded)])
                    }
                }
            }
        }
        XCTAssertEqual(try call(instance, "w_eq_left", [.i32(65536 - 7), .i32(0)]).count, 1, "the last 4 bytes load")
        XCTAssertEqual(trapMessage { try call(instance, "w_eq_left", [.i32(65536 - 6), .i32(0)]) }, "out of bounds memory access")
        XCTAssertEqual(trapMessage { try call(instance, "b_lt_u_right", [.i32(65536 - 3), .i32(0)]) }, "out of bounds memory access")
    }

    /// A load that ends a block which a branch also leaves (with another value) is not fused with the
    /// compare-and-branch after the block: the branch's landing point is between them. (Yosys threw an
    /// uncaught exception when it was: the `br` landed inside the fused instruction.)
    func testALoadBeforeALabelIsNotFusedWithTheBranchAfterIt() throws {
        let source = """
            (module (memory 1) (data (i32.const 0) "\\64\\00\\00\\00")
              (func (export "f") (param i32 i32 i32) (result i32)
                (block $out
                  (br_if $out (i32.lt_u (block $b (result i32)
                                            (drop (br_if $b (i32.const 7) (local.get 1)))
                                            (i32.load (local.get 0)))
                                        (local.get 2)))
                  (return (i32.const 0)))
                (i32.const 1)))
            """
        let module = try CompiledModule(bytes: Array(source.utf8))
        XCTAssertFalse(try XCTUnwrap(module.disassembly(ofFunction: 0)).contains("BrIf"))
        let instance = try module.instantiate(store: Store())
        XCTAssertEqual(try call(instance, "f", [.i32(0), .i32(0), .i32(50)]), [.i32(0)], "100 < 50 is false")
        XCTAssertEqual(try call(instance, "f", [.i32(0), .i32(0), .i32(200)]), [.i32(1)], "100 < 200")
        XCTAssertEqual(try call(instance, "f", [.i32(0), .i32(1), .i32(50)]), [.i32(1)], "the branch's 7 < 50")
    }

    /// `select(x, y, a <cmp> b)` with the i32 comparison just before it is one `selectI32…`, for every
    /// condition; operands computed into temporaries (a clamp) work the same.
    func testASelectOnAComparisonPicksWhatTheComparisonSays() throws {
        let conditions = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
        var functions = ""
        for c in conditions {
            functions += """
                (func (export "\(c)") (param i32 i32 i64 i64) (result i64)
                  (select (local.get 2) (local.get 3) (i32.\(c) (local.get 0) (local.get 1))))

                """
        }
        functions += """
            (func (export "clamp") (param i32 i32) (result i32)
              (select (i32.add (local.get 0) (i32.const 1)) (i32.mul (local.get 1) (i32.const 2))
                      (i32.lt_s (i32.sub (local.get 0) (local.get 1)) (i32.const 7))))
            """
        let module = try CompiledModule(bytes: Array("(module \(functions))".utf8))
        for (k, c) in conditions.enumerated() {
            let name = "selectI32" + c.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
            XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: k)).contains(name + " "), c)
        }
        XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: 10)).contains("selectI32LtS "))
        let instance = try module.instantiate(store: Store())
        let values: [UInt32] = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]
        for a in values {
            for b in values {
                for c in conditions {
                    let expected: UInt64 = Self.holds(c, a, b) ? 0x1111_2222_3333_4444 : 0x5555_6666_7777_8888
                    XCTAssertEqual(try call(instance, c, [.i32(a), .i32(b), .i64(0x1111_2222_3333_4444), .i64(0x5555_6666_7777_8888)]),
                                   [.i64(expected)], "\(a) \(c) \(b)")
                }
                let clamp = Int32(bitPattern: a &- b) < 7 ? a &+ 1 : b &* 2
                XCTAssertEqual(try call(instance, "clamp", [.i32(a), .i32(b)]), [.i32(clamp)])
            }
        }
    }

    static func holds(_ c: String, _ a: UInt32, _ b: UInt32) -> Bool {
        let (sa, sb) = (Int32(bitPattern: a), Int32(bitPattern: b))
        switch c {
        case "eq": return a == b
        case "ne": return a != b
        case "lt_s": return sa < sb
        case "lt_u": return a < b
        case "gt_s": return sa > sb
        case "gt_u": return a > b
        case "le_s": return sa <= sb
        case "le_u": return a <= b
        case "ge_s": return sa >= sb
        default: return a >= b
        }
    }

    /// `p = load(p)` while the old p is still on the stack (a store's address): the old value is copied out
    /// before the load, which then writes p itself (one copy, not two), and the store still goes to the old p.
    func testALocalSetWhileItsOldValueIsOnTheStackKeepsTheOldValue() throws {
        let source = """
            (module (memory (export "memory") 1)
              (func (export "f") (param i32) (result i32)
                (i32.store8 (local.get 0) (i32.add (local.tee 0 (i32.load8_u (local.get 0))) (i32.const 1)))
                (local.get 0))
              (func (export "g") (param i32 i32) (result i32)
                (i32.add (local.get 0) (local.tee 0 (i32.mul (local.get 0) (local.get 1))))))
            """
        let module = try CompiledModule(bytes: Array(source.utf8))
        let f = try XCTUnwrap(module.disassembly(ofFunction: 0))
        XCTAssertTrue(f.contains("loadI328u d=s0 "), "the load writes the local directly:\n\(f)")
        XCTAssertEqual(f.components(separatedBy: "copy ").count - 1, 1, "one copy (the old address):\n\(f)")
        let instance = try module.instantiate(store: Store())
        let memory = try XCTUnwrap(instance.memory("memory"))
        try memory.write([41], at: 300)
        XCTAssertEqual(try call(instance, "f", [.i32(300)]), [.i32(41)])
        XCTAssertEqual(try memory.read(at: 300, count: 1), [42], "stored at the old address")
        XCTAssertEqual(try memory.read(at: 41, count: 1), [0])
        XCTAssertEqual(try call(instance, "g", [.i32(5), .i32(7)]), [.i32(5 + 35)])
    }

    /// A result used by more than the second instruction is not fused away: `local.tee` keeps it.
    func testAFirstResultKeptInALocalIsNotFused() throws {
        let source = """
            (module (func (export "f") (param i32 i32 i32) (result i32) (local i32)
              local.get 2 local.get 0 local.get 1 i32.xor local.tee 3 i32.add local.get 3 i32.mul))
            """
        let module = try CompiledModule(bytes: Array(source.utf8))
        XCTAssertFalse(try XCTUnwrap(module.disassembly(ofFunction: 0)).contains("i32XorAdd"))
        let instance = try module.instantiate(store: Store())
        XCTAssertEqual(try call(instance, "f", [.i32(6), .i32(3), .i32(10)]), [.i32(((6 ^ 3) + 10) * (6 ^ 3))])
    }

    /// `cmp; i32.eqz; br_if` branches on the comparison with its sense flipped. For floats that is the
    /// complement of the outcomes, so a NaN operand takes the branch of `not <=` (which `>` would not).
    func testABranchOnEqzOfAComparisonIsTheNegatedComparison() throws {
        let source = """
            (module
              (func (export "fle") (param f64 f64) (result i32)
                (block (br_if 0 (i32.eqz (f64.le (local.get 0) (local.get 1)))) (return (i32.const 1))) (i32.const 0))
              (func (export "fsum") (param f64 f64 f64) (result i32)
                (if (i32.eqz (f64.le (f64.add (local.get 0) (local.get 1)) (local.get 2))) (then (return (i32.const 0))))
                (i32.const 1))
              (func (export "ilt") (param i32 i32) (result i32)
                (block (br_if 0 (i32.eqz (i32.lt_s (local.get 0) (local.get 1)))) (return (i32.const 1))) (i32.const 0))
              (func (export "eqz2") (param i32) (result i32)
                (block (br_if 0 (i32.eqz (i32.eqz (local.get 0)))) (return (i32.const 1))) (i32.const 0))
              (func (export "kept") (param f64 f64) (result i32) (local i32)
                (block (br_if 0 (local.tee 2 (i32.eqz (f64.le (local.get 0) (local.get 1))))) (return (i32.const 7)))
                (local.get 2)))
            """
        let module = try CompiledModule(bytes: Array(source.utf8))
        for function in 0..<4 {
            let code = try XCTUnwrap(module.disassembly(ofFunction: function))
            XCTAssertFalse(code.contains("Eqz") || code.contains("f64Le") || code.contains("i32LtS"), "function \(function) fused:\n\(code)")
        }
        XCTAssertTrue(try XCTUnwrap(module.disassembly(ofFunction: 1)).contains("addBrIfF64"))
        let instance = try module.instantiate(store: Store())
        let nan = Double.nan.bitPattern
        func f(_ x: Double) -> Value { .f64(x.bitPattern) }
        // 1 when the comparison holds (no branch), 0 when the negated comparison branched.
        XCTAssertEqual(try call(instance, "fle", [f(1), f(2)]), [.i32(1)])
        XCTAssertEqual(try call(instance, "fle", [f(2), f(2)]), [.i32(1)])
        XCTAssertEqual(try call(instance, "fle", [f(3), f(2)]), [.i32(0)])
        XCTAssertEqual(try call(instance, "fle", [.f64(nan), f(2)]), [.i32(0)], "not (NaN <= 2) is true")
        XCTAssertEqual(try call(instance, "fle", [f(2), .f64(nan)]), [.i32(0)])
        XCTAssertEqual(try call(instance, "fsum", [f(1), f(2), f(3)]), [.i32(1)])
        XCTAssertEqual(try call(instance, "fsum", [f(1), f(2.5), f(3)]), [.i32(0)])
        XCTAssertEqual(try call(instance, "fsum", [f(.infinity), f(-.infinity), f(3)]), [.i32(0)], "inf - inf is NaN")
        XCTAssertEqual(try call(instance, "ilt", [.i32(UInt32(bitPattern: -1)), .i32(0)]), [.i32(1)])
        XCTAssertEqual(try call(instance, "ilt", [.i32(0), .i32(UInt32(bitPattern: -1))]), [.i32(0)])
        XCTAssertEqual(try call(instance, "ilt", [.i32(5), .i32(5)]), [.i32(0)])
        XCTAssertEqual(try call(instance, "eqz2", [.i32(0)]), [.i32(1)])
        XCTAssertEqual(try call(instance, "eqz2", [.i32(0x8000_0000)]), [.i32(0)])
        // The eqz's value is still written when a local keeps it.
        XCTAssertEqual(try call(instance, "kept", [f(3), f(2)]), [.i32(1)])
        XCTAssertEqual(try call(instance, "kept", [f(1), f(2)]), [.i32(7)])
    }

    /// Every fused extended op has a handler of its own in the dispatch table (`enterUntranslated` is handed to
    /// `Store.run`), every value of a one-byte op's sub-field (bits 8..<16) reaches that op's handler, and each
    /// float branch mask has its own.
    func testTheDispatchTableCoversEveryOp() {
        let table = handlerTable
        let exit = table[Int(InternalOp.memoryGrow.rawValue)]
        func address(_ handler: Handler) -> UnsafeRawPointer { unsafeBitCast(handler, to: UnsafeRawPointer.self) }
        XCTAssertEqual(InternalOp.oneByteOpCount, 255)
        XCTAssertNil(InternalOp(rawValue: UInt16((InternalOp.extendedOpCount + 1) << 8 | 0xFF)))
        for k in 1...InternalOp.extendedOpCount {
            let op = InternalOp(rawValue: UInt16(k << 8 | 0xFF))
            XCTAssertNotNil(op, "extended op \(k)")
            if op == .enterUntranslated {
                XCTAssertEqual(address(table[k << 8 | 0xFF]), address(exit), "enterUntranslated runs in Store.run")
            } else {
                XCTAssertNotEqual(address(table[k << 8 | 0xFF]), address(exit), "extended op \(k) has a handler")
            }
            XCTAssertEqual(op.flatMap { InternalOp.decode(UInt64($0.rawValue) | 0x1234_5678_0000) }, op)
        }
        // A SIMD op's code is in bits 8..<16: every code reaches the one v128 handler.
        let simd = Int(InternalOp.v128.rawValue)
        XCTAssertNotEqual(address(table[simd]), address(exit))
        for high in stride(from: 0x100, to: 0x10000, by: 0x100) {
            XCTAssertEqual(address(table[high | simd]), address(table[simd]))
        }
        // The float compare-and-branch ops have a handler of their own per outcome mask (bits 8..<12).
        for op in [InternalOp.brIfF32, .brIfF64, .addBrIfF32, .addBrIfF64] {
            let handlers = Set((0..<16).map { address(table[Int(op.rawValue) | $0 << 8]) })
            XCTAssertEqual(handlers.count, 16, "\(op)")
            XCTAssertFalse(handlers.contains(address(exit)))
        }
        XCTAssertEqual(InternalOp.oneByte(UInt64(InternalOp.returnValue.rawValue) | 0xAB00), .returnValue)
    }
}
