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
