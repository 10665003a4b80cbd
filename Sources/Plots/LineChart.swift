// Line charts of training curves (d_loss, g_loss, … against step) as RGB images, drawn with our
// own primitives. The layout is computed first and exposed (`ChartLayout`) so that callers and
// tests can map data to pixels exactly as the drawing does. Long series are reduced to at most
// four points per pixel column (first, min, max, last, in order) before drawing, so 10^6 points
// cost one pass and still show every spike.
import ImageIO

/// Where a chart puts things: the plot rectangle in pixels and the two axes.
public struct ChartLayout: Sendable {
    public var width: Int
    public var height: Int
    /// The plot area, inclusive pixel bounds; the axes' lo/hi map onto its edges.
    public var left: Int, top: Int, right: Int, bottom: Int
    public var x: ChartAxis
    public var y: ChartAxis

    /// The continuous pixel column of data x (not rounded, not clipped).
    public func pixelX(_ v: Double) -> Double {
        Double(left) + x.fraction(ofPlotted: x.plotted(v)) * Double(right - left)
    }

    /// The continuous pixel row of data y (row numbers grow downwards; NaN for y ≤ 0 on a log axis).
    public func pixelY(_ v: Double) -> Double {
        Double(bottom) - y.fraction(ofPlotted: y.plotted(v)) * Double(bottom - top)
    }

    var plotRect: PixelRect { PixelRect(left: left, top: top, right: right, bottom: bottom) }
}

/// A chart's data and labels; `layout()` places it and `render()` draws it.
public struct LineChart: Sendable {
    public var series: [Series]
    public var width: Int
    public var height: Int
    public var title: String
    public var xLabel: String
    /// Printed above the plot's top-left corner (the font does not rotate).
    public var yLabel: String
    public var logY: Bool
    /// Fixed ranges (data units) instead of fitting the data; points outside are clipped.
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?

    public init(series: [Series], width: Int = 800, height: Int = 400, title: String = "", xLabel: String = "",
                yLabel: String = "", logY: Bool = false, xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil) {
        self.series = series
        self.width = max(1, width)
        self.height = max(1, height)
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logY = logY
        self.xRange = xRange
        self.yRange = yRange
    }

    /// Draws `series` on a white width×height RGB 8-bit image. See `LineChart` for the options.
    public static func render(series: [Series], width: Int = 800, height: Int = 400, title: String, xLabel: String,
                              yLabel: String = "", logY: Bool = false,
                              xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil) -> Image {
        LineChart(series: series, width: width, height: height, title: title, xLabel: xLabel, yLabel: yLabel,
                  logY: logY, xRange: xRange, yRange: yRange).render()
    }

    static let pad = 8, tickLength = 4, titleScale = 2

    /// Whether a point is drawn at all: both coordinates finite, and y > 0 on a log axis.
    func usable(_ p: (x: Double, y: Double)) -> Bool { p.x.isFinite && p.y.isFinite && (!logY || p.y > 0) }

    /// The data's extent over usable points, as (xlo, xhi, ylo, yhi); lo > hi when there are none.
    func dataBounds() -> (Double, Double, Double, Double) {
        var b = (Double.infinity, -Double.infinity, Double.infinity, -Double.infinity)
        for s in series {
            for p in s.points where usable(p) {
                b = (min(b.0, p.x), max(b.1, p.x), min(b.2, p.y), max(b.3, p.y))
            }
        }
        return b
    }

