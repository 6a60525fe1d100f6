import WasmParser

/// Execution of the fixed-width SIMD instructions.
///
/// A v128 value occupies two consecutive frame slots, low 64 bits first, so its bytes are in memory order
/// (lane 0 lowest), exactly as Swift's `SIMD16<UInt8>`… `SIMD2<Double>` lay out their lanes on little-endian
/// machines. Lanes are therefore reinterpretations of one `SIMD2<UInt64>`.
///
/// The interpreter's loop has one case for all 256 instructions (236 fixed-width, 20 relaxed: `InternalOp.v128`)
/// and one for v128 globals (`v128Global`); the Wasm opcode rides in bits 8..<16 of the word as its offset
/// from `v128.load`. The scalar loop gains those cases and nothing else (no new live values, no new
/// registers), so SIMD pays one call and a second switch per instruction — and each instruction does up to
/// 16 lanes of work.
///
/// Relaxed SIMD gives one answer of those the spec allows, the same on every machine: its deterministic
/// profile (unfused multiply-add, `swizzle`'s zero for out-of-range indices, saturating truncation, IEEE
/// `min`/`max`, `bitselect` for lane selection, signed dot products, saturating Q15 multiplication).
enum SIMDExecution {
    static let instructionCount = UInt64(Opcode.i32x4RelaxedDotI8x16I7x16AddS.rawValue - Opcode.v128Load.rawValue + 1)
    /// Bit 8 of a `v128Global` word: set for `global.set` (global index in the next word).
    static let globalSet: UInt64 = 1 << 8

    /// `global.get` and `global.set` of a v128 global.
    @inline(never)
    static func global(_ w: UInt64, _ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                       _ context: UnsafeMutablePointer<InstanceContext>) {
        let cell = context.pointee.globals[Int(truncatingIfNeeded: pc.pointee)]
        if w & globalSet == 0 {
            write(fp, Int(truncatingIfNeeded: (w >> 16) & 0xFFFF), SIMD2(cell[0], cell[1]))
        } else {
            let v = read(fp, Int(truncatingIfNeeded: (w >> 32) & 0xFFFF))
            cell[0] = v[0]
            cell[1] = v[1]
        }
    }

    /// The Wasm instruction carried by a `v128` word (whose sub-code is below `instructionCount`).
    @inline(__always)
    static func opcode(_ word: UInt64) -> Opcode {
        unsafeBitCast(UInt16(truncatingIfNeeded: (word >> 8) & 0xFF) &+ Opcode.v128Load.rawValue, to: Opcode.self)
    }

    /// The value stored in the word's bits 8..<16 for `opcode` (a SIMD instruction).
    static func subcode(_ opcode: Opcode) -> UInt64 { UInt64(opcode.rawValue - Opcode.v128Load.rawValue) << 8 }

    /// Executes the instruction of a `v128` word `w` (extra words at `pc`). Returns the number of extra words
    /// it consumed, or -1 when a memory access is out of bounds.
    @inline(never)
    static func execute(_ w: UInt64, _ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                        _ context: UnsafeMutablePointer<InstanceContext>,
                        _ memBase: UnsafeMutableRawPointer, _ memSize: UInt64) -> Int {
        // Routed by a switch, not by the opcode table: that is a lazily initialized global (a `swift_once`
        // check per call cost 18% of SIMD time).
        switch opcode(w) {
        case .v128Load, .v128Load8x8S, .v128Load8x8U, .v128Load16x4S, .v128Load16x4U, .v128Load32x2S, .v128Load32x2U,
             .v128Load8Splat, .v128Load16Splat, .v128Load32Splat, .v128Load64Splat, .v128Store, .v128Load8Lane,
             .v128Load16Lane, .v128Load32Lane, .v128Load64Lane, .v128Store8Lane, .v128Store16Lane, .v128Store32Lane,
             .v128Store64Lane, .v128Load32Zero, .v128Load64Zero:
            let info = pc[1]
            let memory = info >> 32
            guard memory != 0 else { return access(w, pc, fp, memBase, memSize) }
            let storage = context.pointee.memories[Int(truncatingIfNeeded: memory)]
            return access(w, pc, fp, storage.pointee.base, UInt64(storage.pointee.byteCount))
        default:
            return compute(w, pc, fp)
        }
    }

    /// The second extra word of a memory instruction (the first is the offset): log2 of the bytes accessed
    /// (the opcode table's natural alignment, put there by the translator) in bits 0..<8, the lane in 8..<16,
    /// a 64-bit address flag at bit 16, the memory index in bits 32..<64.
    static func memoryWord(_ opcode: Opcode, memory: UInt32, is64: Bool, lane: UInt8) -> UInt64 {
        UInt64(opcode.info.naturalAlignment) | UInt64(lane) << 8 | (is64 ? 1 << 16 : 0) | UInt64(memory) << 32
    }

