// Resampling a photo region (real-valued corners, so crops at any scale are exact) to the
// training size, separably: area averaging per axis when the region shrinks (each output
// pixel the mean of the source area it covers, so no aliasing), bilinear when it grows.
// Output is planar RGB in [-1, 1] (v / max · 2 − 1); grey photos fill all three planes and
// alpha is ignored.
import ImageIO

public enum Resize {
    /// (source index, weight) taps of each output position along one axis.
    static func taps(start: Double, length: Double, source: Int, output: Int) -> [[(Int, Float)]] {
        let scale = length / Double(output)
        return (0..<output).map { o in
            if scale >= 1 {
                let a = start + Double(o) * scale, b = a + scale
                var taps: [(Int, Float)] = []
                var i = max(0, Int(a.rounded(.down)))
                while Double(i) < b && i < source {
                    let overlap = min(b, Double(i + 1)) - max(a, Double(i))
                    if overlap > 0 { taps.append((i, Float(overlap / scale))) }
                    i += 1
                }
                return taps.isEmpty ? [(min(source - 1, max(0, Int(a))), Float(1))] : taps
            }
            let c = start + (Double(o) + 0.5) * scale - 0.5
            let i0 = Int(c.rounded(.down)), f = Float(c - Double(i0))
            let lo = min(source - 1, max(0, i0)), hi = min(source - 1, max(0, i0 + 1))
            return [(lo, 1 - f), (hi, f)]
        }
    }

    public static func region(_ photo: Image, x: Double, y: Double, width cw: Double, height ch: Double, to w: Int, _ h: Int, mirrored: Bool) -> [Float] {
        let across = taps(start: x, length: cw, source: photo.width, output: w)
        let down = taps(start: y, length: ch, source: photo.height, output: h)
        let rows = down.flatMap { $0.map(\.0) }, firstRow = rows.min()!, lastRow = rows.max()!
        let channels = photo.channels, colour = channels >= 3, scale = 2 / Float(photo.maxValue)
        var out = [Float](repeating: 0, count: 3 * h * w)
        // Horizontal pass over the rows the vertical taps read: [row][x][c].
        var across3 = [Float](repeating: 0, count: (lastRow - firstRow + 1) * w * 3)
        photo.samples.withUnsafeBufferPointer { s in
            for r in firstRow...lastRow {
                let base = r * photo.width * channels, to = (r - firstRow) * w * 3
                for ox in 0..<w {
                    var v: (Float, Float, Float) = (0, 0, 0)
                    for (i, weight) in across[mirrored ? w - 1 - ox : ox] {
                        let p = base + i * channels
                        let red = Float(s[p]), green = colour ? Float(s[p + 1]) : red, blue = colour ? Float(s[p + 2]) : red
                        v = (v.0 + weight * red, v.1 + weight * green, v.2 + weight * blue)
                    }
                    across3[to + ox * 3] = v.0
                    across3[to + ox * 3 + 1] = v.1
                    across3[to + ox * 3 + 2] = v.2
                }
            }
        }
        for oy in 0..<h {
            for ox in 0..<w {
                for c in 0..<3 {
                    var v: Float = 0
                    for (r, weight) in down[oy] { v += weight * across3[((r - firstRow) * w + ox) * 3 + c] }
                    out[(c * h + oy) * w + ox] = v * scale - 1
                }
            }
        }
        return out
    }
}
