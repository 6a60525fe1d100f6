import WasmParser

// The handlers of the threaded ops (see Threaded.swift): each runs one instruction and dispatches the next.
// Names in the bodies follow `Store.run`: `w` the instruction word, `d`/`x`/`y` its slot fields, `start` the
// instruction's address, `pc` the word after it. Slot fields are read with `operand` (one 16-bit load each).

func installHandlers(_ table: UnsafeMutablePointer<Handler>) {
    installFusedHandlers(table)
    // Numeric ops `d = op(x, y)` and `d = op(x)`: `binary`/`unary` read the operands, store the result and
    // dispatch; each closure is specialized into its own handler.
    // MARK: i32
    table[op(.i32Eqz)] = { unary($0, $1, $2, $3, $4) { a in a & 0xFFFF_FFFF == 0 ? 1 : 0 } }
    table[op(.i32Eq)] = { binary($0, $1, $2, $3, $4) { a, b in u32(a) == u32(b) ? 1 : 0 } }
    table[op(.i32Ne)] = { binary($0, $1, $2, $3, $4) { a, b in u32(a) != u32(b) ? 1 : 0 } }
    table[op(.i32LtS)] = { binary($0, $1, $2, $3, $4) { a, b in s32(a) < s32(b) ? 1 : 0 } }
    table[op(.i32LtU)] = { binary($0, $1, $2, $3, $4) { a, b in u32(a) < u32(b) ? 1 : 0 } }
    table[op(.i32GtS)] = { binary($0, $1, $2, $3, $4) { a, b in s32(a) > s32(b) ? 1 : 0 } }
    table[op(.i32GtU)] = { binary($0, $1, $2, $3, $4) { a, b in u32(a) > u32(b) ? 1 : 0 } }
    table[op(.i32LeS)] = { binary($0, $1, $2, $3, $4) { a, b in s32(a) <= s32(b) ? 1 : 0 } }
    table[op(.i32LeU)] = { binary($0, $1, $2, $3, $4) { a, b in u32(a) <= u32(b) ? 1 : 0 } }
    table[op(.i32GeS)] = { binary($0, $1, $2, $3, $4) { a, b in s32(a) >= s32(b) ? 1 : 0 } }
    table[op(.i32GeU)] = { binary($0, $1, $2, $3, $4) { a, b in u32(a) >= u32(b) ? 1 : 0 } }
    table[op(.i32Clz)] = { unary($0, $1, $2, $3, $4) { a in UInt64(u32(a).leadingZeroBitCount) } }
    table[op(.i32Ctz)] = { unary($0, $1, $2, $3, $4) { a in UInt64(u32(a).trailingZeroBitCount) } }
    table[op(.i32Popcnt)] = { unary($0, $1, $2, $3, $4) { a in UInt64(u32(a).nonzeroBitCount) } }
    table[op(.i32Add)] = { binary($0, $1, $2, $3, $4) { a, b in add32(a, b) } }
    table[op(.i32Sub)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(u32(a) &- u32(b)) } }
    table[op(.i32Mul)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(u32(a) &* u32(b)) } }
    table[op(.i32DivS)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let a = s32(fp[x]), b = s32(fp[y])
        if b == 0 { return trap(vm, .integerDivideByZero) }
        if a == .min && b == -1 { return trap(vm, .integerOverflow) }
        fp[d] = UInt64(UInt32(bitPattern: a / b))
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i32DivU)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let b = u32(fp[y])
        if b == 0 { return trap(vm, .integerDivideByZero) }
        fp[d] = UInt64(u32(fp[x]) / b)
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i32RemS)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let a = s32(fp[x]), b = s32(fp[y])
        if b == 0 { return trap(vm, .integerDivideByZero) }
        fp[d] = b == -1 ? 0 : UInt64(UInt32(bitPattern: a % b))
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i32RemU)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let b = u32(fp[y])
        if b == 0 { return trap(vm, .integerDivideByZero) }
        fp[d] = UInt64(u32(fp[x]) % b)
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i32And)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(u32(a) & u32(b)) } }
    table[op(.i32Or)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(u32(a) | u32(b)) } }
    table[op(.i32Xor)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(u32(a) ^ u32(b)) } }
    table[op(.i32Shl)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(u32(a) &<< u32(b)) } }
    table[op(.i32ShrS)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(UInt32(bitPattern: s32(a) &>> s32(b))) } }
    table[op(.i32ShrU)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(u32(a) &>> u32(b)) } }
    table[op(.i32Rotl)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(rotl(u32(a), u32(b))) } }
    table[op(.i32XorRotl)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        fp[d] = UInt64(rotl(u32(fp[x]) ^ u32(fp[y]), u32(fp[Int(truncatingIfNeeded: pc.pointee & 0xFFFF)])))
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i32Rotr)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(rotl(u32(a), 32 &- (u32(b) & 31))) } }
    // MARK: i64
    table[op(.i64Eqz)] = { unary($0, $1, $2, $3, $4) { a in a == 0 ? 1 : 0 } }
    table[op(.i64Eq)] = { binary($0, $1, $2, $3, $4) { a, b in a == b ? 1 : 0 } }
    table[op(.i64Ne)] = { binary($0, $1, $2, $3, $4) { a, b in a != b ? 1 : 0 } }
    table[op(.i64LtS)] = { binary($0, $1, $2, $3, $4) { a, b in s64(a) < s64(b) ? 1 : 0 } }
    table[op(.i64LtU)] = { binary($0, $1, $2, $3, $4) { a, b in a < b ? 1 : 0 } }
    table[op(.i64GtS)] = { binary($0, $1, $2, $3, $4) { a, b in s64(a) > s64(b) ? 1 : 0 } }
    table[op(.i64GtU)] = { binary($0, $1, $2, $3, $4) { a, b in a > b ? 1 : 0 } }
    table[op(.i64LeS)] = { binary($0, $1, $2, $3, $4) { a, b in s64(a) <= s64(b) ? 1 : 0 } }
    table[op(.i64LeU)] = { binary($0, $1, $2, $3, $4) { a, b in a <= b ? 1 : 0 } }
    table[op(.i64GeS)] = { binary($0, $1, $2, $3, $4) { a, b in s64(a) >= s64(b) ? 1 : 0 } }
    table[op(.i64GeU)] = { binary($0, $1, $2, $3, $4) { a, b in a >= b ? 1 : 0 } }
    table[op(.i64Clz)] = { unary($0, $1, $2, $3, $4) { a in UInt64(a.leadingZeroBitCount) } }
    table[op(.i64Ctz)] = { unary($0, $1, $2, $3, $4) { a in UInt64(a.trailingZeroBitCount) } }
    table[op(.i64Popcnt)] = { unary($0, $1, $2, $3, $4) { a in UInt64(a.nonzeroBitCount) } }
    table[op(.i64Add)] = { binary($0, $1, $2, $3, $4) { a, b in a &+ b } }
    table[op(.i64Sub)] = { binary($0, $1, $2, $3, $4) { a, b in a &- b } }
    table[op(.i64Mul)] = { binary($0, $1, $2, $3, $4) { a, b in a &* b } }
    table[op(.i64DivS)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let a = s64(fp[x]), b = s64(fp[y])
        if b == 0 { return trap(vm, .integerDivideByZero) }
        if a == .min && b == -1 { return trap(vm, .integerOverflow) }
        fp[d] = UInt64(bitPattern: a / b)
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i64DivU)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let b = fp[y]
        if b == 0 { return trap(vm, .integerDivideByZero) }
        fp[d] = fp[x] / b
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i64RemS)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let a = s64(fp[x]), b = s64(fp[y])
        if b == 0 { return trap(vm, .integerDivideByZero) }
        fp[d] = b == -1 ? 0 : UInt64(bitPattern: a % b)
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i64RemU)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let b = fp[y]
        if b == 0 { return trap(vm, .integerDivideByZero) }
        fp[d] = fp[x] % b
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i64And)] = { binary($0, $1, $2, $3, $4) { a, b in a & b } }
    table[op(.i64Or)] = { binary($0, $1, $2, $3, $4) { a, b in a | b } }
    table[op(.i64Xor)] = { binary($0, $1, $2, $3, $4) { a, b in a ^ b } }
    table[op(.i64Shl)] = { binary($0, $1, $2, $3, $4) { a, b in a &<< b } }
    table[op(.i64ShrS)] = { binary($0, $1, $2, $3, $4) { a, b in UInt64(bitPattern: s64(a) &>> s64(b)) } }
    table[op(.i64ShrU)] = { binary($0, $1, $2, $3, $4) { a, b in a &>> b } }
    table[op(.i64Rotl)] = { binary($0, $1, $2, $3, $4) { a, b in rotl(a, b) } }
    table[op(.i64XorRotl)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        fp[d] = rotl(fp[x] ^ fp[y], fp[Int(truncatingIfNeeded: pc.pointee & 0xFFFF)])
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i64Rotr)] = { binary($0, $1, $2, $3, $4) { a, b in rotl(a, 64 &- (b & 63)) } }
    // MARK: f32
    table[op(.f32Eq)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f32(a) == Numerics.f32(b) ? 1 : 0 } }
    table[op(.f32Ne)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f32(a) != Numerics.f32(b) ? 1 : 0 } }
    table[op(.f32Lt)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f32(a) < Numerics.f32(b) ? 1 : 0 } }
    table[op(.f32Gt)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f32(a) > Numerics.f32(b) ? 1 : 0 } }
    table[op(.f32Le)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f32(a) <= Numerics.f32(b) ? 1 : 0 } }
    table[op(.f32Ge)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f32(a) >= Numerics.f32(b) ? 1 : 0 } }
    table[op(.f32Abs)] = { unary($0, $1, $2, $3, $4) { a in a & 0x7FFF_FFFF } }
    table[op(.f32Neg)] = { unary($0, $1, $2, $3, $4) { a in (a ^ 0x8000_0000) & 0xFFFF_FFFF } }
    table[op(.f32Ceil)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Numerics.f32(a).rounded(.up)) } }
    table[op(.f32Floor)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Numerics.f32(a).rounded(.down)) } }
    table[op(.f32Trunc)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Numerics.f32(a).rounded(.towardZero)) } }
    table[op(.f32Nearest)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Numerics.f32(a).rounded(.toNearestOrEven)) } }
    table[op(.f32Sqrt)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Numerics.f32(a).squareRoot()) } }
    table[op(.f32Add)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.f32(a) + Numerics.f32(b)) } }
    table[op(.f32Sub)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.f32(a) - Numerics.f32(b)) } }
    table[op(.f32Mul)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.f32(a) * Numerics.f32(b)) } }
    table[op(.f32Div)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.f32(a) / Numerics.f32(b)) } }
    table[op(.f32Min)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.min(Numerics.f32(a), Numerics.f32(b))) } }
    table[op(.f32Max)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.max(Numerics.f32(a), Numerics.f32(b))) } }
    table[op(.f32Copysign)] = { binary($0, $1, $2, $3, $4) { a, b in (a & 0x7FFF_FFFF) | (b & 0x8000_0000) } }
    // MARK: f64
    table[op(.f64Eq)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f64(a) == Numerics.f64(b) ? 1 : 0 } }
    table[op(.f64Ne)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f64(a) != Numerics.f64(b) ? 1 : 0 } }
    table[op(.f64Lt)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f64(a) < Numerics.f64(b) ? 1 : 0 } }
    table[op(.f64Gt)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f64(a) > Numerics.f64(b) ? 1 : 0 } }
    table[op(.f64Le)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f64(a) <= Numerics.f64(b) ? 1 : 0 } }
    table[op(.f64Ge)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.f64(a) >= Numerics.f64(b) ? 1 : 0 } }
    table[op(.f64Abs)] = { unary($0, $1, $2, $3, $4) { a in a & 0x7FFF_FFFF_FFFF_FFFF } }
    table[op(.f64Neg)] = { unary($0, $1, $2, $3, $4) { a in a ^ 0x8000_0000_0000_0000 } }
    table[op(.f64Ceil)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Numerics.f64(a).rounded(.up)) } }
    table[op(.f64Floor)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Numerics.f64(a).rounded(.down)) } }
    table[op(.f64Trunc)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Numerics.f64(a).rounded(.towardZero)) } }
    table[op(.f64Nearest)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Numerics.f64(a).rounded(.toNearestOrEven)) } }
    table[op(.f64Sqrt)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Numerics.f64(a).squareRoot()) } }
    table[op(.f64Add)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.f64(a) + Numerics.f64(b)) } }
    table[op(.f64Sub)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.f64(a) - Numerics.f64(b)) } }
    table[op(.f64Mul)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.f64(a) * Numerics.f64(b)) } }
    table[op(.f64Div)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.f64(a) / Numerics.f64(b)) } }
    table[op(.f64Min)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.min(Numerics.f64(a), Numerics.f64(b))) } }
    table[op(.f64Max)] = { binary($0, $1, $2, $3, $4) { a, b in Numerics.slot(Numerics.max(Numerics.f64(a), Numerics.f64(b))) } }
    table[op(.f64Copysign)] = { binary($0, $1, $2, $3, $4) { a, b in (a & 0x7FFF_FFFF_FFFF_FFFF) | (b & 0x8000_0000_0000_0000) } }
    // MARK: conversions
    table[op(.i32WrapI64)] = { unary($0, $1, $2, $3, $4) { a in a & 0xFFFF_FFFF } }
    table[op(.i32TruncF32S)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        do throws(Trap) { fp[d] = UInt64(UInt32(bitPattern: try Numerics.truncToI32(Numerics.f32(fp[x]), lower: -2147483904.0, upper: 2147483648.0))) }
        catch { return trap(vm, error.reason) }
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i32TruncF32U)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        do throws(Trap) { fp[d] = UInt64(try Numerics.truncToU32(Numerics.f32(fp[x]))) } catch { return trap(vm, error.reason) }
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i32TruncF64S)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        do throws(Trap) { fp[d] = UInt64(UInt32(bitPattern: try Numerics.truncToI32(Numerics.f64(fp[x]), lower: -2147483649.0, upper: 2147483648.0))) }
        catch { return trap(vm, error.reason) }
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i32TruncF64U)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        do throws(Trap) { fp[d] = UInt64(try Numerics.truncToU32(Numerics.f64(fp[x]))) } catch { return trap(vm, error.reason) }
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i64ExtendI32S)] = { unary($0, $1, $2, $3, $4) { a in UInt64(bitPattern: Int64(s32(a))) } }
    table[op(.i64ExtendI32U)] = { unary($0, $1, $2, $3, $4) { a in a & 0xFFFF_FFFF } }
    table[op(.i64TruncF32S)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        do throws(Trap) { fp[d] = UInt64(bitPattern: try Numerics.truncToI64(Numerics.f32(fp[x]))) } catch { return trap(vm, error.reason) }
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i64TruncF32U)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        do throws(Trap) { fp[d] = try Numerics.truncToU64(Numerics.f32(fp[x])) } catch { return trap(vm, error.reason) }
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i64TruncF64S)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        do throws(Trap) { fp[d] = UInt64(bitPattern: try Numerics.truncToI64(Numerics.f64(fp[x]))) } catch { return trap(vm, error.reason) }
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.i64TruncF64U)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        do throws(Trap) { fp[d] = try Numerics.truncToU64(Numerics.f64(fp[x])) } catch { return trap(vm, error.reason) }
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.f32ConvertI32S)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Float(s32(a))) } }
    table[op(.f32ConvertI32U)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Float(u32(a))) } }
    table[op(.f32ConvertI64S)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Float(s64(a))) } }
    table[op(.f32ConvertI64U)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Float(a)) } }
    table[op(.f32DemoteF64)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Float(Numerics.f64(a))) } }
    table[op(.f64ConvertI32S)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Double(s32(a))) } }
    table[op(.f64ConvertI32U)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Double(u32(a))) } }
    table[op(.f64ConvertI64S)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Double(s64(a))) } }
    table[op(.f64ConvertI64U)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Double(a)) } }
    table[op(.f64PromoteF32)] = { unary($0, $1, $2, $3, $4) { a in Numerics.slot(Double(Numerics.f32(a))) } }
    table[op(.i32ReinterpretF32)] = { unary($0, $1, $2, $3, $4) { a in a & 0xFFFF_FFFF } }
    table[op(.f32ReinterpretI32)] = { unary($0, $1, $2, $3, $4) { a in a & 0xFFFF_FFFF } }
    table[op(.i64ReinterpretF64)] = { unary($0, $1, $2, $3, $4) { a in a } }
    table[op(.f64ReinterpretI64)] = { unary($0, $1, $2, $3, $4) { a in a } }
    table[op(.i32Extend8S)] = { unary($0, $1, $2, $3, $4) { a in UInt64(UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: a)))) } }
    table[op(.i32Extend16S)] = { unary($0, $1, $2, $3, $4) { a in UInt64(UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: a)))) } }
    table[op(.i64Extend8S)] = { unary($0, $1, $2, $3, $4) { a in UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: a))) } }
    table[op(.i64Extend16S)] = { unary($0, $1, $2, $3, $4) { a in UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: a))) } }
    table[op(.i64Extend32S)] = { unary($0, $1, $2, $3, $4) { a in UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: a))) } }
    table[op(.truncSat)] = { pc, fp, memBase, vm, handlers in
        let kind = UInt8(truncatingIfNeeded: pc.pointee >> 8)
        return unary(pc, fp, memBase, vm, handlers) { a in Numerics.truncateSaturating(kind, a) }
    }
    table[op(.f32MulAdd)] = { ternary($0, $1, $2, $3, $4) { a, b, c in Numerics.slot(Numerics.f32(a) * Numerics.f32(b) + Numerics.f32(c)) } }
    table[op(.f64MulAdd)] = { ternary($0, $1, $2, $3, $4) { a, b, c in (Numerics.f64(a) * Numerics.f64(b) + Numerics.f64(c)).bitPattern } }
    table[op(.f32MulSub)] = { ternary($0, $1, $2, $3, $4) { a, b, c in Numerics.slot(Numerics.f32(a) * Numerics.f32(b) - Numerics.f32(c)) } }
    table[op(.f64MulSub)] = { ternary($0, $1, $2, $3, $4) { a, b, c in (Numerics.f64(a) * Numerics.f64(b) - Numerics.f64(c)).bitPattern } }
    // MARK: data movement
    table[op(.copy)] = { unary($0, $1, $2, $3, $4) { a in a } }
    table[op(.select)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        fp[d] = fp[Int(truncatingIfNeeded: pc.pointee)] & 0xFFFF_FFFF != 0 ? fp[x] : fp[y]
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.globalGet)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let d = operand(pc, 2)
        let context = state(vm).pointee.context.unsafelyUnwrapped
        fp[d] = context.pointee.globals[Int(truncatingIfNeeded: pc.pointee)].pointee
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.globalSet)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let x = operand(pc, 4)
        let context = state(vm).pointee.context.unsafelyUnwrapped
        context.pointee.globals[Int(truncatingIfNeeded: pc.pointee)].pointee = fp[x]
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    // MARK: control
    table[op(.trapUnreachable)] = { _, _, _, vm, _ in trap(vm, .unreachable) }
    table[op(.br)] = { pc, fp, memBase, vm, handlers in
        let start = pc
        var pc = pc + 1
        guard branch(&pc, start, vm, costShift: 32) else { return 0 }
        return next(pc, fp, memBase, vm, handlers)
    }
    // Conditional branches: taken, they jump and charge fuel (checked on backward jumps).
    table[op(.brIfNz)] = { testBranch($0, $1, $2, $3, $4) { a in a & 0xFFFF_FFFF != 0 } }
    table[op(.brIfZ)] = { testBranch($0, $1, $2, $3, $4) { a in a & 0xFFFF_FFFF == 0 } }
    table[op(.brIfAndNz)] = { andBranch($0, $1, $2, $3, $4, ifZero: false) }
    table[op(.brIfAndZ)] = { andBranch($0, $1, $2, $3, $4, ifZero: true) }
    table[op(.brIfI32Eq)] = { compareBranch($0, $1, $2, $3, $4) { a, b in u32(a) == u32(b) } }
    table[op(.brIfI32Ne)] = { compareBranch($0, $1, $2, $3, $4) { a, b in u32(a) != u32(b) } }
    table[op(.brIfI32LtS)] = { compareBranch($0, $1, $2, $3, $4) { a, b in s32(a) < s32(b) } }
    table[op(.brIfI32LtU)] = { compareBranch($0, $1, $2, $3, $4) { a, b in u32(a) < u32(b) } }
    table[op(.brIfI32GtS)] = { compareBranch($0, $1, $2, $3, $4) { a, b in s32(a) > s32(b) } }
    table[op(.brIfI32GtU)] = { compareBranch($0, $1, $2, $3, $4) { a, b in u32(a) > u32(b) } }
    table[op(.brIfI32LeS)] = { compareBranch($0, $1, $2, $3, $4) { a, b in s32(a) <= s32(b) } }
    table[op(.brIfI32LeU)] = { compareBranch($0, $1, $2, $3, $4) { a, b in u32(a) <= u32(b) } }
    table[op(.brIfI32GeS)] = { compareBranch($0, $1, $2, $3, $4) { a, b in s32(a) >= s32(b) } }
    table[op(.brIfI32GeU)] = { compareBranch($0, $1, $2, $3, $4) { a, b in u32(a) >= u32(b) } }
    table[op(.brIfI64Eq)] = { compareBranch($0, $1, $2, $3, $4) { a, b in a == b } }
    table[op(.brIfI64Ne)] = { compareBranch($0, $1, $2, $3, $4) { a, b in a != b } }
    table[op(.brIfI64LtS)] = { compareBranch($0, $1, $2, $3, $4) { a, b in s64(a) < s64(b) } }
    table[op(.brIfI64LtU)] = { compareBranch($0, $1, $2, $3, $4) { a, b in a < b } }
    table[op(.brIfI64GtS)] = { compareBranch($0, $1, $2, $3, $4) { a, b in s64(a) > s64(b) } }
    table[op(.brIfI64GtU)] = { compareBranch($0, $1, $2, $3, $4) { a, b in a > b } }
    table[op(.brIfI64LeS)] = { compareBranch($0, $1, $2, $3, $4) { a, b in s64(a) <= s64(b) } }
    table[op(.brIfI64LeU)] = { compareBranch($0, $1, $2, $3, $4) { a, b in a <= b } }
    table[op(.brIfI64GeS)] = { compareBranch($0, $1, $2, $3, $4) { a, b in s64(a) >= s64(b) } }
    table[op(.brIfI64GeU)] = { compareBranch($0, $1, $2, $3, $4) { a, b in a >= b } }
    // Fused `d = x + y; if d <cmp> z`: z's slot sits in bits 32..<48 of the target word.
    table[op(.addBrIfI32Eq)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in u32(a) == u32(b) } }
    table[op(.addBrIfI32Ne)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in u32(a) != u32(b) } }
    table[op(.addBrIfI32LtS)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in s32(a) < s32(b) } }
    table[op(.addBrIfI32LtU)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in u32(a) < u32(b) } }
    table[op(.addBrIfI32GtS)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in s32(a) > s32(b) } }
    table[op(.addBrIfI32GtU)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in u32(a) > u32(b) } }
    table[op(.addBrIfI32LeS)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in s32(a) <= s32(b) } }
    table[op(.addBrIfI32LeU)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in u32(a) <= u32(b) } }
    table[op(.addBrIfI32GeS)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in s32(a) >= s32(b) } }
    table[op(.addBrIfI32GeU)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in u32(a) >= u32(b) } }
    table[op(.addBrIfI64Eq)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in a == b } }
    table[op(.addBrIfI64Ne)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in a != b } }
    table[op(.addBrIfI64LtS)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in s64(a) < s64(b) } }
    table[op(.addBrIfI64LtU)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in a < b } }
    table[op(.addBrIfI64GtS)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in s64(a) > s64(b) } }
    table[op(.addBrIfI64GtU)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in a > b } }
    table[op(.addBrIfI64LeS)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in s64(a) <= s64(b) } }
    table[op(.addBrIfI64LeU)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in a <= b } }
    table[op(.addBrIfI64GeS)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in s64(a) >= s64(b) } }
    table[op(.addBrIfI64GeU)] = { addCompareBranch($0, $1, $2, $3, $4) { a, b in a >= b } }
    table[op(.brTable)] = { pc, fp, memBase, vm, handlers in
        let start = pc
        let pc = pc + 1
        return tableJump(UInt64(u32(fp[operand(pc, 4)])), pc, from: start, fp, memBase, vm, handlers)
    }
    // The fused `i32.add; br_table` (see `installFlaggedHandlers`) has its own entry at sub-field 1.
    // MARK: memory
    table[op(.loadI32)] = { load32($0, $1, $2, $3, $4, UInt32.self) { v in UInt64(v) } }
    table[op(.loadI64)] = { load32($0, $1, $2, $3, $4, UInt64.self) { v in v } }
    table[op(.loadI328s)] = { load32($0, $1, $2, $3, $4, UInt8.self) { v in UInt64(UInt32(bitPattern: Int32(Int8(bitPattern: v)))) } }
    table[op(.loadI328u)] = { load32($0, $1, $2, $3, $4, UInt8.self) { v in UInt64(v) } }
    table[op(.loadI648s)] = { load32($0, $1, $2, $3, $4, UInt8.self) { v in UInt64(bitPattern: Int64(Int8(bitPattern: v))) } }
    table[op(.loadI3216s)] = { load32($0, $1, $2, $3, $4, UInt16.self) { v in UInt64(UInt32(bitPattern: Int32(Int16(bitPattern: v)))) } }
    table[op(.loadI3216u)] = { load32($0, $1, $2, $3, $4, UInt16.self) { v in UInt64(v) } }
    table[op(.loadI6416s)] = { load32($0, $1, $2, $3, $4, UInt16.self) { v in UInt64(bitPattern: Int64(Int16(bitPattern: v))) } }
    table[op(.loadI6432s)] = { load32($0, $1, $2, $3, $4, UInt32.self) { v in UInt64(bitPattern: Int64(Int32(bitPattern: v))) } }
    table[op(.storeI32)] = { store32($0, $1, $2, $3, $4, UInt32.self) }
    table[op(.storeI64)] = { store32($0, $1, $2, $3, $4, UInt64.self) }
    table[op(.store8)] = { store32($0, $1, $2, $3, $4, UInt8.self) }
    table[op(.store16)] = { store32($0, $1, $2, $3, $4, UInt16.self) }
    table[op(.loadAddI32)] = { loadAdd32($0, $1, $2, $3, $4, UInt32.self) { v in UInt64(v) } }
    table[op(.loadAddI64)] = { loadAdd32($0, $1, $2, $3, $4, UInt64.self) { v in v } }
    table[op(.loadAddI328s)] = { loadAdd32($0, $1, $2, $3, $4, UInt8.self) { v in UInt64(UInt32(bitPattern: Int32(Int8(bitPattern: v)))) } }
    table[op(.loadAddI328u)] = { loadAdd32($0, $1, $2, $3, $4, UInt8.self) { v in UInt64(v) } }
    table[op(.loadAddI3216s)] = { loadAdd32($0, $1, $2, $3, $4, UInt16.self) { v in UInt64(UInt32(bitPattern: Int32(Int16(bitPattern: v)))) } }
    table[op(.loadAddI3216u)] = { loadAdd32($0, $1, $2, $3, $4, UInt16.self) { v in UInt64(v) } }
    table[op(.storeAddI32)] = { storeAdd32($0, $1, $2, $3, $4, UInt32.self) }
    table[op(.storeAdd8)] = { storeAdd32($0, $1, $2, $3, $4, UInt8.self) }
    // Memory64 (a 64-bit memory 0): the whole slot is the address, and address + offset must not wrap.
    table[op(.load64I32)] = { load64($0, $1, $2, $3, $4, UInt32.self) { v in UInt64(v) } }
    table[op(.load64I64)] = { load64($0, $1, $2, $3, $4, UInt64.self) { v in v } }
    table[op(.load64I328s)] = { load64($0, $1, $2, $3, $4, UInt8.self) { v in UInt64(UInt32(bitPattern: Int32(Int8(bitPattern: v)))) } }
    table[op(.load64I328u)] = { load64($0, $1, $2, $3, $4, UInt8.self) { v in UInt64(v) } }
    table[op(.load64I648s)] = { load64($0, $1, $2, $3, $4, UInt8.self) { v in UInt64(bitPattern: Int64(Int8(bitPattern: v))) } }
    table[op(.load64I3216s)] = { load64($0, $1, $2, $3, $4, UInt16.self) { v in UInt64(UInt32(bitPattern: Int32(Int16(bitPattern: v)))) } }
    table[op(.load64I3216u)] = { load64($0, $1, $2, $3, $4, UInt16.self) { v in UInt64(v) } }
    table[op(.load64I6416s)] = { load64($0, $1, $2, $3, $4, UInt16.self) { v in UInt64(bitPattern: Int64(Int16(bitPattern: v))) } }
    table[op(.load64I6432s)] = { load64($0, $1, $2, $3, $4, UInt32.self) { v in UInt64(bitPattern: Int64(Int32(bitPattern: v))) } }
    // One case per width, as for 32-bit memories: a shared case with a switch inside cost 12% on a
    // store-heavy loop (Benchmarks/memory64-bench.sh).
    table[op(.store648)] = { store64($0, $1, $2, $3, $4, UInt8.self) }
    table[op(.store6416)] = { store64($0, $1, $2, $3, $4, UInt16.self) }
    table[op(.store64I32)] = { store64($0, $1, $2, $3, $4, UInt32.self) }
    table[op(.store64I64)] = { store64($0, $1, $2, $3, $4, UInt64.self) }
    table[op(.memorySize)] = { pc, fp, memBase, vm, handlers in
        let memSize = state(vm).pointee.memSize
        let pc = pc + 1
        let d = operand(pc, 2)
        fp[d] = memSize / UInt64(MemoryType.pageSize)
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.memoryFill)] = { pc, fp, memBase, vm, handlers in
        let memSize = state(vm).pointee.memSize
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let destination = UInt64(u32(fp[d])), count = UInt64(u32(fp[y]))
        guard destination &+ count <= memSize else { return trap(vm, .outOfBoundsMemoryAccess) }
        (memBase + Int(destination)).initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: fp[x]), count: Int(count))
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.memoryCopy)] = { pc, fp, memBase, vm, handlers in
        let memSize = state(vm).pointee.memSize
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let destination = UInt64(u32(fp[d])), source = UInt64(u32(fp[x])), count = UInt64(u32(fp[y]))
        guard destination &+ count <= memSize, source &+ count <= memSize else { return trap(vm, .outOfBoundsMemoryAccess) }
        (memBase + Int(destination)).copyMemory(from: memBase + Int(source), byteCount: Int(count))
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.memoryInit)] = { pc, fp, memBase, vm, handlers in
        let memSize = state(vm).pointee.memSize
        var pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let context = state(vm).pointee.context.unsafelyUnwrapped
        let segment = context.pointee.data + Int(truncatingIfNeeded: pc.pointee)
        pc += 1
        let destination = UInt64(u32(fp[d])), source = UInt64(u32(fp[x])), count = UInt64(u32(fp[y]))
        guard destination &+ count <= memSize, source &+ count <= UInt64(segment.pointee.count) else {
            return trap(vm, .outOfBoundsMemoryAccess)
        }
        if count > 0 {
            (memBase + Int(destination)).copyMemory(from: segment.pointee.pointer.unsafelyUnwrapped + Int(source), byteCount: Int(count))
        }
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.dataDrop)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let context = state(vm).pointee.context.unsafelyUnwrapped
        context.pointee.data[Int(truncatingIfNeeded: pc.pointee)].count = 0
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    // MARK: tables and references
    // Tables: bits 8..<16 of the word are the index widths (bit 8: the table, or the destination, is
    // 64-bit; bit 9: the source table is), so i32 indices are read as their low 32 bits.
    table[op(.tableGet)] = { pc, fp, memBase, vm, handlers in
        let w = pc.pointee
        var pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let context = state(vm).pointee.context.unsafelyUnwrapped
        let table = context.pointee.tables[Int(truncatingIfNeeded: pc.pointee)]
        pc += 1
        let index = tableIndex(w, fp[x], 8)
        guard index < UInt64(table.pointee.count) else { return trap(vm, .outOfBoundsTableAccess) }
        fp[d] = table.pointee.elements[Int(index)]
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.tableSet)] = { pc, fp, memBase, vm, handlers in
        let w = pc.pointee
        var pc = pc + 1
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let context = state(vm).pointee.context.unsafelyUnwrapped
        let table = context.pointee.tables[Int(truncatingIfNeeded: pc.pointee)]
        pc += 1
        let index = tableIndex(w, fp[x], 8)
        guard index < UInt64(table.pointee.count) else { return trap(vm, .outOfBoundsTableAccess) }
        table.pointee.elements[Int(index)] = fp[y]
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.tableSize)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let d = operand(pc, 2)
        let context = state(vm).pointee.context.unsafelyUnwrapped
        fp[d] = UInt64(context.pointee.tables[Int(truncatingIfNeeded: pc.pointee)].pointee.count)
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.tableFill)] = { pc, fp, memBase, vm, handlers in
        let w = pc.pointee
        var pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let context = state(vm).pointee.context.unsafelyUnwrapped
        let table = context.pointee.tables[Int(truncatingIfNeeded: pc.pointee)]
        pc += 1
        let index = tableIndex(w, fp[d], 8), count = tableIndex(w, fp[y], 8)
        guard index <= UInt64(table.pointee.count), count <= UInt64(table.pointee.count) - index else {
            return trap(vm, .outOfBoundsTableAccess)
        }
        (table.pointee.elements + Int(index)).update(repeating: fp[x], count: Int(count))
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.tableCopy)] = { pc, fp, memBase, vm, handlers in
        let w = pc.pointee
        var pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let context = state(vm).pointee.context.unsafelyUnwrapped
        let immediate = pc.pointee
        pc += 1
        let destination = context.pointee.tables[Int(truncatingIfNeeded: immediate & 0xFFFF_FFFF)]
        let source = context.pointee.tables[Int(truncatingIfNeeded: immediate >> 32)]
        let d0 = tableIndex(w, fp[d], 8), s0 = tableIndex(w, fp[x], 9)
        let count = w & 0x300 == 0x300 ? fp[y] : UInt64(u32(fp[y]))
        guard d0 <= UInt64(destination.pointee.count), count <= UInt64(destination.pointee.count) - d0,
              s0 <= UInt64(source.pointee.count), count <= UInt64(source.pointee.count) - s0 else {
            return trap(vm, .outOfBoundsTableAccess)
        }
        (destination.pointee.elements + Int(d0)).update(from: source.pointee.elements + Int(s0), count: Int(count))
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.tableInit)] = { pc, fp, memBase, vm, handlers in
        let w = pc.pointee
        var pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let y = operand(pc, 6)
        let context = state(vm).pointee.context.unsafelyUnwrapped
        let immediate = pc.pointee
        pc += 1
        let segment = context.pointee.elements + Int(truncatingIfNeeded: immediate & 0xFFFF_FFFF)
        let table = context.pointee.tables[Int(truncatingIfNeeded: immediate >> 32)]
        let d0 = tableIndex(w, fp[d], 8), s0 = UInt64(u32(fp[x])), count = UInt64(u32(fp[y]))
        guard d0 <= UInt64(table.pointee.count), count <= UInt64(table.pointee.count) - d0,
              s0 &+ count <= UInt64(segment.pointee.count) else {
            return trap(vm, .outOfBoundsTableAccess)
        }
        if count > 0 {
            let references = segment.pointee.pointer.unsafelyUnwrapped.assumingMemoryBound(to: UInt64.self)
            (table.pointee.elements + Int(d0)).update(from: references + Int(s0), count: Int(count))
        }
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.elemDrop)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let context = state(vm).pointee.context.unsafelyUnwrapped
        context.pointee.elements[Int(truncatingIfNeeded: pc.pointee)].count = 0
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.refFunc)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let d = operand(pc, 2)
        let context = state(vm).pointee.context.unsafelyUnwrapped
        fp[d] = UInt64(context.pointee.functions[Int(truncatingIfNeeded: pc.pointee)]) &+ 1
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.refIsNull)] = { unary($0, $1, $2, $3, $4) { a in a == 0 ? 1 : 0 } }
    table[op(.refAsNonNull)] = { pc, fp, memBase, vm, handlers in
        let pc = pc + 1
        let d = operand(pc, 2)
        let x = operand(pc, 4)
        let reference = fp[x]
        guard reference != 0 else { return trap(vm, .nullReference) }
        fp[d] = reference
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.brIfNull)] = { testBranch($0, $1, $2, $3, $4) { a in a == 0 } }
    table[op(.brIfNonNull)] = { testBranch($0, $1, $2, $3, $4) { a in a != 0 } }
    // MARK: SIMD and v128 globals (see SIMDExecution)
    table[op(.v128)] = { pc, fp, memBase, vm, handlers in
        let memSize = state(vm).pointee.memSize
        let w = pc.pointee
        var pc = pc + 1
        let context = state(vm).pointee.context.unsafelyUnwrapped
        let consumed = SIMDExecution.execute(w, pc, fp, context, memBase, memSize)
        if consumed < 0 { return trap(vm, .outOfBoundsMemoryAccess) }
        pc += consumed
        return next(pc, fp, memBase, vm, handlers)
    }
    table[op(.v128Global)] = { pc, fp, memBase, vm, handlers in
        let w = pc.pointee
        var pc = pc + 1
        let context = state(vm).pointee.context.unsafelyUnwrapped
        SIMDExecution.global(w, pc, fp, context)
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }

    // MARK: calls and returns (the common case; see callHandler and returnHandler)
    table[op(.call)] = { pc, fp, memBase, vm, handlers in
        directOrCall(pc, fp, memBase, vm, handlers)
    }
    table[op(.callIndirect)] = { pc, fp, memBase, vm, handlers in
        indirectCall(pc, fp, memBase, vm, handlers)
    }
    table[op(.return)] = { pc, fp, memBase, vm, handlers in
        returnHandler(pc, fp, memBase, vm, handlers, value: false)
    }
    table[op(.returnValue)] = { pc, fp, memBase, vm, handlers in
        returnHandler(pc, fp, memBase, vm, handlers, value: true)
    }

    // The fused float compare-and-branch ops (brIfF32/F64, addBrIfF32/F64) have one handler per outcome mask,
    // installed by `installFloatBranchHandlers` once the table's rows are filled (see `handlerTable`).
}

