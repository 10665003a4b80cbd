// Line charts: the tick rules, the data-to-pixel mapping (checked by hand against the layout
// rules), and the awkward inputs a training run produces: NaN, a single step, flat curves,
// negative and huge values, a million points.
import Foundation
import ImageIO
import Plots
import TestSupport
import XCTest

final class LineChartTests: XCTestCase {
    let blue = RGB(31, 119, 180)

    func count(_ colour: RGB, in image: Image, columns: ClosedRange<Int>? = nil) -> Int {
        var n = 0
        for y in 0..<image.height {
            for x in columns ?? 0...(image.width - 1) where image.rgb(x: x, y: y) == colour { n += 1 }
        }
        return n
    }

    func testNiceTicks() {
        let a = ChartAxis.linear(0, 10, target: 5)
        XCTAssertEqual(a.ticks, [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(a.labels, ["0", "2", "4", "6", "8", "10"])
        XCTAssertEqual(a.lo, 0)
        XCTAssertEqual(a.hi, 10)

        let b = ChartAxis.linear(-0.3, 0.7, target: 5)  // step 0.2, widened to whole steps
        XCTAssertEqual(b.lo, -0.4, accuracy: 1e-12)
        XCTAssertEqual(b.hi, 0.8, accuracy: 1e-12)
        XCTAssertEqual(b.labels, ["-0.4", "-0.2", "0", "0.2", "0.4", "0.6", "0.8"])

        let c = ChartAxis.linear(0, 99_999, target: 4)  // steps of a long run
        XCTAssertEqual(c.labels, ["0", "50000", "100000"])

        let d = ChartAxis.linear(0, 3e8, target: 3)
        XCTAssertEqual(d.labels, ["0", "1e8", "2e8", "3e8"])

        let flat = ChartAxis.linear(5, 5, target: 5)  // all-equal data is padded by ±10%
        XCTAssertLessThanOrEqual(flat.lo, 4.5)
        XCTAssertGreaterThanOrEqual(flat.hi, 5.5)
        XCTAssertLessThan(flat.hi - flat.lo, 2)
        let zero = ChartAxis.linear(0, 0, target: 5)
        XCTAssertEqual(zero.lo, -1)
        XCTAssertEqual(zero.hi, 1)

        let log = ChartAxis.logarithmic(0.002, 30, target: 5)
        XCTAssertEqual(log.lo, -3)
        XCTAssertEqual(log.hi, 2)
        XCTAssertEqual(log.labels, ["0.001", "0.01", "0.1", "1", "10", "100"])
        let short = ChartAxis.logarithmic(0.3, 4, target: 5)
        XCTAssertEqual(short.labels, ["0.1", "0.2", "0.5", "1", "2", "5", "10"])
        XCTAssertTrue(ChartAxis.logarithmic(1e-9, 1e-8, target: 5).labels.contains("1e-9"))

        for (lo, hi) in [(-1e308, 1e308), (Double.leastNonzeroMagnitude * 2000, Double.leastNonzeroMagnitude * 4000), (.greatestFiniteMagnitude, .greatestFiniteMagnitude), (3, 1)] {
            let axis = ChartAxis.linear(lo, hi, target: 6)
            XCTAssertTrue(axis.lo.isFinite && axis.hi.isFinite && axis.lo < axis.hi, "\(lo)...\(hi) → \(axis)")
            XCTAssertFalse(axis.ticks.isEmpty)
            XCTAssertLessThan(axis.ticks.count, 30)
        }
    }

    func testHorizontalLineLandsOnTheExpectedRow() {
        let line = Series(name: "l1", colour: blue, points: [(0, 2.5), (10, 2.5)])
        let chart = LineChart(series: [line], title: "loss", xLabel: "step", xRange: 0...10, yRange: 0...10)
        let l = chart.layout()
        // By hand, for 800×400: top = pad 8 + title 2×7 + pad 8 = 30; below the plot sit tick 4,
        // gap 4, labels 7, pad 8, x label 7, pad 8 = 38, so bottom = 399 − 38 = 361. About
        // (361 − 30) / 40 = 8 y intervals on 0...10 gives step 2 (labels up to "10", 11 px wide),
        // so left = pad 8 + 11 + tick 4 + gap 4 = 27; right = 799 − 2·pad = 783.
        XCTAssertEqual([l.left, l.top, l.right, l.bottom], [27, 30, 783, 361])
        XCTAssertEqual(l.y.labels, ["0", "2", "4", "6", "8", "10"])
        XCTAssertEqual(l.pixelX(0), 27)
        XCTAssertEqual(l.pixelX(10), 783)
        XCTAssertEqual(l.pixelX(5), 405)
        // y = 2.5 is a quarter of the way up: 361 − 0.25 · 331 = 278.25, drawn on row 278 (and 279,
        // the line's second pixel).
        XCTAssertEqual(l.pixelY(2.5), 278.25)

        let image = chart.render()
        XCTAssertEqual(image.width, 800)
        XCTAssertEqual(image.height, 400)
        XCTAssertEqual(image.channels, 3)
        XCTAssertEqual(image.bitDepth, 8)
        for x in [100, 405, 700] {
            XCTAssertEqual(image.rgb(x: x, y: 278), blue, "column \(x)")
            XCTAssertEqual(image.rgb(x: x, y: 279), blue, "column \(x)")
            XCTAssertEqual(image.rgb(x: x, y: 276), .white, "column \(x)")
            XCTAssertEqual(image.rgb(x: x, y: 281), .white, "column \(x)")
        }
        // Every blue pixel is on those two rows, apart from the legend's swatch.
        for y in 0..<400 where y != 278 && y != 279 {
            for x in 27...600 { XCTAssertNotEqual(image.rgb(x: x, y: y), blue, "(\(x), \(y))") }
        }
        XCTAssertEqual(image.rgb(x: 0, y: 0), .white)
        XCTAssertEqual(image.rgb(x: 27, y: 200), .black, "the frame's left edge")
    }

    func testNonFiniteValuesAreSkipped() {
        let s = Series(name: "d_loss", colour: blue,
                       points: [(0, 1), (1, .nan), (2, 3), (.infinity, 2), (3, -.infinity), (.nan, .nan), (4, 2)])
        let chart = LineChart(series: [s], title: "nan", xLabel: "step")
        let l = chart.layout()
        XCTAssertEqual(l.x.lo, 0)
        XCTAssertEqual(l.x.hi, 4, "the range comes from the finite points")
        XCTAssertLessThanOrEqual(l.y.lo, 1)
        XCTAssertGreaterThanOrEqual(l.y.hi, 3)
        XCTAssertLessThanOrEqual(l.y.hi, 4)
        let image = chart.render()
        XCTAssertGreaterThan(count(blue, in: image, columns: l.left...l.left + 300), 100, "the finite points are joined")
        // The segment (2, 3)–(4, 2) passes through (3, 2.5), within a pixel of rounding. (The data's
        // extremes lie on the frame, which is drawn over the lines.)
        let (cx, cy) = (Int(l.pixelX(3).rounded()), Int(l.pixelY(2.5).rounded()))
        XCTAssertTrue((cy - 1...cy + 1).contains { image.rgb(x: cx, y: $0) == blue }, "near (\(cx), \(cy))")

        let allNaN = Series(name: "nan", colour: blue, points: [(.nan, 1), (2, .nan)])
        let empty = LineChart.render(series: [allNaN], title: "", xLabel: "")
        XCTAssertEqual(count(blue, in: empty), 16 * 3, "only the legend swatch")
    }

    func testMillionPointsDecimateButKeepSpikes() {
        let n = 1_000_000
        var points = [(x: Double, y: Double)]()
        points.reserveCapacity(n)
        for i in 0..<n { points.append((Double(i), 1 + sin(Double(i) / 20_000) + Double(i % 7) * 0.01)) }
        points[500_000].y = 10  // one step's spike must survive decimation
        let g = Series(name: "g_loss", colour: RGB(214, 39, 40), points: points)
        let d = Series(name: "d_loss", colour: blue, points: points.map { (x: $0.x, y: -$0.y) })
        let chart = LineChart(series: [g, d], title: "a million steps", xLabel: "step")
        let l = chart.layout()
        let image = chart.render()
        XCTAssertGreaterThan(count(RGB(214, 39, 40), in: image), 1000)
        XCTAssertGreaterThan(count(blue, in: image), 1000)
        let spikeX = Int(l.pixelX(500_000).rounded()), spikeY = Int(l.pixelY(10).rounded())
        let reached = (spikeX - 1...spikeX + 1).contains { x in (spikeY - 1...spikeY + 1).contains { image.rgb(x: x, y: $0) == RGB(214, 39, 40) } }
        XCTAssertTrue(reached, "the spike at (\(spikeX), \(spikeY)) is drawn")
    }

    func testEmptySinglePointFlatAndNegative() {
        let nothing = LineChart.render(series: [], title: "empty", xLabel: "step")
        XCTAssertEqual(nothing.width, 800)
        XCTAssertGreaterThan(count(.gray, in: nothing), 10, "\"no data\" is written")
        XCTAssertGreaterThan(count(.black, in: nothing), 100, "axes are drawn")
        _ = LineChart.render(series: [Series(name: "no points", colour: blue, points: [])], title: "", xLabel: "")

        let single = LineChart(series: [Series(name: "", colour: blue, points: [(3, 7)])], title: "one", xLabel: "step")
        let sl = single.layout()
        let dot = single.render()
        XCTAssertEqual(dot.rgb(x: Int(sl.pixelX(3).rounded()), y: Int(sl.pixelY(7).rounded())), blue)
        XCTAssertEqual(count(blue, in: dot), 25, "a 5×5 dot, no legend for an unnamed series")

        let flat = LineChart(series: [Series(name: "flat", colour: blue, points: [(0, 5), (1, 5), (2, 5)])], title: "", xLabel: "")
        let fl = flat.layout()
        XCTAssertEqual(fl.pixelY(5), Double(fl.top + fl.bottom) / 2, accuracy: 1)
        XCTAssertEqual(flat.render().rgb(x: (fl.left + fl.right) / 2, y: Int(fl.pixelY(5).rounded())), blue)

        let negative = LineChart(series: [Series(name: "g_adv", colour: blue, x: [0, 1, 2, 3], y: [-3, -1, 0.5, 2])], title: "", xLabel: "")
        let nl = negative.layout()
        XCTAssertLessThanOrEqual(nl.y.lo, -3)
        XCTAssertTrue(nl.y.labels.contains("0") && nl.y.labels.contains { $0.hasPrefix("-") })
        XCTAssertEqual(negative.render().rgb(x: Int(nl.pixelX(1).rounded()), y: Int(nl.pixelY(-1).rounded())), blue)
    }

    func testLogYSkipsNonPositive() {
        var points = (0...400).map { (x: Double($0), y: pow(10, Double($0) / 100 - 3)) }
        points += [(401, 0), (402, -1)]
        let chart = LineChart(series: [Series(name: "l1", colour: blue, points: points)], title: "", xLabel: "", logY: true)
        let l = chart.layout()
        XCTAssertTrue(l.y.log)
        XCTAssertEqual(l.y.labels, ["0.001", "0.01", "0.1", "1", "10"])
        XCTAssertEqual(l.pixelY(1), Double(l.bottom) - 0.75 * Double(l.bottom - l.top), accuracy: 1e-9)
        XCTAssertTrue(l.pixelY(0).isNaN)
        let image = chart.render()
        XCTAssertEqual(image.rgb(x: Int(l.pixelX(100).rounded()), y: Int(l.pixelY(0.01).rounded())), blue)
    }

    func testFixedRangesClipAndOddSizesDoNotTrap() {
        let s = Series(name: "", colour: blue, points: (0...20).map { (x: Double($0), y: Double($0 * $0)) })
        let chart = LineChart(series: [s], title: "", xLabel: "", xRange: 0...5, yRange: 0...10)
        let l = chart.layout()
        let image = chart.render()
        XCTAssertGreaterThan(count(blue, in: image), 50)
        XCTAssertEqual(count(blue, in: image, columns: (l.right + 1)...(image.width - 1)), 0)
        for y in 0..<l.top { for x in 0..<image.width { XCTAssertNotEqual(image.rgb(x: x, y: y), blue) } }

        let huge = Series(name: "huge", colour: blue, points: [(0, 1e308), (1, -1e308), (2, 1e-300), (-1e308, 0), (1e308, 1)])
        for (w, h) in [(0, 0), (1, 1), (10, 10), (60, 40), (3000, 50)] {
            let image = LineChart.render(series: [huge, s], width: w, height: h, title: "a long title", xLabel: "step")
            XCTAssertEqual(image.width, max(1, w))
            XCTAssertEqual(image.height, max(1, h))
        }
        _ = LineChart.render(series: [s], title: "", xLabel: "", yRange: 1e300...1e300)
        _ = LineChart.render(series: [huge], title: "", xLabel: "", logY: true)
    }

    func testMovingAverage() {
        let points: [(x: Double, y: Double)] = [(0, 1), (1, 2), (2, 3), (3, 4), (4, .nan), (5, 6)]
        let smoothed = Series.movingAverage(points, window: 2)
        XCTAssertEqual(smoothed.map(\.x), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(smoothed.map(\.y), [1, 1.5, 2.5, 3.5, 4, 6])
        XCTAssertEqual(Series.movingAverage(points, window: 1).map(\.y).count, 6)
        XCTAssertTrue(Series.movingAverage([(0, .nan), (1, .nan)], window: 3).allSatisfy { $0.y.isNaN })

        // Against the definition, on noisy data with gaps.
        var rng = SeededRandom(seed: 17)
        let noisy = (0..<997).map { i in (x: Double(i), y: i % 13 == 0 ? Double.nan : rng.uniform(-5, 5)) }
        for window in [3, 7, 50] {
            let fast = Series.movingAverage(noisy, window: window)
            for i in noisy.indices {
                let values = noisy[max(0, i - window + 1)...i].map(\.y).filter(\.isFinite)
                if values.isEmpty {
                    XCTAssertTrue(fast[i].y.isNaN, "window \(window) at \(i)")
                } else {
                    XCTAssertEqual(fast[i].y, values.reduce(0, +) / Double(values.count), accuracy: 1e-9, "window \(window) at \(i)")
                }
            }
        }
        let s = Series(name: "l1", colour: blue, points: points).smoothed(window: 2)
        XCTAssertEqual(s.name, "l1")
        XCTAssertEqual(s.points[1].y, 1.5)
    }

    func testChartWritesAsPNGAndReadsBack() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("PlotsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let steps = (0..<500).map(Double.init)
        let chart = LineChart.render(series: [
            Series(name: "d_loss", colour: RGB.palette[0], x: steps, y: steps.map { 1.4 - 0.4 * exp(-$0 / 100) }),
            Series(name: "g_loss", colour: RGB.palette[1], x: steps, y: steps.map { 0.2 + exp(-$0 / 80) }),
        ], width: 640, height: 320, title: "training", xLabel: "step")
        let path = dir.appendingPathComponent("loss.png").path
        try ImageFile.write(chart, to: path)
        let back = try ImageFile.read(path: path)
        XCTAssertEqual(back.width, 640)
        XCTAssertEqual(back.height, 320)
        XCTAssertEqual(back.channels, 3)
        XCTAssertEqual(back.bitDepth, 8)
        XCTAssertEqual(back.samples, chart.samples)
    }
}