    /// Places the title, labels and plot rectangle and chooses both axes' ticks.
    public func layout() -> ChartLayout {
        let bounds = dataBounds()
        let xlo = xRange?.lowerBound ?? bounds.0, xhi = xRange?.upperBound ?? bounds.1
        let ylo = yRange?.lowerBound ?? bounds.2, yhi = yRange?.upperBound ?? bounds.3
        let glyph = BitmapFont.height()
        let p = Self.pad
        var top = p
        if !title.isEmpty { top += BitmapFont.height(scale: Self.titleScale) + p }
        if !yLabel.isEmpty { top += glyph + p / 2 }
        var bottomMargin = Self.tickLength + 4 + glyph + p
        if !xLabel.isEmpty { bottomMargin += glyph + p }
        let bottom = height - 1 - bottomMargin

        // y first: its labels' width decides where the plot starts.
        let yTarget = max(2, (bottom - top) / 40)
        let yAxis: ChartAxis
        if logY {
            yAxis = .logarithmic(ylo <= yhi ? ylo : 1, ylo <= yhi ? yhi : 10, target: yTarget)
        } else {
            yAxis = .linear(ylo, yhi, target: yTarget)
        }
        let yLabelWidth = yAxis.labels.map { BitmapFont.width(of: $0) }.max() ?? 0
        let left = min(p + yLabelWidth + Self.tickLength + 4, width / 3)

        // x: fewer ticks until the widest label fits between neighbours; then leave room for
        // the last label, which is centred on the right edge.
        var right = width - 1 - 2 * p
        var xAxis = ChartAxis.linear(xlo, xhi, target: max(2, (right - left) / 90))
        for _ in 0..<2 {
            var target = max(2, (right - left) / 90)
            while true {
                xAxis = .linear(xlo, xhi, target: target)
                let widest = xAxis.labels.map { BitmapFont.width(of: $0) }.max() ?? 0
                let spacing = Double(right - left) / Double(max(1, xAxis.ticks.count - 1))
                if Double(widest + 12) <= spacing || target <= 1 { break }
                target -= 1
            }
            let lastHalf = (BitmapFont.width(of: xAxis.labels.last ?? "") + 1) / 2
            let wanted = width - 1 - max(2 * p, lastHalf + 2)
            if wanted >= right { break }
            right = wanted
        }
        return ChartLayout(width: width, height: height, left: left, top: top, right: right, bottom: bottom, x: xAxis, y: yAxis)
    }

    /// The chart as a width×height RGB 8-bit image on white.
    public func render() -> Image {
        var image = Image(width: width, height: height, channels: 3, bitDepth: 8, fill: 255)
        let l = layout()
        let plot = l.plotRect
        let glyph = BitmapFont.height()
        let p = Self.pad

        if !title.isEmpty {
            let w = BitmapFont.width(of: title, scale: Self.titleScale)
            BitmapFont.draw(title, into: &image, x: (width - w) / 2, y: p, colour: .black, scale: Self.titleScale)
        }
        if !yLabel.isEmpty {
            BitmapFont.draw(yLabel, into: &image, x: max(0, l.left - BitmapFont.width(of: yLabel) / 2), y: l.top - glyph - p / 2,
                            colour: .black)
        }
        guard !plot.isEmpty, plot.right > plot.left, plot.bottom > plot.top else { return image }

        // Grid under everything, frame and ticks over the lines.
        let xs = l.x.ticks.map { Int(l.pixelXPlotted($0).rounded()) }
        let ys = l.y.ticks.map { Int(l.pixelYPlotted($0).rounded()) }
        for x in xs { image.fill(x, plot.top, x, plot.bottom, .lightGray) }
        for y in ys { image.fill(plot.left, y, plot.right, y, .lightGray) }

        var drewAnything = false
        for s in series { drewAnything = draw(s, on: &image, layout: l) || drewAnything }

        image.frame(plot, .black)
        for (x, label) in zip(xs, l.x.labels) {
            image.fill(x, plot.bottom + 1, x, plot.bottom + Self.tickLength, .black)
            BitmapFont.draw(label, into: &image, x: x - BitmapFont.width(of: label) / 2, y: plot.bottom + Self.tickLength + 4, colour: .black)
        }
        for (y, label) in zip(ys, l.y.labels) {
            image.fill(plot.left - Self.tickLength, y, plot.left - 1, y, .black)
            BitmapFont.draw(label, into: &image, x: plot.left - Self.tickLength - 4 - BitmapFont.width(of: label), y: y - glyph / 2,
                            colour: .black)
        }
        if !xLabel.isEmpty {
            let w = BitmapFont.width(of: xLabel)
            BitmapFont.draw(xLabel, into: &image, x: (plot.left + plot.right - w) / 2, y: plot.bottom + Self.tickLength + 4 + glyph + p,
                            colour: .black)
        }
        if !drewAnything {
            let text = "no data"
            BitmapFont.draw(text, into: &image, x: (plot.left + plot.right - BitmapFont.width(of: text)) / 2,
                            y: (plot.top + plot.bottom - glyph) / 2, colour: .gray)
        }
        drawLegend(on: &image, plot: plot)
        return image
    }

