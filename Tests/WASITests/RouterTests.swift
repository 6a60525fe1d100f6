import Foundation
import WASI
import WasmParser
import WasmTestSupport
import WasmVM
import XCTest

/// `WASI.Router`: preview1 functions defined once in a kept instance's store, each call served by the WASI
/// context of the run in progress — its arguments, environment, stdin and stdout, never another run's.
final class WASIRouterTests: XCTestCase {
    /// Reads stdin into 64..., writes what it read to stdout, then the first argument's length as a byte.
    static let source = """
        (module
          (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 64))
            (i32.store (i32.const 4) (i32.const 100))
            (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 4) (i32.load (i32.const 8)))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
            (drop (call $sizes (i32.const 16) (i32.const 20)))
            (i32.store8 (i32.const 200) (i32.add (i32.const 48) (i32.load (i32.const 20))))
            (i32.store (i32.const 0) (i32.const 200))
            (i32.store (i32.const 4) (i32.const 1))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))))
        """

    func testEachRunIsServedByItsOwnContext() throws {
        let module = try CompiledModule(bytes: Array(Self.source.utf8))
        let plan = try XCTUnwrap(WASI.plan(for: module))
        let router = WASI.Router()
        let kept = try XCTUnwrap(try ReusableInstance.make(module) { router.importValues(plan, store: $0) })
        for (input, argument) in [("first", "ab"), ("second run", "abcd"), ("", "")] {
            var configuration = WASI.Configuration()
            let stdout = OutputBuffer(limit: 1 << 20)
            configuration.stdout = .buffer(stdout)
            configuration.stdin = .bytes(Array(input.utf8))
            configuration.arguments = ["prog", argument]
            let wasi = try WASI(configuration)
            router.current = wasi
            XCTAssertEqual(try wasi.start(kept.instance), 0)
            router.current = nil
            // argv is "prog\0" + argument + "\0": its size says which context answered.
            XCTAssertEqual(String(decoding: stdout.bytes, as: UTF8.self), input + String(UnicodeScalar(UInt8(48 + 6 + argument.utf8.count))))
            XCTAssertTrue(kept.reset())
        }
    }

    /// `proc_exit` unwinds from inside a host call; the instance must still reset and serve the next run.
    func testAnInstanceThatExitedResets() throws {
        let source = """
            (module
              (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
              (memory 1)
              (global $runs (mut i32) (i32.const 0))
              (func (export "_start")
                (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
                (call $exit (i32.add (i32.const 6) (global.get $runs)))))
            """
        let module = try CompiledModule(bytes: Array(source.utf8))
        let plan = try XCTUnwrap(WASI.plan(for: module))
        let router = WASI.Router()
        let kept = try XCTUnwrap(try ReusableInstance.make(module) { router.importValues(plan, store: $0) })
        for _ in 0..<3 {
            let wasi = try WASI(WASI.Configuration())
            router.current = wasi
            XCTAssertEqual(try wasi.start(kept.instance), 7, "the global is back to 0 each time")
            router.current = nil
            XCTAssertTrue(kept.reset())
        }
    }

    func testACallOutsideARunTraps() throws {
        let module = try CompiledModule(bytes: Array(Self.source.utf8))
        let plan = try XCTUnwrap(WASI.plan(for: module))
        let router = WASI.Router()
        let kept = try XCTUnwrap(try ReusableInstance.make(module) { router.importValues(plan, store: $0) })
        XCTAssertThrowsError(try kept.instance.function("_start")!.invoke()) {
            XCTAssertTrue("\($0)".contains("fd_read called outside a run: no WASI context"), "\($0)")
        }
    }
}