/// The ops that took in the instruction before or after them, flagged in their sub-field (no op code spent);
/// installed after the table's rows are filled with the plain handlers.
func installFlaggedHandlers(_ table: UnsafeMutablePointer<Handler>) {
    // Two copies (`InternalOp.copyPairFlag`): `d = x`, then the second's slots from the next word, in order.
    table[op(.copy) | Int(InternalOp.copyPairFlag)] = { pc, fp, memBase, vm, handlers in
        let word = pc + 1
        fp[operand(word, 2)] = fp[operand(word, 4)]
        let second = word.pointee
        fp[Int(truncatingIfNeeded: second & 0xFFFF)] = fp[Int(truncatingIfNeeded: (second >> 16) & 0xFFFF)]
        return next(word + 1, fp, memBase, vm, handlers)
    }
    // Calls that took in their last argument's move (`InternalOp.callArgumentCopy`): a handler per kind of
    // move, at every argument slot.
    for k in 0..<InternalOp.callArgumentSlotLimit {
        let slot = k << Int(InternalOp.callArgumentSlotShift)
        table[op(.call) | Int(InternalOp.callArgumentCopy) | slot] = { pc, fp, memBase, vm, handlers in
            let w = pc.pointee
            return directOrCall(pc, fp, memBase, vm, handlers) { fp[callArgumentSlot(w)] = fp[operand(pc + 1, 4)] }
        }
        table[op(.call) | Int(InternalOp.callArgumentCopyPair) | slot] = { pc, fp, memBase, vm, handlers in
            let w = pc.pointee
            return directOrCall(pc, fp, memBase, vm, handlers) {
                let k = callArgumentSlot(w)
                fp[k] = fp[operand(pc + 1, 4)]
                fp[k &+ 1] = fp[operand(pc + 1, 6)]
            }
        }
        table[op(.call) | Int(InternalOp.callArgumentAdd) | slot] = { pc, fp, memBase, vm, handlers in
            let w = pc.pointee
            return directOrCall(pc, fp, memBase, vm, handlers) {
                fp[callArgumentSlot(w)] = sumOfOperands(fp, pc + 1)
            }
        }
        for table64 in [0, 0x100] {
            table[op(.callIndirect) | table64 | Int(InternalOp.callIndirectArgumentCopy) | slot] = { pc, fp, memBase, vm, handlers in
                let w = pc.pointee
                return indirectCall(pc, fp, memBase, vm, handlers) { fp[callArgumentSlot(w)] = fp[operand(pc + 1, 6)] }
            }
        }
    }
    // Two `i32.add`s (`InternalOp.addPairFlag`): this word's, then the next word's, in order.
    table[op(.i32Add) | Int(InternalOp.addPairFlag)] = { pc, fp, memBase, vm, handlers in
        fp[operand(pc + 1, 2)] = sumOfOperands(fp, pc + 1)
        let second = pc + 2
        fp[operand(second, 2)] = sumOfOperands(fp, second)
        return next(second, fp, memBase, vm, handlers)
    }
    // `global.set` of `d = x + y` (`InternalOp.globalSetAddFlag`).
    table[op(.globalSet) | Int(InternalOp.globalSetAddFlag)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let value = sumOfOperands(fp, pc)
        fp[operand(pc, 2)] = value
        let context = state(vm).pointee.context.unsafelyUnwrapped
        context.pointee.globals[Int(truncatingIfNeeded: pc.pointee)].pointee = value
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    // `global.set` of `d = global + y` (`InternalOp.globalSetAddGlobalFlag`).
    table[op(.globalSet) | Int(InternalOp.globalSetAddGlobalFlag)] = { pc, fp, memBase, vm, handlers in
        var pc = pc + 1
        let context = state(vm).pointee.context.unsafelyUnwrapped
        let global = context.pointee.globals[Int(truncatingIfNeeded: pc.pointee)]
        let value = add32(global.pointee, fp[operand(pc, 6)])
        fp[operand(pc, 2)] = value
        global.pointee = value
        pc += 1
        return next(pc, fp, memBase, vm, handlers)
    }
    // `return x + y` (`InternalOp.returnAddFlag`).
    table[op(.return) | Int(InternalOp.returnAddFlag)] = { pc, fp, memBase, vm, handlers in
        returnHandler(pc, fp, memBase, vm, handlers, value: false, add: true)
    }
    // `br` after `d = x` (`InternalOp.branchCopyFlag`): the copy the jump took in.
    table[op(.br) | Int(InternalOp.branchCopyFlag)] = { pc, fp, memBase, vm, handlers in
        let start = pc
        var pc = pc + 1
        fp[operand(pc, 2)] = fp[operand(pc, 4)]
        guard branch(&pc, start, vm, costShift: 32) else { return 0 }
        return next(pc, fp, memBase, vm, handlers)
    }
    // `br_table` on `x + y` (i32, wrapping; `InternalOp.brTableAddFlag`): `d = x + y` (where the add it replaces
    // wrote), then the entry it selects.
    table[op(.brTable) | Int(InternalOp.brTableAddFlag)] = { pc, fp, memBase, vm, handlers in
        let start = pc
        let pc = pc + 1
        let sum = sumOfOperands(fp, pc)
        fp[operand(pc, 2)] = sum
        return tableJump(sum, pc, from: start, fp, memBase, vm, handlers)
    }
}

/// `call`: a function this module defines runs from its template record (in the word after the index), which
/// has everything; any other goes through the store's record. `arguments` as in `enter`.
@inline(__always) func directOrCall(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                                    _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer, arguments: () -> Void = {}) -> Int {
    if let template = UnsafePointer<FunctionInstance>(bitPattern: UInt(truncatingIfNeeded: pc[2])) {
        return directCallHandler(template, pc, fp, memBase, vm, handlers, arguments: arguments)
    }
    let callee = state(vm).pointee.context.unsafelyUnwrapped.pointee.functions[Int(truncatingIfNeeded: pc[1])]
    return callHandler(callee, pc, pc + 3, fp, memBase, vm, handlers, arguments: arguments)
}

/// `call_indirect`: out-of-range, null and mismatched entries (and subtype matches) are left to the loop's case.
@inline(__always) func indirectCall(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                                    _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer, arguments: () -> Void = {}) -> Int {
    let w = pc.pointee
    let immediate = pc[1]
    let context = state(vm).pointee.context.unsafelyUnwrapped
    let table = context.pointee.tables[Int(truncatingIfNeeded: immediate >> 32)]
    let index = tableIndex(w, fp[Int(truncatingIfNeeded: (w >> 32) & 0xFFFF)], 8)
    guard index < UInt64(table.pointee.count) else { return exit(pc, fp, vm) }
    let reference = table.pointee.elements[Int(index)]
    let callee = Int(truncatingIfNeeded: reference &- 1)
    guard reference != 0, state(vm).pointee.functions.unsafelyUnwrapped[callee].typeID
            == context.pointee.typeIDs[Int(truncatingIfNeeded: immediate & 0xFFFF_FFFF)] else { return exit(pc, fp, vm) }
    return callHandler(callee, pc, pc + 2, fp, memBase, vm, handlers, arguments: arguments)
}

/// The slot a call's taken-in argument move writes: the callee frame's base (d) plus k (see
/// `InternalOp.callArgumentCopy`).
@inline(__always) func callArgumentSlot(_ w: UInt64) -> Int {
    Int(truncatingIfNeeded: (w >> 16) & 0xFFFF) &+ Int(truncatingIfNeeded: (w >> InternalOp.callArgumentSlotShift) & 0x3F)
}

/// The argument move a call word took in, for `Store.run`'s call case (the handlers have one closure per kind).
func moveCallArguments(_ w: UInt64, _ fp: UnsafeMutablePointer<UInt64>) {
    let k = callArgumentSlot(w)
    let x = Int(truncatingIfNeeded: (w >> 32) & 0xFFFF), y = Int(truncatingIfNeeded: w >> 48)
    switch InternalOp.oneByte(w) {
    case .call:
        switch w & InternalOp.callArgumentMoveMask {
        case InternalOp.callArgumentCopy: fp[k] = fp[x]
        case InternalOp.callArgumentCopyPair:
            fp[k] = fp[x]
            fp[k &+ 1] = fp[y]
        case InternalOp.callArgumentAdd: fp[k] = add32(fp[x], fp[y])
        default: break
        }
    case .callIndirect:
        if w & InternalOp.callIndirectArgumentCopy != 0 { fp[k] = fp[y] }
    default: break
    }
}

/// The end of a `br_table` whose entry count word is at `pc`: takes the entry `index` selects (the last, the
/// default, beyond it), charging fuel and checking a backward jump as every taken branch does.
@inline(__always) func tableJump(_ index: UInt64, _ pc: UnsafePointer<UInt64>, from start: UnsafePointer<UInt64>,
                                 _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                                 _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer) -> Int {
    var pc = pc + 1 + Int(min(index, pc.pointee))
    guard branch(&pc, start, vm, costShift: 32) else { return 0 }
    return next(pc, fp, memBase, vm, handlers)
}

/// A load fused with the compare-and-branch that tests it: `d = memory[x + offset]; if taken(d, y) goto target`,
/// the offset in bits 32..<48 of the target word and the fuel cost from bit 48 (see
/// `FunctionTranslator.fuseLoadIntoBranch`). y is read after d is written, as the comparison reads it.
@inline(__always) func loadBranch<T: FixedWidthInteger>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                        _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                        _ handlers: UnsafeRawPointer, _: T.Type, _ taken: (UInt64, UInt64) -> Bool) -> Int {
    let start = pc
    let pc = pc + 1
    guard let address = address32(fp, operand(pc, 4), (pc.pointee >> 32) & 0xFFFF, vm, T.self) else { return trap(vm, .outOfBoundsMemoryAccess) }
    let value = UInt64(loadRaw(memBase, address, T.self))
    fp[operand(pc, 2)] = value
    return jump(if: taken(value, fp[operand(pc, 6)]), pc, from: start, costShift: 48, fp, memBase, vm, handlers)
}