    /// Draws one series clipped to the plot; returns whether any of its points was usable.
    func draw(_ s: Series, on image: inout Image, layout l: ChartLayout) -> Bool {
        let plot = l.plotRect
        var previous: (x: Double, y: Double)?
        var emitted = 0
        func emit(_ q: (x: Double, y: Double)) {
            if let a = previous { image.line(a.x, a.y, q.x, q.y, s.colour, clip: plot) }
            previous = q
            emitted += 1
        }
        // The current pixel column's run: its first, lowest, highest and last point, each with
        // its index so they can be joined in the order they were logged.
        typealias Indexed = (i: Int, p: (x: Double, y: Double))
        var column = Int.min
        var run: [Indexed] = []  // first, low, high, last
        func flush() {
            guard !run.isEmpty else { return }
            var last = -1
            for q in run.sorted(by: { $0.i < $1.i }) where q.i != last { emit(q.p); last = q.i }
        }
        for (i, p) in s.points.enumerated() where usable(p) {
            let q: Indexed = (i, (x: l.pixelX(p.x), y: l.pixelY(p.y)))
            guard q.p.x.isFinite, q.p.y.isFinite else { continue }
            // Points beyond the plot share one column per side: only the crossing segment matters.
            let c = Int(min(max(q.p.x, Double(plot.left - 2)), Double(plot.right + 2)).rounded(.down))
            if c != column {
                flush()
                column = c
                run = [q, q, q, q]
                continue
            }
            if q.p.y < run[1].p.y { run[1] = q }
            if q.p.y > run[2].p.y { run[2] = q }
            run[3] = q
        }
        flush()
        if emitted == 1, let only = previous { image.dot(only.x, only.y, radius: 2, s.colour, clip: plot) }
        return emitted > 0
    }

    /// Each series' colour swatch and name, boxed in the plot's top-right corner.
    func drawLegend(on image: inout Image, plot: PixelRect) {
        let named = series.filter { !$0.name.isEmpty }
        guard !named.isEmpty else { return }
        let glyph = BitmapFont.height(), row = glyph + 5, swatch = 16
        let textWidth = named.map { BitmapFont.width(of: $0.name) }.max() ?? 0
        let boxWidth = 6 + swatch + 6 + textWidth + 6, boxHeight = 6 + named.count * row - 5 + 6
        let box = PixelRect(left: plot.right - 6 - boxWidth, top: plot.top + 6, right: plot.right - 6, bottom: plot.top + 6 + boxHeight)
        image.fill(box.left, box.top, box.right, box.bottom, .white)
        image.frame(box, .gray)
        for (k, s) in named.enumerated() {
            let y = box.top + 6 + k * row
            image.fill(box.left + 6, y + glyph / 2 - 1, box.left + 6 + swatch - 1, y + glyph / 2 + 1, s.colour)
            BitmapFont.draw(s.name, into: &image, x: box.left + 6 + swatch + 6, y: y, colour: .black)
        }
    }
}

extension ChartLayout {
    /// Pixel positions of values already in plotted units (tick positions).
    func pixelXPlotted(_ t: Double) -> Double { Double(left) + x.fraction(ofPlotted: t) * Double(right - left) }
    func pixelYPlotted(_ t: Double) -> Double { Double(bottom) - y.fraction(ofPlotted: t) * Double(bottom - top) }
}
