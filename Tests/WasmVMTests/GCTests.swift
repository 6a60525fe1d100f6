import WasmParser
import XCTest
@testable import WasmVM

/// Garbage collection (WebAssembly 3.0): the type rules that hold at run time (casts, canonical types across
/// recursion groups and modules), the storage rules (packed fields, array bounds, overlapping copies), and
/// the collector's promise — what is reachable survives, through every kind of root, and what is not is
/// reclaimed. Tests that depend on a root run with `gcStress` (a collection at every allocation, freed objects
/// poisoned), so a missed root fails them instead of going unnoticed.
final class GCTests: XCTestCase {
    /// A store that collects at every allocation and poisons what it frees (a missed root traps).
    func stressedStore() -> Store {
        var limits = ResourceLimits()
        limits.gcStress = true
        return Store(limits: limits)
    }

    func store(maxGCHeapBytes: Int) -> Store {
        var limits = ResourceLimits()
        limits.maxGCHeapBytes = maxGCHeapBytes
        return Store(limits: limits)
    }

    // MARK: Types at run time

    func testCastsCompareTypesByRecursionGroupAndPosition() throws {
        // $a1 and $a2 are the same type (identical groups, same position); $b is the second type of its group,
        // so it differs from $a1 although its own definition looks the same.
        let m = try instance("""
            (module
              (rec (type $a1 (struct (field i32))))
              (rec (type $a2 (struct (field i32))))
              (rec (type $x (struct (field i64))) (type $b (struct (field i32))))
              (func (export "a1_as_a2") (result i32)
                (ref.test (ref $a2) (struct.new $a1 (i32.const 1))))
              (func (export "b_as_a1") (result i32)
                (ref.test (ref $a1) (struct.new $b (i32.const 1))))
              (func (export "cast_b_to_a1") (result i32)
                (struct.get $a1 0 (ref.cast (ref $a1) (struct.new $b (i32.const 1))))))
            """)
        XCTAssertEqual(try call(m, "a1_as_a2"), [.i32(1)])
        XCTAssertEqual(try call(m, "b_as_a1"), [.i32(0)])
        XCTAssertEqual(trapMessage { try call(m, "cast_b_to_a1") }, "cast failure")
    }

    func testSubtypesPassCastsToTheirSupertypesOnly() throws {
        let m = try instance("""
            (module
              (type $point (sub (struct (field i32) (field i32))))
              (type $colored (sub final $point (struct (field i32) (field i32) (field i32))))
              (func (export "test") (param i32) (result i32 i32 i32 i32)
                (local $p anyref)
                (local.set $p (if (result anyref) (local.get 0)
                  (then (struct.new $colored (i32.const 1) (i32.const 2) (i32.const 3)))
                  (else (struct.new $point (i32.const 1) (i32.const 2)))))
                (ref.test (ref $point) (local.get $p))
                (ref.test (ref $colored) (local.get $p))
                (ref.test (ref struct) (local.get $p))
                (ref.test (ref array) (local.get $p))))
            """)
        XCTAssertEqual(try call(m, "test", [.i32(1)]), [.i32(1), .i32(1), .i32(1), .i32(0)])
        XCTAssertEqual(try call(m, "test", [.i32(0)]), [.i32(1), .i32(0), .i32(1), .i32(0)])
    }

    func testTypesAreCanonicalAcrossModules() throws {
        // Two modules define the same recursive pair independently; a struct made by one is of the other's
        // type, and the import of a function typed with it links.
        let store = Store()
        let maker = try instance("""
            (module
              (rec (type $node (struct (field i32) (field (ref null $tree))))
                   (type $tree (struct (field (ref null $node)))))
              (func (export "make") (param i32) (result (ref null $node))
                (struct.new $node (local.get 0) (ref.null $tree)))
              (global (export "root") (ref $node) (struct.new $node (i32.const 7) (ref.null $tree))))
            """, store: store)
        var imports = Imports()
        imports.define(module: "m", name: "make", .function(try XCTUnwrap(maker.function("make"))))
        imports.define(module: "m", name: "root", .global(try XCTUnwrap(maker.global("root"))))
        let user = try instance("""
            (module
              (rec (type $node (struct (field i32) (field (ref null $tree))))
                   (type $tree (struct (field (ref null $node)))))
              (import "m" "make" (func $make (param i32) (result (ref null $node))))
              (import "m" "root" (global $root (ref $node)))
              (func (export "value") (param i32) (result i32)
                (struct.get $node 0 (ref.cast (ref $node) (call $make (local.get 0)))))
              (func (export "root") (result i32) (struct.get $node 0 (global.get $root))))
            """, store: store, imports: imports)
        XCTAssertEqual(try call(user, "value", [.i32(41)]), [.i32(41)])
        XCTAssertEqual(try call(user, "root"), [.i32(7)])
        // A different group shape does not link.
        var mismatch = Imports()
        mismatch.define(module: "m", name: "make", .function(try XCTUnwrap(maker.function("make"))))
        XCTAssertThrowsError(try instance("""
            (module
              (rec (type $node (struct (field i64) (field (ref null $tree))))
                   (type $tree (struct (field (ref null $node)))))
              (import "m" "make" (func $make (param i32) (result (ref null $node)))))
            """, store: store, imports: mismatch))
    }