/// A select on a comparison: `d = taken(a, b) ? x : y`, a's and b's slots in bits 0 and 16 of the next word.
@inline(__always) func compareSelect(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                                     _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer,
                                     _ taken: (UInt64, UInt64) -> Bool) -> Int {
    let word = pc + 1
    let operands = word.pointee
    let a = fp[Int(truncatingIfNeeded: operands & 0xFFFF)], b = fp[Int(truncatingIfNeeded: (operands >> 16) & 0xFFFF)]
    fp[operand(word, 2)] = taken(a, b) ? fp[operand(word, 4)] : fp[operand(word, 6)]
    return next(word + 1, fp, memBase, vm, handlers)
}

/// The end of a conditional branch whose target word is at `pc`: takes it (charging fuel, checking a backward
/// branch; see `branch`) or steps over the target word, and dispatches.
@inline(__always) func jump(if taken: Bool, _ pc: UnsafePointer<UInt64>, from start: UnsafePointer<UInt64>, costShift: UInt64,
                            _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                            _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer) -> Int {
    var pc = pc
    if taken {
        guard branch(&pc, start, vm, costShift: costShift) else { return 0 }
    } else {
        pc += 1
    }
    return next(pc, fp, memBase, vm, handlers)
}

/// A float compare-and-branch: branch when `taken(x, y)`, the handler's own comparison for its outcome mask
/// (bits 8..<12 select the handler; see `installFloatBranchHandlers`).
@inline(__always) func floatBranch<F: BinaryFloatingPoint>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                         _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                         _ handlers: UnsafeRawPointer, _ read: (UInt64) -> F,
                                                         _ taken: (F, F) -> Bool) -> Int {
    let start = pc
    let pc = pc + 1
    return jump(if: taken(read(fp[operand(pc, 4)]), read(fp[operand(pc, 6)])), pc, from: start, costShift: 32, fp, memBase, vm, handlers)
}

