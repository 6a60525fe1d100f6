#if NEBULA_OP_PAIRS
import Glibc

/// Development aid, compiled only with `swift build -c release -Xswiftc -DNEBULA_OP_PAIRS`: counts every
/// dispatched instruction and every adjacent pair (the previous dispatch, then this one), and prints the
/// most frequent at exit to stderr. The counts choose superinstructions (see DESIGN.md); a normal build has
/// none of this code.
enum OpPairCounter {
    nonisolated(unsafe) static var previous: UInt16 = 0xFFFF
    nonisolated(unsafe) static var singles = [UInt64](repeating: 0, count: 0x10000)
    nonisolated(unsafe) static var pairs: [UInt32: UInt64] = [:]
    nonisolated(unsafe) static var words: [UInt16: UInt64] = [:]
    nonisolated(unsafe) static var registered = false

    static func count(_ index: UInt16, _ word: UInt64) {
        if !registered {
            registered = true
            atexit { OpPairCounter.report() }
        }
        singles[Int(index)] &+= 1
        words[index] = word
        pairs[UInt32(previous) << 16 | UInt32(index), default: 0] &+= 1
        previous = index
    }

    static func name(_ index: UInt16) -> String {
        guard let w = words[index], let op = InternalOp.decode(w) else { return String(index, radix: 16) }
        let flags = index >> 8
        return flags == 0 || index & 0xFF == 0xFF ? "\(op)" : "\(op)+\(String(flags, radix: 16))"
    }

    static func report() {
        let total = singles.reduce(0, &+)
        var out = "op counts: \(total) dispatches\n"
        let topSingles = singles.indices.filter { singles[$0] > 0 }.sorted { singles[$0] > singles[$1] }.prefix(40)
        for i in topSingles {
            out += "  \(name(UInt16(i)))  \(singles[i])  \(String(format2(Double(singles[i]) * 100 / Double(total))))%\n"
        }
        out += "pairs:\n"
        for (key, n) in pairs.sorted(by: { $0.value > $1.value }).prefix(60) {
            out += "  \(name(UInt16(key >> 16))) ; \(name(UInt16(key & 0xFFFF)))  \(n)  \(format2(Double(n) * 100 / Double(total)))%\n"
        }
        out.withCString { _ = write(2, $0, strlen($0)) }
    }

    static func format2(_ x: Double) -> String {
        let r = (x * 100).rounded() / 100
        return "\(r)"
    }
}
#endif
