import Dispatch
import Foundation
import NebulaHTTP
#if canImport(Glibc)
import Glibc
#endif

/// `nebula-serve`: serves every function in a directory over HTTP, a fresh instance per request.
let usage = """
    usage: nebula-serve [options]

    Serves every *.wasm in the functions directory at /functions/NAME: the request body is the function's
    stdin, its stdout the response. New, changed and removed files are picked up within a second. Also:
    GET / (status page), /healthz, /readyz, /metrics (Prometheus), and /admin/... when a token is set.

    Options (defaults in brackets):
      --host ADDR              IPv4 address to listen on [127.0.0.1]
      --port N                 TCP port; 0 picks a free one [8080]
      --functions DIR          where the .wasm files (and NAME.json manifests) are [./functions]
      --workers N              threads running functions [one per core]
      --event-loops N          threads accepting and serving connections [one per 4 cores]
      --queue N                invocations that may wait for a worker; beyond, 503 [256]
      --max-connections N      open connections; beyond, 503 and close [1024]
      --max-body SIZE          request body limit, 413 beyond [10MiB]
      --max-header-bytes N     request head limit, 431 beyond [16384]
      --max-header-fields N    header count limit, 431 beyond [100]
      --max-target-bytes N     request target limit, 414 beyond [8192]
      --header-timeout S       seconds to receive a request head, 408 beyond [10]
      --body-timeout S         seconds to receive a request body, 408 beyond [30]
      --idle-timeout S         seconds a keep-alive connection may sit idle [60]
      --write-timeout S        seconds a response may take to drain to the client [30]
      --shutdown-grace S       on SIGINT/SIGTERM, seconds to finish in-flight requests [10]
      --function-timeout MS    default deadline per invocation, 504 beyond [10000]
      --max-memory SIZE        default linear-memory limit per invocation [256MiB]
      --max-output SIZE        default stdout limit per invocation, 502 beyond [10MiB]
      --admin-token-file FILE  enable the admin API with the bearer token in FILE [$NEBULA_ADMIN_TOKEN; off]
      --log-file FILE          append the JSON log lines to FILE [stderr]
      --history FILE           append every invocation's record to FILE (JSON lines) [off]
      --history-max SIZE       rotate the history file beyond this size, keeping one old file [16MiB]
      --reload-interval S      seconds between scans of the functions directory [1]
      --power-model MODEL      energy where RAPL is unreadable: cpu=W,memory=W (watts per busy core and per
                               GB of memory), default, or off for none [default: cpu=3.5,memory=0.392]
      --carbon-intensity G     grams of CO2e per kWh of the grid, for a carbon figure per call [off]
      --help                   this text

    SIZE is bytes, or a number with KiB, MiB or GiB. A function's manifest functions/NAME.json may set
    env, args, contentType, fuel, timeoutMs, maxMemory, maxOutputBytes, maxConcurrency and wagi.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("nebula-serve: \(message)\n".utf8))
    exit(2)
}

func size(_ text: String, _ flag: String) -> Int {
    let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        guard let n = Int(text.dropLast(suffix.count)), n > 0, n <= Int.max / factor else { fail("\(flag) takes a size like 10MiB, got \(text)") }
        return n * factor
    }
    guard let n = Int(text), n > 0 else { fail("\(flag) takes a size like 10MiB, got \(text)") }
    return n
}

var configuration = ServerConfiguration()
configuration.adminToken = ProcessInfo.processInfo.environment["NEBULA_ADMIN_TOKEN"]
var logFile: String?
var historyFile: String?
var historyMax = 16 << 20
var reloadInterval = 1.0
var energySettings = EnergySettings()
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    if flag == "--help" || flag == "-h" {
        print(usage)
        exit(0)
    }
    guard let value = arguments.popFirst() else { fail("\(flag) needs a value (see --help)") }
    func integer(_ range: ClosedRange<Int>) -> Int {
        guard let n = Int(value), range.contains(n) else { fail("\(flag) takes a number in \(range), got \(value)") }
        return n
    }
    func seconds() -> Double {
        guard let s = Double(value), s > 0, s < 86_400 else { fail("\(flag) takes seconds, got \(value)") }
        return s
    }
    switch flag {
    case "--host": configuration.host = value
    case "--port": configuration.port = integer(0...65535)
    case "--functions": configuration.functionsDirectory = value
    case "--workers": configuration.workers = integer(1...1024)
    case "--event-loops": configuration.eventLoops = integer(1...256)
    case "--queue": configuration.queueCapacity = integer(1...1_000_000)
    case "--max-connections": configuration.maxConnections = integer(1...100_000)
    case "--max-body": configuration.limits.maxBodyBytes = size(value, flag)
    case "--max-header-bytes": configuration.limits.maxHeaderBytes = integer(256...1 << 20)
    case "--max-header-fields": configuration.limits.maxHeaderFields = integer(1...10_000)
    case "--max-target-bytes": configuration.limits.maxTargetBytes = integer(16...1 << 20)
    case "--header-timeout": configuration.headerTimeout = seconds()
    case "--body-timeout": configuration.bodyTimeout = seconds()
    case "--idle-timeout": configuration.idleTimeout = seconds()
    case "--write-timeout": configuration.writeTimeout = seconds()
    case "--shutdown-grace": configuration.shutdownGrace = seconds()
    case "--function-timeout": configuration.defaultFunctionTimeoutMilliseconds = integer(1...86_400_000)
    case "--max-memory": configuration.defaultMaxMemoryBytes = size(value, flag)
    case "--max-output": configuration.defaultMaxOutputBytes = size(value, flag)
    case "--admin-token-file":
        guard let text = try? String(contentsOfFile: value, encoding: .utf8) else { fail("cannot read the admin token file \(value)") }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.utf8.count >= 16 else { fail("the admin token in \(value) must be at least 16 characters") }
        configuration.adminToken = token
    case "--log-file": logFile = value
    case "--history": historyFile = value
    case "--history-max": historyMax = size(value, flag)
    case "--reload-interval": reloadInterval = seconds()
    case "--power-model":
        do throws(PowerModel.ParseError) { energySettings.model = try PowerModel.parse(value) } catch { fail("\(error)") }
    case "--carbon-intensity":
        guard let grams = EnergySettings.parseCarbonIntensity(value) else { fail("--carbon-intensity takes grams of CO2e per kWh, got \(value)") }
        energySettings.carbonGramsPerKWh = grams
    default: fail("unknown option \(flag) (see --help)")
    }
}

let logLock = NSLock()
let logHandle: FileHandle
if let logFile {
    if !FileManager.default.fileExists(atPath: logFile) { _ = FileManager.default.createFile(atPath: logFile, contents: nil) }
    guard let handle = FileHandle(forWritingAtPath: logFile) else { fail("cannot open the log file \(logFile)") }
    handle.seekToEndOfFile()
    logHandle = handle
} else {
    logHandle = FileHandle.standardError
}
let logDescriptor = logHandle.fileDescriptor
/// One line per call of `write(2)`, straight from the string's bytes (a `Data` per line cost a copy and two
/// allocations on every request); the lock keeps lines whole between workers.
func log(_ line: String) {
    var line = line
    line += "\n"
    logLock.lock()
    line.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(logDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { break }
        }
    }
    logLock.unlock()
}
if let token = configuration.adminToken, token.utf8.count < 16 { fail("NEBULA_ADMIN_TOKEN must be at least 16 characters") }

var defaults = FunctionSettings()
defaults.timeoutMilliseconds = configuration.defaultFunctionTimeoutMilliseconds
defaults.maxMemoryBytes = configuration.defaultMaxMemoryBytes
defaults.maxOutputBytes = configuration.defaultMaxOutputBytes
var history: CallHistory?
if let historyFile {
    do { history = try CallHistory(path: historyFile, maxBytes: historyMax) } catch { fail("cannot open the history file \(historyFile): \(error)") }
}
let platform = FunctionPlatform(defaults: defaults, history: history, energy: energySettings, log: log)
do {
    try platform.load(directory: configuration.functionsDirectory)
} catch {
    fail("cannot read the functions directory \(configuration.functionsDirectory): \(error)")
}
let server = HTTPServer(configuration: configuration, platform: platform, log: log)
let port: Int
do {
    port = try server.start()
} catch {
    fail("\(error)")
}

/// SIGINT and SIGTERM start a graceful shutdown. Installed from a plain function: a closure written in
/// top-level code would be main-actor isolated, and Dispatch runs signal handlers on another queue.
func installShutdownHandlers(_ server: HTTPServer) -> [DispatchSourceSignal] {
    signal(SIGPIPE, SIG_IGN)
    return [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { server.requestShutdown() }
        source.resume()
        return source
    }
}
let signalSources = installShutdownHandlers(server)
platform.watch(every: reloadInterval)
log("{\"timestamp\": \"\(ISO8601DateFormatter().string(from: Date()))\", \"event\": \"start\", \"listen\": \"http://\(configuration.host):\(port)\", "
    + "\"functions\": \(platform.functions.count), \"admin\": \(configuration.adminToken != nil), \"history\": \(historyFile != nil), "
    + "\"energy\": \(jsonString(platform.energy.methodDescription))}")
server.run()
withExtendedLifetime(signalSources) {}
exit(0)