    /// Executes a register-only SIMD instruction. Returns the number of extra words it consumed.
    @inline(__always)
    static func compute(_ w: UInt64, _ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>) -> Int {
        let d = Int(truncatingIfNeeded: (w >> 16) & 0xFFFF)
        let x = Int(truncatingIfNeeded: (w >> 32) & 0xFFFF)
        let y = Int(truncatingIfNeeded: w >> 48)
        let a = read(fp, x)
        switch opcode(w) {
        // MARK: Constants, shuffles, splats, lanes
        case .i8x16Shuffle:
            let b = read(fp, y)
            write(fp, d, selectBytes((a[0], a[1], b[0], b[1]), SIMD2(pc[0], pc[1]), limit: 32))
            return 2
        case .i8x16Swizzle, .i8x16RelaxedSwizzle:
            write(fp, d, selectBytes((a[0], a[1], 0, 0), read(fp, y), limit: 16))
        case .i8x16Splat: write(fp, d, bits(SIMD16<UInt8>(repeating: UInt8(truncatingIfNeeded: fp[x]))))
        case .i16x8Splat: write(fp, d, bits(SIMD8<UInt16>(repeating: UInt16(truncatingIfNeeded: fp[x]))))
        case .i32x4Splat, .f32x4Splat: write(fp, d, bits(SIMD4<UInt32>(repeating: UInt32(truncatingIfNeeded: fp[x]))))
        case .i64x2Splat, .f64x2Splat: write(fp, d, SIMD2<UInt64>(repeating: fp[x]))
        case .i8x16ExtractLaneS: fp[d] = UInt64(UInt32(bitPattern: Int32(i8(a)[lane(pc, 16)]))); return 1
        case .i8x16ExtractLaneU: fp[d] = UInt64(u8(a)[lane(pc, 16)]); return 1
        case .i16x8ExtractLaneS: fp[d] = UInt64(UInt32(bitPattern: Int32(i16(a)[lane(pc, 8)]))); return 1
        case .i16x8ExtractLaneU: fp[d] = UInt64(u16(a)[lane(pc, 8)]); return 1
        case .i32x4ExtractLane, .f32x4ExtractLane: fp[d] = UInt64(u32(a)[lane(pc, 4)]); return 1
        case .i64x2ExtractLane, .f64x2ExtractLane: fp[d] = a[lane(pc, 2)]; return 1
        case .i8x16ReplaceLane:
            var v = u8(a)
            v[lane(pc, 16)] = UInt8(truncatingIfNeeded: fp[y])
            write(fp, d, bits(v))
            return 1
        case .i16x8ReplaceLane:
            var v = u16(a)
            v[lane(pc, 8)] = UInt16(truncatingIfNeeded: fp[y])
            write(fp, d, bits(v))
            return 1
        case .i32x4ReplaceLane, .f32x4ReplaceLane:
            var v = u32(a)
            v[lane(pc, 4)] = UInt32(truncatingIfNeeded: fp[y])
            write(fp, d, bits(v))
            return 1
        case .i64x2ReplaceLane, .f64x2ReplaceLane:
            var v = a
            v[lane(pc, 2)] = fp[y]
            write(fp, d, v)
            return 1

        // MARK: Bitwise
        case .v128Not: write(fp, d, ~a)
        case .v128And: write(fp, d, a & read(fp, y))
        case .v128Andnot: write(fp, d, a & ~read(fp, y))
        case .v128Or: write(fp, d, a | read(fp, y))
        case .v128Xor: write(fp, d, a ^ read(fp, y))
        case .v128Bitselect, .i8x16RelaxedLaneselect, .i16x8RelaxedLaneselect, .i32x4RelaxedLaneselect, .i64x2RelaxedLaneselect:
            let mask = read(fp, Int(truncatingIfNeeded: pc[0] & 0xFFFF))
            write(fp, d, (a & mask) | (read(fp, y) & ~mask))
            return 1
        case .v128AnyTrue: fp[d] = a[0] | a[1] != 0 ? 1 : 0

        // MARK: Integer comparisons
        case .i8x16Eq: write(fp, d, mask(u8(a) .== u8(read(fp, y))))
        case .i8x16Ne: write(fp, d, mask(u8(a) .!= u8(read(fp, y))))
        case .i8x16LtS: write(fp, d, mask(i8(a) .< i8(read(fp, y))))
        case .i8x16LtU: write(fp, d, mask(u8(a) .< u8(read(fp, y))))
        case .i8x16GtS: write(fp, d, mask(i8(a) .> i8(read(fp, y))))
        case .i8x16GtU: write(fp, d, mask(u8(a) .> u8(read(fp, y))))
        case .i8x16LeS: write(fp, d, mask(i8(a) .<= i8(read(fp, y))))
        case .i8x16LeU: write(fp, d, mask(u8(a) .<= u8(read(fp, y))))
        case .i8x16GeS: write(fp, d, mask(i8(a) .>= i8(read(fp, y))))
        case .i8x16GeU: write(fp, d, mask(u8(a) .>= u8(read(fp, y))))
        case .i16x8Eq: write(fp, d, mask(u16(a) .== u16(read(fp, y))))
        case .i16x8Ne: write(fp, d, mask(u16(a) .!= u16(read(fp, y))))
        case .i16x8LtS: write(fp, d, mask(i16(a) .< i16(read(fp, y))))
        case .i16x8LtU: write(fp, d, mask(u16(a) .< u16(read(fp, y))))
        case .i16x8GtS: write(fp, d, mask(i16(a) .> i16(read(fp, y))))
        case .i16x8GtU: write(fp, d, mask(u16(a) .> u16(read(fp, y))))
        case .i16x8LeS: write(fp, d, mask(i16(a) .<= i16(read(fp, y))))
        case .i16x8LeU: write(fp, d, mask(u16(a) .<= u16(read(fp, y))))
        case .i16x8GeS: write(fp, d, mask(i16(a) .>= i16(read(fp, y))))
        case .i16x8GeU: write(fp, d, mask(u16(a) .>= u16(read(fp, y))))
        case .i32x4Eq: write(fp, d, mask(u32(a) .== u32(read(fp, y))))
        case .i32x4Ne: write(fp, d, mask(u32(a) .!= u32(read(fp, y))))
        case .i32x4LtS: write(fp, d, mask(i32(a) .< i32(read(fp, y))))
        case .i32x4LtU: write(fp, d, mask(u32(a) .< u32(read(fp, y))))
        case .i32x4GtS: write(fp, d, mask(i32(a) .> i32(read(fp, y))))
        case .i32x4GtU: write(fp, d, mask(u32(a) .> u32(read(fp, y))))
        case .i32x4LeS: write(fp, d, mask(i32(a) .<= i32(read(fp, y))))
        case .i32x4LeU: write(fp, d, mask(u32(a) .<= u32(read(fp, y))))
        case .i32x4GeS: write(fp, d, mask(i32(a) .>= i32(read(fp, y))))
        case .i32x4GeU: write(fp, d, mask(u32(a) .>= u32(read(fp, y))))
        case .i64x2Eq: write(fp, d, mask(a .== read(fp, y)))
        case .i64x2Ne: write(fp, d, mask(a .!= read(fp, y)))
        case .i64x2LtS: write(fp, d, mask(i64(a) .< i64(read(fp, y))))
        case .i64x2GtS: write(fp, d, mask(i64(a) .> i64(read(fp, y))))
        case .i64x2LeS: write(fp, d, mask(i64(a) .<= i64(read(fp, y))))
        case .i64x2GeS: write(fp, d, mask(i64(a) .>= i64(read(fp, y))))

        // MARK: Float comparisons (NaN compares unequal and unordered)
        case .f32x4Eq: write(fp, d, mask(f32(a) .== f32(read(fp, y))))
        case .f32x4Ne: write(fp, d, mask(f32(a) .!= f32(read(fp, y))))
        case .f32x4Lt: write(fp, d, mask(f32(a) .< f32(read(fp, y))))
        case .f32x4Gt: write(fp, d, mask(f32(a) .> f32(read(fp, y))))
        case .f32x4Le: write(fp, d, mask(f32(a) .<= f32(read(fp, y))))
        case .f32x4Ge: write(fp, d, mask(f32(a) .>= f32(read(fp, y))))
        case .f64x2Eq: write(fp, d, mask(f64(a) .== f64(read(fp, y))))
        case .f64x2Ne: write(fp, d, mask(f64(a) .!= f64(read(fp, y))))
        case .f64x2Lt: write(fp, d, mask(f64(a) .< f64(read(fp, y))))
        case .f64x2Gt: write(fp, d, mask(f64(a) .> f64(read(fp, y))))
        case .f64x2Le: write(fp, d, mask(f64(a) .<= f64(read(fp, y))))
        case .f64x2Ge: write(fp, d, mask(f64(a) .>= f64(read(fp, y))))

        // MARK: i8x16 arithmetic
        case .i8x16Abs: write(fp, d, bits(absolute(i8(a))))
        case .i8x16Neg: write(fp, d, bits(0 &- u8(a)))
        case .i8x16Popcnt:
            var v = u8(a)
            for i in 0..<16 { v[i] = UInt8(v[i].nonzeroBitCount) }
            write(fp, d, bits(v))
        case .i8x16AllTrue: fp[d] = all(u8(a) .!= 0) ? 1 : 0
        case .i8x16Bitmask: fp[d] = bitmask(i8(a))
        case .i8x16NarrowI16x8S:
            write(fp, d, bits(SIMD16<Int8>(lowHalf: narrow(i16(a), to: SIMD8<Int8>.self), highHalf: narrow(i16(read(fp, y)), to: SIMD8<Int8>.self))))
        case .i8x16NarrowI16x8U:
            write(fp, d, bits(SIMD16<UInt8>(lowHalf: narrow(i16(a), to: SIMD8<UInt8>.self), highHalf: narrow(i16(read(fp, y)), to: SIMD8<UInt8>.self))))
        case .i8x16Shl: write(fp, d, bits(u8(a) &<< UInt8(truncatingIfNeeded: fp[y] & 7)))
        case .i8x16ShrS: write(fp, d, bits(i8(a) &>> Int8(truncatingIfNeeded: fp[y] & 7)))
        case .i8x16ShrU: write(fp, d, bits(u8(a) &>> UInt8(truncatingIfNeeded: fp[y] & 7)))
        case .i8x16Add: write(fp, d, bits(u8(a) &+ u8(read(fp, y))))
        case .i8x16Sub: write(fp, d, bits(u8(a) &- u8(read(fp, y))))
        case .i8x16AddSatS: write(fp, d, bits(narrow(SIMD16<Int16>(truncatingIfNeeded: i8(a)) &+ SIMD16<Int16>(truncatingIfNeeded: i8(read(fp, y))), to: SIMD16<Int8>.self)))
        case .i8x16AddSatU: write(fp, d, bits(narrow(SIMD16<Int16>(truncatingIfNeeded: u8(a)) &+ SIMD16<Int16>(truncatingIfNeeded: u8(read(fp, y))), to: SIMD16<UInt8>.self)))
        case .i8x16SubSatS: write(fp, d, bits(narrow(SIMD16<Int16>(truncatingIfNeeded: i8(a)) &- SIMD16<Int16>(truncatingIfNeeded: i8(read(fp, y))), to: SIMD16<Int8>.self)))
        case .i8x16SubSatU: write(fp, d, bits(narrow(SIMD16<Int16>(truncatingIfNeeded: u8(a)) &- SIMD16<Int16>(truncatingIfNeeded: u8(read(fp, y))), to: SIMD16<UInt8>.self)))
        case .i8x16MinS: write(fp, d, bits(pointwiseMin(i8(a), i8(read(fp, y)))))
        case .i8x16MinU: write(fp, d, bits(pointwiseMin(u8(a), u8(read(fp, y)))))
        case .i8x16MaxS: write(fp, d, bits(pointwiseMax(i8(a), i8(read(fp, y)))))
        case .i8x16MaxU: write(fp, d, bits(pointwiseMax(u8(a), u8(read(fp, y)))))
        case .i8x16AvgrU:
            let sum = SIMD16<UInt16>(truncatingIfNeeded: u8(a)) &+ SIMD16<UInt16>(truncatingIfNeeded: u8(read(fp, y))) &+ 1
            write(fp, d, bits(SIMD16<UInt8>(truncatingIfNeeded: sum &>> 1)))

        // MARK: i16x8 arithmetic
        case .i16x8ExtaddPairwiseI8x16S:
            let v = i8(a)
            write(fp, d, bits(SIMD8<Int16>(truncatingIfNeeded: v.evenHalf) &+ SIMD8<Int16>(truncatingIfNeeded: v.oddHalf)))
        case .i16x8ExtaddPairwiseI8x16U:
            let v = u8(a)
            write(fp, d, bits(SIMD8<UInt16>(truncatingIfNeeded: v.evenHalf) &+ SIMD8<UInt16>(truncatingIfNeeded: v.oddHalf)))
        case .i16x8Abs: write(fp, d, bits(absolute(i16(a))))
        case .i16x8Neg: write(fp, d, bits(0 &- u16(a)))
        case .i16x8Q15mulrSatS, .i16x8RelaxedQ15mulrS:
            let product = SIMD8<Int32>(truncatingIfNeeded: i16(a)) &* SIMD8<Int32>(truncatingIfNeeded: i16(read(fp, y)))
            write(fp, d, bits(narrow((product &+ 0x4000) &>> 15, to: SIMD8<Int16>.self)))
        case .i16x8AllTrue: fp[d] = all(u16(a) .!= 0) ? 1 : 0
        case .i16x8Bitmask: fp[d] = bitmask(i16(a))
        case .i16x8NarrowI32x4S:
            write(fp, d, bits(SIMD8<Int16>(lowHalf: narrow(i32(a), to: SIMD4<Int16>.self), highHalf: narrow(i32(read(fp, y)), to: SIMD4<Int16>.self))))
        case .i16x8NarrowI32x4U:
            write(fp, d, bits(SIMD8<UInt16>(lowHalf: narrow(i32(a), to: SIMD4<UInt16>.self), highHalf: narrow(i32(read(fp, y)), to: SIMD4<UInt16>.self))))
        case .i16x8ExtendLowI8x16S: write(fp, d, bits(SIMD8<Int16>(truncatingIfNeeded: i8(a).lowHalf)))
        case .i16x8ExtendHighI8x16S: write(fp, d, bits(SIMD8<Int16>(truncatingIfNeeded: i8(a).highHalf)))
        case .i16x8ExtendLowI8x16U: write(fp, d, bits(SIMD8<UInt16>(truncatingIfNeeded: u8(a).lowHalf)))
        case .i16x8ExtendHighI8x16U: write(fp, d, bits(SIMD8<UInt16>(truncatingIfNeeded: u8(a).highHalf)))
        case .i16x8Shl: write(fp, d, bits(u16(a) &<< UInt16(truncatingIfNeeded: fp[y] & 15)))
        case .i16x8ShrS: write(fp, d, bits(i16(a) &>> Int16(truncatingIfNeeded: fp[y] & 15)))
        case .i16x8ShrU: write(fp, d, bits(u16(a) &>> UInt16(truncatingIfNeeded: fp[y] & 15)))
        case .i16x8Add: write(fp, d, bits(u16(a) &+ u16(read(fp, y))))
        case .i16x8Sub: write(fp, d, bits(u16(a) &- u16(read(fp, y))))
        case .i16x8Mul: write(fp, d, bits(u16(a) &* u16(read(fp, y))))
        case .i16x8AddSatS: write(fp, d, bits(narrow(SIMD8<Int32>(truncatingIfNeeded: i16(a)) &+ SIMD8<Int32>(truncatingIfNeeded: i16(read(fp, y))), to: SIMD8<Int16>.self)))
        case .i16x8AddSatU: write(fp, d, bits(narrow(SIMD8<Int32>(truncatingIfNeeded: u16(a)) &+ SIMD8<Int32>(truncatingIfNeeded: u16(read(fp, y))), to: SIMD8<UInt16>.self)))
        case .i16x8SubSatS: write(fp, d, bits(narrow(SIMD8<Int32>(truncatingIfNeeded: i16(a)) &- SIMD8<Int32>(truncatingIfNeeded: i16(read(fp, y))), to: SIMD8<Int16>.self)))
        case .i16x8SubSatU: write(fp, d, bits(narrow(SIMD8<Int32>(truncatingIfNeeded: u16(a)) &- SIMD8<Int32>(truncatingIfNeeded: u16(read(fp, y))), to: SIMD8<UInt16>.self)))
        case .i16x8MinS: write(fp, d, bits(pointwiseMin(i16(a), i16(read(fp, y)))))
        case .i16x8MinU: write(fp, d, bits(pointwiseMin(u16(a), u16(read(fp, y)))))
        case .i16x8MaxS: write(fp, d, bits(pointwiseMax(i16(a), i16(read(fp, y)))))
        case .i16x8MaxU: write(fp, d, bits(pointwiseMax(u16(a), u16(read(fp, y)))))
        case .i16x8AvgrU:
            let sum = SIMD8<UInt32>(truncatingIfNeeded: u16(a)) &+ SIMD8<UInt32>(truncatingIfNeeded: u16(read(fp, y))) &+ 1
            write(fp, d, bits(SIMD8<UInt16>(truncatingIfNeeded: sum &>> 1)))
        case .i16x8ExtmulLowI8x16S:
            write(fp, d, bits(SIMD8<Int16>(truncatingIfNeeded: i8(a).lowHalf) &* SIMD8<Int16>(truncatingIfNeeded: i8(read(fp, y)).lowHalf)))
        case .i16x8ExtmulHighI8x16S:
            write(fp, d, bits(SIMD8<Int16>(truncatingIfNeeded: i8(a).highHalf) &* SIMD8<Int16>(truncatingIfNeeded: i8(read(fp, y)).highHalf)))
        case .i16x8ExtmulLowI8x16U:
            write(fp, d, bits(SIMD8<UInt16>(truncatingIfNeeded: u8(a).lowHalf) &* SIMD8<UInt16>(truncatingIfNeeded: u8(read(fp, y)).lowHalf)))
        case .i16x8ExtmulHighI8x16U:
            write(fp, d, bits(SIMD8<UInt16>(truncatingIfNeeded: u8(a).highHalf) &* SIMD8<UInt16>(truncatingIfNeeded: u8(read(fp, y)).highHalf)))

        // MARK: i32x4 arithmetic
        case .i32x4ExtaddPairwiseI16x8S:
            let v = i16(a)
            write(fp, d, bits(SIMD4<Int32>(truncatingIfNeeded: v.evenHalf) &+ SIMD4<Int32>(truncatingIfNeeded: v.oddHalf)))
        case .i32x4ExtaddPairwiseI16x8U:
            let v = u16(a)
            write(fp, d, bits(SIMD4<UInt32>(truncatingIfNeeded: v.evenHalf) &+ SIMD4<UInt32>(truncatingIfNeeded: v.oddHalf)))
        case .i32x4Abs: write(fp, d, bits(absolute(i32(a))))
        case .i32x4Neg: write(fp, d, bits(0 &- u32(a)))
        case .i32x4AllTrue: fp[d] = all(u32(a) .!= 0) ? 1 : 0
        case .i32x4Bitmask: fp[d] = bitmask(i32(a))
        case .i32x4ExtendLowI16x8S: write(fp, d, bits(SIMD4<Int32>(truncatingIfNeeded: i16(a).lowHalf)))
        case .i32x4ExtendHighI16x8S: write(fp, d, bits(SIMD4<Int32>(truncatingIfNeeded: i16(a).highHalf)))
        case .i32x4ExtendLowI16x8U: write(fp, d, bits(SIMD4<UInt32>(truncatingIfNeeded: u16(a).lowHalf)))
        case .i32x4ExtendHighI16x8U: write(fp, d, bits(SIMD4<UInt32>(truncatingIfNeeded: u16(a).highHalf)))
        case .i32x4Shl: write(fp, d, bits(u32(a) &<< UInt32(truncatingIfNeeded: fp[y] & 31)))
        case .i32x4ShrS: write(fp, d, bits(i32(a) &>> Int32(truncatingIfNeeded: fp[y] & 31)))
        case .i32x4ShrU: write(fp, d, bits(u32(a) &>> UInt32(truncatingIfNeeded: fp[y] & 31)))
        case .i32x4Add: write(fp, d, bits(u32(a) &+ u32(read(fp, y))))
        case .i32x4Sub: write(fp, d, bits(u32(a) &- u32(read(fp, y))))
        case .i32x4Mul: write(fp, d, bits(u32(a) &* u32(read(fp, y))))
        case .i32x4MinS: write(fp, d, bits(pointwiseMin(i32(a), i32(read(fp, y)))))
        case .i32x4MinU: write(fp, d, bits(pointwiseMin(u32(a), u32(read(fp, y)))))
        case .i32x4MaxS: write(fp, d, bits(pointwiseMax(i32(a), i32(read(fp, y)))))
        case .i32x4MaxU: write(fp, d, bits(pointwiseMax(u32(a), u32(read(fp, y)))))
        case .i32x4DotI16x8S:
            let p = SIMD8<Int32>(truncatingIfNeeded: i16(a)) &* SIMD8<Int32>(truncatingIfNeeded: i16(read(fp, y)))
            write(fp, d, bits(p.evenHalf &+ p.oddHalf))
        case .i32x4ExtmulLowI16x8S:
            write(fp, d, bits(SIMD4<Int32>(truncatingIfNeeded: i16(a).lowHalf) &* SIMD4<Int32>(truncatingIfNeeded: i16(read(fp, y)).lowHalf)))
        case .i32x4ExtmulHighI16x8S:
            write(fp, d, bits(SIMD4<Int32>(truncatingIfNeeded: i16(a).highHalf) &* SIMD4<Int32>(truncatingIfNeeded: i16(read(fp, y)).highHalf)))
        case .i32x4ExtmulLowI16x8U:
            write(fp, d, bits(SIMD4<UInt32>(truncatingIfNeeded: u16(a).lowHalf) &* SIMD4<UInt32>(truncatingIfNeeded: u16(read(fp, y)).lowHalf)))
        case .i32x4ExtmulHighI16x8U:
            write(fp, d, bits(SIMD4<UInt32>(truncatingIfNeeded: u16(a).highHalf) &* SIMD4<UInt32>(truncatingIfNeeded: u16(read(fp, y)).highHalf)))
        case .i32x4TruncSatF32x4S, .i32x4RelaxedTruncF32x4S:
            let v = f32(a)
            write(fp, d, bits(SIMD4<Int32>(Numerics.saturateI32(v[0]), Numerics.saturateI32(v[1]),
                                           Numerics.saturateI32(v[2]), Numerics.saturateI32(v[3]))))
        case .i32x4TruncSatF32x4U, .i32x4RelaxedTruncF32x4U:
            let v = f32(a)
            write(fp, d, bits(SIMD4<UInt32>(Numerics.saturateU32(v[0]), Numerics.saturateU32(v[1]),
                                            Numerics.saturateU32(v[2]), Numerics.saturateU32(v[3]))))
        case .i32x4TruncSatF64x2SZero, .i32x4RelaxedTruncF64x2SZero:
            let v = f64(a)
            write(fp, d, bits(SIMD4<Int32>(Numerics.saturateI32(v[0]), Numerics.saturateI32(v[1]), 0, 0)))
        case .i32x4TruncSatF64x2UZero, .i32x4RelaxedTruncF64x2UZero:
            let v = f64(a)
            write(fp, d, bits(SIMD4<UInt32>(Numerics.saturateU32(v[0]), Numerics.saturateU32(v[1]), 0, 0)))

        // MARK: i64x2 arithmetic
        case .i64x2Abs: write(fp, d, bits(absolute(i64(a))))
        case .i64x2Neg: write(fp, d, 0 &- a)
        case .i64x2AllTrue: fp[d] = all(a .!= 0) ? 1 : 0
        case .i64x2Bitmask: fp[d] = bitmask(i64(a))
        case .i64x2ExtendLowI32x4S: write(fp, d, bits(SIMD2<Int64>(truncatingIfNeeded: i32(a).lowHalf)))
        case .i64x2ExtendHighI32x4S: write(fp, d, bits(SIMD2<Int64>(truncatingIfNeeded: i32(a).highHalf)))
        case .i64x2ExtendLowI32x4U: write(fp, d, SIMD2<UInt64>(truncatingIfNeeded: u32(a).lowHalf))
        case .i64x2ExtendHighI32x4U: write(fp, d, SIMD2<UInt64>(truncatingIfNeeded: u32(a).highHalf))
        case .i64x2Shl: write(fp, d, a &<< (fp[y] & 63))
        case .i64x2ShrS: write(fp, d, bits(i64(a) &>> Int64(fp[y] & 63)))
        case .i64x2ShrU: write(fp, d, a &>> (fp[y] & 63))
        case .i64x2Add: write(fp, d, a &+ read(fp, y))
        case .i64x2Sub: write(fp, d, a &- read(fp, y))
        case .i64x2Mul: write(fp, d, a &* read(fp, y))
        case .i64x2ExtmulLowI32x4S:
            write(fp, d, bits(SIMD2<Int64>(truncatingIfNeeded: i32(a).lowHalf) &* SIMD2<Int64>(truncatingIfNeeded: i32(read(fp, y)).lowHalf)))
        case .i64x2ExtmulHighI32x4S:
            write(fp, d, bits(SIMD2<Int64>(truncatingIfNeeded: i32(a).highHalf) &* SIMD2<Int64>(truncatingIfNeeded: i32(read(fp, y)).highHalf)))
        case .i64x2ExtmulLowI32x4U:
            write(fp, d, SIMD2<UInt64>(truncatingIfNeeded: u32(a).lowHalf) &* SIMD2<UInt64>(truncatingIfNeeded: u32(read(fp, y)).lowHalf))
        case .i64x2ExtmulHighI32x4U:
            write(fp, d, SIMD2<UInt64>(truncatingIfNeeded: u32(a).highHalf) &* SIMD2<UInt64>(truncatingIfNeeded: u32(read(fp, y)).highHalf))

        // MARK: f32x4 arithmetic (abs/neg are sign-bit operations, exact on NaNs)
        case .f32x4Abs: write(fp, d, bits(u32(a) & 0x7FFF_FFFF))
        case .f32x4Neg: write(fp, d, bits(u32(a) ^ 0x8000_0000))
        case .f32x4Sqrt: write(fp, d, bits(f32(a).squareRoot()))
        case .f32x4Ceil: write(fp, d, bits(f32(a).rounded(.up)))
        case .f32x4Floor: write(fp, d, bits(f32(a).rounded(.down)))
        case .f32x4Trunc: write(fp, d, bits(f32(a).rounded(.towardZero)))
        case .f32x4Nearest: write(fp, d, bits(f32(a).rounded(.toNearestOrEven)))
        case .f32x4Add: write(fp, d, bits(f32(a) + f32(read(fp, y))))
        case .f32x4Sub: write(fp, d, bits(f32(a) - f32(read(fp, y))))
        case .f32x4Mul: write(fp, d, bits(f32(a) * f32(read(fp, y))))
        case .f32x4Div: write(fp, d, bits(f32(a) / f32(read(fp, y))))
        case .f32x4Min, .f32x4Max, .f32x4RelaxedMin, .f32x4RelaxedMax:
            let l = f32(a), r = f32(read(fp, y))
            var v = SIMD4<Float>()
            let isMin = opcode(w) == .f32x4Min || opcode(w) == .f32x4RelaxedMin
            for i in 0..<4 { v[i] = isMin ? Numerics.min(l[i], r[i]) : Numerics.max(l[i], r[i]) }
            write(fp, d, bits(v))
        case .f32x4Pmin:
            let l = f32(a), r = f32(read(fp, y))
            write(fp, d, bits(l.replacing(with: r, where: r .< l)))
        case .f32x4Pmax:
            let l = f32(a), r = f32(read(fp, y))
            write(fp, d, bits(l.replacing(with: r, where: l .< r)))
        case .f32x4ConvertI32x4S: write(fp, d, bits(SIMD4<Float>(i32(a))))
        case .f32x4ConvertI32x4U: write(fp, d, bits(SIMD4<Float>(u32(a))))
        case .f32x4DemoteF64x2Zero:
            let v = f64(a)
            write(fp, d, bits(SIMD4<Float>(Float(v[0]), Float(v[1]), 0, 0)))

        // MARK: f64x2 arithmetic
        case .f64x2Abs: write(fp, d, a & 0x7FFF_FFFF_FFFF_FFFF)
        case .f64x2Neg: write(fp, d, a ^ 0x8000_0000_0000_0000)
        case .f64x2Sqrt: write(fp, d, bits(f64(a).squareRoot()))
        case .f64x2Ceil: write(fp, d, bits(f64(a).rounded(.up)))
        case .f64x2Floor: write(fp, d, bits(f64(a).rounded(.down)))
        case .f64x2Trunc: write(fp, d, bits(f64(a).rounded(.towardZero)))
        case .f64x2Nearest: write(fp, d, bits(f64(a).rounded(.toNearestOrEven)))
        case .f64x2Add: write(fp, d, bits(f64(a) + f64(read(fp, y))))
        // Relaxed multiply-add, unfused (two roundings), and dot products with signed second operands.
        case .f32x4RelaxedMadd, .f32x4RelaxedNmadd:
            let c = f32(read(fp, Int(truncatingIfNeeded: pc[0] & 0xFFFF)))
            let product = f32(a) * f32(read(fp, y))
            write(fp, d, bits(opcode(w) == .f32x4RelaxedMadd ? product + c : c - product))
            return 1
        case .f64x2RelaxedMadd, .f64x2RelaxedNmadd:
            let c = f64(read(fp, Int(truncatingIfNeeded: pc[0] & 0xFFFF)))
            let product = f64(a) * f64(read(fp, y))
            write(fp, d, bits(opcode(w) == .f64x2RelaxedMadd ? product + c : c - product))
            return 1
        case .i16x8RelaxedDotI8x16I7x16S:
            write(fp, d, bits(dotPairs(a, read(fp, y))))
        case .i32x4RelaxedDotI8x16I7x16AddS:
            let pairs = SIMD8<Int32>(truncatingIfNeeded: dotPairs(a, read(fp, y)))
            let sums = SIMD4<Int32>(pairs[0], pairs[2], pairs[4], pairs[6]) &+ SIMD4<Int32>(pairs[1], pairs[3], pairs[5], pairs[7])
            write(fp, d, bits(sums &+ i32(read(fp, Int(truncatingIfNeeded: pc[0] & 0xFFFF)))))
            return 1
        case .f64x2Sub: write(fp, d, bits(f64(a) - f64(read(fp, y))))
        case .f64x2Mul: write(fp, d, bits(f64(a) * f64(read(fp, y))))
        case .f64x2Div: write(fp, d, bits(f64(a) / f64(read(fp, y))))
        case .f64x2Min, .f64x2RelaxedMin:
            let l = f64(a), r = f64(read(fp, y))
            write(fp, d, bits(SIMD2<Double>(Numerics.min(l[0], r[0]), Numerics.min(l[1], r[1]))))
        case .f64x2Max, .f64x2RelaxedMax:
            let l = f64(a), r = f64(read(fp, y))
            write(fp, d, bits(SIMD2<Double>(Numerics.max(l[0], r[0]), Numerics.max(l[1], r[1]))))
        case .f64x2Pmin:
            let l = f64(a), r = f64(read(fp, y))
            write(fp, d, bits(l.replacing(with: r, where: r .< l)))
        case .f64x2Pmax:
            let l = f64(a), r = f64(read(fp, y))
            write(fp, d, bits(l.replacing(with: r, where: l .< r)))
        case .f64x2ConvertLowI32x4S:
            let v = i32(a)
            write(fp, d, bits(SIMD2<Double>(Double(v[0]), Double(v[1]))))
        case .f64x2ConvertLowI32x4U:
            let v = u32(a)
            write(fp, d, bits(SIMD2<Double>(Double(v[0]), Double(v[1]))))
        case .f64x2PromoteLowF32x4:
            let v = f32(a)
            write(fp, d, bits(SIMD2<Double>(Double(v[0]), Double(v[1]))))
        default:
            // Memory instructions run in `access`; `v128.const` is a preloaded constant.
            break
        }
        return 0
    }

