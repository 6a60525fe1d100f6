/// Why execution stopped abnormally. The messages are the spec's, so the spec suite can compare them.
public struct Trap: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Reason: Sendable, Equatable {
        case unreachable
        case integerDivideByZero
        case integerOverflow
        case invalidConversionToInteger
        case outOfBoundsMemoryAccess
        case outOfBoundsTableAccess
        case undefinedElement
        case uninitializedElement(UInt32)
        case indirectCallTypeMismatch
        case callStackExhausted
        /// `call_ref`/`return_call_ref` of a null reference.
        case nullFunctionReference
        /// `ref.as_non_null` of null.
        case nullReference
        /// `throw_ref` of null.
        case nullExceptionReference
        /// A struct instruction on a null reference.
        case nullStructureReference
        /// An array instruction on a null reference.
        case nullArrayReference
        /// `i31.get_s`/`i31.get_u` of null.
        case nullI31Reference
        /// An array index or range outside the array.
        case outOfBoundsArrayAccess
        /// `ref.cast` of a value that is not of the target type.
        case castFailure
        /// An allocation would take the GC heap past `ResourceLimits.maxGCHeapBytes` even after collecting.
        case gcHeapExhausted
        /// A Wasm exception no handler caught. A host function throws one into its caller the same way:
        /// `throw Trap(.exception(WasmException(tag: tag, payload: [...])))`.
        indirect case exception(WasmException)
        case fuelExhausted
        case interrupted
        /// The guest asked to exit (WASI `proc_exit`); not an error for a command module.
        case exit(Int32)
        /// A host function failed.
        case host(String)
        /// A function translated at its first call (`TranslationMode.lazy`) could not be translated.
        case translationFailed(String)
    }

    /// A frame of the guest's call stack at the trap: function index in its module, and its name if known.
    public struct Frame: Sendable, Equatable, CustomStringConvertible {
        public var functionIndex: UInt32
        public var name: String?
        public var description: String { name.map { "\($0) (func \(functionIndex))" } ?? "func \(functionIndex)" }
        public init(functionIndex: UInt32, name: String?) {
            self.functionIndex = functionIndex
            self.name = name
        }
    }

    public var reason: Reason
    /// Innermost frame first.
    public var backtrace: [Frame] = []

    public init(_ reason: Reason, backtrace: [Frame] = []) {
        self.reason = reason
        self.backtrace = backtrace
    }

    public var message: String {
        switch reason {
        case .unreachable: return "unreachable"
        case .integerDivideByZero: return "integer divide by zero"
        case .integerOverflow: return "integer overflow"
        case .invalidConversionToInteger: return "invalid conversion to integer"
        case .outOfBoundsMemoryAccess: return "out of bounds memory access"
        case .outOfBoundsTableAccess: return "out of bounds table access"
        case .undefinedElement: return "undefined element"
        case .uninitializedElement(let index): return "uninitialized element \(index)"
        case .indirectCallTypeMismatch: return "indirect call type mismatch"
        case .callStackExhausted: return "call stack exhausted"
        case .nullFunctionReference: return "null function reference"
        case .nullReference: return "null reference"
        case .nullExceptionReference: return "null exception reference"
        case .nullStructureReference: return "null structure reference"
        case .nullArrayReference: return "null array reference"
        case .nullI31Reference: return "null i31 reference"
        case .outOfBoundsArrayAccess: return "out of bounds array access"
        case .castFailure: return "cast failure"
        case .gcHeapExhausted: return "GC heap exhausted"
        case .exception(let e): return e.description
        case .fuelExhausted: return "fuel exhausted"
        case .interrupted: return "interrupted"
        case .exit(let code): return "exit with code \(code)"
        case .host(let message): return message
        case .translationFailed(let message): return message
        }
    }

    public var description: String {
        guard let top = backtrace.first else { return "trap: \(message)" }
        var text = "trap: \(message) in \(top)"
        if backtrace.count > 1 {
            text += "\n  backtrace: " + backtrace.prefix(8).map(\.description).joined(separator: " <- ")
            if backtrace.count > 8 { text += " <- ... (\(backtrace.count - 8) more)" }
        }
        return text
    }
}

/// A WebAssembly exception: its tag and payload. It reaches the embedder as `Trap.Reason.exception` when
/// no handler catches it; a host function throws one into the guest the same way.
public struct WasmException: Sendable, Equatable, CustomStringConvertible {
    /// The tag's address in its store (compare with `Tag.address`, or use `isTag`).
    public let tagAddress: Int
    public let payload: [Value]
    /// The exception object in its store, so that an exception passing through a host function keeps its
    /// identity when rethrown; nil for a new exception made by the host.
    let reference: Int?
    let store: ObjectIdentifier?

    /// A new exception of `tag` (its payload must match the tag's parameter types).
    public init(tag: Tag, payload: [Value]) {
        tagAddress = tag.address
        self.payload = payload
        reference = nil
        store = ObjectIdentifier(tag.store)
    }

    init(tagAddress: Int, payload: [Value], reference: Int?, store: ObjectIdentifier) {
        self.tagAddress = tagAddress
        self.payload = payload
        self.reference = reference
        self.store = store
    }

    public func isTag(_ tag: Tag) -> Bool { tag.address == tagAddress && ObjectIdentifier(tag.store) == store }

    public var description: String {
        "uncaught exception (tag \(tagAddress), payload [\(payload.map(\.description).joined(separator: ", "))])"
    }
}

/// Why instantiation failed before any code ran.
public struct LinkError: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
