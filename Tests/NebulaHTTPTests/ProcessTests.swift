import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The `nebula-serve` binary as an operator runs it: flags, start-up, signals.
final class ProcessTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func launch(_ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = Bundle.main.bundleURL.appendingPathComponent("nebula-serve")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        return (process, errors)
    }

    /// Reads the log until the start line and returns the port it announces.
    func waitForStart(_ errors: Pipe) -> Int? {
        var text = ""
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { return nil }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: "\"listen\": \"http://127.0.0.1:") {
                return Int(text[range.upperBound...].prefix { $0.isNumber })
            }
        }
        return nil
    }

    func testSignalsShutDownGracefullyWithExitZero() throws {
        for signal in [SIGTERM, SIGINT] {
            let (process, errors) = try launch(["--port", "0", "--functions", Self.repository.appendingPathComponent("functions").path])
            let port = try XCTUnwrap(waitForStart(errors), "the server announces its port")
            let client = try RawClient(port: port)
            client.send("POST /functions/fib HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n5")
            XCTAssertEqual(client.response()?.body, "[0, 1, 1, 2, 3]\n")
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .exit, "signal \(signal) ends the process normally")
            XCTAssertEqual(process.terminationStatus, 0)
        }
    }

    func testLogFileAdminTokenFileAndHistoryFlags() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nebula-flags-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let token = "flag-token-abcdefghijklmnop"
        try (token + "\n").write(to: scratch.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let logPath = scratch.appendingPathComponent("nebula.jsonl").path
        let (process, _) = try launch(["--port", "0", "--functions", Self.repository.appendingPathComponent("functions").path,
                                       "--admin-token-file", scratch.appendingPathComponent("token").path,
                                       "--log-file", logPath, "--history", scratch.appendingPathComponent("history.jsonl").path])
        defer { process.terminate(); process.waitUntilExit() }
        var port: Int?
        for _ in 0..<100 where port == nil {
            Thread.sleep(forTimeInterval: 0.05)
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let range = log.range(of: "\"listen\": \"http://127.0.0.1:") { port = Int(log[range.upperBound...].prefix { $0.isNumber }) }
        }
        let p = try XCTUnwrap(port, "the start line goes to the log file")
        XCTAssertEqual(try post(p, "/functions/fib", "3")?.status, 200)
        let admin = try XCTUnwrap(RawClient(port: p).request("GET /admin/history?limit=5 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\n\r\n"))
        XCTAssertEqual(admin.status, 200, "the token file's token (trimmed) opens the admin API")
        XCTAssertTrue(admin.body.contains("\"function\": \"fib\""), admin.body)
        Thread.sleep(forTimeInterval: 0.2)
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.contains("\"event\": \"start\"") && $0.contains("\"admin\": true") })
        XCTAssertTrue(lines.contains { $0.contains("\"path\": \"/functions/fib\"") && $0.contains("\"instructions\": ") })
        for line in lines { XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line.utf8)), String(line)) }
        try "short\n".write(to: scratch.appendingPathComponent("short"), atomically: true, encoding: .utf8)
        let (short, _) = try launch(["--port", "0", "--admin-token-file", scratch.appendingPathComponent("short").path])
        short.waitUntilExit()
        XCTAssertEqual(short.terminationStatus, 2, "a token shorter than 16 characters is refused")
    }

    func testHelpAndBadFlags() throws {
        let (help, _) = try launch(["--help"])
        help.waitUntilExit()
        XCTAssertEqual(help.terminationStatus, 0)
        let (bad, errors) = try launch(["--port", "seventy"])
        bad.waitUntilExit()
        XCTAssertEqual(bad.terminationStatus, 2)
        XCTAssertTrue(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("--port takes a number"))
    }
}