    // MARK: Storage

    func testPackedFieldsExtendBySignOrZero() throws {
        let m = try instance("""
            (module
              (type $s (struct (field (mut i8)) (field (mut i16))))
              (type $a (array (mut i8)))
              (func (export "fields") (param i32) (result i32 i32 i32 i32)
                (local $r (ref $s))
                (local.set $r (struct.new $s (local.get 0) (local.get 0)))
                (struct.get_s $s 0 (local.get $r)) (struct.get_u $s 0 (local.get $r))
                (struct.get_s $s 1 (local.get $r)) (struct.get_u $s 1 (local.get $r)))
              (func (export "element") (param i32) (result i32 i32)
                (local $r (ref $a))
                (local.set $r (array.new $a (local.get 0) (i32.const 3)))
                (array.get_s $a (local.get $r) (i32.const 2)) (array.get_u $a (local.get $r) (i32.const 2))))
            """)
        // Only the low 8 and 16 bits are stored.
        XCTAssertEqual(try call(m, "fields", [.i32(0x1234_80FF)]), [.int32(-1), .i32(0xFF), .int32(-32513), .i32(0x80FF)])
        XCTAssertEqual(try call(m, "fields", [.i32(0x7F)]), [.i32(0x7F), .i32(0x7F), .i32(0x7F), .i32(0x7F)])
        XCTAssertEqual(try call(m, "element", [.i32(0x180)]), [.int32(-128), .i32(0x80)])
    }

    func testArrayAccessesOutsideTheArrayTrap() throws {
        let m = try instance("""
            (module
              (type $a (array (mut i32)))
              (func $make (result (ref $a)) (array.new $a (i32.const 7) (i32.const 4)))
              (func (export "get") (param i32) (result i32) (array.get $a (call $make) (local.get 0)))
              (func (export "set") (param i32) (array.set $a (call $make) (local.get 0) (i32.const 1)))
              (func (export "fill") (param i32 i32) (array.fill $a (call $make) (local.get 0) (i32.const 0) (local.get 1)))
              (func (export "copy") (param i32 i32 i32)
                (array.copy $a $a (call $make) (local.get 0) (call $make) (local.get 1) (local.get 2)))
              (func (export "null") (result i32) (array.len (ref.null $a))))
            """)
        XCTAssertEqual(try call(m, "get", [.i32(3)]), [.i32(7)])
        XCTAssertEqual(trapMessage { try call(m, "get", [.i32(4)]) }, "out of bounds array access")
        XCTAssertEqual(trapMessage { try call(m, "get", [.i32(0xFFFF_FFFF)]) }, "out of bounds array access")
        XCTAssertEqual(trapMessage { try call(m, "set", [.i32(4)]) }, "out of bounds array access")
        XCTAssertNil(trapMessage { try call(m, "fill", [.i32(4), .i32(0)]) }, "an empty range at the end is in bounds")
        XCTAssertEqual(trapMessage { try call(m, "fill", [.i32(1), .i32(4)]) }, "out of bounds array access")
        // offset + count wraps around 2^32: still out of bounds.
        XCTAssertEqual(trapMessage { try call(m, "fill", [.i32(2), .i32(0xFFFF_FFFF)]) }, "out of bounds array access")
        XCTAssertEqual(trapMessage { try call(m, "copy", [.i32(0), .i32(1), .i32(4)]) }, "out of bounds array access")
        XCTAssertEqual(trapMessage { try call(m, "null") }, "null array reference")
    }

