import XCTest
@testable import WasmParser

/// Validation rules, each checked with a module that obeys it and one that breaks it.
final class ValidatorTests: XCTestCase {
    func assertValid(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        if let error = loadError(bytes) { XCTFail("expected valid, got \(error)", file: file, line: line) }
    }

    func assertInvalid(_ bytes: [UInt8], _ message: String, features: Features = .wasm3, file: StaticString = #filePath, line: UInt = #line) {
        guard let error = loadError(bytes, features: features) else { return XCTFail("expected \(message), module loaded", file: file, line: line) }
        XCTAssertEqual(error.kind, .invalid, "\(error)", file: file, line: line)
        XCTAssertTrue(error.message.contains(message), "expected \(message), got \(error)", file: file, line: line)
    }

    func testNumericInstructionsAreTypedByTheirSignature() {
        assertValid(ModuleBuilder.function([.i32, .i32], [.i32], body: [0x20, 0, 0x20, 1, 0x6A]))  // i32.add
        assertInvalid(ModuleBuilder.function([.i32, .i64], [.i32], body: [0x20, 0, 0x20, 1, 0x6A]), "type mismatch")
        assertInvalid(ModuleBuilder.function([], [.i32], body: [0x6A]), "type mismatch")
    }

    /// An unknown operand in unreachable code is still a reference once `ref.as_non_null` or `br_on_null`
    /// has taken it: the spec's `(ref bot)`, which matches every reference type and no number type.
    /// (Found by fuzzing against wasm-tools: Nebula pushed "unknown" and accepted the i32.popcnt.)
    func testNonNullOfAnUnknownOperandIsAReference() throws {
        func module(_ text: String) throws -> [UInt8] { try Module.parse(text: Array(text.utf8)).encode() }
        assertInvalid(try module("(module (func (result i32) unreachable ref.as_non_null i32.popcnt))"), "type mismatch")
        assertValid(try module("(module (func (result funcref) unreachable ref.as_non_null))"))
        assertValid(try module("(module (func (result externref) unreachable ref.as_non_null))"))
        assertInvalid(try module("(module (func (result i32) (block unreachable br_on_null 0 i32.eqz drop) i32.const 0))"), "type mismatch")
        assertValid(try module("(module (func (result (ref func)) (block unreachable br_on_null 0 return) unreachable))"))
    }

    /// Chains of declared supertypes are at most 63 deep (a cast walks the chain; a hostile module could
    /// otherwise declare a million-deep one).
    func testSubtypingDepthIsLimited() throws {
        func chain(_ depth: Int) throws -> [UInt8] {
            var text = "(module (type $t0 (sub (struct))) "
            for i in 1...depth { text += "(type $t\(i) (sub $t\(i - 1) (struct))) " }
            return try Module.parse(text: Array((text + ")").utf8)).encode()
        }
        assertValid(try chain(63))
        assertInvalid(try chain(64), "subtype depth of type 64 exceeds the limit of 63")
    }

    /// GC instructions are typed by the types they name: packed fields need get_s/get_u, set needs a mutable
    /// field, struct.new takes every field, casts stay in one hierarchy, br_on_cast's target is a subtype.
    func testGCInstructionRules() throws {
        func module(_ body: String) throws -> [UInt8] {
            try Module.parse(text: Array("""
                (module
                  (type $p (struct (field i8) (field (mut i32))))
                  (type $a (array i16))
                  (type $f (func))
                  (func (param $s (ref $p)) (param $x anyref) (param $e externref) (result i32) \(body)))
                """.utf8)).encode()
        }
        assertValid(try module("(struct.get_s $p 0 (local.get $s))"))
        assertInvalid(try module("(struct.get $p 0 (local.get $s))"), "packed field")
        assertInvalid(try module("(struct.get_u $p 1 (local.get $s))"), "packed field")
        assertInvalid(try module("(struct.set $p 0 (local.get $s) (i32.const 1)) (i32.const 0)"), "immutable field")
        assertInvalid(try module("(struct.get $p 2 (local.get $s))"), "unknown field 2")
        assertInvalid(try module("(struct.get $p 1 (struct.new $p (i32.const 1)))"), "type mismatch")
        assertInvalid(try module("(array.set $a (array.new_default $a (i32.const 1)) (i32.const 0) (i32.const 1)) (i32.const 0)"), "immutable array")
        assertValid(try module("(ref.test (ref $p) (local.get $x))"))
        assertInvalid(try module("(ref.test (ref $p) (local.get $e))"), "type mismatch")
        assertInvalid(try module("(ref.test (ref $f) (local.get $x))"), "type mismatch")
        assertValid(try module("(block (result (ref $p)) (br_on_cast 0 anyref (ref $p) (local.get $x)) (drop) (local.get $s)) (drop) (i32.const 0)"))
        assertInvalid(try module("(block (result eqref) (br_on_cast 0 eqref anyref (local.get $x))) (drop) (i32.const 0)"), "not a subtype")
        assertValid(try module("(ref.eq (ref.i31 (i32.const 1)) (local.get $s))"))
        assertInvalid(try module("(ref.eq (local.get $x) (local.get $s))"), "type mismatch")
        assertValid(try module("(ref.is_null (any.convert_extern (local.get $e)))"))
    }

