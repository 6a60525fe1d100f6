/// Human-readable listing of translated code, for `wasmrun inspect --code` and for reading what the
/// translator made of a function.
extension InternalOp {
    /// How many 64-bit words follow the instruction word (br_table: read from the code).
    var extraWords: Int {
        switch self {
        case .br, .brIfNz, .brIfZ, .brIfI32Eq, .brIfI32Ne, .brIfI32LtS, .brIfI32LtU, .brIfI32GtS, .brIfI32GtU,
             .brIfI32LeS, .brIfI32LeU, .brIfI32GeS, .brIfI32GeU, .brIfI64Eq, .brIfI64Ne, .brIfI64LtS, .brIfI64LtU,
             .brIfI64GtS, .brIfI64GtU, .brIfI64LeS, .brIfI64LeU, .brIfI64GeS, .brIfI64GeU,
             .addBrIfI32Eq, .addBrIfI32Ne, .addBrIfI32LtS, .addBrIfI32LtU, .addBrIfI32GtS, .addBrIfI32GtU,
             .addBrIfI32LeS, .addBrIfI32LeU, .addBrIfI32GeS, .addBrIfI32GeU, .addBrIfI64Eq, .addBrIfI64Ne,
             .addBrIfI64LtS, .addBrIfI64LtU, .addBrIfI64GtS, .addBrIfI64GtU, .addBrIfI64LeS, .addBrIfI64LeU,
             .addBrIfI64GeS, .addBrIfI64GeU, .brIfF32, .brIfF64, .addBrIfF32, .addBrIfF64,
             .callIndirect, .callRef, .return, .returnValue, .globalGet, .globalSet, .select,
             .memoryInit, .dataDrop, .tableGet, .tableSet, .tableSize, .tableGrow, .tableFill, .tableCopy,
             .tableInit, .elemDrop, .refFunc, .i32XorRotl, .i64XorRotl, .brIfNull, .brIfNonNull, .throw,
             .loadAddI32, .loadAddI64, .loadAddI328s, .loadAddI328u, .loadAddI3216s, .loadAddI3216u, .storeAddI32, .storeAdd8,
             .f32MulAdd, .f64MulAdd, .f32MulSub, .f64MulSub:
            return 1
        case .call, .returnCall, .returnCallIndirect, .returnCallRef, .memoryOther:
            return 2
        default:
            return isExtended ? 1 : 0  // the fused pairs: z's slot
        }
    }
}

private func pad(_ s: String) -> String { s + String(repeating: " ", count: max(1, 6 - s.count)) }

extension InternalOp {
    var isLoad: Bool {
        (rawValue >= InternalOp.loadI32.rawValue && rawValue <= InternalOp.loadI6432s.rawValue)
            || (rawValue >= InternalOp.load64I32.rawValue && rawValue <= InternalOp.load64I6432s.rawValue)
    }
    var isStore: Bool {
        (rawValue >= InternalOp.storeI32.rawValue && rawValue <= InternalOp.store16.rawValue)
            || (rawValue >= InternalOp.store64I32.rawValue && rawValue <= InternalOp.store6416.rawValue)
    }
    var isBranch: Bool {
        (rawValue >= InternalOp.br.rawValue && rawValue <= InternalOp.brTable.rawValue) || self == .brIfNull || self == .brIfNonNull
            || self == .brIfF32 || self == .brIfF64 || self == .addBrIfF32 || self == .addBrIfF64 || isLoadBranch
            || self == .brIfAndNz || self == .brIfAndZ
    }
    /// A load fused with the compare-and-branch on its value (the offset in the target word).
    var isLoadBranch: Bool { rawValue >= InternalOp.loadI32BrIfEq.rawValue && rawValue <= InternalOp.loadI328uBrIfGeU.rawValue }
}

