/// One function's translated code and frame layout. Frame slots (64 bits each), from the frame pointer:
///
///     [0, paramSlots)              parameters (the caller's arguments, in place)
///     [paramSlots, localsEnd)      declared locals, zeroed on entry
///     [localsEnd, temporariesStart) constants (copied in on entry) and scratch slots
///     [temporariesStart, frameSize) the operand stack: position p lives in slot temporariesStart + p
///
/// Keeping the operand stack topmost lets a call's arguments become the callee's parameters without a copy:
/// the callee's frame starts where the arguments are.
struct CompiledFunction {
    var code: [UInt64]
    var paramSlots: Int
    var resultSlots: Int
    var localsEnd: Int
    var constants: [UInt64]
    var frameSize: Int
    var functionIndex: UInt32
}

public struct TranslationError: Error, CustomStringConvertible, Sendable {
    public var functionIndex: UInt32
    public var message: String
    public var description: String { "cannot translate function \(functionIndex): \(message)" }
}