    func testArrayCopyWithinOneArrayOverlapsLikeMemmove() throws {
        let m = try instance("""
            (module
              (type $a (array (mut i16)))
              ;; [0, 1, ..., 7], then copy `count` elements from `from` to `to` in the same array
              (func (export "copy") (param $to i32) (param $from i32) (param $count i32) (result i64)
                (local $r (ref $a)) (local $i i32) (local $sum i64)
                (local.set $r (array.new_default $a (i32.const 8)))
                (loop $fill
                  (array.set $a (local.get $r) (local.get $i) (local.get $i))
                  (br_if $fill (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 8))))
                (array.copy $a $a (local.get $r) (local.get $to) (local.get $r) (local.get $from) (local.get $count))
                ;; the elements as decimal digits, first element most significant
                (local.set $i (i32.const 0))
                (loop $read
                  (local.set $sum (i64.add (i64.mul (local.get $sum) (i64.const 10))
                                           (i64.extend_i32_u (array.get_u $a (local.get $r) (local.get $i)))))
                  (br_if $read (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 8))))
                (local.get $sum)))
            """)
        XCTAssertEqual(try call(m, "copy", [.i32(2), .i32(0), .i32(5)]), [.i64(1012347)])  // 0 1 0 1 2 3 4 7
        XCTAssertEqual(try call(m, "copy", [.i32(0), .i32(2), .i32(5)]), [.i64(23456567)])  // 2 3 4 5 6 5 6 7
    }

    // MARK: Roots

    func testAReferenceHeldOnlyByATableSurvivesCollections() throws {
        let store = stressedStore()
        let m = try instance("""
            (module
              (type $box (struct (field i32)))
              (table $t 1 anyref)
              (func (export "stash") (table.set $t (i32.const 0) (struct.new $box (i32.const 1234))))
              (func (export "churn") (param i32)
                (loop $l (drop (struct.new $box (local.get 0)))
                  (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
              (func (export "read") (result i32)
                (struct.get $box 0 (ref.cast (ref $box) (table.get $t (i32.const 0))))))
            """, store: store)
        _ = try call(m, "stash")
        _ = try call(m, "churn", [.i32(100)])
        XCTAssertGreaterThanOrEqual(store.gcCollections, 100)
        XCTAssertEqual(try call(m, "read"), [.i32(1234)])
        // The 100 boxes nobody kept are gone; the stashed one is not.
        XCTAssertLessThanOrEqual(store.gcObjectCount, 2)
    }

    func testGlobalsTemporariesAndExceptionPayloadsAreRoots() throws {
        let store = stressedStore()
        let m = try instance("""
            (module
              (type $box (struct (field i32)))
              (tag $e (param (ref $box)))
              (global $g (mut (ref null $box)) (ref.null $box))
              (func $churn (result i32)
                (local $i i32)
                (loop $l (drop (struct.new $box (i32.const 0)))
                  (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 20))))
                (i32.const 1))
              (func $sum (param (ref $box)) (param i32) (result i32)
                (i32.add (struct.get $box 0 (local.get 0)) (local.get 1)))
              ;; The new box is an operand below the call's result while $churn collects.
              (func (export "temporary") (result i32)
                (call $sum (struct.new $box (i32.const 41)) (call $churn)))
              (func (export "global") (result i32)
                (global.set $g (struct.new $box (i32.const 7)))
                (drop (call $churn))
                (struct.get $box 0 (ref.as_non_null (global.get $g))))
              (func (export "payload") (result i32)
                (block $h (result (ref $box))
                  (try_table (catch $e $h)
                    (throw $e (struct.new $box (i32.const 99))))
                  (unreachable))
                (drop (call $churn))
                (struct.get $box 0)))
            """, store: store)
        XCTAssertEqual(try call(m, "temporary"), [.i32(42)])
        XCTAssertEqual(try call(m, "global"), [.i32(7)])
        XCTAssertEqual(try call(m, "payload"), [.i32(99)])
    }

    /// A struct passed only as a host function's argument survives a collection the host triggers by calling
    /// back into the guest (raw host functions see slots, not values the store keeps).
    func testAHostFunctionsArgumentsAreRoots() throws {
        let store = stressedStore()
        var churn: Function?
        var survived = false
        let host = store.defineFunction(type: FunctionType(parameters: [.anyref], results: []), raw: { caller, slots throws(Trap) in
            _ = try churn?.invoke([.i32(10)])
            let header = GCSlot.object(slots[0]).load(as: GCHeader.self)
            survived = header.layout != GCHeap.poison && caller.store.gcCollections >= 10
        })
        var imports = Imports()
        imports.define(module: "host", name: "take", .function(host))
        let guest = try instance("""
            (module
              (type $box (struct (field i32)))
              (import "host" "take" (func $take (param anyref)))
              (func (export "go") (call $take (struct.new $box (i32.const 77))))
              (func (export "churn") (param i32)
                (loop $l (drop (struct.new $box (local.get 0)))
                  (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))
            """, store: store, imports: imports)
        churn = guest.function("churn")
        _ = try call(guest, "go")
        XCTAssertTrue(survived)
    }

