import Foundation
import XCTest
@testable import NebulaHTTP

/// The status pages' SVG charts: scales, the shapes of the data (none, one point, equal points, gaps,
/// 1,000 points) and output that a browser draws — every coordinate a finite number.
final class ChartTests: XCTestCase {
    let ms = { (v: Double) in Chart.figure(v) + " ms" }

    /// Every numeric attribute and path coordinate of `svg`, each checked to be a finite number.
    func assertDrawable(_ svg: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"), file: file, line: line)
        let attribute = try! NSRegularExpression(pattern: #" (x|y|x1|x2|y1|y2|width|height|d)="([^"]*)""#)
        let matches = attribute.matches(in: svg, range: NSRange(svg.startIndex..., in: svg))
        XCTAssertFalse(matches.isEmpty, file: file, line: line)
        for match in matches {
            let value = String(svg[Range(match.range(at: 2), in: svg)!])
            let numbers = value.split(whereSeparator: { "MLhHvVZ ".contains($0) })
            for number in numbers {
                let parsed = Double(number)
                XCTAssertNotNil(parsed, "\(number) in \(value)", file: file, line: line)
                XCTAssertTrue(parsed?.isFinite ?? false, "\(number) in \(value)", file: file, line: line)
            }
        }
        XCTAssertFalse(svg.contains("NaN") || svg.contains("inf\""), file: file, line: line)
    }

    func testScaleIsNiceAndMapsOntoThePixels() {
        let scale = Chart.Scale(values: [0.4, 7.3, 2], start: 200, end: 10)
        XCTAssertEqual(scale.lower, 0)
        XCTAssertEqual(scale.upper, 8, "7.3 rounds up to a step of 2")
        XCTAssertEqual(scale(0), 200)
        XCTAssertEqual(scale(8), 10)
        XCTAssertEqual(scale(4), 105)
        XCTAssertEqual(scale(100), 10, "clamped to the plot")
        XCTAssertEqual(scale(.nan), 200, "not a number draws at the base, never as NaN")
        XCTAssertEqual(scale.ticks, [0, 2, 4, 6, 8])
        XCTAssertEqual([0.3, 1, 3, 7, 12, 700].map(Chart.Scale.niceStep), [0.5, 1, 5, 10, 20, 1000])
    }

    func testDegenerateDomainsStillDraw() {
        for values in [[], [5.0], [3, 3, 3], [0, 0], [.nan, .infinity], [-2, -1]] as [[Double]] {
            let scale = Chart.Scale(values: values, start: 100, end: 0)
            XCTAssertTrue(scale.upper > scale.lower, "\(values)")
            XCTAssertTrue(scale(values.first ?? 0).isFinite, "\(values)")
            XCTAssertFalse(scale.ticks.isEmpty, "\(values)")
        }
        let unbased = Chart.Scale(values: [5], zeroBased: false, start: 0, end: 100)
        XCTAssertLessThanOrEqual(unbased.lower, 5)
        XCTAssertGreaterThan(unbased.upper, 5)
    }

    func testCoordinatesAreShortAndFinite() {
        XCTAssertEqual(Chart.n(12.34), "12.3")
        XCTAssertEqual(Chart.n(12), "12")
        XCTAssertEqual(Chart.n(-0.04), "0")
        XCTAssertEqual(Chart.n(-3.26), "-3.3")
        XCTAssertEqual(Chart.n(.nan), "0")
        XCTAssertEqual(Chart.n(-.infinity), "0")
        XCTAssertEqual([0, 5000, 12994, 1_114_112, 0.25, 1.719].map(Chart.figure), ["0", "5000", "13k", "1.11M", "0.25", "1.72"])
    }

    func testStackedBarsWithoutData() {
        let svg = Chart.stackedBars(title: "t", description: "d", series: [Chart.Series(name: "run", cssClass: "run", values: [])],
                                    xLabels: ("", ""), format: ms)
        assertDrawable(svg)
        XCTAssertTrue(svg.contains("data-bars=\"0\""))
        XCTAssertTrue(svg.contains("no data yet"))
    }

    func testOneBar() {
        let svg = Chart.stackedBars(title: "Calls", description: "one call", series: [
            Chart.Series(name: "start-up", cssClass: "startup", values: [0.1]),
            Chart.Series(name: "run", cssClass: "run", values: [0.3]),
        ], markers: [Chart.Marker(label: "mean", value: 0.4, cssClass: "mean")], hover: ["call 1: 0.4 ms"], xLabels: ("call 1", "call 1"), format: ms)
        assertDrawable(svg)
        XCTAssertTrue(svg.contains("data-bars=\"1\""))
        XCTAssertTrue(svg.contains("<title>call 1: 0.4 ms</title>"), "the exact figures on hover")
        XCTAssertTrue(svg.contains("<title id=") && svg.contains("<desc id=") && svg.contains("role=\"img\""), "a text alternative")
        XCTAssertTrue(svg.contains("mean 0.4 ms"))
        // Start-up is drawn under run: the run bar ends where the start-up bar begins.
        let paths = svg.components(separatedBy: "<path class=\"series ").dropFirst().map { $0.prefix(while: { $0 != ">" }) }
        XCTAssertEqual(paths.count, 2)
    }

    func testAThousandBarsAreTwoPaths() {
        let startup = (0..<1000).map { 0.02 + Double($0 % 7) * 0.001 }
        let run = (0..<1000).map { 0.3 + sin(Double($0)) * 0.1 }
        let svg = Chart.stackedBars(title: "Calls", description: "1,000 calls", series: [
            Chart.Series(name: "start-up", cssClass: "startup", values: startup),
            Chart.Series(name: "run", cssClass: "run", values: run),
        ], hover: (1...1000).map { "call \($0)" }, xLabels: ("call 1", "call 1000"), format: ms)
        assertDrawable(svg)
        XCTAssertEqual(svg.components(separatedBy: "<path class=\"series").count - 1, 2, "one path per series")
        XCTAssertEqual(svg.components(separatedBy: "<rect class=\"hit\"").count - 1, 1000, "a hover target per bar")
        XCTAssertEqual(svg.components(separatedBy: "Z").count - 1, 2000, "a closed subpath per bar and series")
        XCTAssertTrue(svg.contains("data-bars=\"1000\""))
        XCTAssertLessThan(svg.utf8.count, 400_000)
    }

    func testLinesBreakAtGapsAndMarkLonePoints() {
        let scale = Chart.Scale(values: [1, 2, 3], start: 100, end: 0)
        let path = Chart.linePath([1, 2, nil, 3, nil], scale: scale, x0: 0, step: 10)
        XCTAssertEqual(path.filter { $0 == "M" }.count, 2, "a new run after the gap: \(path)")
        XCTAssertTrue(path.contains("h4"), "a lone point stays visible: \(path)")
        XCTAssertEqual(Chart.linePath([nil, nil], scale: scale, x0: 0, step: 10), "M0 0")
        let svg = Chart.lines(title: "latency", description: "d", series: [("p50", "p50", [nil, 0.5, 0.6]), ("p99", "p99", [nil, 1.5, nil])],
                              xLabels: ("10 min ago", "now"), format: ms)
        assertDrawable(svg)
        XCTAssertTrue(svg.contains("data-points=\"3\""))
        let empty = Chart.lines(title: "latency", description: "d", series: [("p50", "p50", [nil, nil])], xLabels: ("", ""), format: ms)
        assertDrawable(empty)
        XCTAssertTrue(empty.contains("no data yet"))
    }

    func testSparklineDescribesItsRange() {
        let svg = Chart.sparkline(label: "fib p50", values: [nil, 0.5, 0.7, nil], format: ms)
        assertDrawable(svg)
        XCTAssertTrue(svg.contains("aria-label=\"fib p50: from 0.5 ms to 0.7 ms, highest 0.7 ms\""))
        let quiet = Chart.sparkline(label: "fib p50", values: [nil, nil], format: ms)
        assertDrawable(quiet)
        XCTAssertTrue(quiet.contains("no calls in this period"))
    }

    func testDistributionsShareOneScale() {
        let a = (0..<200).map { 0.3 + Double($0 % 10) * 0.01 }
        let b = (0..<200).map { 1.0 + Double($0 % 20) * 0.05 }
        let svg = Chart.distributions(title: "Total", description: "a against b", samples: [
            Chart.Series(name: "fib(10)", cssClass: "a", values: a), Chart.Series(name: "fib(60)", cssClass: "b", values: b),
        ], format: ms)
        assertDrawable(svg)
        XCTAssertTrue(svg.contains("data-samples=\"2\""))
        XCTAssertEqual(svg.components(separatedBy: "<path class=\"series").count - 1, 2)
        XCTAssertTrue(svg.contains("<title>fib(10) p50 0.34 ms</title>"), svg)
        XCTAssertTrue(svg.contains("<title>fib(60) p95"))
        let one = Chart.distributions(title: "Total", description: "", samples: [Chart.Series(name: "x", cssClass: "a", values: [2])], format: ms)
        assertDrawable(one)
        let none = Chart.distributions(title: "Total", description: "", samples: [], format: ms)
        assertDrawable(none)
        XCTAssertTrue(none.contains("no data yet"))
    }

    func testChartIDsAreUnique() {
        let a = Chart.lines(title: "a", description: "", series: [("x", "p50", [1])], xLabels: ("", ""), format: ms)
        let b = Chart.lines(title: "b", description: "", series: [("x", "p50", [1])], xLabels: ("", ""), format: ms)
        func id(_ svg: String) -> String? {
            svg.range(of: #"aria-labelledby="[^"]*""#, options: .regularExpression).map { String(svg[$0]) }
        }
        XCTAssertNotNil(id(a))
        XCTAssertNotEqual(id(a), id(b))
    }
}

/// The per-function ring behind the latency-over-time charts.
final class LatencyTimelineTests: XCTestCase {
    func testPercentilesPerIntervalWithinABucket() {
        var timeline = LatencyTimeline()
        let base = 10_000.0
        for i in 0..<100 { timeline.record(now: base + 1, seconds: Double(i + 1) * 1e-4, error: i % 10 == 0, cpuSeconds: 1e-4, instructions: 1000) }
        let points = timeline.points(now: base + 5)
        XCTAssertEqual(points.count, LatencyTimeline.slotCount)
        let current = points.last!
        XCTAssertEqual(current.calls, 100)
        XCTAssertEqual(current.errors, 10)
        XCTAssertEqual(current.callsPerSecond, 100 / 5, accuracy: 1e-9, "the current interval has run 5 s")
        XCTAssertEqual(try XCTUnwrap(current.p50Ms), 5.0, accuracy: 5.0 * 0.13)
        XCTAssertEqual(try XCTUnwrap(current.p99Ms), 9.9, accuracy: 9.9 * 0.13)
        XCTAssertEqual(try XCTUnwrap(current.meanCPUMs), 0.1, accuracy: 1e-9)
        XCTAssertEqual(current.meanInstructions, 1000)
        XCTAssertTrue(points.dropLast().allSatisfy { $0.calls == 0 && $0.p50Ms == nil })
    }

    func testIntervalsAreOldestFirstAndExpire() {
        var timeline = LatencyTimeline()
        let start = 50_000.0
        timeline.record(now: start, seconds: 0.001, error: false, cpuSeconds: 0, instructions: 0)
        timeline.record(now: start + 25, seconds: 0.002, error: false, cpuSeconds: 0, instructions: 0)
        var points = timeline.points(now: start + 25)
        XCTAssertEqual(points.suffix(3).map(\.calls), [1, 0, 1], "two intervals apart, the quiet one between")
        XCTAssertEqual(points.filter { $0.calls > 0 }.count, 2)
        // Ten minutes after the second both are gone, and the second's slot is reused cleanly.
        let later = start + 25 + Double(LatencyTimeline.slotCount) * LatencyTimeline.interval
        timeline.record(now: later, seconds: 0.5, error: true, cpuSeconds: 0, instructions: 0)
        points = timeline.points(now: later)
        XCTAssertEqual(points.filter { $0.calls > 0 }.count, 1)
        XCTAssertEqual(points.last?.calls, 1)
        XCTAssertEqual(points.last?.errors, 1)
        XCTAssertEqual(try XCTUnwrap(points.last?.p50Ms), 500, accuracy: 500 * 0.13)
    }

    func testBucketsCoverMicrosecondsToMinutes() {
        XCTAssertEqual(LatencyTimeline.bucket(0), 0)
        XCTAssertEqual(LatencyTimeline.bucket(-1), 0)
        XCTAssertEqual(LatencyTimeline.bucket(1e9), LatencyTimeline.bucketCount - 1)
        for seconds in [2e-5, 3.3e-4, 0.0123, 0.5, 7.7] {
            let middle = LatencyTimeline.bucketMiddleMs(LatencyTimeline.bucket(seconds)) / 1000
            XCTAssertEqual(middle, seconds, accuracy: seconds * 0.13, "\(seconds)")
        }
    }
}

/// What the status page reads from its query string, and when a browser gets a function's page.
final class StatusPageRequestTests: XCTestCase {
    func testInvokeAndCompareQueries() {
        XCTAssertEqual(PageExperiment.Request(query: "invoke=fib&input=1%200+x&calls=7"), .invoke(function: "fib", input: "1 0 x", calls: 7))
        XCTAssertEqual(PageExperiment.Request(query: "invoke=fib&calls=50000"), .invoke(function: "fib", input: "", calls: 1000))
        XCTAssertEqual(PageExperiment.Request(query: "invoke=fib&calls=-3"), .invoke(function: "fib", input: "", calls: 1))
        XCTAssertEqual(PageExperiment.Request(query: "compare=1&a=fib&ainput=10&binput=20&calls=5"),
                       .compare(a: "fib", aInput: "10", b: "fib", bInput: "20", calls: 5), "B defaults to A's function")
        XCTAssertNil(PageExperiment.Request(query: ""))
        XCTAssertNil(PageExperiment.Request(query: "invoke=&calls=3"))
        XCTAssertNil(PageExperiment.Request(query: "compare=1"))
    }
}
