// Pictures of DeepFill's contextual attention: for every position of the attention grid, the
// offset to the background patch it copies from, coloured like optical flow with the Middlebury
// colour wheel (hue = direction, saturation = length), behaving like the official
// inpaint_ops.py flow_to_image / compute_color / make_color_wheel (the Middlebury flow code of
// Baker et al.), so our images read the same as the official TensorBoard ones.
import Foundation
import ImageIO

public enum AttentionFlow {
    /// Which offset component drives the wheel's horizontal axis.
    public enum Axes: Sendable {
        /// u = dx, v = dy (the Middlebury convention): +x is red, −x cyan, +y (down) orange-yellow,
        /// −y (up) blue-violet.
        case middlebury
        /// u = dy, v = dx, as the official DeepFill code feeds its [row, column] offsets to
        /// flow_to_image; use it to compare with the official TensorBoard images.
        case deepfillOfficial
    }

    /// The 55 Middlebury wheel colours, red → yellow → green → cyan → blue → magenta → red.
    /// Segment lengths follow perceptual distance between the primaries (15, 6, 4, 11, 13, 6).
    public static let colourWheel: [RGB] = {
        var wheel: [RGB] = []
        // Each segment ramps one channel over n steps: floor(255·i/n) for i in 0..<n.
        func ramp(_ n: Int, _ colour: (UInt8) -> RGB, falling: Bool = false) {
            for i in 0..<n {
                let v = UInt8(255 * i / n)
                wheel.append(colour(falling ? 255 - v : v))
            }
        }
        ramp(15) { RGB(255, $0, 0) }                  // red → yellow
        ramp(6, { RGB($0, 255, 0) }, falling: true)   // yellow → green
        ramp(4) { RGB(0, 255, $0) }                   // green → cyan
        ramp(11, { RGB(0, $0, 255) }, falling: true)  // cyan → blue
        ramp(13) { RGB($0, 0, 255) }                  // blue → magenta
        ramp(6, { RGB(255, 0, $0) }, falling: true)   // magenta → red
        return wheel
    }()

    /// The colour of flow (u, v) already divided by the largest length: white at zero, the wheel's
    /// hue at length 1 (interpolated between neighbouring entries), and beyond 1 the hue
    /// darkened to 75%. NaN draws black, as the official code draws unknown flow.
    public static func colour(u: Double, v: Double) -> RGB {
        guard u.isFinite, v.isFinite else { return .black }
        let n = colourWheel.count
        let radius = (u * u + v * v).squareRoot()
        // Angle measured from −u, in [−1, 1]; +u lands on −1 (red). atan2 gives +π rather than
        // −π when v is −0.0, which is the same direction: fold it back so +u is always red.
        var a = atan2(-v, -u) / Double.pi
        if a >= 1 { a = -1 }
        // The official wheel index spans (n − 1) steps over the full turn, then wraps n → 0.
        let fk = (a + 1) / 2 * Double(n - 1)
        let k0 = min(n - 1, max(0, Int(fk.rounded(.down))))
        let k1 = (k0 + 1) % n
        let f = fk - Double(k0)
        func channel(_ c0: UInt8, _ c1: UInt8) -> UInt8 {
            var c = ((1 - f) * Double(c0) + f * Double(c1)) / 255
            c = radius <= 1 ? 1 - radius * (1 - c) : c * 0.75
            return UInt8(max(0, min(255, (255 * c).rounded(.down))))
        }
        let c0 = colourWheel[k0], c1 = colourWheel[k1]
        return RGB(channel(c0.r, c1.r), channel(c0.g, c1.g), channel(c0.b, c1.b))
    }

