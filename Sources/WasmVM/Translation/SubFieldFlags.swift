/// Flags in the sub-field (bits 8..<16) of one-byte ops whose handlers do not otherwise read it: each marks a
/// neighbouring instruction the op took in, without spending an op code (the handler table has an entry for
/// every value of the sub-field; `installFlaggedHandlers` installs the flagged forms).
extension InternalOp {
    /// In a `brTable` word: the index is `x + y` (an `i32.add` fused into the branch), written to d.
    static let brTableAddFlag: UInt64 = 1 << 8
    /// In a `br` word: `d = x` first (a `copy` fused into the jump).
    static let branchCopyFlag: UInt64 = 1 << 8
    /// In a `copy` word: a second copy follows, its destination in bits 0..<16 of the next word and its source
    /// in bits 16..<32.
    static let copyPairFlag: UInt64 = 1 << 8
}

/// A call takes in the instruction that put its last argument(s) in place (`copy`, a copy pair, or an `i32.add`
/// computing one): one dispatch instead of two. The handler makes the move once it knows the call proceeds
/// (the stack has room, the callee is in this instance), so a call handed back to `Store.run` is moved there,
/// not twice (an add may read its own destination: `f(g() + 1)`). Bits 8..<10 of a `call` word say which move
/// (`callArgumentMoveMask`), bits 10..<16 the argument's slot from the callee's frame base (`k`, below 64):
/// - copy: `frame[k] = x`;
/// - copy pair: `frame[k] = x`, then `frame[k + 1] = y`;
/// - add: `frame[k] = u32(x + y)`.
/// `call_indirect` keeps bit 8 for a 64-bit table and its x field for the index: only a copy fits, its source in y.
extension InternalOp {
    static let callArgumentCopy: UInt64 = 1 << 8
    static let callArgumentCopyPair: UInt64 = 2 << 8
    static let callArgumentAdd: UInt64 = 3 << 8
    static let callArgumentMoveMask: UInt64 = 3 << 8
    /// In a `call_indirect` word: `frame[k] = y` first.
    static let callIndirectArgumentCopy: UInt64 = 1 << 9
    /// Where `k` starts in a call word's sub-field; six bits.
    static let callArgumentSlotShift: UInt64 = 10
    static let callArgumentSlotLimit = 64
    /// In a `return` word: the result (slot 0) is `u32(x + y)`, an `i32.add` taken in (`return n + 1`).
    static let returnAddFlag: UInt64 = 1 << 8
    /// In a `global.set` word: the value is `d = u32(x + y)`, the `i32.add` before it taken in (its word rewritten in
    /// place, so d, often a `local.tee`'d frame pointer, is still written). The stack pointer's moves in every
    /// function of C and Rust code (`sp = sp - 16` on entry, `sp = fp + 16` on exit).
    static let globalSetAddFlag: UInt64 = 1 << 8
    /// In a `global.set` word: the value is `d = u32(global + y)`, the `global.get` of the same global and the
    /// `i32.add` after it taken in (`sp = sp - 16`, a prologue's whole stack-pointer move in one dispatch).
    static let globalSetAddGlobalFlag: UInt64 = 2 << 8
    /// The bits of a `global.set` word that say which of the two it took in.
    static let globalSetMoveMask: UInt64 = 3 << 8
}

extension InternalOp {
    /// In an `i32.add` word: the next word is an `i32.add` too, made right after this one (then skipped). Set once
    /// the function's code is final (`FunctionTranslator.pairAdds`), so no fusion can take the second add away
    /// afterwards; the second word stays a whole instruction for a jump that lands on it. Address arithmetic and
    /// counters: `i32.add; i32.add` is the commonest pair in C and Rust code (sieve's inner loop, tokenize's scans).
    static let addPairFlag: UInt64 = 1 << 8
}
