import Foundation

/// WAGI output: CGI-style headers up to a blank line, then the body.
enum WAGI {
    static func parse(_ output: [UInt8], defaultContentType: String) -> HTTPResponse {
        var headers: [(name: String, value: String)] = []
        var status = 200
        var index = 0
        while index < output.count {
            guard let newline = output[index...].firstIndex(of: 10) else { break }
            var line = output[index..<newline]
            if line.last == 13 { line = line.dropLast() }
            index = newline + 1
            if line.isEmpty {
                var response = HTTPResponse(status: status, headers: headers, body: Array(output[index...]))
                if !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                    response.headers.append(("Content-Type", defaultContentType))
                }
                return response
            }
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { break }
            let name = text[..<colon].trimmingCharacters(in: .whitespaces)
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenCharacter) else { break }
            if name.lowercased() == "status" {
                status = Int(value.prefix(3)) ?? 500
            } else if !["content-length", "connection", "transfer-encoding", "date"].contains(name.lowercased()) {
                headers.append((name, value))
            }
            if name.lowercased() == "location" && status == 200 { status = 302 }
        }
        return .error(502, "function output has no WAGI header block")
    }
}
