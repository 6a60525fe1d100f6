/// Limits on what a client may send.
public struct HTTPLimits: Sendable {
    public var maxTargetBytes = 8 * 1024
    public var maxHeaderBytes = 16 * 1024
    public var maxHeaderFields = 100
    public var maxBodyBytes = 10 * 1024 * 1024

    public init() {}
}

public struct HTTPParseError: Error, Equatable {
    public var status: Int
    public var message: String
}

/// Parses requests incrementally from a connection's bytes, strictly: anything ambiguous (obs-fold,
/// whitespace before a colon, both Content-Length and Transfer-Encoding, repeated or non-numeric lengths,
/// transfer codings other than `chunked`) is a 400, because a lenient parser behind a proxy is how
/// requests get smuggled.
struct RequestParser {
    enum Event {
        case needMore
        /// The head is complete and a body follows; the client asked to be told to send it.
        case expectsContinue
        case request(HTTPRequest)
    }

    enum BodyState {
        case length(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
    }

    let limits: HTTPLimits
    var head: HTTPRequest?
    var body: BodyState?
    var continueAnnounced = false
    var trailerBytes = 0

    init(limits: HTTPLimits) { self.limits = limits }

    mutating func reset() {
        head = nil
        body = nil
        continueAnnounced = false
        trailerBytes = 0
    }

    /// Consumes what it can of `buffer[offset...]`.
    mutating func parse(_ buffer: [UInt8], _ offset: inout Int) throws(HTTPParseError) -> Event {
        if head == nil {
            guard let end = findHeadEnd(buffer, from: offset) else {
                let pending = buffer.count - offset
                // A bare LF would end a line for a lenient parser behind or in front of us (a smuggling
                // vector), and a head made of them never ends here: refuse it now rather than time out.
                if hasBareLineFeed(buffer, from: offset) {
                    throw HTTPParseError(status: 400, message: "bare LF in request head")
                }
                if firstLineLength(buffer, from: offset) == nil && pending > limits.maxTargetBytes + 32 {
                    throw HTTPParseError(status: 414, message: "request target longer than \(limits.maxTargetBytes) bytes")
                }
                if pending > limits.maxHeaderBytes {
                    throw HTTPParseError(status: 431, message: "request head larger than \(limits.maxHeaderBytes) bytes")
                }
                return .needMore
            }
            guard end - offset <= limits.maxHeaderBytes else {
                throw HTTPParseError(status: 431, message: "request head larger than \(limits.maxHeaderBytes) bytes")
            }
            try parseHead(buffer[offset..<end])
            offset = end + 4
        }
        guard var request = head else { return .needMore }
        if body == nil { return finish(&request) }
        if !continueAnnounced, request.minorVersion == 1, request.header("expect")?.lowercased() == "100-continue", offset >= buffer.count {
            continueAnnounced = true
            return .expectsContinue
        }
        while let state = body {
            switch state {
            case .length(let remaining):
                let n = min(remaining, buffer.count - offset)
                request.body.append(contentsOf: buffer[offset..<(offset + n)])
                offset += n
                if n == remaining {
                    body = nil
                } else {
                    body = .length(remaining: remaining - n)
                    head = request
                    return .needMore
                }
            case .chunkSize:
                guard let lineEnd = findCRLF(buffer, from: offset, limit: 1024) else {
                    if buffer.count - offset > 1024 { throw HTTPParseError(status: 400, message: "chunk size line too long") }
                    head = request
                    return .needMore
                }
                let line = buffer[offset..<lineEnd]
                let sizeField = line.prefix { $0 != UInt8(ascii: ";") }
                guard !sizeField.isEmpty, sizeField.count <= 16, sizeField.allSatisfy({ isHexDigit($0) }),
                      let size = Int(String(decoding: sizeField, as: UTF8.self), radix: 16) else {
                    throw HTTPParseError(status: 400, message: "invalid chunk size")
                }
                guard request.body.count + size <= limits.maxBodyBytes else {
                    throw HTTPParseError(status: 413, message: "body larger than \(limits.maxBodyBytes) bytes")
                }
                offset = lineEnd + 2
                body = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let n = min(remaining, buffer.count - offset)
                request.body.append(contentsOf: buffer[offset..<(offset + n)])
                offset += n
                if n < remaining {
                    body = .chunkData(remaining: remaining - n)
                    head = request
                    return .needMore
                }
                body = .chunkDataEnd
            case .chunkDataEnd:
                guard buffer.count - offset >= 2 else {
                    head = request
                    return .needMore
                }
                guard buffer[offset] == 13, buffer[offset + 1] == 10 else {
                    throw HTTPParseError(status: 400, message: "chunk data not followed by CRLF")
                }
                offset += 2
                body = .chunkSize
            case .trailers:
                guard let lineEnd = findCRLF(buffer, from: offset, limit: limits.maxHeaderBytes) else {
                    if buffer.count - offset + trailerBytes > limits.maxHeaderBytes {
                        throw HTTPParseError(status: 431, message: "trailers too large")
                    }
                    head = request
                    return .needMore
                }
                trailerBytes += lineEnd - offset + 2
                guard trailerBytes <= limits.maxHeaderBytes else { throw HTTPParseError(status: 431, message: "trailers too large") }
                let empty = lineEnd == offset
                offset = lineEnd + 2
                if empty { body = nil }
            }
        }
        return finish(&request)
    }

    mutating func finish(_ request: inout HTTPRequest) -> Event {
        let complete = request
        reset()
        return .request(complete)
    }

