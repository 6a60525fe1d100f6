import Foundation

/// An HTTP/1.x request as the server received it.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent (`/functions/fib?a=1`).
    public var target: String
    public var path: String
    public var query: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// In arrival order; names as sent (compare case-insensitively).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, target: String, path: String, query: String, minorVersion: Int,
                headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.minorVersion = minorVersion
        self.headers = headers
        self.body = body
    }

    /// The query string's `name=value` pairs, percent-decoded (a name without `=` has the value ""; the
    /// last of a repeated name wins).
    public var queryItems: [String: String] { HTTPRequest.queryItems(query) }

    static func queryItems(_ query: String) -> [String: String] {
        var items: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { percentDecoded(String($0)) }
            items[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return items
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    /// Whether the connection stays open after the response (HTTP/1.1 unless `close`; 1.0 only if asked).
    public var keepAlive: Bool {
        let connection = header("connection")?.lowercased() ?? ""
        if minorVersion == 0 { return connection.contains("keep-alive") }
        return !connection.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "close" }
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(text.utf8))
    }

    /// `{"error": ..., "function": ...}`, the body of every error the platform reports.
    public static func error(_ status: Int, _ message: String, function: String? = nil, extra: [(String, String)] = []) -> HTTPResponse {
        var fields = [("error", message)]
        if let function { fields.append(("function", function)) }
        fields += extra
        let json = "{" + fields.map { "\"\($0.0)\": \(jsonString($0.1))" }.joined(separator: ", ") + "}\n"
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(json.utf8))
    }

    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }

    /// The bytes on the wire. `includeBody` is false for HEAD (the length still describes the body).
    func serialized(keepAlive: Bool, date: String, includeBody: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(HTTPResponse.reason(status))\r\nDate: \(date)\r\nContent-Length: \(body.count)\r\n"
        head += "Connection: \(keepAlive ? "keep-alive" : "close")\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if includeBody { bytes += body }
        return bytes
    }
}

public func jsonString(_ s: String) -> String {
    // Most strings (methods, paths, names, timestamps) need no escaping: no scalar-by-scalar copy for them.
    if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) { return "\"" + s + "\"" }
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

extension HTTPResponse {
    /// A JSON body (already serialized).
    public static func json(_ status: Int, _ json: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array((json + "\n").utf8))
    }
}

extension String {
    /// Equality with ASCII letters compared case-insensitively, as HTTP field names are (RFC 9110 §5.1),
    /// without the two strings `lowercased()` allocates on every header lookup.
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        var a = utf8.makeIterator(), b = other.utf8.makeIterator()
        while true {
            switch (a.next(), b.next()) {
            case (nil, nil): return true
            case (let x?, let y?):
                if x == y { continue }
                let lx = x >= 65 && x <= 90 ? x + 32 : x, ly = y >= 65 && y <= 90 ? y + 32 : y
                if lx != ly { return false }
            default: return false
            }
        }
    }
}
