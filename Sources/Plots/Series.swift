// A named, coloured list of (x, y) points for LineChart, and the moving average that makes a
// noisy training loss readable. Non-finite values are kept in the data (the chart skips them)
// so that a series still lines up with the steps it was logged at.

/// One line of a chart. Points are joined in the order given (normally increasing x).
public struct Series: Sendable {
    public var name: String
    public var colour: RGB
    public var points: [(x: Double, y: Double)]

    public init(name: String, colour: RGB, points: [(x: Double, y: Double)]) {
        self.name = name
        self.colour = colour
        self.points = points
    }

    /// Pairs xs[i] with ys[i]; the longer array's extra values are ignored.
    public init(name: String, colour: RGB, x: [Double], y: [Double]) {
        self.init(name: name, colour: colour, points: zip(x, y).map { (x: $0, y: $1) })
    }

    /// The same series with each y replaced by its trailing moving average (see `movingAverage`).
    public func smoothed(window: Int) -> Series {
        Series(name: name, colour: colour, points: Series.movingAverage(points, window: window))
    }

    /// Each y becomes the mean of the finite y values among this point and the `window - 1`
    /// before it (trailing, so a curve does not borrow from steps not yet taken; the first points
    /// average over fewer values). x values are unchanged. A point whose window holds no finite
    /// value gets NaN, which charts skip. `window` ≤ 1 returns the points unchanged. O(n).
    public static func movingAverage(_ points: [(x: Double, y: Double)], window: Int) -> [(x: Double, y: Double)] {
        guard window > 1 else { return points }
        var out = points
        // Sums restart from scratch every `window` points so rounding error cannot accumulate
        // over a million steps; each restart costs one window, keeping the total O(n).
        var sum = 0.0, count = 0
        for i in points.indices {
            if i % window == 0 && i >= window {
                (sum, count) = (0, 0)
                for j in (i - window + 1)..<i where points[j].y.isFinite { sum += points[j].y; count += 1 }
            } else if i >= window, points[i - window].y.isFinite {
                sum -= points[i - window].y
                count -= 1
            }
            if points[i].y.isFinite { sum += points[i].y; count += 1 }
            out[i].y = count > 0 ? sum / Double(count) : .nan
        }
        return out
    }
}
