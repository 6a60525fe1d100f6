import Foundation

/// Server-rendered SVG charts for the status pages: no script, no external asset, no library. Each series is
/// one `<path>` however many points it has (a chart of 1,000 calls is a few paths plus a hover target per
/// bar), every coordinate is a finite number, and every chart carries a text alternative (`<title>` and
/// `<desc>`, read by screen readers) besides the tables the pages print next to them. Colours come from
/// the page's CSS classes, so the charts follow its light and dark schemes.
enum Chart {
    /// Maps a data interval onto a pixel interval. A degenerate or non-finite domain is widened to something
    /// drawable, so one point, equal points or no points still give a valid chart.
    struct Scale {
        let lower: Double
        let upper: Double
        let start: Double
        let end: Double

        /// `zeroBased`: bars and counts start at zero; latency lines may too.
        init(values: [Double], zeroBased: Bool = true, start: Double, end: Double) {
            let finite = values.filter(\.isFinite)
            var lower = zeroBased ? 0 : (finite.min() ?? 0)
            var upper = finite.max() ?? 1
            if zeroBased { lower = min(lower, finite.min() ?? 0) }
            if !(upper > lower) { upper = lower + (lower == 0 ? 1 : abs(lower) * 0.1) }
            let step = Scale.niceStep((upper - lower) / 4)
            self.lower = zeroBased && lower >= 0 ? 0 : (lower / step).rounded(.down) * step
            self.upper = max((upper / step).rounded(.up) * step, self.lower + step)
            self.start = start
            self.end = end
        }

        /// 1, 2 or 5 times a power of ten, at least `raw`.
        static func niceStep(_ raw: Double) -> Double {
            guard raw.isFinite, raw > 0 else { return 1 }
            let power = pow(10, (log10(raw)).rounded(.down))
            for factor in [1.0, 2, 5, 10] where factor * power >= raw { return factor * power }
            return 10 * power
        }

        func callAsFunction(_ value: Double) -> Double {
            guard value.isFinite else { return start }
            let clamped = min(max(value, lower), upper)
            return start + (clamped - lower) / (upper - lower) * (end - start)
        }

        /// Tick values: the scale's bounds and the nice steps between them (at most about six).
        var ticks: [Double] {
            let step = Scale.niceStep((upper - lower) / 5)
            var ticks: [Double] = []
            var value = lower
            while value <= upper + step * 1e-9 && ticks.count < 12 {
                ticks.append(value)
                value += step
            }
            return ticks
        }
    }

    /// A coordinate: one decimal, never NaN or infinite (those become 0, which a caller never produces
    /// on purpose: scales clamp).
    static func n(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let magnitude = abs(tenths)
        return magnitude % 10 == 0 ? "\(sign)\(magnitude / 10)" : "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }

    /// A figure for people: about three significant digits, thousands as k, millions as M.
    static func figure(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        let magnitude = abs(value)
        if magnitude >= 1e9 { return String(format: "%.3gG", value / 1e9) }
        if magnitude >= 1e6 { return String(format: "%.3gM", value / 1e6) }
        if magnitude >= 1e4 { return String(format: "%.3gk", value / 1e3) }
        if magnitude >= 100 || magnitude == 0 { return String(format: "%.0f", value) }
        if magnitude >= 1 { return String(format: "%.3g", value) }
        return String(format: "%.2g", value)
    }

    static func escape(_ s: String) -> String { StatusPage.escape(s) }

    /// One series of a chart: its name (legend, text alternative), CSS class (colour) and values.
    struct Series {
        var name: String
        var cssClass: String
        var values: [Double]
    }

    /// A horizontal line across the plot at `value`, labelled (mean, p95).
    struct Marker {
        var label: String
        var value: Double
        var cssClass: String
    }

    struct Frame {
        var width = 720.0
        var height = 220.0
        var left = 52.0
        var right = 12.0
        var top = 12.0
        var bottom = 26.0
        var plotLeft: Double { left }
        var plotRight: Double { width - right }
        var plotTop: Double { top }
        var plotBottom: Double { height - bottom }
    }

    /// Numbers ids process-wide, so two charts on one page never share one.
    private final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var next = 0
        func take() -> Int {
            lock.lock()
            defer { lock.unlock() }
            next += 1
            return next
        }
    }
    private static let counter = Counter()