extension CompiledFunction {
    /// The listing of `code` (by default the function's own, which a module drops once it copied it).
    func disassembly(code explicitCode: [UInt64]? = nil) -> String {
        let code = explicitCode ?? self.code
        var lines: [String] = ["; function \(functionIndex): \(paramSlots) params, locals up to \(localsEnd), \(constants.count) constants, frame \(frameSize) slots"]
        for (i, c) in constants.enumerated() { lines.append(";   s\(localsEnd + i) = \(c)") }
        var i = 0
        while i < code.count {
            let w = code[i]
            guard let op = InternalOp.decode(w) else {
                lines.append(pad("\(i)") + "??? " + String(w, radix: 16))
                i += 1
                continue
            }
            var text = pad("\(i)") + "\(op)"
            var extra = op.extraWords
            if op == .v128Global {
                text += w & SIMDExecution.globalSet == 0 ? " global.get" : " global.set"
                extra = 1
            } else if op == .v128 {
                let opcode = SIMDExecution.opcode(w)
                text += " \(opcode.mnemonic)"
                switch opcode.info.immediate {
                case .memarg, .memargLane: extra = 2
                case .shuffle: extra = 2
                case .lane: extra = 1
                default: extra = opcode.info.signature?.paramCount == 3 ? 1 : 0
                }
            }
            text += " d=s\((w >> 16) & 0xFFFF) x=s\((w >> 32) & 0xFFFF) y=s\(w >> 48)"
            if op == .brTable && w & InternalOp.brTableAddFlag != 0 { text += " (on x + y)" }
            if op == .br && w & InternalOp.branchCopyFlag != 0 { text += " (after d = x)" }
            if op == .return && w & InternalOp.returnAddFlag != 0 { text += " (of x + y)" }
            if op == .i32Add && w & InternalOp.addPairFlag != 0 { text += " (and the next)" }
            if op == .globalSet && w & InternalOp.globalSetMoveMask == InternalOp.globalSetAddFlag { text += " (of d = x + y)" }
            if op == .globalSet && w & InternalOp.globalSetMoveMask == InternalOp.globalSetAddGlobalFlag { text += " (of d = global + y)" }
            if op == .call || op == .callIndirect { text += argumentMove(op, w) }
            // A copy pair's second word holds slots, printed as the second copy (not as a raw extra word).
            var pairWords = 0
            if op == .copy && w & InternalOp.copyPairFlag != 0, i + 1 < code.count {
                text += " then s\(code[i + 1] & 0xFFFF) = s\((code[i + 1] >> 16) & 0xFFFF)"
                pairWords = 1
            }
            if op == .brTable, i + 1 < code.count { extra = 1 + Int(code[i + 1]) + 1 }
            if op.isLoad && w >> 48 == 0xFFFF { extra = 1 }
            if op.isStore && (w >> 16) & 0xFFFF == 0xFFFF { extra = 1 }
            for k in 0..<extra where i + 1 + k < code.count {
                let e = code[i + 1 + k]
                let isTarget = !op.isLoad && !op.isStore && op != .call && op != .v128 && op != .globalGet && op != .globalSet && !(op == .brTable && k == 0)
                    && op.isBranch
                let fused = (op.rawValue >= InternalOp.addBrIfI32Eq.rawValue && op.rawValue <= InternalOp.addBrIfI64GeU.rawValue)
                    || op == .addBrIfF32 || op == .addBrIfF64
                text += !isTarget ? " [\(e)]" : op.isLoadBranch
                    ? " offset=\((e >> 32) & 0xFFFF) ->\(i + Int(Int32(truncatingIfNeeded: e)))(cost \(e >> 48))"
                    : fused
                    ? " s\((e >> 32) & 0xFFFF) ->\(i + Int(Int32(truncatingIfNeeded: e)))(cost \(e >> 48))"
                    : " ->\(i + Int(Int32(truncatingIfNeeded: e)))(cost \(e >> 32))"
            }
            lines.append(text)
            i += 1 + extra + pairWords
        }
        for (h, handler) in handlers.enumerated() {
            let clauses = handler.clauses.map { c in
                "\(c.tag.map { "tag \($0)" } ?? "all") ->\(c.target == HandlerClause.returnTarget ? "return" : "\(c.target)")"
                    + (c.payloadSlot >= 0 ? " payload s\(c.payloadSlot)" : "") + (c.referenceSlot >= 0 ? " ref s\(c.referenceSlot)" : "")
            }
            lines.append("; handler \(h): (\(handler.start), \(handler.end)] parent \(handler.parent): \(clauses.joined(separator: "; "))")
        }
        return lines.joined(separator: "\n")
    }
}

extension CompiledModule {
    /// The translated code of function `index` (in the module's function index space), translating it if it
    /// was not yet; nil if it is imported.
    public func disassembly(ofFunction index: Int) -> String? {
        let defined = index - importedFunctionCount
        guard defined >= 0, defined < functions.count else { return nil }
        do throws(TranslationError) {
            _ = try functions.resolve(defined)
        } catch {
            return "; \(error)"
        }
        guard let t = functions.translatedFunction(defined) else { return nil }
        return t.function.disassembly(code: Array(UnsafeBufferPointer(start: t.code, count: t.codeCount)))
    }

    public var definedFunctionRange: Range<Int> {
        importedFunctionCount..<(importedFunctionCount + functions.count)
    }
}

/// A call's taken-in argument move (`InternalOp.callArgumentCopy`), as the disassembly shows it.
private func argumentMove(_ op: InternalOp, _ w: UInt64) -> String {
    let k = (w >> 16) & 0xFFFF + (w >> InternalOp.callArgumentSlotShift) & 0x3F
    let x = (w >> 32) & 0xFFFF, y = w >> 48
    if op == .callIndirect {
        return w & InternalOp.callIndirectArgumentCopy != 0 ? " (after s\(k) = s\(y))" : ""
    }
    switch w & InternalOp.callArgumentMoveMask {
    case InternalOp.callArgumentCopy: return " (after s\(k) = s\(x))"
    case InternalOp.callArgumentCopyPair: return " (after s\(k) = s\(x), s\(k + 1) = s\(y))"
    case InternalOp.callArgumentAdd: return " (after s\(k) = s\(x) + s\(y))"
    default: return ""
    }
}
