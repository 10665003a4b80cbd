// Resizing for the resize strategy and the evaluation's photo preparation: area averaging to
// shrink (every source pixel counts, no aliasing), "any hole" to shrink a mask (so the small
// run fills everything the big hole covers), bilinear to enlarge a fill.
import ImageIO
import Masks

public enum Resample {
    /// For each target index along one axis: the source interval [start, end) in source pixels.
    static func spans(_ from: Int, _ to: Int) -> [(Double, Double)] {
        let scale = Double(from) / Double(to)
        return (0..<to).map { (Double($0) * scale, Double($0 + 1) * scale) }
    }

    /// Each source pixel's weights in a target span, as (index, weight) pairs.
    static func weights(_ span: (Double, Double)) -> [(Int, Double)] {
        var out: [(Int, Double)] = []
        var i = Int(span.0.rounded(.down))
        while Double(i) < span.1 {
            let w = min(span.1, Double(i + 1)) - max(span.0, Double(i))
            if w > 1e-12 { out.append((i, w)) }
            i += 1
        }
        return out
    }

    /// Area-averaged image of `width`×`height` (all channels, alpha included), rounded to nearest.
    public static func area(_ image: Image, width: Int, height: Int) -> Image {
        let wx = spans(image.width, width).map(weights), wy = spans(image.height, height).map(weights)
        let cc = image.channels
        var out = Image(width: width, height: height, channels: cc, bitDepth: image.bitDepth)
        var acc = [Double](repeating: 0, count: cc)
        for y in 0..<height {
            let sy = wy[y]
            let totalY = sy.reduce(0) { $0 + $1.1 }
            for x in 0..<width {
                let sx = wx[x]
                let total = totalY * sx.reduce(0) { $0 + $1.1 }
                for c in 0..<cc { acc[c] = 0 }
                for (yy, wyy) in sy {
                    for (xx, wxx) in sx {
                        let base = (yy * image.width + xx) * cc
                        for c in 0..<cc { acc[c] += Double(image.samples[base + c]) * wyy * wxx }
                    }
                }
                for c in 0..<cc { out.samples[(y * width + x) * cc + c] = UInt16((acc[c] / total).rounded()) }
            }
        }
        return out
    }

    /// A hole wherever the target pixel's footprint touches a hole.
    public static func anyHole(_ mask: Mask, width: Int, height: Int) -> Mask {
        let sx = spans(mask.width, width), sy = spans(mask.height, height)
        var out = Mask(width: width, height: height)
        for y in 0..<height {
            let y0 = Int(sy[y].0.rounded(.down)), y1 = min(mask.height, Int(sy[y].1.rounded(.up)))
            for x in 0..<width {
                let x0 = Int(sx[x].0.rounded(.down)), x1 = min(mask.width, Int(sx[x].1.rounded(.up)))
                search: for yy in y0..<y1 {
                    for xx in x0..<x1 where mask.pixels[yy * mask.width + xx] != 0 {
                        out.pixels[y * width + x] = 1
                        break search
                    }
                }
            }
        }
        return out
    }

    /// Bilinear sample of a plane of `width`×`height` (row stride `stride`) at the centre of
    /// pixel (x, y) of a `toWidth`×`toHeight` grid (pixel centres aligned, edges clamped).
    @inline(__always)
    static func bilinear(_ plane: UnsafePointer<Float>, width: Int, height: Int, stride: Int,
                         x: Int, y: Int, toWidth: Int, toHeight: Int) -> Float {
        let fx = min(max((Double(x) + 0.5) * Double(width) / Double(toWidth) - 0.5, 0), Double(width - 1))
        let fy = min(max((Double(y) + 0.5) * Double(height) / Double(toHeight) - 0.5, 0), Double(height - 1))
        let x0 = Int(fx), y0 = Int(fy), x1 = min(x0 + 1, width - 1), y1 = min(y0 + 1, height - 1)
        let ax = Float(fx - Double(x0)), ay = Float(fy - Double(y0))
        let top = plane[y0 * stride + x0] * (1 - ax) + plane[y0 * stride + x1] * ax
        let bottom = plane[y1 * stride + x0] * (1 - ax) + plane[y1 * stride + x1] * ax
        return top * (1 - ay) + bottom * ay
    }
}