    /// Executes a SIMD instruction that touches linear memory (`memBase`/`memSize` are its memory's). The
    /// offset is the first extra word, width, lane and address size the second (see `memoryWord`). Returns
    /// the extra words consumed, or -1 when the access is out of bounds.
    @inline(__always)
    static func access(_ w: UInt64, _ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                       _ memBase: UnsafeMutableRawPointer, _ memSize: UInt64) -> Int {
        let d = Int(truncatingIfNeeded: (w >> 16) & 0xFFFF)
        let x = Int(truncatingIfNeeded: (w >> 32) & 0xFFFF)
        let y = Int(truncatingIfNeeded: w >> 48)
        let opcode = opcode(w)
        let info = pc[1]
        let base = info & (1 << 16) != 0 ? fp[x] : UInt64(UInt32(truncatingIfNeeded: fp[x]))
        let width = UInt64(1) << (info & 0xFF)
        guard let address = address64(base, pc[0], width, memSize) else { return -1 }
        let p = UnsafeRawPointer(memBase + Int(truncatingIfNeeded: address))
        switch opcode {
        case .v128Load: write(fp, d, SIMD2<UInt64>(p.loadUnaligned(as: UInt64.self), (p + 8).loadUnaligned(as: UInt64.self)))
        case .v128Store:
            let v = read(fp, y)
            let q = UnsafeMutableRawPointer(mutating: p)
            q.storeBytes(of: v[0], as: UInt64.self)
            (q + 8).storeBytes(of: v[1], as: UInt64.self)
        case .v128Load8x8S: write(fp, d, bits(SIMD8<Int16>(truncatingIfNeeded: bits(p.loadUnaligned(as: UInt64.self), SIMD8<Int8>.self))))
        case .v128Load8x8U: write(fp, d, bits(SIMD8<UInt16>(truncatingIfNeeded: bits(p.loadUnaligned(as: UInt64.self), SIMD8<UInt8>.self))))
        case .v128Load16x4S: write(fp, d, bits(SIMD4<Int32>(truncatingIfNeeded: bits(p.loadUnaligned(as: UInt64.self), SIMD4<Int16>.self))))
        case .v128Load16x4U: write(fp, d, bits(SIMD4<UInt32>(truncatingIfNeeded: bits(p.loadUnaligned(as: UInt64.self), SIMD4<UInt16>.self))))
        case .v128Load32x2S: write(fp, d, bits(SIMD2<Int64>(truncatingIfNeeded: bits(p.loadUnaligned(as: UInt64.self), SIMD2<Int32>.self))))
        case .v128Load32x2U: write(fp, d, SIMD2<UInt64>(truncatingIfNeeded: bits(p.loadUnaligned(as: UInt64.self), SIMD2<UInt32>.self)))
        case .v128Load8Splat: write(fp, d, bits(SIMD16<UInt8>(repeating: p.load(as: UInt8.self))))
        case .v128Load16Splat: write(fp, d, bits(SIMD8<UInt16>(repeating: p.loadUnaligned(as: UInt16.self))))
        case .v128Load32Splat: write(fp, d, bits(SIMD4<UInt32>(repeating: p.loadUnaligned(as: UInt32.self))))
        case .v128Load64Splat: write(fp, d, SIMD2<UInt64>(repeating: p.loadUnaligned(as: UInt64.self)))
        case .v128Load32Zero: write(fp, d, SIMD2<UInt64>(UInt64(p.loadUnaligned(as: UInt32.self)), 0))
        case .v128Load64Zero: write(fp, d, SIMD2<UInt64>(p.loadUnaligned(as: UInt64.self), 0))
        case .v128Load8Lane:
            var v = u8(read(fp, y))
            v[memoryLane(info, 16)] = p.load(as: UInt8.self)
            write(fp, d, bits(v))
        case .v128Load16Lane:
            var v = u16(read(fp, y))
            v[memoryLane(info, 8)] = p.loadUnaligned(as: UInt16.self)
            write(fp, d, bits(v))
        case .v128Load32Lane:
            var v = u32(read(fp, y))
            v[memoryLane(info, 4)] = p.loadUnaligned(as: UInt32.self)
            write(fp, d, bits(v))
        case .v128Load64Lane:
            var v = read(fp, y)
            v[memoryLane(info, 2)] = p.loadUnaligned(as: UInt64.self)
            write(fp, d, v)
        case .v128Store8Lane:
            UnsafeMutableRawPointer(mutating: p).storeBytes(of: u8(read(fp, y))[memoryLane(info, 16)], as: UInt8.self)
        case .v128Store16Lane:
            UnsafeMutableRawPointer(mutating: p).storeBytes(of: u16(read(fp, y))[memoryLane(info, 8)], as: UInt16.self)
        case .v128Store32Lane:
            UnsafeMutableRawPointer(mutating: p).storeBytes(of: u32(read(fp, y))[memoryLane(info, 4)], as: UInt32.self)
        case .v128Store64Lane:
            UnsafeMutableRawPointer(mutating: p).storeBytes(of: read(fp, y)[memoryLane(info, 2)], as: UInt64.self)
        default:
            break
        }
        return 2
    }

