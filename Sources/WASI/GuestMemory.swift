import WasmVM

/// The guest's memory as WASI functions use it: every pointer and length is checked, and a bad one is the
/// guest's `EFAULT`, never a host crash.
struct GuestMemory {
    let memory: Memory

    init(_ caller: Caller) throws(WASIErrno) {
        guard let memory = caller.memory else { throw .fault }
        self.memory = memory
    }

    func u32(_ address: UInt64) throws(WASIErrno) -> UInt32 {
        do { return try memory.loadUInt32(at: address) } catch { throw .fault }
    }

    func setU32(_ value: UInt32, _ address: UInt64) throws(WASIErrno) {
        do { try memory.storeUInt32(value, at: address) } catch { throw .fault }
    }

    func setU64(_ value: UInt64, _ address: UInt64) throws(WASIErrno) {
        do { try memory.storeUInt64(value, at: address) } catch { throw .fault }
    }

    func write(_ bytes: [UInt8], _ address: UInt64) throws(WASIErrno) {
        do { try memory.write(bytes, at: address) } catch { throw .fault }
    }

    func write(_ bytes: ArraySlice<UInt8>, _ address: UInt64) throws(WASIErrno) {
        do { try memory.write(bytes, at: address) } catch { throw .fault }
    }

    func read(_ address: UInt64, _ count: UInt64) throws(WASIErrno) -> [UInt8] {
        guard count <= UInt64(memory.byteCount) else { throw .fault }
        do { return try memory.read(at: address, count: Int(count)) } catch { throw .fault }
    }

    func string(_ address: UInt64, _ count: UInt64) throws(WASIErrno) -> String {
        let bytes = try read(address, count)
        guard let s = String(validating: bytes, as: UTF8.self) else { throw .ilseq }
        return s
    }

    /// Runs `body` on the guest bytes [address, address + count), after a bounds check.
    func withBytes<R>(_ address: UInt64, _ count: UInt64, _ body: (UnsafeMutableRawBufferPointer) -> R) throws(WASIErrno) -> R {
        guard count <= UInt64(memory.byteCount) else { throw .fault }
        do { return try memory.withUnsafeMutableBytes(at: address, count: Int(count), body) } catch { throw .fault }
    }

    /// The (pointer, length) pairs of an iovec array, all checked to lie in memory.
    func iovecs(_ address: UInt64, _ count: UInt64) throws(WASIErrno) -> [(UInt64, UInt64)] {
        guard count <= 1024 else { throw .inval }
        var result: [(UInt64, UInt64)] = []
        for i in 0..<count {
            let base = UInt64(try u32(address + 8 * i))
            let length = UInt64(try u32(address + 8 * i + 4))
            guard base + length <= UInt64(memory.byteCount) else { throw .fault }
            result.append((base, length))
        }
        return result
    }
}

/// Strings as preview1 hands them to a guest (`args_get`, `environ_get`): NUL-terminated and packed one
/// after another in one buffer, with a table of where each starts. Built once per run from the strings'
/// UTF-8 pieces (an environment entry is name, `=`, value: no intermediate string per entry).
struct PackedStrings {
    private(set) var bytes: [UInt8] = []
    private var starts: [UInt32] = []

    init(_ strings: some Sequence<[String.UTF8View]>) {
        for pieces in strings {
            starts.append(UInt32(truncatingIfNeeded: bytes.count))
            for piece in pieces { bytes.append(contentsOf: piece) }
            bytes.append(0)
        }
    }

    var count: Int { starts.count }

    /// Writes the strings at `buffer` and a pointer to each at `pointers` (4 bytes each).
    func write(_ memory: GuestMemory, pointers: UInt64, buffer: UInt64) throws(WASIErrno) {
        try memory.write(bytes, buffer)
        for (i, start) in starts.enumerated() {
            try memory.setU32(UInt32(truncatingIfNeeded: buffer &+ UInt64(start)), pointers + 4 * UInt64(i))
        }
    }
}
