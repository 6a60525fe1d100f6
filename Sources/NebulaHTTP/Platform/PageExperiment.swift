import Foundation

/// The calls the status page runs for its visitor: N calls of one function with an input (the invoke form),
/// or N calls each of two functions or inputs, interleaved so both see the same machine (the comparison).
/// They run on a worker, exactly as HTTP invocations do, and count in the functions' stats.
struct PageExperiment {
    static let maxCalls = 1000
    /// A page run stops starting calls after this long, and says so.
    static let timeBudgetSeconds = 30.0
    /// Output kept per call for the page.
    static let outputPreview = 300

    /// One call as the page shows it.
    struct Call: Sendable {
        var status: Int
        var footprint: Footprint
        var output: String
        var startupMs: Double { footprint.startupSeconds * 1000 }
        var totalMs: Double { footprint.wallSeconds * 1000 }
        var runMs: Double { max(0, totalMs - startupMs) }
        var cpuMs: Double { footprint.cpuSeconds * 1000 }
        var instructions: Double { Double(footprint.instructions) }
        var memoryBytes: Double { Double(footprint.memoryBytes) }
        var gcHeapBytes: Double { Double(footprint.gcHeapBytes) }
        var energyJoules: Double? { footprint.energyJoules }
        var energySource: EnergySource? { footprint.energySource }
    }

    /// The calls of one function with one input.
    struct Sample: Sendable {
        var function: String
        var input: String
        var calls: [Call] = []
        /// Fewer calls than asked: the time budget ran out.
        var stoppedEarly = false
        /// Why nothing ran (unknown function); nil when calls ran.
        var problem: String?

        var label: String {
            let shown = input.count > 24 ? String(input.prefix(24)) + "…" : input
            return "\(function)(\(shown.isEmpty ? "no input" : "“\(shown)”"))"
        }
    }

    /// What the page was asked to run, read from its query string.
    enum Request: Equatable {
        case invoke(function: String, input: String, calls: Int)
        case compare(a: String, aInput: String, b: String, bInput: String, calls: Int)

        /// `invoke=NAME&input=TEXT&calls=N` or `compare=1&a=NAME&ainput=TEXT&b=NAME&binput=TEXT&calls=N`;
        /// nil when the query asks for neither. Calls are clamped to 1...1000.
        init?(query: String) {
            let items = HTTPRequest.queryItems(query)
            let calls = min(PageExperiment.maxCalls, max(1, Int(items["calls"] ?? "1") ?? 1))
            if let function = items["invoke"], !function.isEmpty {
                self = .invoke(function: function, input: items["input"] ?? "", calls: calls)
            } else if items["compare"] != nil, let a = items["a"], !a.isEmpty {
                let b = items["b"].flatMap { $0.isEmpty ? nil : $0 } ?? a
                self = .compare(a: a, aInput: items["ainput"] ?? "", b: b, bInput: items["binput"] ?? "", calls: calls)
            } else {
                return nil
            }
        }
    }

    let platform: FunctionPlatform
    let serverName: String
    let serverPort: Int
    let remoteAddress: String

    /// Runs the request: one sample for `invoke`, two for `compare`.
    func run(_ request: Request) -> [Sample] {
        let deadline = Date().addingTimeInterval(PageExperiment.timeBudgetSeconds)
        switch request {
        case .invoke(let function, let input, let calls):
            var sample = Sample(function: function, input: input)
            run(&sample, times: calls, deadline: deadline)
            return [sample]
        case .compare(let a, let aInput, let b, let bInput, let calls):
            var samples = [Sample(function: a, input: aInput), Sample(function: b, input: bInput)]
            for _ in 0..<calls {
                for i in samples.indices { run(&samples[i], times: 1, deadline: deadline) }
                if samples.contains(where: { $0.stoppedEarly || $0.problem != nil }) { break }
            }
            return samples
        }
    }

    func run(_ sample: inout Sample, times: Int, deadline: Date) {
        guard let function = platform.function(named: sample.function) else {
            sample.problem = "no function called \(sample.function)"
            return
        }
        let path = "/functions/\(sample.function)"
        let request = HTTPRequest(method: "POST", target: path, path: path, query: "", minorVersion: 1,
                                  headers: [("Host", serverName), ("User-Agent", "nebula-status-page")], body: Array(sample.input.utf8))
        let invocation = Invocation(request: request, serverName: serverName, serverPort: serverPort, remoteAddress: remoteAddress)
        for _ in 0..<times {
            guard Date() < deadline else {
                sample.stoppedEarly = true
                return
            }
            let outcome = platform.invoke(function, invocation)
            let body = outcome.response.body
            var output = String(decoding: body.prefix(PageExperiment.outputPreview), as: UTF8.self)
            if body.count > PageExperiment.outputPreview { output += "…" }
            sample.calls.append(Call(status: outcome.response.status, footprint: outcome.footprint, output: output))
        }
    }
}
