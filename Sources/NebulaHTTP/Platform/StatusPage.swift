import Foundation

/// `GET /`: one self-contained HTML page (no external assets, no script needed): every function with its live
/// counts, latency percentiles, footprint and a sparkline of the last ten minutes; a form that runs a function
/// N times and charts each call's start-up against its run and its footprint; and a form that runs two
/// functions (or one with two inputs) N times each and shows their distributions side by side. The forms are
/// plain GETs (`/?invoke=NAME&input=TEXT&calls=N`, `/?compare=1&a=NAME&ainput=TEXT&b=NAME&binput=TEXT&calls=N`),
/// so a result is a link; those calls run on a worker. A short script only refreshes the functions table.
enum StatusPage {
    static func html(functions: [DeployedFunction], energy: EnergyAccountant, request: PageExperiment.Request? = nil,
                     samples: [PageExperiment.Sample] = [], now: Double = LatencyTimeline.now()) -> String {
        var body = """
        <header><h1>Nebula</h1>
        <p class="note">WebAssembly functions: POST to <code>/functions/NAME</code>; the body is stdin, stdout the response.
        Energy: \(escape(energy.methodDescription))\(energy.settings.carbonGramsPerKWh.map { "; carbon at \($0) g CO2e/kWh" } ?? "").</p></header>
        <section aria-labelledby="functions-heading"><h2 id="functions-heading">Functions</h2>
        \(functionsTable(functions, now: now))
        </section>

        """
        var invokeDefaults = (function: functions.first?.name ?? "", input: "10", calls: 1)
        var compareDefaults = (a: functions.first?.name ?? "", aInput: "10", b: functions.first?.name ?? "", bInput: "20", calls: 20)
        switch request {
        case .invoke(let function, let input, let calls)?: invokeDefaults = (function, input, calls)
        case .compare(let a, let aInput, let b, let bInput, let calls)?: compareDefaults = (a, aInput, b, bInput, calls)
        case nil: break
        }
        let names = functions.map(\.name)
        body += """
        <section aria-labelledby="invoke-heading"><h2 id="invoke-heading">Try a function</h2>
        <form id="invoke" method="get" action="/">
        <label>function <select name="invoke">\(options(names, selected: invokeDefaults.function))</select></label>
        <label>calls <input name="calls" type="number" value="\(invokeDefaults.calls)" min="1" max="\(PageExperiment.maxCalls)"></label>
        <label class="wide">input <textarea name="input">\(escape(invokeDefaults.input))</textarea></label>
        <button type="submit">invoke</button>
        </form>

        """
        if case .invoke? = request, let sample = samples.first {
            body += callsSection(sample, energy: energy)
        }
        body += """
        </section>
        <section aria-labelledby="compare-heading"><h2 id="compare-heading">Compare</h2>
        <p class="note">Runs N calls of each, alternating, and shows both distributions on one scale: two functions, or one
        function with two inputs.</p>
        <form id="compare" method="get" action="/">
        <input type="hidden" name="compare" value="1">
        <fieldset><legend>A</legend><label>function <select name="a">\(options(names, selected: compareDefaults.a))</select></label>
        <label class="wide">input <textarea name="ainput">\(escape(compareDefaults.aInput))</textarea></label></fieldset>
        <fieldset><legend>B</legend><label>function <select name="b">\(options(names, selected: compareDefaults.b))</select></label>
        <label class="wide">input <textarea name="binput">\(escape(compareDefaults.bInput))</textarea></label></fieldset>
        <label>calls of each <input name="calls" type="number" value="\(compareDefaults.calls)" min="1" max="\(PageExperiment.maxCalls)"></label>
        <button type="submit">compare</button>
        </form>

        """
        if case .compare? = request {
            body += comparisonSection(samples)
        }
        body += "</section>\n"
        return document(title: "Nebula", body: body, refreshTable: request == nil)
    }

