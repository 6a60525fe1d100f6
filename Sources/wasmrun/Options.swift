import Foundation
import NebulaHTTP
import WasmParser
import WasmVM

/// `wasmrun`'s command line, parsed by hand (the design card allows no packages).
struct Options {
    enum Command { case run, validate, inspect, print, wat2wasm, help, version }

    var command = Command.run
    var file: String?
    var guestArguments: [String] = []
    var invoke: String?
    /// `--repeat N`: call the `--invoke` export N times in the same instance (results printed once).
    var repeatCount = 1
    var environment: [(String, String)] = []
    var directories: [(host: String, guest: String)] = []
    var fuel: Int64?
    var maxMemoryPages: Int?
    var maxGCHeapBytes: Int?
    var maxCallDepth: Int?
    /// `--translate`: when functions are translated (default: at first call for large modules).
    var translation = TranslationMode.automatic
    /// The proposals a module may use (default: all of WebAssembly 3.0 that Nebula implements).
    var features: Features = .wasm3
    var stats = false
    /// How `--stats` accounts energy (`--power-model`, `--carbon-intensity`).
    var energy = EnergySettings()
    /// `inspect --code`: also list the interpreter code of every defined function.
    var showCode = false
    /// `wat2wasm -o FILE` (and `print -o FILE`): where to write; standard output when nil.
    var output: String?

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    static let usage = """
        usage: wasmrun [run] [options] FILE.wasm [ARGS...]
               wasmrun validate [--features SET] FILE.wasm
               wasmrun inspect [--code] [--features SET] FILE.wasm
               wasmrun print [--features SET] [-o OUT.wat] FILE.wasm
               wasmrun wat2wasm [--features SET] FILE.wat -o OUT.wasm
               wasmrun --help | --version

        Runs a WebAssembly module with WASI preview1: its `_start` (a command), or with --invoke one export.
        Standard input, output and error are the process's own; the guest's exit code becomes wasmrun's.

        Commands:
          run (default)         run FILE.wasm, passing ARGS to the guest (argv[0] is the file name)
          validate FILE         decode and validate; print `valid` (exit 0) or the error (exit 1)
          inspect FILE          list sections, imports, exports, memories, tables, globals, custom sections
                                (inspect --code FILE also lists the interpreter code of each function)
          print FILE            print the module in the text format (as `wasm-tools print` does)
          wat2wasm FILE -o OUT  encode a text module (checked first) as a binary

        FILE may be a binary module or a text one (.wat), told apart by its content.

        Options (before FILE):
          --invoke NAME         call export NAME instead of `_start`; ARGS are its arguments, parsed by its
                                parameter types (integers in decimal or 0x hex, floats like 1.5, nan, inf);
                                results print one per line. A reactor's `_initialize` runs first.
          --repeat N            with --invoke: call it N times in the same instance, results printed once;
                                with --stats, the time of each call and the memory after it (does garbage
                                or resident memory grow from call to call?)
          --env NAME=VALUE      set a guest environment variable (repeatable); the guest sees no other
          --dir HOST[::GUEST]   give the guest the host directory HOST, seen as GUEST (default: HOST)
                                (repeatable); without --dir the guest sees no files at all
          --features SET        the WebAssembly proposals a module may use: `3.0` (the default: exceptions,
                                legacy exceptions, tail calls, typed function references, extended constants,
                                multiple memories, memory64, relaxed SIMD), `2.0`, or a comma-separated list
                                that adds to 2.0 or, after `3.0`, removes with `-` (e.g. `3.0,-tail-call`;
                                names: exceptions, legacy-exceptions, tail-call, function-references,
                                extended-const, multi-memory, memory64, relaxed-simd)
          --fuel N              stop with `fuel exhausted` after about N instructions
          --max-memory SIZE     largest linear memory: bytes, or with KiB, MiB, GiB, or pages (default 4GiB)
          --max-gc-heap SIZE    most bytes of GC objects (structs, arrays) the module may hold: bytes, or with
                                KiB, MiB, GiB (default 1GiB); beyond it, after collecting, an allocation traps
          --max-call-depth N    deepest call nesting before `call stack exhausted` (default 50000)
          --translate WHEN      `eager`: translate every function before running; `lazy`: each at its first
                                call; `auto` (the default): lazily when the code exceeds 1 MiB
          --stats               print to stderr: instructions executed, decode/validate/translate/run times,
                                CPU time, peak memory pages, energy (RAPL, else the power model) and carbon
          --power-model MODEL   energy where RAPL is unreadable: cpu=W,memory=W, default (cpu=3.5,memory=0.392)
                                or off
          --carbon-intensity G  grams of CO2e per kWh of the grid, for a carbon figure
          --version             print the version
          --help                this text

        Exit status: the guest's exit code; 134 for a trap (`error: wasm trap: ...` and a backtrace on stderr)
        or an exception no handler caught (`error: uncaught wasm exception: ...`); 1 for a missing file, an
        invalid module or a link error; 2 for usage errors.
        """