    /// A document-unique id for `aria-labelledby`.
    static func uniqueID(_ prefix: String) -> String { "\(prefix)\(counter.take())" }

    static func open(_ frame: Frame, kind: String, title: String, description: String, attributes: String = "") -> String {
        let id = uniqueID("chart")
        return "<svg class=\"chart \(kind)\(frame.width >= 600 ? " wide" : "")\" viewBox=\"0 0 \(n(frame.width)) \(n(frame.height))\" role=\"img\" "
            + "aria-labelledby=\"\(id)t \(id)d\"\(attributes)><title id=\"\(id)t\">\(escape(title))</title>"
            + "<desc id=\"\(id)d\">\(escape(description))</desc>"
    }

    static func yAxis(_ scale: Scale, _ frame: Frame, format: (Double) -> String) -> String {
        var out = ""
        for tick in scale.ticks {
            let y = n(scale(tick))
            out += "<line class=\"grid\" x1=\"\(n(frame.plotLeft))\" x2=\"\(n(frame.plotRight))\" y1=\"\(y)\" y2=\"\(y)\"/>"
            out += "<text class=\"tick\" x=\"\(n(frame.plotLeft - 4))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(escape(format(tick)))</text>"
        }
        return out
    }

    static func xLabels(_ labels: (first: String, last: String), _ frame: Frame) -> String {
        let y = n(frame.height - 8)
        return "<text class=\"tick\" x=\"\(n(frame.plotLeft))\" y=\"\(y)\">\(escape(labels.first))</text>"
            + "<text class=\"tick\" x=\"\(n(frame.plotRight))\" y=\"\(y)\" text-anchor=\"end\">\(escape(labels.last))</text>"
    }

    static func markers(_ markers: [Marker], _ scale: Scale, _ frame: Frame, format: (Double) -> String) -> String {
        var out = ""
        for marker in markers where marker.value.isFinite {
            let y = n(scale(marker.value))
            out += "<line class=\"marker \(marker.cssClass)\" x1=\"\(n(frame.plotLeft))\" x2=\"\(n(frame.plotRight))\" y1=\"\(y)\" y2=\"\(y)\">"
                + "<title>\(escape(marker.label)) \(escape(format(marker.value)))</title></line>"
            out += "<text class=\"marker-label \(marker.cssClass)\" x=\"\(n(frame.plotRight - 2))\" y=\"\(n(scale(marker.value) - 3))\" "
                + "text-anchor=\"end\">\(escape(marker.label)) \(escape(format(marker.value)))</text>"
        }
        return out
    }

    /// Bars, one per position, with the series stacked in order (start-up under run). `hover[i]` becomes bar
    /// i's tooltip; `data-bars` tells how many bars there are.
    static func stackedBars(title: String, description: String, series: [Series], markers: [Marker] = [],
                            hover: [String] = [], xLabels labels: (first: String, last: String),
                            format: (Double) -> String, frame: Frame = Frame()) -> String {
        let count = series.map(\.values.count).max() ?? 0
        var totals = [Double](repeating: 0, count: count)
        for s in series { for (i, v) in s.values.enumerated() where v.isFinite && v > 0 { totals[i] += v } }
        let scale = Scale(values: totals + markers.map(\.value), start: frame.plotBottom, end: frame.plotTop)
        var svg = open(frame, kind: "bars", title: title, description: description, attributes: " data-bars=\"\(count)\"")
        svg += yAxis(scale, frame, format: format)
        let slot = (frame.plotRight - frame.plotLeft) / Double(max(count, 1))
        let gap = slot > 4 ? slot * 0.15 : 0
        let width = n(slot - gap)
        var base = [Double](repeating: 0, count: count)
        for s in series {
            var d = ""
            for (i, v) in s.values.enumerated() where v.isFinite && v > 0 {
                let x = frame.plotLeft + Double(i) * slot + gap / 2
                let y0 = scale(base[i]), y1 = scale(base[i] + v)
                base[i] += v
                d += "M\(n(x)) \(n(y1))h\(width)V\(n(y0))h-\(width)Z"
            }
            svg += "<path class=\"series \(s.cssClass)\" d=\"\(d.isEmpty ? "M0 0" : d)\"><title>\(escape(s.name))</title></path>"
        }
        svg += self.markers(markers, scale, frame, format: format)
        for (i, text) in hover.prefix(count).enumerated() {
            svg += "<rect class=\"hit\" x=\"\(n(frame.plotLeft + Double(i) * slot))\" y=\"\(n(frame.plotTop))\" width=\"\(n(slot))\" "
                + "height=\"\(n(frame.plotBottom - frame.plotTop))\"><title>\(escape(text))</title></rect>"
        }
        if count == 0 { svg += noData(frame) }
        svg += xLabels(labels, frame)
        return svg + "</svg>"
    }

