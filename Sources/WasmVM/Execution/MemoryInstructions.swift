import WasmParser

/// Memory instructions outside the interpreter's hot path (`InternalOp.memoryOther`): every load, store and
/// bulk instruction on a memory other than memory 0 (multiple memories), and `memory.size`, `memory.grow`,
/// `memory.fill`, `memory.copy` and `memory.init` on a 64-bit memory 0. The loop keeps memory 0's base and
/// size in registers; these instructions look their memory up in the instance instead, so a module with one
/// memory pays nothing for the others.
///
/// Layout: the op word carries the operands as the hot-path op would (`d`, `x`, `y`); the first extra word is
/// the Wasm opcode (bits 0..<16) and the memory index (bits 32..<64); the second is the static offset of a
/// load or store, the source memory of `memory.copy`, or the data segment of `memory.init`.
extension Store {
    @inline(never)
    func memoryInstruction(_ w: UInt64, _ pc: UnsafePointer<UInt64>, _ fp: UnsafeMutablePointer<UInt64>,
                           _ context: UnsafeMutablePointer<InstanceContext>) -> Trap.Reason? {
        let d = Int(truncatingIfNeeded: (w >> 16) & 0xFFFF)
        let x = Int(truncatingIfNeeded: (w >> 32) & 0xFFFF)
        let y = Int(truncatingIfNeeded: w >> 48)
        let opcode = unsafeBitCast(UInt16(truncatingIfNeeded: pc[0]), to: Opcode.self)
        let memory = context.pointee.memories[Int(truncatingIfNeeded: pc[0] >> 32)]
        let is64 = memory.pointee.is64
        let size = UInt64(memory.pointee.byteCount)
        func address(_ slot: UInt64, of is64: Bool) -> UInt64 { is64 ? slot : UInt64(UInt32(truncatingIfNeeded: slot)) }
        /// Whether `count` bytes from `start` lie within `size` bytes.
        func fits(_ start: UInt64, _ count: UInt64, _ size: UInt64) -> Bool { start <= size && count <= size - start }

        switch opcode {
        case .memorySize:
            fp[d] = UInt64(memory.pointee.pageCount)
        case .memoryGrow:
            let old = memory.pointee.grow(by: address(fp[x], of: is64))
            fp[d] = old.map { UInt64($0) } ?? (is64 ? UInt64.max : 0xFFFF_FFFF)
        case .memoryFill:
            let destination = address(fp[d], of: is64), count = address(fp[y], of: is64)
            guard fits(destination, count, size) else { return .outOfBoundsMemoryAccess }
            (memory.pointee.base + Int(destination)).initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: fp[x]), count: Int(count))
        case .memoryCopy:
            let source = context.pointee.memories[Int(truncatingIfNeeded: pc[1])]
            let sourceIs64 = source.pointee.is64
            let to = address(fp[d], of: is64), from = address(fp[x], of: sourceIs64)
            let count = address(fp[y], of: is64 && sourceIs64)
            guard fits(to, count, size), fits(from, count, UInt64(source.pointee.byteCount)) else { return .outOfBoundsMemoryAccess }
            if count > 0 { (memory.pointee.base + Int(to)).copyMemory(from: source.pointee.base + Int(from), byteCount: Int(count)) }
        case .memoryInit:
            let segment = context.pointee.data + Int(truncatingIfNeeded: pc[1])
            let to = address(fp[d], of: is64), from = UInt64(UInt32(truncatingIfNeeded: fp[x])), count = UInt64(UInt32(truncatingIfNeeded: fp[y]))
            guard fits(to, count, size), fits(from, count, UInt64(segment.pointee.count)) else { return .outOfBoundsMemoryAccess }
            if count > 0 {
                (memory.pointee.base + Int(to)).copyMemory(from: segment.pointee.pointer.unsafelyUnwrapped + Int(from), byteCount: Int(count))
            }
        default:
            return loadOrStore(opcode, d: d, x: x, y: y, offset: pc[1], fp: fp, memory: memory)
        }
        return nil
    }

    /// A scalar load or store at `fp[x] + offset` in `memory`.
    func loadOrStore(_ opcode: Opcode, d: Int, x: Int, y: Int, offset: UInt64, fp: UnsafeMutablePointer<UInt64>,
                     memory: UnsafeMutablePointer<MemoryStorage>) -> Trap.Reason? {
        let width = UInt64(1) << UInt64(opcode.info.naturalAlignment)
        let base = memory.pointee.is64 ? fp[x] : UInt64(UInt32(truncatingIfNeeded: fp[x]))
        guard let address = address64(base, offset, width, UInt64(memory.pointee.byteCount)) else { return .outOfBoundsMemoryAccess }
        let p = memory.pointee.base + Int(address)
        switch opcode {
        case .i32Load, .f32Load: fp[d] = UInt64(p.loadUnaligned(as: UInt32.self))
        case .i64Load, .f64Load: fp[d] = p.loadUnaligned(as: UInt64.self)
        case .i32Load8S: fp[d] = UInt64(UInt32(bitPattern: Int32(p.load(as: Int8.self))))
        case .i32Load8U, .i64Load8U: fp[d] = UInt64(p.load(as: UInt8.self))
        case .i32Load16S: fp[d] = UInt64(UInt32(bitPattern: Int32(p.loadUnaligned(as: Int16.self))))
        case .i32Load16U, .i64Load16U: fp[d] = UInt64(p.loadUnaligned(as: UInt16.self))
        case .i64Load8S: fp[d] = UInt64(bitPattern: Int64(p.load(as: Int8.self)))
        case .i64Load16S: fp[d] = UInt64(bitPattern: Int64(p.loadUnaligned(as: Int16.self)))
        case .i64Load32S: fp[d] = UInt64(bitPattern: Int64(p.loadUnaligned(as: Int32.self)))
        case .i64Load32U: fp[d] = UInt64(p.loadUnaligned(as: UInt32.self))
        case .i32Store, .f32Store, .i64Store32: p.storeBytes(of: UInt32(truncatingIfNeeded: fp[y]), as: UInt32.self)
        case .i64Store, .f64Store: p.storeBytes(of: fp[y], as: UInt64.self)
        case .i32Store8, .i64Store8: p.storeBytes(of: UInt8(truncatingIfNeeded: fp[y]), as: UInt8.self)
        case .i32Store16, .i64Store16: p.storeBytes(of: UInt16(truncatingIfNeeded: fp[y]), as: UInt16.self)
        default: return .host("\(opcode.mnemonic) is not a memory access")
        }
        return nil
    }
}