    func testFunctionResultsMustMatchExactly() {
        assertInvalid(ModuleBuilder.function([], [.i32], body: []), "type mismatch")
        assertInvalid(ModuleBuilder.function([], [], body: [0x41, 1]), "type mismatch")
    }

    func testUnreachableMakesTheStackPolymorphic() {
        // unreachable; i32.add; produces i32 from nothing.
        assertValid(ModuleBuilder.function([], [.i32], body: [0x00, 0x6A]))
        // But known operands are still checked: (f32.const 0) i32.add after unreachable is wrong.
        assertInvalid(ModuleBuilder.function([], [.i32], body: [0x00, 0x43, 0, 0, 0, 0, 0x6A]), "type mismatch")
    }

    func testLocalsAndGlobals() {
        assertValid(ModuleBuilder.function([.i32], [.i64], locals: [(2, .i64)], body: [0x20, 2]))
        assertInvalid(ModuleBuilder.function([.i32], [], locals: [(2, .i64)], body: [0x20, 3, 0x1A]), "unknown local 3")
    }

    func testLocalsInGroupsAreLookedUpWithoutExpansion() {
        // 49,998 i32 locals then one i64 (the limit is 50,000 with parameters): local.get of the last is i64.
        assertValid(ModuleBuilder.function([], [.i64], locals: [(49_998, .i32), (1, .i64)], body: [0x20] + ModuleBuilder.uleb(49_998)))
        assertInvalid(ModuleBuilder.function([], [.i64], locals: [(49_998, .i32), (1, .i64)], body: [0x20] + ModuleBuilder.uleb(49_997)), "type mismatch")
        // Millions are beyond the implementation limit (HostileInputTests has the details).
        assertInvalid(ModuleBuilder.function([], [.i64], locals: [(3_000_000, .i32), (1, .i64)], body: [0x20] + ModuleBuilder.uleb(3_000_000)), "too many locals")
    }

    func testTooManyLocalsIsMalformed() {
        let bytes = ModuleBuilder.function([], [], locals: [(UInt32.max, .i32), (UInt32.max, .i32)], body: [])
        XCTAssertEqual(loadError(bytes)?.message, "too many locals")
        XCTAssertEqual(loadError(bytes)?.kind, .malformed)
    }

    func testBlocksBranchesAndLabels() {
        // (block (result i32) (i32.const 1) (br 0))
        assertValid(ModuleBuilder.function([], [.i32], body: [0x02, 0x7F, 0x41, 1, 0x0C, 0, 0x0B]))
        // A branch to a label that does not exist.
        assertInvalid(ModuleBuilder.function([], [], body: [0x0C, 1]), "unknown label")
        // loop labels carry the loop's parameters (none here), so br 0 in a loop needs no value.
        assertValid(ModuleBuilder.function([], [], body: [0x03, 0x40, 0x0C, 0, 0x0B]))
        // if without else must have matching parameter and result types.
        assertInvalid(ModuleBuilder.function([], [.i32], body: [0x41, 1, 0x04, 0x7F, 0x41, 2, 0x0B]), "type mismatch")
    }

    func testBrTableArityMustAgree() {
        // (block (result i32) (block (i32.const 0) (br_table 0 1 (i32.const 0)))) — targets of arity 0 and 1.
        let body: [UInt8] = [0x02, 0x7F, 0x02, 0x40, 0x41, 0, 0x41, 0, 0x0E, 1, 0, 1, 0x0B, 0x41, 0, 0x0B]
        assertInvalid(ModuleBuilder.function([], [.i32], body: body), "type mismatch")
    }

    func testSelect() {
        assertValid(ModuleBuilder.function([], [.i64], body: [0x42, 1, 0x42, 2, 0x41, 0, 0x1B]))
        assertInvalid(ModuleBuilder.function([], [.i64], body: [0x42, 1, 0x41, 2, 0x41, 0, 0x1B]), "type mismatch")
        assertInvalid(ModuleBuilder.function([], [], body: [0x42, 1, 0x42, 2, 0x41, 0, 0x1C, 2, 0x7E, 0x7E, 0x1A]), "invalid result arity")
    }

    func testMemoryInstructionsNeedAMemoryAndNaturalAlignment() {
        assertInvalid(ModuleBuilder.function([], [.i32], body: [0x41, 0, 0x28, 2, 0]), "unknown memory")
        assertValid(ModuleBuilder.function([], [.i32], memory: true, body: [0x41, 0, 0x28, 2, 0]))
        assertInvalid(ModuleBuilder.function([], [.i32], memory: true, body: [0x41, 0, 0x28, 3, 0]), "alignment must not be larger than natural")
    }