    /// Lines over equally spaced positions (intervals of time, oldest left); nil values are gaps.
    static func lines(title: String, description: String, series: [(name: String, cssClass: String, values: [Double?])],
                      xLabels labels: (first: String, last: String), format: (Double) -> String, frame: Frame = Frame()) -> String {
        let count = series.map(\.values.count).max() ?? 0
        let all = series.flatMap { $0.values.compactMap { $0 } }
        let scale = Scale(values: all, start: frame.plotBottom, end: frame.plotTop)
        var svg = open(frame, kind: "lines", title: title, description: description, attributes: " data-points=\"\(count)\"")
        svg += yAxis(scale, frame, format: format)
        let step = count > 1 ? (frame.plotRight - frame.plotLeft) / Double(count - 1) : 0
        for s in series {
            svg += "<path class=\"line \(s.cssClass)\" d=\"\(linePath(s.values, scale: scale, x0: frame.plotLeft, step: step))\">"
                + "<title>\(escape(s.name))</title></path>"
            svg += "<path class=\"dots \(s.cssClass)\" d=\"\(dotsPath(s.values, scale: scale, x0: frame.plotLeft, step: step))\"/>"
        }
        if all.isEmpty { svg += noData(frame) }
        svg += xLabels(labels, frame)
        return svg + "</svg>"
    }

    /// `M`/`L` commands through the points, starting a new run after each gap; a lone point is a short tick
    /// so it stays visible.
    static func linePath(_ values: [Double?], scale: Scale, x0: Double, step: Double) -> String {
        var d = ""
        var drawing = false
        for (i, value) in values.enumerated() {
            guard let value, value.isFinite else {
                drawing = false
                continue
            }
            let x = x0 + Double(i) * step, y = scale(value)
            let nextPresent = i + 1 < values.count && values[i + 1] != nil
            if !drawing && !nextPresent {
                d += "M\(n(x - 2)) \(n(y))h4"
            } else {
                d += "\(drawing ? "L" : "M")\(n(x)) \(n(y))"
            }
            drawing = true
        }
        return d.isEmpty ? "M0 0" : d
    }

    /// A dot at every point (zero-length segments drawn with round caps): one path whatever the count.
    static func dotsPath(_ values: [Double?], scale: Scale, x0: Double, step: Double) -> String {
        var d = ""
        for (i, value) in values.enumerated() {
            guard let value, value.isFinite else { continue }
            d += "M\(n(x0 + Double(i) * step)) \(n(scale(value)))h0"
        }
        return d.isEmpty ? "M0 0" : d
    }

    /// A word-sized line for a table row: no axes, its range in the text alternative.
    static func sparkline(label: String, values: [Double?], format: (Double) -> String, width: Double = 120, height: Double = 24) -> String {
        let present = values.compactMap { $0 }.filter(\.isFinite)
        let scale = Scale(values: present, start: height - 2, end: 2)
        let step = values.count > 1 ? (width - 4) / Double(values.count - 1) : 0
        let summary = present.isEmpty ? "\(label): no calls in this period"
            : "\(label): from \(format(present.first!)) to \(format(present.last!)), highest \(format(present.max()!))"
        return "<svg class=\"sparkline\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\" "
            + "aria-label=\"\(escape(summary))\"><title>\(escape(summary))</title>"
            + "<path class=\"line spark\" d=\"\(linePath(values, scale: scale, x0: 2, step: step))\"/>"
            + "<path class=\"dots spark\" d=\"\(dotsPath(values, scale: scale, x0: 2, step: step))\"/></svg>"
    }

