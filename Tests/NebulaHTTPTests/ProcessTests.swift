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