    static func parse(_ arguments: [String]) throws(UsageError) -> Options {
        var options = Options()
        var rest = arguments[...]
        switch rest.first {
        case "run": rest = rest.dropFirst()
        case "validate": options.command = .validate; rest = rest.dropFirst()
        case "inspect": options.command = .inspect; rest = rest.dropFirst()
        case "print": options.command = .print; rest = rest.dropFirst()
        case "wat2wasm": options.command = .wat2wasm; rest = rest.dropFirst()
        default: break
        }
        func value(_ flag: String) throws(UsageError) -> String {
            guard let v = rest.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
            return v
        }
        while let argument = rest.first, options.file == nil {
            rest = rest.dropFirst()
            switch argument {
            case "--help", "-h": options.command = .help; return options
            case "--version": options.command = .version; return options
            case "--invoke": options.invoke = try value(argument)
            case "--repeat":
                guard let n = Int(try value(argument)), n >= 1 else { throw UsageError(description: "--repeat takes a positive count") }
                options.repeatCount = n
            case "--env":
                let pair = try value(argument)
                guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                    throw UsageError(description: "--env takes NAME=VALUE, got \(pair)")
                }
                options.environment.append((String(pair[..<eq]), String(pair[pair.index(after: eq)...])))
            case "--dir":
                let spec = try value(argument)
                if let range = spec.range(of: "::") {
                    options.directories.append((String(spec[..<range.lowerBound]), String(spec[range.upperBound...])))
                } else {
                    options.directories.append((spec, spec))
                }
            case "--fuel":
                let text = try value(argument)
                guard let n = Int64(text), n >= 0 else { throw UsageError(description: "--fuel takes a non-negative integer, got \(text)") }
                options.fuel = n
            case "--max-memory": options.maxMemoryPages = try parseMemorySize(try value(argument))
            case "--max-gc-heap": options.maxGCHeapBytes = try parseByteSize(try value(argument), option: "--max-gc-heap")
            case "--max-call-depth":
                let text = try value(argument)
                guard let n = Int(text), n > 0, n <= 10_000_000 else { throw UsageError(description: "--max-call-depth takes 1...10000000, got \(text)") }
                options.maxCallDepth = n
            case "--translate":
                switch try value(argument) {
                case "eager": options.translation = .eager
                case "lazy": options.translation = .lazy
                case "auto": options.translation = .automatic
                case let text: throw UsageError(description: "--translate takes eager, lazy or auto, got \(text)")
                }
            case "--stats": options.stats = true
            case "--power-model":
                let text = try value(argument)
                do throws(PowerModel.ParseError) { options.energy.model = try PowerModel.parse(text) } catch {
                    throw UsageError(description: error.description)
                }
            case "--carbon-intensity":
                let text = try value(argument)
                guard let grams = EnergySettings.parseCarbonIntensity(text) else {
                    throw UsageError(description: "--carbon-intensity takes grams of CO2e per kWh, got \(text)")
                }
                options.energy.carbonGramsPerKWh = grams
            case "--features":
                let text = try value(argument)
                guard let features = Features.parse(text) else {
                    throw UsageError(description: "--features takes 2.0, 3.0 or a list of feature names, got \(text)")
                }
                options.features = features
            case "--code" where options.command == .inspect: options.showCode = true
            case "-o", "--output" where options.command == .print || options.command == .wat2wasm: options.output = try value(argument)
            case let flag where flag.hasPrefix("--"):
                throw UsageError(description: "unknown option \(flag)")
            default:
                options.file = argument
            }
        }
        // `wat2wasm in.wat -o out.wasm`: the output may follow the file.
        if (options.command == .wat2wasm || options.command == .print), rest.first == "-o" || rest.first == "--output" {
            rest = rest.dropFirst()
            options.output = try value("-o")
        }
        options.guestArguments = Array(rest)
        if options.file == nil { throw UsageError(description: "no module file given") }
        if options.command == .wat2wasm && options.output == nil { throw UsageError(description: "wat2wasm needs -o OUT.wasm") }
        if options.command != .run && !options.guestArguments.isEmpty {
            throw UsageError(description: "unexpected arguments after the file: \(options.guestArguments.joined(separator: " "))")
        }
        return options
    }

    /// A number and its unit suffix (`16MiB` is 16 and 2^20); a unit of -1 means pages.
    static func splitUnit(_ text: String, pages: Bool) -> (number: Int?, unit: Int) {
        let units: [(String, Int)] = (pages ? [("pages", -1), ("page", -1)] : [])
            + [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
        for (suffix, factor) in units where text.hasSuffix(suffix) { return (Int(text.dropLast(suffix.count)), factor) }
        return (Int(text), 1)
    }

    /// `1048576`, `64KiB`, `16MiB`, `1GiB`: a size in bytes.
    static func parseByteSize(_ text: String, option: String) throws(UsageError) -> Int {
        let (number, unit) = splitUnit(text, pages: false)
        guard let n = number, n > 0, case let (bytes, overflow) = n.multipliedReportingOverflow(by: unit), !overflow else {
            throw UsageError(description: "\(option) takes a size like 64MiB, got \(text)")
        }
        return bytes
    }

    /// `65536`, `64KiB`, `16MiB`, `1GiB`, `10pages`: a size in bytes (rounded down to pages) or pages.
    static func parseMemorySize(_ text: String) throws(UsageError) -> Int {
        let (number, unit) = splitUnit(text, pages: true)
        guard let n = number, n >= 0 else { throw UsageError(description: "--max-memory takes a size like 64MiB or 100pages, got \(text)") }
        let pages = unit == -1 ? n : n.multipliedReportingOverflow(by: unit).partialValue / MemoryType.pageSize
        guard pages <= 65536 else { throw UsageError(description: "--max-memory is at most 4GiB (65536 pages), got \(text)") }
        return pages
    }
}
