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
/// after another in one buffer, with a table of where each starts. Built once per run, sized first and
/// copied from each string's contiguous UTF-8; an environment entry is written as name, `=`, value, with no
/// string or array made per entry (those allocations and their reference counting were most of the cost: a
/// microsecond per request for a CGI environment).
struct PackedStrings {
    private(set) var bytes: [UInt8] = []
    private var starts: [UInt32] = []

    init(_ strings: [String]) {
        reserve(count: strings.count, bytes: strings.reduce(0) { $0 + $1.utf8.count + 1 })
        for string in strings {
            startEntry()
            appendUTF8(of: string)
            bytes.append(0)
        }
    }

    init(environment: [(name: String, value: String)]) {
        reserve(count: environment.count, bytes: environment.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 })
        for (name, value) in environment {
            startEntry()
            appendUTF8(of: name)
            bytes.append(UInt8(ascii: "="))
            appendUTF8(of: value)
            bytes.append(0)
        }
    }

    private mutating func reserve(count: Int, bytes total: Int) {
        starts.reserveCapacity(count)
        bytes.reserveCapacity(total)
    }

    private mutating func startEntry() { starts.append(UInt32(truncatingIfNeeded: bytes.count)) }

    private mutating func appendUTF8(of string: String) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
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
