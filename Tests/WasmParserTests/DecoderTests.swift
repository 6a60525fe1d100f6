import XCTest
@testable import WasmParser

/// The binary format's module structure: preamble, sections, and what each section holds.
final class DecoderTests: XCTestCase {
    let preamble: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]

    func testEmptyModuleDecodes() throws {
        let module = try Module.load(preamble)
        XCTAssertTrue(module.types.isEmpty)
        XCTAssertTrue(module.codes.isEmpty)
    }

    func testPreambleErrors() {
        XCTAssertEqual(loadError([])?.message, "unexpected end")
        XCTAssertEqual(loadError([0x00, 0x61, 0x73])?.message, "unexpected end")
        XCTAssertEqual(loadError([0x01, 0x61, 0x73, 0x6D, 1, 0, 0, 0])?.message, "magic header not detected")
        XCTAssertEqual(loadError([0x00, 0x61, 0x73, 0x6D, 2, 0, 0, 0])?.message, "unknown binary version")
    }

    func testErrorDescriptionNamesOffsetAndKind() {
        let error = loadError(preamble + [0x01, 0x05, 0x01])
        XCTAssertEqual(error?.kind, .malformed)
        XCTAssertEqual(error?.description, "malformed module at offset 0x9: length out of bounds")
    }

    func testSectionOrderAndIDs() {
        var b = ModuleBuilder()
        b.section(3, [0])
        b.section(1, [0])
        XCTAssertEqual(loadError(b.bytes)?.message, "unexpected content after last section")
        XCTAssertEqual(loadError(preamble + [0x0E, 0x00])?.message, "malformed section id")
        // Section 13 holds tags (exception handling): with WebAssembly 2.0 it is unknown, and says why.
        XCTAssertEqual(loadError(preamble + [0x0D, 0x00], features: .wasm2)?.message,
                       "malformed section id (the tag section needs the exceptions feature)")
        // Custom sections may appear anywhere, any number of times.
        var c = ModuleBuilder()
        c.section(0, ModuleBuilder.name("a") + [1, 2, 3])
        c.section(1, [0])
        c.section(0, ModuleBuilder.name("b"))
        XCTAssertNil(loadError(c.bytes))
    }

    func testSectionSizeMustBeConsumedExactly() {
        var b = ModuleBuilder()
        b.section(1, [0, 0])  // an empty type vector followed by a stray byte
        XCTAssertEqual(loadError(b.bytes)?.message, "section size mismatch")
    }

    func testFunctionAndCodeCountsMustAgree() {
        var b = ModuleBuilder()
        b.types([([], [])])
        b.section(3, [2, 0, 0])
        b.section(10, [1, 2, 0, 0x0B])
        XCTAssertEqual(loadError(b.bytes)?.message, "function and code section have inconsistent lengths")
    }

    func testDecodesImportsExportsAndGlobals() throws {
        var b = ModuleBuilder()
        b.types([([.i32], [.i64])])
        b.section(2, [2] + ModuleBuilder.name("env") + ModuleBuilder.name("f") + [0x00, 0x00]
                  + ModuleBuilder.name("env") + ModuleBuilder.name("g") + [0x03, 0x7F, 0x00])
        b.section(6, [1, 0x7E, 0x01, 0x42, 0x2A, 0x0B])
        b.section(7, [1] + ModuleBuilder.name("f") + [0x00, 0x00])
        let module = try Module.load(b.bytes)
        XCTAssertEqual(module.imports.map(\.name), ["f", "g"])
        XCTAssertEqual(module.imports[1].descriptor, .global(GlobalType(valueType: .i32, mutability: .constant)))
        XCTAssertEqual(module.globals.first?.type, GlobalType(valueType: .i64, mutability: .variable))
        XCTAssertEqual(module.globals.first?.initializer.instructions, [Instruction(.i64Const, .i64(42))])
        XCTAssertEqual(module.exports, [Export(name: "f", kind: .function, index: 0)])
    }

    func testAllEightElementEncodings() throws {
        // One table, one function; each segment kind 0...7 once.
        var b = ModuleBuilder()
        b.types([([], [])])
        b.section(3, [1, 0])
        b.section(4, [1, 0x70, 0x00, 0x01])
        let offset: [UInt8] = [0x41, 0x00, 0x0B]
        let refFunc: [UInt8] = [0xD2, 0x00, 0x0B]
        var segments: [[UInt8]] = []
        segments.append([0] + offset + [1, 0])
        segments.append([1, 0x00, 1, 0])
        segments.append([2, 0] + offset + [0x00, 1, 0])
        segments.append([3, 0x00, 1, 0])
        segments.append([4] + offset + [1] + refFunc)
        segments.append([5, 0x70, 1] + refFunc)
        segments.append([6, 0] + offset + [0x70, 1] + refFunc)
        segments.append([7, 0x70, 1] + refFunc)
        b.section(9, [UInt8(segments.count)] + segments.flatMap { $0 })
        b.section(10, [1, 2, 0, 0x0B])
        let module = try Module.load(b.bytes)
        XCTAssertEqual(module.elements.count, 8)
        XCTAssertEqual(module.elements[0].mode, .active(table: 0, offset: ConstantExpression(instructions: [Instruction(.i32Const, .i32(0))], offset: module.elements[0].mode.offsetExpressionOffset)))
        XCTAssertEqual(module.elements[1].mode, .passive)
        XCTAssertEqual(module.elements[3].mode, .declarative)
        XCTAssertEqual(module.elements[4].initializers, .expressions([ConstantExpression(instructions: [Instruction(.refFunc, .index(0))], offset: module.elements[4].initializers.firstOffset)]))
        XCTAssertEqual(module.elements[7].mode, .declarative)
    }

    func testDataSegmentsAndDataCount() throws {
        var b = ModuleBuilder()
        b.memory(min: 1)
        b.section(12, [2])
        b.section(11, [2, 0, 0x41, 0x08, 0x0B, 3, 0x61, 0x62, 0x63, 1, 2, 0x78, 0x79])
        let module = try Module.load(b.bytes)
        XCTAssertEqual(module.data.count, 2)
        XCTAssertEqual(Array(module.bytes(of: module.data[0])), Array("abc".utf8))
        XCTAssertEqual(module.data[1].mode, .passive)
        var mismatch = ModuleBuilder()
        mismatch.memory(min: 1)
        mismatch.section(12, [3])
        mismatch.section(11, [1, 1, 0])
        XCTAssertEqual(loadError(mismatch.bytes)?.message, "data count and data section have inconsistent lengths")
    }

    func testNameSectionIsDecodedAndMalformedOneIgnored() throws {
        var b = ModuleBuilder()
        b.types([([], [])])
        b.functions([(0, [(1, .i32)], [])])
        let functionNames: [UInt8] = [1, 0] + ModuleBuilder.name("main")
        let localNames: [UInt8] = [1, 0, 1, 0] + ModuleBuilder.name("x")
        b.section(0, ModuleBuilder.name("name") + [1] + ModuleBuilder.uleb(UInt64(functionNames.count)) + functionNames
                  + [2] + ModuleBuilder.uleb(UInt64(localNames.count)) + localNames)
        let module = try Module.load(b.bytes)
        XCTAssertEqual(module.names?.functionNames[0], "main")
        XCTAssertEqual(module.names?.localNames[0]?[0], "x")

        var broken = ModuleBuilder()
        broken.section(0, ModuleBuilder.name("name") + [1, 0x7F, 0x01])
        let loaded = try Module.load(broken.bytes)
        XCTAssertNil(loaded.names, "a malformed name section is ignored, not fatal")
        XCTAssertEqual(loaded.customSections.map(\.name), ["name"])
    }

    func testNamesMustBeValidUTF8() {
        var b = ModuleBuilder()
        b.section(0, [2, 0xC0, 0x80])  // overlong encoding of NUL
        XCTAssertEqual(loadError(b.bytes)?.message, "malformed UTF-8 encoding")
        var surrogate = ModuleBuilder()
        surrogate.section(0, [3, 0xED, 0xA0, 0x80])
        XCTAssertEqual(loadError(surrogate.bytes)?.message, "malformed UTF-8 encoding")
    }

    func testEveryOpcodeRoundTripsThroughTheTable() {
        // The generated lookup tables and the opcode info agree for every instruction.
        for opcode in Opcode.allCases {
            let info = opcode.info
            switch info.prefix {
            case 0: XCTAssertEqual(Opcode.singleByte[Int(info.code)], opcode, opcode.mnemonic)
            case 0xFB: XCTAssertEqual(Opcode.prefixFB[Int(info.code)], opcode, opcode.mnemonic)
            case 0xFC: XCTAssertEqual(Opcode.prefixFC[Int(info.code)], opcode, opcode.mnemonic)
            default: XCTAssertEqual(Opcode.prefixFD[Int(info.code)], opcode, opcode.mnemonic)
            }
        }
        XCTAssertEqual(Opcode.allCases.filter { $0.info.prefix == 0xFD && $0.info.feature.isEmpty }.count, 236, "all fixed-width SIMD instructions")
        XCTAssertEqual(Opcode.allCases.filter { $0.info.feature == .relaxedSIMD }.count, 20, "all relaxed SIMD instructions")
        XCTAssertEqual(Opcode.allCases.filter { $0.info.prefix == 0xFB }.count, 31, "all 0xFB (GC) instructions")
        XCTAssertEqual(Opcode.i32Add.mnemonic, "i32.add")
    }

    func testIllegalOpcode() {
        XCTAssertEqual(loadError(ModuleBuilder.function(body: [0x17]))?.message, "illegal opcode 17")
        XCTAssertEqual(loadError(ModuleBuilder.function(body: [0xFC, 0x12]))?.message, "illegal opcode fc 12")
        // A 3.0 instruction is illegal in a 2.0 engine, with the spec's words and the feature's name.
        XCTAssertEqual(loadError(ModuleBuilder.function(body: [0x06, 0x40, 0x0B]), features: .wasm2)?.message,
                       "illegal opcode 6 (try needs the legacy-exceptions feature)")
        XCTAssertEqual(loadError(ModuleBuilder.function(body: [0x12, 0x00]), features: .wasm2)?.message,
                       "illegal opcode 12 (return_call needs the tail-call feature)")
        XCTAssertNil(loadError(ModuleBuilder.function(body: [0x12, 0x00])), "return_call is WebAssembly 3.0")
    }
}

extension ElementSegment.Mode {
    var offsetExpressionOffset: Int {
        if case .active(_, let e) = self { return e.offset }
        return -1
    }
}

extension ElementSegment.Initializers {
    var firstOffset: Int {
        if case .expressions(let e) = self { return e.first?.offset ?? -1 }
        return -1
    }
}