/// A float add-and-branch: `d = x + y`, branch when `taken(d, z)` (z's slot in bits 32..<48 of the target word).
@inline(__always) func addFloatBranch<F: BinaryFloatingPoint>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                            _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                            _ handlers: UnsafeRawPointer, _ read: (UInt64) -> F,
                                                            _ slot: (F) -> UInt64, _ taken: (F, F) -> Bool) -> Int {
    let start = pc
    let pc = pc + 1
    let sum = read(fp[operand(pc, 4)]) + read(fp[operand(pc, 6)])
    fp[operand(pc, 2)] = slot(sum)
    return jump(if: taken(sum, read(fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)])), pc, from: start, costShift: 48, fp, memBase, vm, handlers)
}

/// A handler for `fp[d] = compute(fp[x], fp[y])` (inlined into each closure that calls it).
@inline(__always) func binary(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                              _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer,
                              _ compute: (UInt64, UInt64) -> UInt64) -> Int {
    let pc = pc + 1
    fp[operand(pc, 2)] = compute(fp[operand(pc, 4)], fp[operand(pc, 6)])
    return next(pc, fp, memBase, vm, handlers)
}

/// A handler for `fp[d] = compute(fp[x], fp[y], fp[z])`, z's slot in the next word (fused multiply-add and
/// the fused pairs of FusedHandlers.generated.swift).
@inline(__always) func ternary(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                              _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer,
                              _ compute: (UInt64, UInt64, UInt64) -> UInt64) -> Int {
    let word = pc + 1
    fp[operand(word, 2)] = compute(fp[operand(word, 4)], fp[operand(word, 6)], fp[Int(truncatingIfNeeded: word.pointee & 0xFFFF)])
    return next(word + 1, fp, memBase, vm, handlers)
}

