/// Everything `nebula-serve` can be told; defaults are the documented ones.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var functionsDirectory = "./functions"
    public var workers = 0  // 0: one per core
    /// Threads accepting and serving connections; 0: `HTTPServer.defaultEventLoops(cores:)`.
    public var eventLoops = 0
    /// Wait with `poll` even where `epoll` is available (tests cover both; see `Readiness`).
    public var usePoll = false
    public var queueCapacity = 256
    public var maxConnections = 1024
    public var limits = HTTPLimits()
    public var headerTimeout = 10.0
    public var idleTimeout = 60.0
    public var bodyTimeout = 30.0
    public var writeTimeout = 30.0
    public var shutdownGrace = 10.0
    /// Defaults for functions without a manifest value.
    public var defaultFunctionTimeoutMilliseconds = 10_000
    public var defaultMaxMemoryBytes = 256 * 1024 * 1024
    public var defaultMaxOutputBytes = 10 * 1024 * 1024
    /// Enables the admin API (`/admin/...`) with this bearer token; nil: the admin API is off.
    public var adminToken: String?

    public init() {}
}
