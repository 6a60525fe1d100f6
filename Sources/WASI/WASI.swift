#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WasmParser
import WasmVM

/// WASI preview1 (`wasi_snapshot_preview1`) for one guest: its arguments, environment, standard streams and
/// preopened directories, and the host functions that expose them.
public final class WASI {
    public struct Configuration {
        /// argv, including the program name as argv[0].
        public var arguments: [String] = ["main.wasm"]
        public var environment: [(name: String, value: String)] = []
        public var stdin: WASIInput = .empty
        public var stdout: WASIOutput = .discard
        public var stderr: WASIOutput = .discard
        /// Host directories the guest may use, and the path it sees each under.
        public var preopens: [(host: String, guest: String)] = []

        public init() {}
    }

    enum Descriptor {
        case input
        case output(WASIOutput)
        case directory(host: Int32, guestPath: String?)
        case file(host: Int32)
    }

    let configuration: Configuration
    var descriptors: [UInt32: Descriptor] = [:]
    var nextDescriptor: UInt32 = 0
    var stdinBytes: [UInt8] = []
    var stdinPosition = 0
    /// Directory listings of `fd_readdir`, by descriptor, so that cookies stay stable between calls.
    var listings: [UInt32: [(name: String, inode: UInt64, type: WASIFileType)]] = [:]
    /// argv and `NAME=value` strings as the guest receives them, packed when it first asks.
    lazy var packedArguments = PackedStrings(configuration.arguments)
    lazy var packedEnvironment = PackedStrings(environment: configuration.environment)

    public enum SetupError: Error, CustomStringConvertible {
        case cannotOpenDirectory(String, String)
        public var description: String {
            switch self {
            case .cannotOpenDirectory(let path, let why): return "cannot open directory \(path): \(why)"
            }
        }
    }

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        descriptors[0] = .input
        descriptors[1] = .output(configuration.stdout)
        descriptors[2] = .output(configuration.stderr)
        if case .bytes(let bytes) = configuration.stdin { stdinBytes = bytes }
        nextDescriptor = 3
        for preopen in configuration.preopens {
            let fd = open(preopen.host, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else {
                throw SetupError.cannotOpenDirectory(preopen.host, String(cString: strerror(errno)))
            }
            descriptors[nextDescriptor] = .directory(host: fd, guestPath: preopen.guest)
            nextDescriptor += 1
        }
    }

    deinit {
        for (_, descriptor) in descriptors {
            switch descriptor {
            case .directory(let fd, _), .file(let fd): close(fd)
            default: break
            }
        }
    }

    /// Runs a command module: calls `_start` and returns the exit code (0 when `_start` returns normally).
    public func start(_ instance: Instance) throws(Trap) -> Int32 {
        guard let start = instance.function("_start") else {
            throw Trap(.host("the module has no _start export: it is not a WASI command"))
        }
        do {
            _ = try start.invoke()
            return 0
        } catch {
            if case .exit(let code) = error.reason { return code }
            throw error
        }
    }

    static let moduleName = "wasi_snapshot_preview1"

    /// Defines every preview1 function in `imports`. Functions that `module` imports from
    /// `wasi_snapshot_preview1` but Nebula does not implement are defined too, returning `ENOSYS`, so that
    /// the module still instantiates.
    public func define(in imports: inout Imports, store: Store, for module: Module? = nil) {
        // With a module, only what it imports is defined: a server does this for every request.
        let wanted: Set<String>? = module.map { Set($0.imports.filter { $0.module == WASI.moduleName }.map(\.name)) }
        for (name, params, results, body) in functionTable(wanted) {
            imports.define(module: WASI.moduleName, name: name,
                           .function(store.defineFunction(type: FunctionType(parameters: params, results: results), raw: body)))
        }
        for item in module?.imports ?? [] where item.module == WASI.moduleName {
            guard imports.lookup(module: item.module, name: item.name) == nil,
                  case .function(let typeIndex) = item.descriptor, let type = module?.functionType(at: typeIndex),
                  !type.parameters.contains(where: \.isReference), !type.results.contains(where: \.isReference) else { continue }
            imports.define(module: item.module, name: item.name, .function(store.defineFunction(type: type, raw: WASI.unavailable(type))))
        }
    }
}

/// Meeting a module's imports with WASI, worked out once per module so that a server instantiating it per
/// request defines exactly its functions, by position, with no name or type lookups.
extension WASI {
    public struct ImportPlan: Sendable {
        enum Slot: Sendable {
            case function(WASIFunction)
            /// A preview1 name Nebula does not provide: answers `ENOSYS` (as `define` does).
            case missing(InternedFunctionType)
        }
        let slots: [Slot]
    }

    /// The plan for `module`, or nil if it imports anything WASI does not provide (instantiate it with
    /// `define` and `Imports` then, which names what is missing).
    public static func plan(for module: CompiledModule) -> ImportPlan? {
        var slots: [ImportPlan.Slot] = []
        for item in module.module.imports {
            guard item.module == moduleName, case .function(let typeIndex) = item.descriptor else { return nil }
            if let function = WASIFunction(rawValue: item.name) {
                slots.append(.function(function))
            } else {
                guard let type = module.canonicalFunctionType(at: typeIndex),
                      !type.parameters.contains(where: \.isReference), !type.results.contains(where: \.isReference) else { return nil }
                slots.append(.missing(InternedFunctionType(type)))
            }
        }
        return ImportPlan(slots: slots)
    }

    /// This instance's functions for `plan`, defined in `store`, in the module's import order (for
    /// `CompiledModule.instantiate(store:importValues:)`).
    public func importValues(_ plan: ImportPlan, store: Store) -> [ExternalValue] {
        plan.slots.map { slot in
            switch slot {
            case .function(let function):
                return .function(store.defineFunction(type: function.type, raw: body(function)))
            case .missing(let type):
                return .function(store.defineFunction(type: type, raw: WASI.unavailable(type.type)))
            }
        }
    }

    /// WASI functions defined once in a store whose instance serves one run after another (a
    /// `ReusableInstance`): each call goes to the context `current` names — that run's arguments,
    /// environment, streams and descriptors — set before the run and cleared after it. A call with none set
    /// traps.
    public final class Router {
        public var current: WASI?

        public init() {}

        /// The functions for `plan`, defined in `store`, in the module's import order.
        public func importValues(_ plan: ImportPlan, store: Store) -> [ExternalValue] {
            plan.slots.map { slot in
                switch slot {
                case .function(let function):
                    let implementation = WASIFunction.implementations[function.position]
                    return .function(store.defineFunction(type: function.type, raw: { [self] (caller: Caller, slots: UnsafeMutablePointer<UInt64>) throws(Trap) in
                        guard let wasi = current else { throw Trap(.host("\(function.rawValue) called outside a run: no WASI context")) }
                        try implementation(wasi, caller, slots)
                    }))
                case .missing(let type):
                    return .function(store.defineFunction(type: type, raw: WASI.unavailable(type.type)))
                }
            }
        }
    }

    /// A preview1 function Nebula does not provide: returns `ENOSYS` (when it returns an i32), does nothing else.
    static func unavailable(_ type: FunctionType) -> HostFunctionBody {
        let errno = type.results.first == .i32
        return { _, slots in
            if errno { slots[0] = UInt64(WASIErrno.nosys.rawValue) }
        }
    }
}