/// A handler for `fp[d] = compute(fp[x])`.
@inline(__always) func unary(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                             _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer,
                             _ compute: (UInt64) -> UInt64) -> Int {
    let pc = pc + 1
    fp[operand(pc, 2)] = compute(fp[operand(pc, 4)])
    return next(pc, fp, memBase, vm, handlers)
}

/// A handler for `if taken(fp[x], fp[y]) goto target` (the target word follows the instruction).
@inline(__always) func compareBranch(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                                     _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer,
                                     _ taken: (UInt64, UInt64) -> Bool) -> Int {
    let start = pc
    let pc = pc + 1
    return jump(if: taken(fp[operand(pc, 4)], fp[operand(pc, 6)]), pc, from: start, costShift: 32, fp, memBase, vm, handlers)
}

/// A handler for the fused `d = x & y; if (d == 0) == ifZero goto target` (i32; d is written because a local
/// may hold it, see `FunctionTranslator.bitTest`).
@inline(__always) func andBranch(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                                 _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer, ifZero: Bool) -> Int {
    let start = pc
    let pc = pc + 1
    let value = u32(fp[operand(pc, 4)]) & u32(fp[operand(pc, 6)])
    fp[operand(pc, 2)] = UInt64(value)
    return jump(if: (value == 0) == ifZero, pc, from: start, costShift: 32, fp, memBase, vm, handlers)
}