    /// A page as a response: HTML, never cached (its figures are live).
    static func response(_ html: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], body: Array(html.utf8))
    }

    static func options(_ names: [String], selected: String) -> String {
        names.map { $0 == selected ? "<option selected>\(escape($0))</option>" : "<option>\(escape($0))</option>" }.joined()
    }

    // MARK: The functions table

    /// A table figure: `digits` decimals, or a dash when there is none.
    static func cell(_ v: Double?, _ digits: Int = 2) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "–" }

    static func functionsTable(_ functions: [DeployedFunction], now: Double) -> String {
        let rows = functions.map { f -> String in
            let s = f.stats.summary
            let errors = s.count - (s.outcomes["ok"] ?? 0)
            let points = f.stats.timelinePoints(now: now)
            let spark = Chart.sparkline(label: "\(f.name) p50 latency, last 10 minutes", values: points.map(\.p50Ms),
                                        format: { Chart.figure($0) + " ms" })
            let rate = points.suffix(2).map(\.callsPerSecond).max() ?? 0
            return "<tr><td><a href=\"/functions/\(escape(f.name))\"><code>\(escape(f.name))</code></a></td><td>\(s.count)</td><td>\(errors)</td>"
                + "<td>\(cell(s.p50Ms))</td><td>\(cell(s.p95Ms))</td><td>\(cell(s.p99Ms))</td><td class=\"spark\">\(spark)</td>"
                + "<td>\(Chart.figure(rate))</td><td>\(cell(s.meanCPUMs))</td><td>\(cell(s.meanInstructions, 0))</td>"
                + "<td>\(energyText(s.totalEnergyJoules, s.energySource))</td><td>\(f.size)</td></tr>"
        }.joined(separator: "\n")
        return """
        <div class="scroll"><table id="functions"><thead><tr><th>function</th><th>calls</th><th>errors</th><th>p50 ms</th><th>p95 ms</th>
        <th>p99 ms</th><th>p50, last 10 min</th><th>calls/s now</th><th>mean CPU ms</th><th>mean instructions</th><th>energy (total)</th>
        <th>bytes</th></tr></thead>
        <tbody>
        \(rows)
        </tbody></table></div>
        """
    }

    // MARK: Per call

    /// One sample's calls: start-up and run per call, then instructions, memory, CPU and energy per call,
    /// then every call's figures and output.
    static func callsSection(_ sample: PageExperiment.Sample, energy: EnergyAccountant) -> String {
        if let problem = sample.problem { return "<p class=\"problem\" role=\"alert\">\(escape(problem))</p>\n" }
        let calls = sample.calls
        let totals = calls.map(\.totalMs)
        let sorted = totals.sorted()
        let mean = totals.isEmpty ? 0 : totals.reduce(0, +) / Double(totals.count)
        let p95 = Chart.percentile(sorted, 0.95) ?? 0
        let meanStartup = calls.isEmpty ? 0 : calls.map(\.startupMs).reduce(0, +) / Double(calls.count)
        let ms = { (v: Double) in Chart.figure(v) + " ms" }
        let hover = calls.enumerated().map { i, c in
            "call \(i + 1): status \(c.status), start-up \(figure3(c.startupMs)) ms, run \(figure3(c.runMs)) ms, total \(figure3(c.totalMs)) ms"
        }
        let description = "\(calls.count) calls of \(sample.label). Mean total \(figure3(mean)) ms, of which start-up "
            + "\(figure3(meanStartup)) ms; p95 \(figure3(p95)) ms; slowest \(figure3(sorted.last ?? 0)) ms."
        var out = "<div class=\"result\" id=\"calls-result\"><h3>\(calls.count) call\(calls.count == 1 ? "" : "s") of \(escape(sample.label))</h3>\n"
        if sample.stoppedEarly {
            out += "<p class=\"problem\">Stopped after \(calls.count) calls: the page runs calls for at most \(Int(PageExperiment.timeBudgetSeconds)) s.</p>\n"
        }
        out += "<p class=\"legend\"><span class=\"key startup\"></span>start-up (instantiate) <span class=\"key run\"></span>run "
            + "<span class=\"key mean\"></span>mean \(figure3(mean)) ms <span class=\"key p95\"></span>p95 \(figure3(p95)) ms</p>\n"
        out += "<figure id=\"per-call\">" + Chart.stackedBars(
            title: "Start-up and run time of each call", description: description,
            series: [Chart.Series(name: "start-up", cssClass: "startup", values: calls.map(\.startupMs)),
                     Chart.Series(name: "run", cssClass: "run", values: calls.map(\.runMs))],
            markers: [Chart.Marker(label: "mean", value: mean, cssClass: "mean"), Chart.Marker(label: "p95", value: p95, cssClass: "p95")],
            hover: hover, xLabels: ("call 1", "call \(calls.count)"), format: ms) + "</figure>\n"
        out += "<h4>Footprint per call</h4><div class=\"charts\" id=\"footprint\">\n"
        let small = Chart.Frame(width: 360, height: 140, left: 46)
        func footprintChart(_ title: String, _ cssClass: String, _ values: [Double], _ format: @escaping (Double) -> String) -> String {
            let sortedValues = values.sorted()
            let description = "\(title): mean \(format(values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count))), "
                + "lowest \(format(sortedValues.first ?? 0)), highest \(format(sortedValues.last ?? 0))."
            return "<figure><figcaption>\(escape(title))</figcaption>" + Chart.stackedBars(
                title: title, description: description, series: [Chart.Series(name: title, cssClass: cssClass, values: values)],
                hover: values.enumerated().map { "call \($0 + 1): \(format($1))" }, xLabels: ("1", "\(values.count)"),
                format: format, frame: small) + "</figure>\n"
        }
        out += footprintChart("Instructions", "instructions", calls.map(\.instructions)) { Chart.figure($0) }
        out += footprintChart("Peak memory", "memory", calls.map(\.memoryBytes)) { bytes($0) }
        if calls.contains(where: { $0.gcHeapBytes > 0 }) {
            out += footprintChart("Peak GC heap", "gcheap", calls.map(\.gcHeapBytes)) { bytes($0) }
        }
        out += footprintChart("CPU time", "cpu", calls.map(\.cpuMs)) { Chart.figure($0) + " ms" }
        let measured = !calls.isEmpty && calls.allSatisfy { $0.energySource == .rapl && $0.energyJoules != nil }
        if measured {
            out += footprintChart("Energy (RAPL)", "energy", calls.map { ($0.energyJoules ?? 0) * 1000 }) { Chart.figure($0) + " mJ" }
        } else {
            let estimates = calls.compactMap { $0.energySource == .model ? $0.energyJoules : nil }
            let estimate = estimates.isEmpty ? "" : " The power model estimates \(figure3(estimates.reduce(0, +) / Double(estimates.count) * 1000)) mJ per call (not charted: it follows CPU time)."
            out += "<figure class=\"unmeasured\" id=\"energy-unmeasured\"><figcaption>Energy</figcaption><p>Not measured on this machine "
                + "(RAPL is not readable here).\(escape(estimate))</p></figure>\n"
        }
        out += "</div>\n"
        out += "<details\(calls.count <= 20 ? " open" : "")><summary>Each call: figures and output</summary><div class=\"scroll\">"
            + "<table id=\"calls\"><thead><tr><th>#</th><th>status</th><th>start-up ms</th><th>run ms</th><th>total ms</th><th>CPU ms</th>"
            + "<th>instructions</th><th>memory bytes</th><th>GC heap bytes</th><th>energy</th><th>output</th></tr></thead><tbody>\n"
        for (i, c) in calls.enumerated() {
            out += "<tr class=\"call\"><td>\(i + 1)</td><td>\(c.status)</td><td>\(figure3(c.startupMs))</td><td>\(figure3(c.runMs))</td>"
                + "<td>\(figure3(c.totalMs))</td><td>\(figure3(c.cpuMs))</td><td>\(Int(c.instructions))</td><td>\(Int(c.memoryBytes))</td><td>\(Int(c.gcHeapBytes))</td>"
                + "<td>\(energyText(c.energyJoules, c.energySource))</td><td><pre>\(escape(c.output))</pre></td></tr>\n"
        }
        out += "</tbody></table></div></details></div>\n"
        return out
    }

    // MARK: Comparison

    static func comparisonSection(_ samples: [PageExperiment.Sample]) -> String {
        if let problem = samples.compactMap(\.problem).first { return "<p class=\"problem\" role=\"alert\">\(escape(problem))</p>\n" }
        let classes = ["a", "b"]
        var out = "<div class=\"result\" id=\"comparison\"><h3>\(samples.map { escape($0.label) }.joined(separator: " against "))</h3>\n"
        if samples.contains(where: \.stoppedEarly) {
            out += "<p class=\"problem\">Stopped early: the page runs calls for at most \(Int(PageExperiment.timeBudgetSeconds)) s.</p>\n"
        }
        func stats(_ values: [Double]) -> (p50: Double, p95: Double, mean: Double, min: Double, max: Double) {
            let sorted = values.sorted()
            return (Chart.percentile(sorted, 0.5) ?? 0, Chart.percentile(sorted, 0.95) ?? 0,
                    values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count), sorted.first ?? 0, sorted.last ?? 0)
        }
        let ms = { (v: Double) in Chart.figure(v) + " ms" }
        for (title, key, values) in [("Total time per call", "total", { (s: PageExperiment.Sample) in s.calls.map(\.totalMs) }),
                                     ("Start-up per call", "startup", { (s: PageExperiment.Sample) in s.calls.map(\.startupMs) })] {
            let series = samples.enumerated().map { i, s in Chart.Series(name: s.label, cssClass: classes[i % 2], values: values(s)) }
            let description = series.map { s in
                let t = stats(s.values)
                return "\(s.name): \(s.values.count) calls, median \(figure3(t.p50)) ms, p95 \(figure3(t.p95)) ms"
            }.joined(separator: "; ")
            out += "<figure id=\"compare-\(key)\"><figcaption>\(escape(title)) (median and p95 marked)</figcaption>"
                + Chart.distributions(title: title, description: description, samples: series, format: ms) + "</figure>\n"
        }
        out += "<div class=\"scroll\"><table id=\"comparison-table\"><thead><tr><th></th><th>calls</th><th>median ms</th><th>p95 ms</th>"
            + "<th>mean ms</th><th>fastest ms</th><th>slowest ms</th><th>mean start-up ms</th><th>mean instructions</th><th>mean CPU ms</th></tr></thead><tbody>\n"
        for (i, s) in samples.enumerated() {
            let t = stats(s.calls.map(\.totalMs))
            let n = Double(max(s.calls.count, 1))
            out += "<tr><td><span class=\"key \(classes[i % 2])\"></span>\(escape(s.label))</td><td>\(s.calls.count)</td><td>\(figure3(t.p50))</td>"
                + "<td>\(figure3(t.p95))</td><td>\(figure3(t.mean))</td><td>\(figure3(t.min))</td><td>\(figure3(t.max))</td>"
                + "<td>\(figure3(s.calls.map(\.startupMs).reduce(0, +) / n))</td><td>\(Int(s.calls.map(\.instructions).reduce(0, +) / n))</td>"
                + "<td>\(figure3(s.calls.map(\.cpuMs).reduce(0, +) / n))</td></tr>\n"
        }
        if samples.count == 2, !samples[0].calls.isEmpty, !samples[1].calls.isEmpty {
            let a = stats(samples[0].calls.map(\.totalMs)).p50, b = stats(samples[1].calls.map(\.totalMs)).p50
            out += "</tbody></table></div><p>Median of B / median of A: <strong>\(a > 0 ? String(format: "%.2f", b / a) : "–")</strong></p></div>\n"
        } else {
            out += "</tbody></table></div></div>\n"
        }
        return out
    }

    // MARK: Shared

    /// The page around `body`: styles for light and dark schemes and narrow screens, and (on the plain status
    /// page) a script that refreshes the functions table every 5 s.
    static func document(title: String, body: String, refreshTable: Bool) -> String {
        let script = refreshTable ? """
        <script>
        setInterval(async () => {
          const page = await (await fetch(location.pathname, { headers: { Accept: "text/html" } })).text();
          const fresh = new DOMParser().parseFromString(page, "text/html").querySelector("#functions tbody");
          if (fresh) document.querySelector("#functions tbody").replaceWith(fresh);
        }, 5000);
        </script>
        """ : ""
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <style>
        :root { --fg: #1f2328; --bg: #ffffff; --muted: #59636e; --line: #d8dee4; --head: #f3f5f7; --accent: #0b62c4;
          --startup: #d9730d; --run: #2f6fd0; --mean: #1f2328; --p95: #c4261d; --a: #2f6fd0; --b: #d9730d;
          --instructions: #6f42c1; --memory: #1a7f37; --cpu: #2f6fd0; --energy: #b08800; }
        @media (prefers-color-scheme: dark) {
          :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #30363d; --head: #161b22; --accent: #58a6ff;
            --startup: #f0883e; --run: #58a6ff; --mean: #e6edf3; --p95: #ff7b72; --a: #58a6ff; --b: #f0883e;
            --instructions: #bc8cff; --memory: #3fb950; --cpu: #58a6ff; --energy: #d29922; }
        }
        * { box-sizing: border-box; }
        body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1rem 1.25rem 3rem; max-width: 1180px;
          color: var(--fg); background: var(--bg); }
        a { color: var(--accent); }
        h1 { margin: .2rem 0; } h2 { margin-top: 2rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
        .note { color: var(--muted); }
        .scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
        table { border-collapse: collapse; margin: .8rem 0; font-variant-numeric: tabular-nums; }
        th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
        th:first-child, td:first-child { text-align: left; } th { background: var(--head); font-weight: 600; }
        td.spark { padding: 0 6px; }
        pre { margin: 0; white-space: pre-wrap; min-width: 14rem; max-width: 32rem; text-align: left; }
        form { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: flex-end; margin: .8rem 0; }
        label { display: flex; flex-direction: column; gap: .2rem; color: var(--muted); }
        label.wide { flex: 1 1 18rem; } textarea { width: 100%; min-height: 3.2rem; }
        fieldset { border: 1px solid var(--line); border-radius: 6px; display: flex; flex-wrap: wrap; gap: .6rem; flex: 1 1 20rem; }
        input, select, textarea, button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line);
          border-radius: 6px; padding: .35rem .5rem; }
        button { background: var(--accent); color: #fff; border: 0; padding: .45rem 1.1rem; cursor: pointer; }
        figure { margin: .6rem 0; } figcaption { font-weight: 600; margin-bottom: .2rem; }
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 340px), 1fr)); gap: .5rem 1.2rem; }
        svg.chart { width: 100%; height: auto; max-width: 760px; display: block; overflow: visible; }
        svg text { fill: var(--muted); font-size: 11px; }
        svg .grid { stroke: var(--line); stroke-width: 1; }
        svg .series { stroke: none; } svg .line { fill: none; stroke-width: 2; stroke-linejoin: round; }
        svg .dots { fill: none; stroke-width: 5; stroke-linecap: round; } svg .dots.spark { stroke-width: 3.5; }
        svg .hit { fill: transparent; } svg .hit:hover { fill: var(--fg); fill-opacity: .08; }
        svg .marker { stroke-width: 1.5; stroke-dasharray: 5 3; }
        svg .empty { font-size: 14px; }
        .startup { fill: var(--startup); } .run { fill: var(--run); }
        .a { fill: var(--a); stroke: var(--a); } .b { fill: var(--b); stroke: var(--b); }
        .instructions { fill: var(--instructions); } .memory { fill: var(--memory); } .gcheap { fill: var(--memory); fill-opacity: .6; } .cpu { fill: var(--cpu); } .energy { fill: var(--energy); }
        svg .marker.mean { stroke: var(--mean); } svg .marker.p95, svg .marker.p99 { stroke: var(--p95); } svg .marker.p50 { stroke: var(--mean); }
        svg .marker-label.mean { fill: var(--mean); } svg .marker-label.p95 { fill: var(--p95); }
        svg .line.p50 { stroke: var(--run); } svg .line.p99 { stroke: var(--p95); } svg .line.cpu { stroke: var(--cpu); }
        svg .line.instructions, svg .dots.instructions { stroke: var(--instructions); }
        svg .line.spark, svg .dots.spark { stroke: var(--run); } svg .line.spark { stroke-width: 1.5; }
        svg .dots.p50 { stroke: var(--run); } svg .dots.p99 { stroke: var(--p95); } svg .dots.cpu { stroke: var(--cpu); }
        svg .series.errors { fill: var(--p95); } svg .series.rate { fill: var(--run); }
        .legend { color: var(--muted); display: flex; flex-wrap: wrap; gap: .2rem .9rem; align-items: center; }
        .key { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
        .key.startup { background: var(--startup); } .key.run { background: var(--run); } .key.a { background: var(--a); }
        .key.b { background: var(--b); } .key.mean { background: var(--mean); height: 2px; } .key.p95 { background: var(--p95); height: 2px; }
        .key.p50 { background: var(--run); height: 2px; } .key.p99 { background: var(--p95); height: 2px; }
        .problem { color: var(--p95); font-weight: 600; }
        .unmeasured p { color: var(--muted); margin: .3rem 0; max-width: 30rem; }
        .figures { display: flex; flex-wrap: wrap; gap: .4rem 1.6rem; margin: .6rem 0; padding: 0; list-style: none; }
        .figures li strong { display: block; font-size: 1.3rem; }
        @media (max-width: 480px) { body { padding: .6rem .7rem 2rem; font-size: 14px; } th, td { padding: 3px 6px; }
          h2 { font-size: 1.2rem; } svg.chart.wide text { font-size: 20px; } }
        </style></head>
        <body>
        \(body)
        \(script)
        </body></html>

        """
    }

    /// Three decimals, for exact figures in tooltips and tables.
    static func figure3(_ value: Double) -> String { value.isFinite ? String(format: "%.3f", value) : "–" }

    static func bytes(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        let kib = 1024.0, mib = kib * 1024, gib = mib * 1024
        if value >= gib { return String(format: "%.1f GiB", value / gib) }
        if value >= mib { return String(format: "%.1f MiB", value / mib) }
        if value >= kib { return String(format: "%.0f KiB", value / kib) }
        return String(format: "%.0f B", value)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Energy for people: millijoules, marked as an estimate when the power model made it.
    static func energyText(_ joules: Double?, _ source: EnergySource?) -> String {
        guard let joules, let source else { return "not measured" }
        let value = String(format: "%.3f mJ", joules * 1000)
        return source == .model ? "≈ \(value), estimated" : value
    }
}
