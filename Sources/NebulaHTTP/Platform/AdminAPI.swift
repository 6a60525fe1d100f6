import Foundation

/// The admin API under `/admin/`, enabled only when a token is configured; every request needs
/// `Authorization: Bearer TOKEN` (compared in constant time), else 401.
///
///     GET    /admin/functions                     every function: name, size, sha256, imports, exports, limits,
///                                                 deployedAt, stats
///     GET    /admin/functions/NAME                one of them
///     GET    /admin/functions/NAME/stats          count, outcomes, p50/p95/p99 ms, mean CPU ms and instructions, energy
///     PUT    /admin/functions/NAME                body: the module; validated first (400 with the decoder's or
///                                                 validator's message), written atomically; 201 new, 200 replaced
///     PUT    /admin/functions/NAME/manifest       body: the manifest JSON (validated with the module); 200
///     DELETE /admin/functions/NAME                200, or 404
///     GET    /admin/history?function=NAME&limit=N the newest call records (needs --history)
struct AdminAPI {
    let token: [UInt8]
    let platform: FunctionPlatform

    /// Whether `header` (an Authorization value) carries the token. Constant time in the token's content.
    func authorized(_ header: String?) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.utf8.dropFirst(7))
        var difference = UInt8(truncatingIfNeeded: given.count ^ token.count)
        for i in 0..<max(given.count, token.count) {
            let a = i < given.count ? given[i] : 0, b = i < token.count ? token[i] : 0
            difference |= a ^ b
        }
        return difference == 0 && !token.isEmpty
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard authorized(request.header("authorization")) else {
            return HTTPResponse.error(401, "admin API: missing or wrong bearer token").with(header: ("WWW-Authenticate", "Bearer"))
        }
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst(2).map(String.init)
        switch (request.method, parts.first, parts.count) {
        case ("GET", "functions", 1):
            return .json(200, "{\"functions\": [" + platform.functions.map(\.json).joined(separator: ", ") + "]}")
        case (_, "functions", 2), (_, "functions", 3):
            let name = parts[1]
            guard FunctionPlatform.isValidName(name) else {
                return .error(400, "invalid function name: use 1-64 letters, digits, '-', '_' and '.', not starting with '.' or '-'")
            }
            return functionRequest(request, name: name, sub: parts.count == 3 ? parts[2] : nil)
        case ("GET", "history", 1):
            return history(request)
        case (_, "functions", _), (_, "history", _):
            return .error(405, "method \(request.method) not allowed on \(request.path)")
        default:
            return .error(404, "no such admin path \(request.path)")
        }
    }

    func functionRequest(_ request: HTTPRequest, name: String, sub: String?) -> HTTPResponse {
        switch (request.method, sub) {
        case ("GET", nil):
            guard let function = platform.function(named: name) else { return .error(404, "no such function", function: name) }
            return .json(200, function.json)
        case ("GET", "stats"):
            guard let function = platform.function(named: name) else { return .error(404, "no such function", function: name) }
            return .json(200, "{\"name\": \(jsonString(name)), \"stats\": \(function.stats.json)}")
        case ("PUT", nil):
            guard !request.body.isEmpty else { return .error(400, "the body must be the module", function: name) }
            return deployed(platform.deploy(name, module: request.body, manifest: nil), name: name)
        case ("PUT", "manifest"):
            guard platform.function(named: name) != nil else { return .error(404, "no such function", function: name) }
            return deployed(platform.deploy(name, module: nil, manifest: Data(request.body)), name: name)
        case ("DELETE", nil):
            return platform.undeploy(name) ? .json(200, "{\"deleted\": \(jsonString(name))}") : .error(404, "no such function", function: name)
        default:
            return HTTPResponse.error(405, "method \(request.method) not allowed on \(request.path)", function: name)
        }
    }

    func deployed(_ result: Result<(DeployedFunction, created: Bool), FunctionPlatform.LoadError>, name: String) -> HTTPResponse {
        switch result {
        case .success(let (function, created)):
            return .json(created ? 201 : 200, function.json)
        case .failure(let error):
            return .error(error.status, error.message, function: name)
        }
    }

    func history(_ request: HTTPRequest) -> HTTPResponse {
        guard let history = platform.history else {
            return .error(404, "call history is off (start nebula-serve with --history FILE)")
        }
        let items = request.queryItems
        let function = items["function"].flatMap { $0.isEmpty ? nil : $0 }
        var limit = 100
        if let text = items["limit"], !text.isEmpty {
            guard let n = Int(text), n > 0, n <= 100_000 else { return .error(400, "limit must be 1...100000") }
            limit = n
        }
        return .json(200, "{\"records\": [" + history.records(function: function, limit: limit).joined(separator: ", ") + "]}")
    }
}