/// A handler for `if taken(fp[x]) goto target` (zero and null tests).
@inline(__always) func testBranch(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                                  _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer,
                                  _ taken: (UInt64) -> Bool) -> Int {
    let start = pc
    let pc = pc + 1
    return jump(if: taken(fp[operand(pc, 4)]), pc, from: start, costShift: 32, fp, memBase, vm, handlers)
}

/// A handler for the fused `d = x + y; if taken(d, z) goto target`: z's slot sits in bits 32..<48 of the
/// target word, the fuel cost from bit 48.
@inline(__always) func addCompareBranch(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>, _ memBase: UnsafeMutableRawPointer,
                                        _ vm: UnsafeMutableRawPointer, _ handlers: UnsafeRawPointer,
                                        _ taken: (UInt64, UInt64) -> Bool) -> Int {
    let start = pc
    let pc = pc + 1
    let sum = fp[operand(pc, 4)] &+ fp[operand(pc, 6)]
    fp[operand(pc, 2)] = sum
    return jump(if: taken(sum, fp[Int(truncatingIfNeeded: (pc.pointee >> 32) & 0xFFFF)]), pc, from: start, costShift: 48, fp, memBase, vm, handlers)
}

/// A load from a 32-bit memory 0: `d = extend(memory[u32(x) + offset])`, the offset in bits 48..<64 of the
/// word (0xFFFF: in the next word).
@inline(__always) func load32<T: FixedWidthInteger>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                    _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                    _ handlers: UnsafeRawPointer, _: T.Type, _ extend: (T) -> UInt64) -> Int {
    var word = pc + 1
    let offset = operand(word, 6), base = UInt64(u32(fp[operand(word, 4)]))
    var address = base &+ UInt64(offset)
    if offset == 0xFFFF { address = base &+ word.pointee; word += 1 }
    guard address &+ UInt64(MemoryLayout<T>.size) <= state(vm).pointee.memSize else { return trap(vm, .outOfBoundsMemoryAccess) }
    fp[operand(pc + 1, 2)] = extend(loadRaw(memBase, address, T.self))
    return next(word, fp, memBase, vm, handlers)
}