    mutating func parseHead(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == 13 {
                guard i + 1 < bytes.endIndex, bytes[i + 1] == 10 else { throw HTTPParseError(status: 400, message: "bare CR in request head") }
                lines.append(bytes[start..<i])
                i += 2
                start = i
                continue
            }
            if bytes[i] == 10 { throw HTTPParseError(status: 400, message: "bare LF in request head") }
            i += 1
        }
        lines.append(bytes[start..<bytes.endIndex])
        guard let requestLine = lines.first else { throw HTTPParseError(status: 400, message: "empty request") }
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenCharacter) else {
            throw HTTPParseError(status: 400, message: "malformed request line")
        }
        guard parts[1].count <= limits.maxTargetBytes else {
            throw HTTPParseError(status: 414, message: "request target longer than \(limits.maxTargetBytes) bytes")
        }
        guard !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw HTTPParseError(status: 400, message: "malformed request target")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        let minor: Int
        switch version {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        default:
            let v = Array(parts[2])
            if v.count == 8, version.hasPrefix("HTTP/"), isDigit(v[5]), v[6] == UInt8(ascii: "."), isDigit(v[7]) {
                throw HTTPParseError(status: 505, message: "HTTP version \(version.dropFirst(5)) is not supported")
            }
            throw HTTPParseError(status: 400, message: "malformed HTTP version")
        }
        var target = String(decoding: parts[1], as: UTF8.self)
        if target.hasPrefix("http://") || target.hasPrefix("https://") {
            // absolute-form: keep the path and query
            let afterScheme = target.drop { $0 != "/" }.dropFirst(2)
            target = String(afterScheme.drop { $0 != "/" })
            if target.isEmpty { target = "/" }
        }
        guard target.hasPrefix("/") || (target == "*") else { throw HTTPParseError(status: 400, message: "malformed request target") }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let first = line.first else { throw HTTPParseError(status: 400, message: "empty header line") }
            if first == 32 || first == 9 { throw HTTPParseError(status: 400, message: "obsolete header line folding") }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw HTTPParseError(status: 400, message: "header line without a colon") }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenCharacter) else { throw HTTPParseError(status: 400, message: "malformed header name") }
            let value = line[(colon + 1)...].drop { $0 == 32 || $0 == 9 }
            guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
                throw HTTPParseError(status: 400, message: "control character in a header value")
            }
            var trimmed = value
            while let last = trimmed.last, last == 32 || last == 9 { trimmed = trimmed.dropLast() }
            headers.append((String(decoding: name, as: UTF8.self), String(decoding: trimmed, as: UTF8.self)))
            guard headers.count <= limits.maxHeaderFields else {
                throw HTTPParseError(status: 431, message: "more than \(limits.maxHeaderFields) header fields")
            }
        }
        let query = target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } ?? ""
        let path = String(target.prefix { $0 != "?" })
        var request = HTTPRequest(method: String(decoding: parts[0], as: UTF8.self), target: target, path: path, query: query,
                                  minorVersion: minor, headers: headers, body: [])
        let lengths = headers.filter { $0.name.equalsIgnoringASCIICase("content-length") }
        let encodings = headers.filter { $0.name.equalsIgnoringASCIICase("transfer-encoding") }
        if minor == 1 && !headers.contains(where: { $0.name.equalsIgnoringASCIICase("host") }) {
            throw HTTPParseError(status: 400, message: "HTTP/1.1 request without Host")
        }
        if !lengths.isEmpty && !encodings.isEmpty {
            throw HTTPParseError(status: 400, message: "both Content-Length and Transfer-Encoding")
        }
        if lengths.count > 1 { throw HTTPParseError(status: 400, message: "repeated Content-Length") }
        if let length = lengths.first?.value {
            guard !length.isEmpty, length.count <= 12, length.utf8.allSatisfy(isDigit), let n = Int(length) else {
                throw HTTPParseError(status: 400, message: "invalid Content-Length")
            }
            guard n <= limits.maxBodyBytes else { throw HTTPParseError(status: 413, message: "body larger than \(limits.maxBodyBytes) bytes") }
            body = n > 0 ? .length(remaining: n) : nil
        } else if !encodings.isEmpty {
            guard minor == 1, encodings.count == 1, encodings[0].value.lowercased() == "chunked" else {
                throw HTTPParseError(status: 400, message: "unsupported Transfer-Encoding \(encodings.map(\.value).joined(separator: ", "))")
            }
            body = .chunkSize
        }
        request.body.reserveCapacity(0)
        head = request
    }

    func findHeadEnd(_ buffer: [UInt8], from offset: Int) -> Int? {
        var i = offset
        let limit = min(buffer.count, offset + limits.maxHeaderBytes + 4)
        while i + 3 < limit {
            if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }

    /// The request line's length, if it ends within the longest one allowed (a longer one is a 414 even when
    /// its end has arrived too).
    func firstLineLength(_ buffer: [UInt8], from offset: Int) -> Int? {
        findCRLF(buffer, from: offset, limit: min(buffer.count - offset, limits.maxTargetBytes + 32)).map { $0 - offset }
    }

    func hasBareLineFeed(_ buffer: [UInt8], from offset: Int) -> Bool {
        let end = min(buffer.count, offset + limits.maxHeaderBytes + 4)
        var i = offset
        while i < end {
            if buffer[i] == 10 && (i == offset || buffer[i - 1] != 13) { return true }
            i += 1
        }
        return false
    }

    func findCRLF(_ buffer: [UInt8], from offset: Int, limit: Int) -> Int? {
        var i = offset
        let end = min(buffer.count, offset + limit + 2)
        while i + 1 < end {
            if buffer[i] == 13 && buffer[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }
}

func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) }
func isTokenCharacter(_ c: UInt8) -> Bool {
    if c >= 48 && c <= 57 || c >= 65 && c <= 90 || c >= 97 && c <= 122 { return true }
    return "!#$%&'*+-.^_`|~".utf8.contains(c)
}