    /// The lane of a lane load or store (validated below `count`), from its memory word.
    @inline(__always)
    static func memoryLane(_ info: UInt64, _ count: Int) -> Int { Int(truncatingIfNeeded: (info >> 8) & 0xFF) & (count - 1) }

    // MARK: Lane views and helpers

    /// Products of adjacent signed 8-bit lanes, summed pairwise into 16-bit lanes (wrapping), without the
    /// intermediate 16-bit wrap for the i32 variant: callers widen before adding pairs of these.
    @inline(__always)
    /// The relaxed dot product in the deterministic profile (the spec's `$ivdot_sat_` with both operands
    /// signed): products of signed bytes, adjacent pairs added with signed saturation to 16 bits
    /// ((-128)(-128) + (-128)(-128) = 32768 saturates to 32767).
    static func dotPairs(_ a: SIMD2<UInt64>, _ b: SIMD2<UInt64>) -> SIMD8<Int16> {
        let x = SIMD16<Int32>(truncatingIfNeeded: i8(a)) &* SIMD16<Int32>(truncatingIfNeeded: i8(b))
        var sums = SIMD8<Int16>()
        for i in 0..<8 {
            let sum = x[2 * i] + x[2 * i + 1]
            sums[i] = Int16(clamping: sum)
        }
        return sums
    }

