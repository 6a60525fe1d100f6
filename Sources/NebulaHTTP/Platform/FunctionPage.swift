import Foundation

/// `GET /functions/NAME` from a browser (`Accept` lists `text/html`): the function's own page — what it is,
/// its figures since start, and its last ten minutes in ten-second intervals: p50 and p99 latency, calls per
/// second, errors, mean CPU and instructions per call, each as a chart with the same data as a table.
/// API clients (curl's `*/*`, no Accept) invoke the function with GET as before, and so does a browser when
/// the function is WAGI (it serves pages of its own).
enum FunctionPage {
    /// Whether a GET for a function should get its page rather than invoke it.
    static func wantsPage(_ request: HTTPRequest, function: DeployedFunction) -> Bool {
        guard request.method == "GET" || request.method == "HEAD", !function.settings.wagi,
              let accept = request.header("Accept")?.lowercased() else { return false }
        return accept.split(separator: ",").contains { part in
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            // `text/html;q=0` refuses HTML.
            let refused = fields.dropFirst().contains { $0.hasPrefix("q=") && Double($0.dropFirst(2)) == 0 }
            return (fields.first == "text/html" || fields.first == "application/xhtml+xml") && !refused
        }
    }

    static func html(_ function: DeployedFunction, energy: EnergyAccountant, now: Double = LatencyTimeline.now()) -> String {
        let s = function.stats.summary
        let points = function.stats.timelinePoints(now: now)
        let minutes = Int(Double(LatencyTimeline.slotCount) * LatencyTimeline.interval / 60)
        let span = (first: "\(minutes) min ago", last: "now")
        let name = StatusPage.escape(function.name)
        let ms = { (v: Double) in Chart.figure(v) + " ms" }
        let active = points.filter { $0.calls > 0 }
        func range(_ values: [Double]) -> String {
            guard let low = values.min(), let high = values.max() else { return "no calls in the last \(minutes) minutes" }
            return "from \(Chart.figure(low)) to \(Chart.figure(high))"
        }
        var body = """
        <header><p><a href="/">← all functions</a></p><h1><code>\(name)</code></h1>
        <p class="note">\(function.size) bytes, \(function.isText ? "text" : "binary") module, sha256 <code>\(function.sha256.prefix(16))…</code>,
        deployed \(StatusPage.escape(Timestamp.iso8601(function.deployedAt))). POST to <code>/functions/\(name)</code> to invoke it
        (this page is what a browser gets for GET; API clients get the function).</p></header>
        <ul class="figures" id="summary">
        <li>calls<strong>\(s.count)</strong></li><li>errors<strong>\(s.count - (s.outcomes["ok"] ?? 0))</strong></li>
        <li>p50<strong>\(StatusPage.cell(s.p50Ms)) ms</strong></li><li>p95<strong>\(StatusPage.cell(s.p95Ms)) ms</strong></li>
        <li>p99<strong>\(StatusPage.cell(s.p99Ms)) ms</strong></li><li>mean CPU<strong>\(StatusPage.cell(s.meanCPUMs)) ms</strong></li>
        <li>mean instructions<strong>\(StatusPage.cell(s.meanInstructions, 0))</strong></li>
        <li>energy (total)<strong>\(StatusPage.energyText(s.totalEnergyJoules, s.energySource))</strong></li>
        </ul>
        <p class="note">Since the server started (the last 4,096 calls for percentiles). Below: the last \(minutes) minutes in
        \(Int(LatencyTimeline.interval))-second intervals (percentiles within ±13%, from a histogram per interval).</p>
        <p class="legend"><span class="key p50"></span>p50 <span class="key p99"></span>p99</p>
        <figure id="latency"><figcaption>Latency per interval</figcaption>
        """
        body += Chart.lines(title: "\(function.name): p50 and p99 latency per \(Int(LatencyTimeline.interval)) s, last \(minutes) minutes",
                            description: "p50 \(range(active.compactMap(\.p50Ms))) ms; p99 \(range(active.compactMap(\.p99Ms))) ms.",
                            series: [("p50", "p50", points.map(\.p50Ms)), ("p99", "p99", points.map(\.p99Ms))],
                            xLabels: span, format: ms)
        body += "</figure>\n<div class=\"charts\">\n"
        let small = Chart.Frame(width: 360, height: 150, left: 46)
        body += "<figure id=\"rate\"><figcaption>Calls per second</figcaption>" + Chart.stackedBars(
            title: "\(function.name): calls per second per interval", description: "Calls per second \(range(active.map(\.callsPerSecond))).",
            series: [Chart.Series(name: "calls per second", cssClass: "rate", values: points.map(\.callsPerSecond))],
            hover: points.enumerated().map { i, p in "\(ago(i, points.count)): \(p.calls) calls" },
            xLabels: span, format: { Chart.figure($0) }, frame: small) + "</figure>\n"
        body += "<figure id=\"errors\"><figcaption>Errors</figcaption>" + Chart.stackedBars(
            title: "\(function.name): errors per interval", description: "\(active.map(\.errors).reduce(0, +)) errors in the last \(minutes) minutes.",
            series: [Chart.Series(name: "errors", cssClass: "errors", values: points.map { Double($0.errors) })],
            hover: points.enumerated().map { i, p in "\(ago(i, points.count)): \(p.errors) errors of \(p.calls) calls" },
            xLabels: span, format: { Chart.figure($0) }, frame: small) + "</figure>\n"
        body += "<figure id=\"cpu\"><figcaption>Mean CPU per call</figcaption>" + Chart.lines(
            title: "\(function.name): mean CPU time per call per interval", description: "Mean CPU \(range(active.compactMap(\.meanCPUMs))) ms.",
            series: [("mean CPU", "cpu", points.map(\.meanCPUMs))], xLabels: span, format: ms, frame: small) + "</figure>\n"
        body += "<figure id=\"instructions\"><figcaption>Mean instructions per call</figcaption>" + Chart.lines(
            title: "\(function.name): mean instructions per call per interval",
            description: "Mean instructions \(range(active.compactMap(\.meanInstructions))).",
            series: [("mean instructions", "instructions", points.map(\.meanInstructions))], xLabels: span,
            format: { Chart.figure($0) }, frame: small) + "</figure>\n"
        if energy.source != .rapl {
            body += "<figure class=\"unmeasured\" id=\"energy-unmeasured\"><figcaption>Energy</figcaption><p>Not measured on this machine; "
                + "\(StatusPage.escape(energy.methodDescription)).</p></figure>\n"
        }
        body += "</div>\n<details><summary>The intervals as a table</summary><div class=\"scroll\"><table id=\"intervals\"><thead><tr>"
            + "<th>interval</th><th>calls</th><th>calls/s</th><th>errors</th><th>p50 ms</th><th>p99 ms</th><th>mean CPU ms</th>"
            + "<th>mean instructions</th></tr></thead><tbody>\n"
        for (i, p) in points.enumerated().reversed() where p.calls > 0 {
            body += "<tr><td>\(ago(i, points.count))</td><td>\(p.calls)</td><td>\(StatusPage.cell(p.callsPerSecond))</td><td>\(p.errors)</td>"
                + "<td>\(StatusPage.cell(p.p50Ms, 3))</td><td>\(StatusPage.cell(p.p99Ms, 3))</td><td>\(StatusPage.cell(p.meanCPUMs, 3))</td><td>\(StatusPage.cell(p.meanInstructions, 0))</td></tr>\n"
        }
        body += "</tbody></table></div></details>\n"
        body += """
        <h2>Try it</h2>
        <form method="get" action="/"><input type="hidden" name="invoke" value="\(name)">
        <label>calls <input name="calls" type="number" value="20" min="1" max="\(PageExperiment.maxCalls)"></label>
        <label class="wide">input <textarea name="input"></textarea></label><button type="submit">invoke</button></form>
        """
        return StatusPage.document(title: "\(function.name) · Nebula", body: body, refreshTable: false)
    }

    /// "now", "10 s ago", "2 min 30 s ago" for interval `index` of `count` (the last is the current one).
    static func ago(_ index: Int, _ count: Int) -> String {
        let seconds = (count - 1 - index) * Int(LatencyTimeline.interval)
        if seconds == 0 { return "now" }
        if seconds < 60 { return "\(seconds) s ago" }
        return seconds % 60 == 0 ? "\(seconds / 60) min ago" : "\(seconds / 60) min \(seconds % 60) s ago"
    }
}
