import XCTest
@testable import WasmParser

/// LEB128 per the spec's binary format, section "Integers": at most ceil(N/7) bytes, and unused bits of the
/// last byte zero (unsigned) or equal to the sign (signed).
final class LEB128Tests: XCTestCase {
    func readU32(_ bytes: [UInt8]) throws -> UInt32 {
        var r = ByteReader(bytes: bytes)
        let v = try r.readVarUInt32()
        XCTAssertTrue(r.isAtEnd, "all bytes consumed")
        return v
    }

    func readS32(_ bytes: [UInt8]) throws -> Int32 {
        var r = ByteReader(bytes: bytes)
        return try r.readVarInt32()
    }

    func readS64(_ bytes: [UInt8]) throws -> Int64 {
        var r = ByteReader(bytes: bytes)
        return try r.readVarInt64()
    }

    func message(_ body: () throws -> Any) -> String? {
        do { _ = try body(); return nil } catch let e as WasmParserError { return e.message } catch { return "\(error)" }
    }

    func testUnsigned32() throws {
        XCTAssertEqual(try readU32([0x00]), 0)
        XCTAssertEqual(try readU32([0x7F]), 127)
        XCTAssertEqual(try readU32([0x80, 0x01]), 128)
        XCTAssertEqual(try readU32([0x80, 0x80, 0x80, 0x80, 0x00]), 0, "padded zero is allowed up to 5 bytes")
        XCTAssertEqual(try readU32([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), UInt32.max)
        XCTAssertEqual(message { try self.readU32([0xFF, 0xFF, 0xFF, 0xFF, 0x1F]) }, "integer too large")
        XCTAssertEqual(message { try self.readU32([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]) }, "integer representation too long")
        XCTAssertEqual(message { try self.readU32([0x80]) }, "unexpected end of section or function")
    }

    func testSigned32() throws {
        XCTAssertEqual(try readS32([0x7F]), -1)
        XCTAssertEqual(try readS32([0x3F]), 63)
        XCTAssertEqual(try readS32([0xC0, 0x00]), 64)
        XCTAssertEqual(try readS32([0x80, 0x80, 0x80, 0x80, 0x78]), Int32.min)
        XCTAssertEqual(try readS32([0xFF, 0xFF, 0xFF, 0xFF, 0x07]), Int32.max)
        XCTAssertEqual(try readS32([0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), -1, "sign-padded -1 in 5 bytes")
        XCTAssertEqual(message { try self.readS32([0xFF, 0xFF, 0xFF, 0xFF, 0x4F]) }, "integer too large")
        XCTAssertEqual(message { try self.readS32([0x80, 0x80, 0x80, 0x80, 0x70]) }, "integer too large")
        XCTAssertEqual(message { try self.readS32([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]) }, "integer representation too long")
    }

    func testSigned64() throws {
        XCTAssertEqual(try readS64([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F]), Int64.min)
        XCTAssertEqual(try readS64([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]), Int64.max)
        XCTAssertEqual(message { try self.readS64([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) }, "integer too large")
        XCTAssertEqual(message { try self.readS64(Array(repeating: 0x80, count: 10) + [0x00]) }, "integer representation too long")
    }

    func testRoundTripsBuilderEncodings() throws {
        for v in [0, 1, -1, 63, 64, -64, -65, Int64(Int32.max), Int64(Int32.min)] {
            XCTAssertEqual(Int64(try readS32(ModuleBuilder.sleb(v))), v)
        }
        for v in [Int64.max, Int64.min, 1 << 40, -(1 << 40)] {
            XCTAssertEqual(try readS64(ModuleBuilder.sleb(v)), v)
        }
    }
}
