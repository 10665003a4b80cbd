// The drawing primitives every plot shares: a colour type and pixel, rectangle and line painting
// on ImageIO's `Image`. Painting is forgiving on purpose: pixels outside the image (or outside a
// clip rectangle) are dropped, so callers never have to bounds-check what they draw.
import ImageIO

/// An 8-bit RGB colour. Painted into 16-bit images as value × 257 and into gray images as luma.
public struct RGB: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)
    public static let gray = RGB(128, 128, 128)
    public static let lightGray = RGB(225, 225, 225)

    /// Distinct line colours (matplotlib's "tab10" order), for series that do not pick their own.
    public static let palette: [RGB] = [
        RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44), RGB(214, 39, 40), RGB(148, 103, 189),
        RGB(140, 86, 75), RGB(227, 119, 194), RGB(127, 127, 127), RGB(188, 189, 34), RGB(23, 190, 207),
    ]

    public var description: String { "(\(r), \(g), \(b))" }
}

/// A pixel rectangle, both ends inclusive; drawing clips to it.
struct PixelRect: Equatable {
    var left: Int, top: Int, right: Int, bottom: Int
    var isEmpty: Bool { right < left || bottom < top }
    func contains(_ x: Int, _ y: Int) -> Bool { x >= left && x <= right && y >= top && y <= bottom }
}

extension Image {
    /// The colour of pixel (x, y) as 8-bit RGB (gray repeated; 16-bit keeps the high byte).
    /// Traps outside the image, like the subscript.
    public func rgb(x: Int, y: Int) -> RGB {
        let shift = bitDepth == 16 ? 8 : 0
        let c = colorChannels >= 3 ? [0, 1, 2] : [0, 0, 0]
        return RGB(UInt8(truncatingIfNeeded: self[x, y, c[0]] >> shift), UInt8(truncatingIfNeeded: self[x, y, c[1]] >> shift),
                   UInt8(truncatingIfNeeded: self[x, y, c[2]] >> shift))
    }

    /// Paints one pixel; silently ignores positions outside the image or `clip`.
    mutating func paint(_ x: Int, _ y: Int, _ colour: RGB, clip: PixelRect? = nil) {
        guard x >= 0, x < width, y >= 0, y < height, channels > 0 else { return }
        if let clip, !clip.contains(x, y) { return }
        let base = (y * width + x) * channels
        guard base + channels <= samples.count else { return }
        let unit: UInt16 = bitDepth == 16 ? 257 : 1
        if colorChannels >= 3 {
            samples[base] = UInt16(colour.r) * unit
            samples[base + 1] = UInt16(colour.g) * unit
            samples[base + 2] = UInt16(colour.b) * unit
        } else {
            // Rec. 601 luma, integer weights summing to 1000.
            let luma = (299 * Int(colour.r) + 587 * Int(colour.g) + 114 * Int(colour.b) + 500) / 1000
            samples[base] = UInt16(luma) * unit
        }
        if hasAlpha { samples[base + channels - 1] = UInt16(maxValue) }
    }

    /// Fills the inclusive rectangle [x0, x1] × [y0, y1].
    mutating func fill(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ colour: RGB) {
        let xs = max(0, min(x0, x1)), xe = min(width - 1, max(x0, x1))
        let ys = max(0, min(y0, y1)), ye = min(height - 1, max(y0, y1))
        guard xs <= xe, ys <= ye else { return }
        for y in ys...ye { for x in xs...xe { paint(x, y, colour) } }
    }

    /// A one-pixel rectangle outline.
    mutating func frame(_ r: PixelRect, _ colour: RGB) {
        fill(r.left, r.top, r.right, r.top, colour)
        fill(r.left, r.bottom, r.right, r.bottom, colour)
        fill(r.left, r.top, r.left, r.bottom, colour)
        fill(r.right, r.top, r.right, r.bottom, colour)
    }

    /// A Bresenham line between pixel centres given in continuous coordinates, clipped to `clip`
    /// first (Liang–Barsky) so that far-away or huge coordinates never reach integer conversion.
    /// `thick` adds a second pixel beside each one (below for flat lines, right for steep ones).
    mutating func line(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double, _ colour: RGB, clip: PixelRect, thick: Bool = true) {
        guard !clip.isEmpty, let (p, q) = clipSegment(ax, ay, bx, by, to: clip) else { return }
        var x0 = Int(p.x.rounded()), y0 = Int(p.y.rounded())
        let x1 = Int(q.x.rounded()), y1 = Int(q.y.rounded())
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        let steep = -dy > dx
        var err = dx + dy
        while true {
            paint(x0, y0, colour, clip: clip)
            if thick { steep ? paint(x0 + 1, y0, colour, clip: clip) : paint(x0, y0 + 1, colour, clip: clip) }
            if x0 == x1 && y0 == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x0 += sx }
            if e2 <= dx { err += dx; y0 += sy }
        }
    }

    /// A filled (2r+1)-pixel square dot, for points with no neighbour to join.
    mutating func dot(_ x: Double, _ y: Double, radius r: Int, _ colour: RGB, clip: PixelRect) {
        guard x.isFinite, y.isFinite, x >= Double(clip.left - r), x <= Double(clip.right + r),
              y >= Double(clip.top - r), y <= Double(clip.bottom + r) else { return }
        let cx = Int(x.rounded()), cy = Int(y.rounded())
        for yy in (cy - r)...(cy + r) { for xx in (cx - r)...(cx + r) { paint(xx, yy, colour, clip: clip) } }
    }
}

/// Liang–Barsky: the part of segment a→b inside `r` (as continuous coordinates), or nil.
func clipSegment(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double,
                 to r: PixelRect) -> ((x: Double, y: Double), (x: Double, y: Double))? {
    guard ax.isFinite, ay.isFinite, bx.isFinite, by.isFinite else { return nil }
    // Halve before subtracting so ±1e308 endpoints cannot overflow to infinity.
    let dx = bx / 2 - ax / 2, dy = by / 2 - ay / 2
    var t0 = 0.0, t1 = 1.0
    let edges: [(Double, Double)] = [(-dx, ax / 2 - Double(r.left) / 2), (dx, Double(r.right) / 2 - ax / 2),
                                     (-dy, ay / 2 - Double(r.top) / 2), (dy, Double(r.bottom) / 2 - ay / 2)]
    for (p, q) in edges {
        if p == 0 {
            if q < 0 { return nil }
        } else {
            let t = q / p
            if p < 0 { if t > t1 { return nil }; t0 = max(t0, t) } else { if t < t0 { return nil }; t1 = min(t1, t) }
        }
    }
    let a = (x: ax + 2 * t0 * dx, y: ay + 2 * t0 * dy)
    let b = (x: ax + 2 * t1 * dx, y: ay + 2 * t1 * dy)
    // Rounding error must not push an endpoint outside the rectangle.
    func pin(_ p: (x: Double, y: Double)) -> (x: Double, y: Double) {
        (min(max(p.x, Double(r.left)), Double(r.right)), min(max(p.y, Double(r.top)), Double(r.bottom)))
    }
    return (pin(a), pin(b))
}