/// The address of a `T` at `u32(fp[slot]) + offset` in a 32-bit memory 0 (the sum cannot wrap: both are below
/// 2^32), nil when it does not fit in the memory.
@inline(__always) func address32<T>(_ fp: UnsafeMutablePointer<UInt64>, _ slot: Int, _ offset: UInt64,
                                    _ vm: UnsafeMutableRawPointer, _: T.Type) -> UInt64? {
    let address = UInt64(u32(fp[slot])) &+ offset
    return address &+ UInt64(MemoryLayout<T>.size) <= state(vm).pointee.memSize ? address : nil
}

/// A load from a 32-bit memory 0 fused with the operation that uses its value: `d = compute(memory[x + offset],
/// z)`, the offset (below 0xFFFF) in the word, z's slot in the next word (see `FunctionTranslator.fuseLoad`).
@inline(__always) func loadOperate<T: FixedWidthInteger>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                         _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                         _ handlers: UnsafeRawPointer, _: T.Type,
                                                         _ compute: (UInt64, UInt64) -> UInt64) -> Int {
    let word = pc + 1
    guard let address = address32(fp, operand(word, 4), UInt64(operand(word, 6)), vm, T.self) else { return trap(vm, .outOfBoundsMemoryAccess) }
    fp[operand(word, 2)] = compute(UInt64(loadRaw(memBase, address, T.self)), fp[Int(truncatingIfNeeded: word.pointee & 0xFFFF)])
    return next(word + 1, fp, memBase, vm, handlers)
}

