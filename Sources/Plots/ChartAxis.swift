// Chart axis ranges and tick marks: "nice" steps of 1, 2 or 5 × 10^k on linear axes, decades (with 2
// and 5 between them when the range is short) on log axes, and labels short enough for the
// 5×7 font. Everything here stays finite for any finite input, including ±1e308 and
// all-equal data, because a plot of broken training must still render.
import Foundation

/// One chart axis: the range mapped onto the plot's edges and the ticks inside it, all in
/// plotted units (log10 of the data on a log axis).
public struct ChartAxis: Equatable, Sendable {
    public var lo: Double
    public var hi: Double
    public var log: Bool
    /// Tick positions in plotted units, increasing, within lo...hi.
    public var ticks: [Double]
    public var labels: [String]

    /// Plotted units of data value `v` (log10 on a log axis; NaN for v ≤ 0 there).
    public func plotted(_ v: Double) -> Double { log ? (v > 0 ? log10(v) : .nan) : v }

    /// Where `v` (plotted units) falls between lo (0) and hi (1); overflow-safe.
    public func fraction(ofPlotted v: Double) -> Double { (v / 2 - lo / 2) / (hi / 2 - lo / 2) }

    /// A linear axis covering lo...hi, widened to whole steps, with about `target` intervals.
    /// An empty or zero-width range is padded first (±10% of the value, or ±1 around 0).
    public static func linear(_ lo: Double, _ hi: Double, target: Int) -> ChartAxis {
        var (a, b) = padded(lo, hi)
        var step = niceStep((b / 2 - a / 2) / Double(max(1, target)) * 2)
        if !(step > 0 && step.isFinite) { (a, b, step) = (-1, 1, 0.5) }
        let k0 = (a / step).rounded(.down), k1 = (b / step).rounded(.up)
        let axisLo = max(k0 * step, -Double.greatestFiniteMagnitude), axisHi = min(k1 * step, Double.greatestFiniteMagnitude)
        // (k1 - k0) is about `target`; the cap only guards against rounding surprises.
        let count = Int(min(k1 - k0, 200))
        let ticks = (0...count).map { (k0 + Double($0)) * step }.filter { $0 >= axisLo && $0 <= axisHi }
        let exponent = max(abs(axisLo), abs(axisHi)) >= 1e7 || step < 1e-5
        return ChartAxis(lo: axisLo, hi: axisHi, log: false, ticks: ticks, labels: ticks.map { label($0, step: step, exponent: exponent) })
    }

    /// A log axis for positive data in lo...hi (data units), widened to whole decades.
    public static func logarithmic(_ lo: Double, _ hi: Double, target: Int) -> ChartAxis {
        var a = (lo > 0 && lo.isFinite) ? log10(lo).rounded(.down) : 0
        var b = (hi > 0 && hi.isFinite) ? log10(hi).rounded(.up) : a + 1
        if b < a { swap(&a, &b) }
        // One value on an exact power of ten: show the decade either side so it sits mid-plot.
        if b == a { (a, b) = (a - 1, b + 1) }
        var ticks: [Double] = []
        let decades = b - a
        if decades <= 2 {
            for k in stride(from: a, through: b, by: 1) {
                for m in [1.0, 2.0, 5.0] where k + log10(m) <= b { ticks.append(k + log10(m)) }
            }
        } else {
            let every = max(1, (decades / Double(max(1, target))).rounded(.up))
            ticks = stride(from: a, through: b, by: every).map { $0 }
        }
        return ChartAxis(lo: a, hi: b, log: true, ticks: ticks, labels: ticks.map(logLabel))
    }

    /// The range to draw for data in lo...hi: empty (lo > hi, e.g. no data) becomes 0...1, and a
    /// range too narrow for double precision is widened around its value.
    static func padded(_ lo: Double, _ hi: Double) -> (Double, Double) {
        guard lo <= hi else { return (0, 1) }
        if hi / 2 - lo / 2 > max(abs(lo), abs(hi)) * 1e-12 { return (lo, hi) }
        let d = lo == 0 ? 1 : abs(lo) * 0.1
        let limit = Double.greatestFiniteMagnitude
        return (max(lo - d, -limit), min(hi + d, limit))
    }

    /// The smallest 1, 2 or 5 × 10^k at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 0 }
        let magnitude = pow(10, log10(raw).rounded(.down))
        let norm = raw / magnitude
        let m: Double = norm <= 1 + 1e-9 ? 1 : norm <= 2 + 1e-9 ? 2 : norm <= 5 + 1e-9 ? 5 : 10
        return m * magnitude
    }

    /// A linear tick label: as many decimals as the step needs, or mantissa-e-exponent for very
    /// large or very fine axes ("2.5e7"). Values within rounding of zero print as "0".
    static func label(_ v: Double, step: Double, exponent: Bool) -> String {
        if abs(v) < step * 1e-6 { return "0" }
        let stepPower = Int(log10(step).rounded(.down))
        if !exponent { return String(format: "%.*f", max(0, -stepPower), v) }
        var e = Int(log10(abs(v)).rounded(.down))
        var decimals = min(6, max(0, e - stepPower))
        var m = v / pow(10, Double(e))
        // 9.99… can round up to "10.0": move it to the next power instead.
        if abs((m * pow(10, Double(decimals))).rounded()) >= 10 * pow(10, Double(decimals)) {
            e += 1
            m /= 10
            decimals = max(0, decimals - 1)
        }
        return String(format: "%.*f", decimals, m) + "e\(e)"
    }

    /// 10^t as plain digits between 1e-4 and 1e6, otherwise as "2e-7".
    static func logLabel(_ t: Double) -> String {
        let e = Int(t.rounded(.down))
        let m = pow(10, t - Double(e)).rounded()
        if e >= -4 && e <= 6 { return String(format: "%.*f", max(0, -e), m * pow(10, Double(e))) }
        return String(format: "%.0f", m) + "e\(e)"
    }
}