    func testAReferenceHeldByTheHostSurvivesUntilReleased() throws {
        let store = stressedStore()
        let m = try instance("""
            (module
              (type $box (struct (field i32)))
              (func (export "make") (param i32) (result anyref) (struct.new $box (local.get 0)))
              (func (export "read") (param anyref) (result i32) (struct.get $box 0 (ref.cast (ref $box) (local.get 0)))))
            """, store: store)
        let made = try call(m, "make", [.i32(5)])[0]
        let held = try store.hold(made)
        // Each call allocates (and so collects) while the box is referenced from the host alone.
        for i in 0..<3 { _ = try call(m, "make", [.i32(UInt32(i))]) }
        XCTAssertEqual(try call(m, "read", [held.value]), [.i32(5)])
        held.release()
        _ = try call(m, "make", [.i32(0)])
        _ = try call(m, "make", [.i32(0)])
        let stale = trapMessage { try call(m, "read", [made]) }
        XCTAssertEqual(stale?.contains("not a live object"), true, stale ?? "no trap")
        // References compare by identity.
        let a = try call(m, "make", [.i32(1)])[0]
        XCTAssertEqual(a, a)
        XCTAssertNotEqual(a, try call(m, "make", [.i32(1)])[0])
    }

    func testUnreachableObjectsAreReclaimedAndDeepStructuresDoNotUseHostStack() throws {
        let store = store(maxGCHeapBytes: 64 << 20)
        let m = try instance("""
            (module
              (type $node (struct (field i32) (field (ref null $node))))
              ;; a linked list of n nodes; returns its length, counted by walking it
              (func (export "list") (param $n i32) (result i32)
                (local $head (ref null $node)) (local $count i32)
                (loop $build
                  (local.set $head (struct.new $node (local.get $n) (local.get $head)))
                  (br_if $build (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
                (loop $walk
                  (local.set $count (i32.add (local.get $count) (i32.const 1)))
                  (local.set $head (struct.get $node 1 (ref.as_non_null (local.get $head))))
                  (br_if $walk (i32.eqz (ref.is_null (local.get $head)))))
                (local.get $count)))
            """, store: store)
        // 300,000 nodes of 32 bytes: several collections run while the whole list is live (marking it is a
        // loop, not recursion), and each call's list is garbage by the next.
        for _ in 0..<5 { XCTAssertEqual(try call(m, "list", [.i32(300_000)]), [.i32(300_000)]) }
        XCTAssertGreaterThan(store.gcCollections, 2)
        XCTAssertLessThan(store.gcHeapPeakBytes, 40 << 20, "collection kept up: at most about two lists live")
    }

    func testTheHeapLimitIsATrapAndTheStoreGoesOn() throws {
        let store = store(maxGCHeapBytes: 1 << 20)
        let m = try instance("""
            (module
              (type $bytes (array (mut i8)))
              (global $keep (mut (ref null $bytes)) (ref.null $bytes))
              (func (export "alloc") (param i32) (result i32)
                (array.len (array.new_default $bytes (local.get 0))))
              (func (export "hoard") (param i32)
                (loop $l (global.set $keep (array.new_default $bytes (local.get 0))) (br $l))))
            """, store: store)
        XCTAssertEqual(trapMessage { try call(m, "alloc", [.i32(2 << 20)]) }, "GC heap exhausted")
        XCTAssertEqual(trapMessage { try call(m, "alloc", [.i32(0xFFFF_FFFF)]) }, "GC heap exhausted")
        XCTAssertEqual(try call(m, "alloc", [.i32(1000)]), [.i32(1000)])
        // Garbage is collected to make room: 1,000 arrays of 100 KiB fit in 1 MiB one after the other.
        var limited = ResourceLimits()
        limited.maxGCHeapBytes = 1 << 20
        limited.fuel = 30_000
        store.limits = limited
        XCTAssertEqual(trapMessage { try call(m, "hoard", [.i32(100_000)]) }, "fuel exhausted")
        XCTAssertLessThanOrEqual(store.gcHeapBytes, 1 << 20)
    }
}