/// An operation fused with the store of its result to a 32-bit memory 0: `memory[d + offset] = compute(x, y)`,
/// the offset in the next word (see `FunctionTranslator.fuseStore`). The operations cannot trap, so computing
/// before the bounds check is what the two instructions do.
@inline(__always) func storeOperate<T: FixedWidthInteger>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                          _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                          _ handlers: UnsafeRawPointer, _: T.Type,
                                                          _ compute: (UInt64, UInt64) -> UInt64) -> Int {
    let word = pc + 1
    let value = compute(fp[operand(word, 4)], fp[operand(word, 6)])
    guard let address = address32(fp, operand(word, 2), word.pointee, vm, T.self) else { return trap(vm, .outOfBoundsMemoryAccess) }
    storeRaw(memBase, address, T(truncatingIfNeeded: value))
    return next(word + 1, fp, memBase, vm, handlers)
}

/// A fused load-and-operate whose result is stored back where it was loaded: `memory[x + offset] =
/// compute(memory[x + offset], z)`, the offset (below 0xFFFF) in the word, z's slot in the next word. One bounds
/// check covers both accesses: they are the same bytes.
@inline(__always) func updateOperate<T: FixedWidthInteger>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                           _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                           _ handlers: UnsafeRawPointer, _: T.Type,
                                                           _ compute: (UInt64, UInt64) -> UInt64) -> Int {
    let word = pc + 1
    guard let address = address32(fp, operand(word, 4), UInt64(operand(word, 6)), vm, T.self) else { return trap(vm, .outOfBoundsMemoryAccess) }
    let value = compute(UInt64(loadRaw(memBase, address, T.self)), fp[Int(truncatingIfNeeded: word.pointee & 0xFFFF)])
    storeRaw(memBase, address, T(truncatingIfNeeded: value))
    return next(word + 1, fp, memBase, vm, handlers)
}

/// A load from a 32-bit memory 0 at the sum of two slots: `d = extend(memory[u32(x + y) + offset])`, the
/// offset in the next word (the fused `i32.add; load`, see `FunctionTranslator.fuseAddIntoLoad`).
@inline(__always) func loadAdd32<T: FixedWidthInteger>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                       _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                       _ handlers: UnsafeRawPointer, _: T.Type, _ extend: (T) -> UInt64) -> Int {
    let word = pc + 1
    let address = sumOfOperands(fp, word) &+ word.pointee
    guard address &+ UInt64(MemoryLayout<T>.size) <= state(vm).pointee.memSize else { return trap(vm, .outOfBoundsMemoryAccess) }
    fp[operand(word, 2)] = extend(loadRaw(memBase, address, T.self))
    return next(word + 1, fp, memBase, vm, handlers)
}

/// A store to a 32-bit memory 0 at the sum of two slots: `memory[u32(x + y) + offset] = d`, the offset in
/// the next word (the fused `i32.add; store`, see `FunctionTranslator.fuseAddIntoStore`).
@inline(__always) func storeAdd32<T: FixedWidthInteger>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                        _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                        _ handlers: UnsafeRawPointer, _: T.Type) -> Int {
    let word = pc + 1
    let address = sumOfOperands(fp, word) &+ word.pointee
    guard address &+ UInt64(MemoryLayout<T>.size) <= state(vm).pointee.memSize else { return trap(vm, .outOfBoundsMemoryAccess) }
    storeRaw(memBase, address, T(truncatingIfNeeded: fp[operand(word, 2)]))
    return next(word + 1, fp, memBase, vm, handlers)
}

/// A store to a 32-bit memory 0: `memory[u32(x) + offset] = y`, the offset in bits 16..<32 (0xFFFF: in the
/// next word).
@inline(__always) func store32<T: FixedWidthInteger>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                     _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                     _ handlers: UnsafeRawPointer, _: T.Type) -> Int {
    var word = pc + 1
    let offset = operand(word, 2), base = UInt64(u32(fp[operand(word, 4)]))
    var address = base &+ UInt64(offset)
    if offset == 0xFFFF { address = base &+ word.pointee; word += 1 }
    guard address &+ UInt64(MemoryLayout<T>.size) <= state(vm).pointee.memSize else { return trap(vm, .outOfBoundsMemoryAccess) }
    storeRaw(memBase, address, T(truncatingIfNeeded: fp[operand(pc + 1, 6)]))
    return next(word, fp, memBase, vm, handlers)
}

/// A load from a 64-bit memory 0 (memory64): the whole slot is the address; address + offset must not wrap.
@inline(__always) func load64<T: FixedWidthInteger>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                    _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                    _ handlers: UnsafeRawPointer, _: T.Type, _ extend: (T) -> UInt64) -> Int {
    var word = pc + 1
    let field = operand(word, 6)
    var offset = UInt64(field)
    if field == 0xFFFF { offset = word.pointee; word += 1 }
    // x is read from the instruction word (`word` may have moved past the offset's word).
    guard let address = address64(fp[operand(pc + 1, 4)], offset, UInt64(MemoryLayout<T>.size), state(vm).pointee.memSize) else {
        return trap(vm, .outOfBoundsMemoryAccess)
    }
    fp[operand(pc + 1, 2)] = extend(loadRaw(memBase, address, T.self))
    return next(word, fp, memBase, vm, handlers)
}

/// A store to a 64-bit memory 0 (memory64).
@inline(__always) func store64<T: FixedWidthInteger>(_ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                                                     _ memBase: UnsafeMutableRawPointer, _ vm: UnsafeMutableRawPointer,
                                                     _ handlers: UnsafeRawPointer, _: T.Type) -> Int {
    var word = pc + 1
    let field = operand(word, 2)
    var offset = UInt64(field)
    if field == 0xFFFF { offset = word.pointee; word += 1 }
    // x is read from the instruction word (`word` may have moved past the offset's word).
    guard let address = address64(fp[operand(pc + 1, 4)], offset, UInt64(MemoryLayout<T>.size), state(vm).pointee.memSize) else {
        return trap(vm, .outOfBoundsMemoryAccess)
    }
    storeRaw(memBase, address, T(truncatingIfNeeded: fp[operand(pc + 1, 6)]))
    return next(word, fp, memBase, vm, handlers)
}
