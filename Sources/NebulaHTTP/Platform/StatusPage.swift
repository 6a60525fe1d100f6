import Foundation

/// `GET /`: one self-contained HTML page (no external assets): every function with its live counts, latency
/// percentiles and footprint (the table refreshes itself every 5 s), and a form that invokes a function N
/// times with an input and lists each call's output, start-up versus total time and footprint, read from the
/// X-Nebula-* response headers. `/?invoke=NAME&input=TEXT&calls=N` runs the form on load.
enum StatusPage {
    static func html(functions: [DeployedFunction], energy: EnergyAccountant) -> String {
        func cell(_ v: Double?, _ digits: Int = 2) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "–" }
        let rows = functions.map { f -> String in
            let s = f.stats.summary
            let errors = s.count - (s.outcomes["ok"] ?? 0)
            return "<tr><td><code>\(escape(f.name))</code></td><td>\(s.count)</td><td>\(errors)</td><td>\(cell(s.p50Ms))</td>"
                + "<td>\(cell(s.p95Ms))</td><td>\(cell(s.p99Ms))</td><td>\(cell(s.meanCPUMs))</td><td>\(cell(s.meanInstructions, 0))</td>"
                + "<td>\(energyText(s.totalEnergyJoules, s.energySource))</td><td>\(f.size)</td></tr>"
        }.joined(separator: "\n")
        let options = functions.map { "<option>\(escape($0.name))</option>" }.joined()
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Nebula</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; } th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
        th:first-child, td:first-child { text-align: left; } th { background: #f3f3f3; }
        textarea { width: 30em; height: 4em; } pre { margin: 0; white-space: pre-wrap; max-width: 40em; }
        .note { color: #666; }
        </style></head>
        <body>
        <h1>Nebula</h1>
        <p class="note">WebAssembly functions: POST to <code>/functions/NAME</code>; the body is stdin, stdout the response.
        Energy: \(escape(energy.methodDescription))\(energy.settings.carbonGramsPerKWh.map { "; carbon at \($0) g CO2e/kWh" } ?? "").</p>
        <h2>Functions</h2>
        <table id="functions"><thead><tr><th>function</th><th>calls</th><th>errors</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th>
        <th>mean CPU ms</th><th>mean instructions</th><th>energy (total)</th><th>bytes</th></tr></thead>
        <tbody>
        \(rows)
        </tbody></table>
        <h2>Try a function</h2>
        <form id="invoke">
        <label>function <select name="function">\(options)</select></label>
        <label>calls <input name="calls" type="number" value="1" min="1" max="1000"></label><br>
        <label>input<br><textarea name="input">10</textarea></label><br>
        <button type="submit">invoke</button>
        </form>
        <table id="calls"><thead><tr><th>#</th><th>status</th><th>start-up ms</th><th>total ms</th><th>CPU ms</th>
        <th>instructions</th><th>memory bytes</th><th>energy</th><th>output</th></tr></thead><tbody></tbody></table>
        <script>
        const form = document.getElementById("invoke");
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          const name = form.function.value, calls = Math.min(1000, Math.max(1, Number(form.calls.value) || 1));
          const body = document.querySelector("#calls tbody");
          body.textContent = "";
          for (let i = 1; i <= calls; i++) {
            const started = performance.now();
            const response = await fetch("/functions/" + encodeURIComponent(name), { method: "POST", body: form.input.value });
            const text = await response.text();
            const h = (n) => response.headers.get("X-Nebula-" + n) ?? "";
            const row = body.insertRow();
            const joules = Number(h("Energy-Joules")), source = h("Energy-Source");
            const energy = h("Energy-Joules") === "null" || source === "none" ? "not measured"
              : (source === "model" ? "≈ " : "") + (joules * 1000).toFixed(3) + " mJ" + (source === "model" ? ", estimated" : "");
            for (const value of [i, response.status, h("Startup-Ms"), h("Duration-Ms"), h("Cpu-Ms"), h("Instructions"),
                                 h("Memory-Bytes"), energy]) row.insertCell().textContent = value;
            const pre = document.createElement("pre");
            pre.textContent = text.length > 2000 ? text.slice(0, 2000) + "…" : text;
            row.insertCell().appendChild(pre);
            row.title = "round trip " + (performance.now() - started).toFixed(1) + " ms";
          }
        });
        // `/?invoke=NAME&input=TEXT&calls=N` fills the form and runs it (links to experiments; headless checks).
        const query = new URLSearchParams(location.search);
        if (query.has("invoke")) {
          form.function.value = query.get("invoke");
          form.input.value = query.get("input") ?? "";
          form.calls.value = query.get("calls") ?? "1";
          form.requestSubmit();
        }
        setInterval(async () => {
          const page = await (await fetch("/")).text();
          const fresh = new DOMParser().parseFromString(page, "text/html").querySelector("#functions tbody");
          if (fresh) document.querySelector("#functions tbody").replaceWith(fresh);
        }, 5000);
        </script>
        </body></html>

        """
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