    /// Two (or more) distributions on one value scale, one panel each, stacked so their shapes line up:
    /// a histogram per sample, with its median and p95 marked.
    static func distributions(title: String, description: String, samples: [Series], bins: Int = 30,
                              format: (Double) -> String, frame base: Frame = Frame(height: 90)) -> String {
        let panels = max(samples.count, 1)
        var frame = base
        let panelHeight = base.height - base.top - 6
        frame.height = Double(panels) * (panelHeight + 6) + base.top + base.bottom
        let all = samples.flatMap { $0.values.filter(\.isFinite) }
        let xScale = Scale(values: all, zeroBased: false, start: frame.plotLeft, end: frame.plotRight)
        let binWidth = (xScale.upper - xScale.lower) / Double(bins)
        var svg = open(frame, kind: "distributions", title: title, description: description,
                       attributes: " data-samples=\"\(samples.count)\"")
        for (p, sample) in samples.enumerated() {
            var counts = [Int](repeating: 0, count: bins)
            for v in sample.values where v.isFinite {
                counts[min(bins - 1, max(0, Int((v - xScale.lower) / binWidth)))] += 1
            }
            let top = frame.top + Double(p) * (panelHeight + 6)
            let bottom = top + panelHeight
            let yScale = Scale(values: counts.map(Double.init), start: bottom, end: top + 12)
            let slot = (frame.plotRight - frame.plotLeft) / Double(bins)
            var d = ""
            for (i, c) in counts.enumerated() where c > 0 {
                d += "M\(n(frame.plotLeft + Double(i) * slot + 0.5)) \(n(yScale(Double(c))))h\(n(slot - 1))V\(n(bottom))h-\(n(slot - 1))Z"
            }
            svg += "<line class=\"grid\" x1=\"\(n(frame.plotLeft))\" x2=\"\(n(frame.plotRight))\" y1=\"\(n(bottom))\" y2=\"\(n(bottom))\"/>"
            svg += "<path class=\"series \(sample.cssClass)\" d=\"\(d.isEmpty ? "M0 0" : d)\"><title>\(escape(sample.name))</title></path>"
            svg += "<text class=\"panel-label\" x=\"\(n(frame.plotLeft + 2))\" y=\"\(n(top + 10))\">\(escape(sample.name))</text>"
            let sorted = sample.values.filter(\.isFinite).sorted()
            for (label, q) in [("p50", 0.5), ("p95", 0.95)] {
                guard let v = Chart.percentile(sorted, q) else { continue }
                let x = n(xScale(v))
                svg += "<line class=\"marker \(label)\" x1=\"\(x)\" x2=\"\(x)\" y1=\"\(n(top + 12))\" y2=\"\(n(bottom))\">"
                    + "<title>\(escape(sample.name)) \(label) \(escape(format(v)))</title></line>"
            }
        }
        let ticks = xScale.ticks
        for (i, tick) in ticks.enumerated() {
            let anchor = i == 0 ? "start" : i == ticks.count - 1 ? "end" : "middle"
            svg += "<text class=\"tick\" x=\"\(n(xScale(tick)))\" y=\"\(n(frame.height - 8))\" text-anchor=\"\(anchor)\">\(escape(format(tick)))</text>"
        }
        if all.isEmpty { svg += noData(frame) }
        return svg + "</svg>"
    }

    static func noData(_ frame: Frame) -> String {
        "<text class=\"empty\" x=\"\(n((frame.plotLeft + frame.plotRight) / 2))\" y=\"\(n((frame.plotTop + frame.plotBottom) / 2))\" "
            + "text-anchor=\"middle\">no data yet</text>"
    }

    /// The nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let index = min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[index]
    }
}