    @inline(__always) static func read(_ fp: UnsafeMutablePointer<UInt64>, _ slot: Int) -> SIMD2<UInt64> {
        SIMD2(fp[slot], fp[slot &+ 1])
    }

    @inline(__always) static func write(_ fp: UnsafeMutablePointer<UInt64>, _ slot: Int, _ v: SIMD2<UInt64>) {
        fp[slot] = v[0]
        fp[slot &+ 1] = v[1]
    }

    /// A validated lane index (the validator bounds it by the lane count; masking keeps a bad word harmless).
    @inline(__always) static func lane(_ pc: UnsafePointer<UInt64>, _ count: Int) -> Int {
        Int(truncatingIfNeeded: pc.pointee) & (count - 1)
    }

    @inline(__always) static func bits<T: SIMD>(_ v: T) -> SIMD2<UInt64> { unsafeBitCast(v, to: SIMD2<UInt64>.self) }
    @inline(__always) static func bits<T: SIMD>(_ v: UInt64, _: T.Type) -> T { unsafeBitCast(v, to: T.self) }
    @inline(__always) static func u8(_ v: SIMD2<UInt64>) -> SIMD16<UInt8> { unsafeBitCast(v, to: SIMD16<UInt8>.self) }
    @inline(__always) static func i8(_ v: SIMD2<UInt64>) -> SIMD16<Int8> { unsafeBitCast(v, to: SIMD16<Int8>.self) }
    @inline(__always) static func u16(_ v: SIMD2<UInt64>) -> SIMD8<UInt16> { unsafeBitCast(v, to: SIMD8<UInt16>.self) }
    @inline(__always) static func i16(_ v: SIMD2<UInt64>) -> SIMD8<Int16> { unsafeBitCast(v, to: SIMD8<Int16>.self) }
    @inline(__always) static func u32(_ v: SIMD2<UInt64>) -> SIMD4<UInt32> { unsafeBitCast(v, to: SIMD4<UInt32>.self) }
    @inline(__always) static func i32(_ v: SIMD2<UInt64>) -> SIMD4<Int32> { unsafeBitCast(v, to: SIMD4<Int32>.self) }
    @inline(__always) static func i64(_ v: SIMD2<UInt64>) -> SIMD2<Int64> { unsafeBitCast(v, to: SIMD2<Int64>.self) }
    @inline(__always) static func f32(_ v: SIMD2<UInt64>) -> SIMD4<Float> { unsafeBitCast(v, to: SIMD4<Float>.self) }
    @inline(__always) static func f64(_ v: SIMD2<UInt64>) -> SIMD2<Double> { unsafeBitCast(v, to: SIMD2<Double>.self) }

