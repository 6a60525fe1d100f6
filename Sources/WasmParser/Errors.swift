/// Why a module was rejected: its bytes are not the binary format (`malformed`), or they are but the
/// module breaks a validation rule (`invalid`). The spec suite tells these two apart.
public struct WasmParserError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        case malformed
        case invalid
    }

    public let kind: Kind
    /// The reason, worded as the spec's reference interpreter words it (`type mismatch`, `unexpected end`, ...),
    /// possibly followed by details.
    public let message: String
    /// Byte offset in the module where the problem was found.
    public let offset: Int
    /// The function whose body is at fault, if any (index in the function index space).
    public let functionIndex: UInt32?
    /// For errors in the text format: where (line and column); `offset` is then the byte offset in the text.
    public let location: TextLocation?

    public init(_ kind: Kind, _ message: String, offset: Int, functionIndex: UInt32? = nil, location: TextLocation? = nil) {
        self.kind = kind
        self.message = message
        self.offset = offset
        self.functionIndex = functionIndex
        self.location = location
    }

    public var description: String {
        let hexOffset = "0x" + String(offset, radix: 16)
        if let location { return "\(location): \(kind == .malformed ? "" : "invalid module: ")\(message)" }
        switch kind {
        case .malformed:
            return "malformed module at offset \(hexOffset): \(message)"
        case .invalid:
            if let functionIndex {
                return "invalid module: function \(functionIndex) at offset \(hexOffset): \(message)"
            }
            return "invalid module at offset \(hexOffset): \(message)"
        }
    }

    func inFunction(_ index: UInt32) -> WasmParserError {
        WasmParserError(kind, message, offset: offset, functionIndex: index, location: location)
    }
}