    func testMemoryLimits() {
        var b = ModuleBuilder()
        b.memory(min: 65537)
        assertInvalid(b.bytes, "memory size must be at most 65536 pages (4GiB)")
        var c = ModuleBuilder()
        c.memory(min: 2, max: 1)
        assertInvalid(c.bytes, "size minimum must not be greater than maximum")
        var d = ModuleBuilder()
        d.section(5, [2, 0, 1, 0, 1])
        assertInvalid(d.bytes, "multiple memories", features: .wasm2)
        assertValid(d.bytes)  // multiple memories are WebAssembly 3.0
    }

    func testConstantExpressions() {
        var b = ModuleBuilder()
        b.section(6, [1, 0x7F, 0x00, 0x41, 1, 0x41, 2, 0x6A, 0x0B])  // i32.add is not constant in 2.0
        assertInvalid(b.bytes, "constant expression required", features: .wasm2)
        assertValid(b.bytes)  // extended constant expressions (3.0)
        var c = ModuleBuilder()
        c.section(6, [1, 0x7F, 0x00, 0x42, 1, 0x0B])
        assertInvalid(c.bytes, "type mismatch")
        var d = ModuleBuilder()
        d.section(6, [2, 0x7F, 0x00, 0x41, 1, 0x0B, 0x7F, 0x00, 0x23, 0, 0x0B])  // global.get of a non-imported global
        assertInvalid(d.bytes, "unknown global 0", features: .wasm2)
        assertValid(d.bytes)  // 3.0: an earlier global
        var e = ModuleBuilder()
        e.section(6, [2, 0x7F, 0x00, 0x23, 1, 0x0B, 0x7F, 0x00, 0x41, 1, 0x0B])  // a later global: unknown in 3.0 too
        assertInvalid(e.bytes, "unknown global 1")
    }

    func testStartFunctionAndExports() {
        var b = ModuleBuilder()
        b.types([([.i32], [])])
        b.section(3, [1, 0])
        b.section(8, [0])
        b.section(10, [1, 2, 0, 0x0B])
        assertInvalid(b.bytes, "start function")
        var c = ModuleBuilder()
        c.types([([], [])])
        c.section(3, [1, 0])
        c.section(7, [2] + ModuleBuilder.name("a") + [0, 0] + ModuleBuilder.name("a") + [0, 0])
        c.section(10, [1, 2, 0, 0x0B])
        assertInvalid(c.bytes, "duplicate export name")
    }

    func testGlobalSetNeedsAMutableGlobal() {
        var b = ModuleBuilder()
        b.types([([], [])])
        b.section(3, [1, 0])
        b.section(6, [1, 0x7F, 0x00, 0x41, 0, 0x0B])
        b.section(10, [1, 6, 0, 0x41, 1, 0x24, 0, 0x0B])
        assertInvalid(b.bytes, "global is immutable")
    }

    func testRefFuncNeedsADeclaration() {
        // Function 0 refers to itself without being declared in an element segment or export.
        assertInvalid(ModuleBuilder.function([], [], body: [0xD2, 0, 0x1A]), "undeclared function reference")
        var b = ModuleBuilder()
        b.types([([], [])])
        b.section(3, [1, 0])
        b.section(7, [1] + ModuleBuilder.name("f") + [0, 0])
        b.section(10, [1, 4, 0, 0xD2, 0, 0x1A, 0x0B].enumerated().map { $0.offset == 1 ? 5 : $0.element })
        assertValid(b.bytes)
    }

    func testBulkMemoryNeedsTheDataCountSection() {
        // memory.init 0 with a data segment but no data count section: malformed, as the binary format requires.
        var b = ModuleBuilder()
        b.types([([], [])])
        b.section(3, [1, 0])
        b.memory(min: 1)
        b.section(10, [1, 12, 0, 0x41, 0, 0x41, 0, 0x41, 0, 0xFC, 8, 0, 0, 0x0B])
        b.section(11, [1, 1, 0])
        XCTAssertEqual(loadError(b.bytes)?.message, "data count section required")
        XCTAssertEqual(loadError(b.bytes)?.kind, .malformed)
    }

    func testSIMDLanesAndShuffle() {
        // v128.const 0; i8x16.extract_lane_u 15 is valid, lane 16 is not.
        let zero = [UInt8](repeating: 0, count: 16)
        assertValid(ModuleBuilder.function([], [.i32], body: [0xFD, 0x0C] + zero + [0xFD, 0x16, 15]))
        assertInvalid(ModuleBuilder.function([], [.i32], body: [0xFD, 0x0C] + zero + [0xFD, 0x16, 16]), "invalid lane index")
        var lanes = [UInt8](0..<16)
        lanes[3] = 32
        assertInvalid(ModuleBuilder.function([], [.v128], body: [0xFD, 0x0C] + zero + [0xFD, 0x0C] + zero + [0xFD, 0x0D] + lanes), "invalid lane index")
    }

    func testErrorsNameTheFunction() {
        let error = loadError(ModuleBuilder.function([], [.i32], body: [0x42, 0]))
        XCTAssertEqual(error?.functionIndex, 0)
        XCTAssertTrue(error?.description.hasPrefix("invalid module: function 0 at offset 0x") ?? false, "\(String(describing: error))")
    }
}
