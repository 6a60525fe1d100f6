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
    /// Exception handlers, in the order their ranges open (an inner handler comes after its parent).
    var handlers: [ExceptionHandler] = []
    /// Where the frame holds GC references at each safepoint; nil when it never does.
    var stackMap: StackMap?
    /// Each `call`'s callee and the word after its function index, which `CompiledModule` fills with the
    /// callee's template record when the module defines it (0 for an import): see the `call` handler.
    var directCalls: [(word: Int, callee: UInt32)] = []
}

/// Where exceptions thrown in a range of a function's code are caught (a `try_table`, or a legacy `try`
/// body). Covers the instructions whose *next* pc lies in `start + 1 ... end`: for a call that is the
/// return address, for `throw` the word after it. When no clause matches, the search goes on at `parent`
/// (the enclosing handler, or for `delegate` the one at its label), then in the caller.
struct ExceptionHandler {
    var start: Int32
    var end: Int32
    var parent: Int32
    var clauses: [HandlerClause]

    func covers(_ pc: Int) -> Bool { Int(start) < pc && pc <= Int(end) }
}

struct HandlerClause {
    /// The module's tag index; nil catches every exception.
    var tag: UInt32?
    /// Code offset of the landing; `returnTarget` returns from the function with the delivered values.
    var target: Int32
    /// Frame slot receiving the payload (its values in consecutive slots), or -1.
    var payloadSlot: Int32
    /// Frame slot receiving the exception reference, or -1.
    var referenceSlot: Int32

    static let returnTarget: Int32 = -1
}

public struct TranslationError: Error, CustomStringConvertible, Sendable {
    public var functionIndex: UInt32
    public var message: String
    public var description: String { "cannot translate function \(functionIndex): \(message)" }
}