    /// Per grid position, the offset (dy, dx) from it to its source (argmax / w, argmax % w), or
    /// nil where the index is outside the grid. `argmax.count` must be h·w.
    public static func offsets(argmax: [Int32], height h: Int, width w: Int) -> [(dy: Int, dx: Int)?] {
        precondition(h >= 0 && w >= 0 && argmax.count == h * w, "argmax has \(argmax.count) entries, expected \(h)×\(w)")
        return argmax.indices.map { i in
            let src = Int(argmax[i])
            guard src >= 0 && src < h * w else { return nil }
            return (dy: src / w - i / w, dx: src % w - i % w)
        }
    }

    /// The attention argmax of an h×w grid as an RGB 8-bit flow image.
    ///
    /// - Parameters:
    ///   - argmax: h·w row-major entries, each the row-major index of the chosen background
    ///     patch on the same grid. Indices outside the grid draw black.
    ///   - hole: optional h·w row-major mask, true inside the hole. Only hole positions copy
    ///     from elsewhere, so the rest draws white and the normalisation uses hole positions only.
    ///   - axes: which offset is the wheel's u (see `Axes`).
    ///   - size: the output size; the grid is enlarged (or shrunk) by nearest neighbour, so an
    ///     integer multiple of (w, h) gives exact k×k blocks. nil keeps h×w.
    public static func image(argmax: [Int32], height h: Int, width w: Int, hole: [Bool]? = nil,
                             axes: Axes = .middlebury, size: (width: Int, height: Int)? = nil) -> Image {
        if let hole { precondition(hole.count == h * w, "hole has \(hole.count) entries, expected \(h)×\(w)") }
        let flow = offsets(argmax: argmax, height: h, width: w)
        func shown(_ i: Int) -> Bool { hole?[i] ?? true }
        var maxRadius = 0.0
        for (i, o) in flow.enumerated() where shown(i) {
            if let o { maxRadius = max(maxRadius, Double(o.dx * o.dx + o.dy * o.dy).squareRoot()) }
        }
        let norm = maxRadius > 0 ? maxRadius : 1
        let colours: [RGB] = flow.enumerated().map { i, o in
            guard shown(i) else { return .white }
            guard let o else { return .black }
            let (dx, dy) = (Double(o.dx) / norm, Double(o.dy) / norm)
            return axes == .middlebury ? colour(u: dx, v: dy) : colour(u: dy, v: dx)
        }
        let (W, H) = size ?? (w, h)
        return resized(colours, width: w, height: h, to: max(0, W), max(0, H))
    }

    /// A size×size key to the colours: the pixel at offset (dx, dy) from the centre shows the
    /// colour of a flow pointing that way, with length 1 on the inscribed circle; outside the
    /// circle is white. Use the same `axes` as the flow image it explains.
    public static func wheelLegend(size: Int = 65, axes: Axes = .middlebury) -> Image {
        let s = max(1, size)
        var image = Image(width: s, height: s, channels: 3, bitDepth: 8, fill: 255)
        let c = Double(s - 1) / 2, r = max(c, 0.5)
        for y in 0..<s {
            for x in 0..<s {
                let (dx, dy) = ((Double(x) - c) / r, (Double(y) - c) / r)
                guard dx * dx + dy * dy <= 1 else { continue }
                image.paint(x, y, axes == .middlebury ? colour(u: dx, v: dy) : colour(u: dy, v: dx))
            }
        }
        return image
    }

    /// Nearest-neighbour resampling of a w×h colour grid to W×H (source = floor(dest · w / W)).
    static func resized(_ grid: [RGB], width w: Int, height h: Int, to W: Int, _ H: Int) -> Image {
        var image = Image(width: W, height: H, channels: 3, bitDepth: 8, fill: 255)
        guard w > 0, h > 0 else { return image }
        for y in 0..<H {
            let sy = y * h / H
            for x in 0..<W {
                let c = grid[sy * w + x * w / W]
                let base = (y * W + x) * 3
                image.samples[base] = UInt16(c.r)
                image.samples[base + 1] = UInt16(c.g)
                image.samples[base + 2] = UInt16(c.b)
            }
        }
        return image
    }
}