    /// Bytes picked from a 32-byte table by 16 selector bytes; selectors at or above `limit` pick 0. The result
    /// is assembled in registers (writing single lanes of a vector in memory defeats store forwarding).
    @inline(__always) static func selectBytes(_ table: (UInt64, UInt64, UInt64, UInt64), _ selectors: SIMD2<UInt64>,
                                              limit: UInt64) -> SIMD2<UInt64> {
        var table = table
        return withUnsafeBytes(of: &table) { bytes in
            var result = SIMD2<UInt64>()
            for half in 0..<2 {
                var word: UInt64 = 0, selector = selectors[half]
                for k in 0..<8 {
                    let s = selector & 0xFF
                    if s < limit { word |= UInt64(bytes[Int(truncatingIfNeeded: s) & 31]) << UInt64(8 * k) }
                    selector >>= 8
                }
                result[half] = word
            }
            return result
        }
    }

    /// A comparison's lanes as all-ones (true) or all-zeros (false).
    @inline(__always) static func mask<M: SIMD>(_ m: SIMDMask<M>) -> SIMD2<UInt64>
    where M.Scalar: FixedWidthInteger & SignedInteger, M.MaskStorage == M {
        bits(M(repeating: 0).replacing(with: -1, where: m))
    }

    /// Wrapping absolute value (the minimum stays the minimum).
    @inline(__always) static func absolute<V: SIMD>(_ v: V) -> V
    where V.Scalar: FixedWidthInteger & SignedInteger {
        v.replacing(with: V(repeating: 0) &- v, where: v .< V(repeating: 0))
    }

    /// Each lane's sign bit, lane 0 in bit 0.
    @inline(__always) static func bitmask<V: SIMD>(_ v: V) -> UInt64 where V.Scalar: FixedWidthInteger & SignedInteger {
        var result: UInt64 = 0
        for i in 0..<v.scalarCount where v[i] < 0 { result |= 1 << UInt64(i) }
        return result
    }

    /// Lanes converted to a narrower integer type with saturation.
    @inline(__always) static func narrow<V: SIMD, R: SIMD>(_ v: V, to _: R.Type) -> R
    where V.Scalar: FixedWidthInteger & SignedInteger, R.Scalar: FixedWidthInteger {
        let clamped = v.clamped(lowerBound: V(repeating: V.Scalar(R.Scalar.min)), upperBound: V(repeating: V.Scalar(R.Scalar.max)))
        var result = R()
        for i in 0..<v.scalarCount { result[i] = R.Scalar(truncatingIfNeeded: clamped[i]) }
        return result
    }
}
