// The official DeepFill v2 training masks (spec §6): an axis-aligned rectangle (`random_bbox` +
// `bbox2mask`) and free-form brush strokes (`brush_stroke_mask`), and their union, which is what
// the recipe trains on. Draw order, constants and quirks follow the released code, so the
// coverage statistics match (spec §6.2: union mean 31 %, 5–95 % range 20.6–43.2 % at 256²); the
// random numbers come from Fillgraph's own seeded generator, not NumPy's.
import Foundation
import Randomness

/// A hole mask: 1 = hole, 0 = known, row-major.
public struct Mask: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]? = nil) {
        self.width = width
        self.height = height
        self.pixels = pixels ?? [UInt8](repeating: 0, count: width * height)
    }

    /// The share of hole pixels, 0...1.
    public var coverage: Double { Double(pixels.reduce(0) { $0 + Int($1) }) / Double(max(1, pixels.count)) }

    public static func | (a: Mask, b: Mask) -> Mask {
        precondition(a.width == b.width && a.height == b.height, "masks of different sizes")
        return Mask(width: a.width, height: a.height, pixels: zip(a.pixels, b.pixels).map { $0 | $1 })
    }
}

public enum MaskKind: String, CaseIterable, Sendable {
    case brush
    case rect
    case rectBrush = "rect+brush"
}

public enum FreeFormMask {
    public static func generate(_ kind: MaskKind, height: Int, width: Int, rng: inout SplitMix64) -> Mask {
        switch kind {
        case .brush: return brush(height: height, width: width, rng: &rng)
        case .rect: return rectangle(height: height, width: width, rng: &rng)
        case .rectBrush:
            // The official graph draws the box first (TF ops), then the strokes (NumPy).
            let box = rectangle(height: height, width: width, rng: &rng)
            return box | brush(height: height, width: width, rng: &rng)
        }
    }

    /// Spec §6.1. `inpaint.yml` fixes a 128×128 box with max_delta 32 for 256² images; other sizes
    /// keep those proportions (half of each side, shrunk by up to an eighth), so 256² is exact.
    public static func rectangle(height: Int, width: Int, rng: inout SplitMix64) -> Mask {
        let boxH = max(1, height / 2), boxW = max(1, width / 2)
        let top = rng.int(in: 0..<max(1, height - boxH)), left = rng.int(in: 0..<max(1, width - boxW))
        let dh = rng.int(in: 0..<(height / 8 / 2 + 1)), dw = rng.int(in: 0..<(width / 8 / 2 + 1))
        var mask = Mask(width: width, height: height)
        for y in (top + dh)..<max(top + dh, top + boxH - dh) {
            for x in (left + dw)..<max(left + dw, left + boxW - dw) { mask.pixels[y * width + x] = 1 }
        }
        return mask
    }

    /// Spec §6.2, with the released code's quirks: the start point's x range is the image height
    /// and its y range the width, and vertices are clipped to those swapped bounds (identical for
    /// square images); the final flips are drawn and discarded.
    public static func brush(height H: Int, width W: Int, rng: inout SplitMix64) -> Mask {
        let meanAngle = 2 * Double.pi / 5, angleRange = 2 * Double.pi / 15
        let averageRadius = (Double(H * H + W * W)).squareRoot() / 8
        let (h, w) = (W, H)  // PIL's size is (W, H), read as (h, w)
        var mask = Mask(width: W, height: H)
        for _ in 0..<rng.int(in: 1..<4) {
            let vertices = rng.int(in: 4..<12)
            let angleMin = meanAngle - rng.uniform(0, angleRange), angleMax = meanAngle + rng.uniform(0, angleRange)
            let angles = (0..<vertices).map { i in
                i % 2 == 0 ? 2 * Double.pi - rng.uniform(angleMin, angleMax) : rng.uniform(angleMin, angleMax)
            }
            var points = [(x: rng.int(in: 0..<max(1, w)), y: rng.int(in: 0..<max(1, h)))]
            for angle in angles {
                let r = min(max(rng.normal(mean: averageRadius, deviation: (averageRadius / 2).rounded(.down)), 0), 2 * averageRadius)
                let last = points[points.count - 1]
                points.append((Int(min(max(Double(last.x) + r * cos(angle), 0), Double(w))),
                               Int(min(max(Double(last.y) + r * sin(angle), 0), Double(h)))))
            }
            let strokeWidth = Int(rng.uniform(12, 40))
            for (a, b) in zip(points, points.dropFirst()) { drawSegment(&mask, a, b, width: strokeWidth) }
            for p in points { drawDisc(&mask, p, radius: strokeWidth / 2) }
        }
        _ = rng.normal()
        _ = rng.normal()
        return mask
    }

    /// PIL draws a wide line segment as the rectangle around it (no caps; the discs at the
    /// vertices round the joints): pixel centres within half the width of the segment.
    public static func drawSegment(_ mask: inout Mask, _ a: (x: Int, y: Int), _ b: (x: Int, y: Int), width: Int) {
        let half = Double(width) / 2
        let dx = Double(b.x - a.x), dy = Double(b.y - a.y), length = (dx * dx + dy * dy).squareRoot()
        guard length > 0 else { return }
        let ux = dx / length, uy = dy / length
        let reach = Int(half.rounded(.up))
        for y in clamped(min(a.y, b.y) - reach, max(a.y, b.y) + reach, mask.height) {
            for x in clamped(min(a.x, b.x) - reach, max(a.x, b.x) + reach, mask.width) {
                let px = Double(x - a.x), py = Double(y - a.y)
                let along = px * ux + py * uy, across = abs(px * uy - py * ux)
                if along >= 0 && along <= length && across <= half { mask.pixels[y * mask.width + x] = 1 }
            }
        }
    }

    /// PIL's ellipse in the box (x − r, y − r, x + r, y + r).
    public static func drawDisc(_ mask: inout Mask, _ c: (x: Int, y: Int), radius r: Int) {
        guard r >= 0 else { return }
        for y in clamped(c.y - r, c.y + r, mask.height) {
            for x in clamped(c.x - r, c.x + r, mask.width) {
                let ddx = x - c.x, ddy = y - c.y
                if ddx * ddx + ddy * ddy <= r * r + r { mask.pixels[y * mask.width + x] = 1 }
            }
        }
    }

    /// lo...hi cut to 0..<size (empty when they do not meet: the quirk's swapped bounds can put
    /// a vertex beyond a non-square image).
    static func clamped(_ lo: Int, _ hi: Int, _ size: Int) -> Range<Int> {
        let a = max(0, lo), b = min(size, hi + 1)
        return a < b ? a..<b : 0..<0
    }
}
