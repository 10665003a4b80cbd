// Where the holes are: from a mask picture (white = hole, the official convention), or from a
// photo's own alpha channel (an object erased to transparency). Both give a `Mask` of the
// photo's size; everything downstream works on that.
import ImageIO
import Masks

public enum Holes {
    /// Hole where any colour sample is above half scale (> 127 for 8-bit); alpha is ignored.
    public static func fromMaskImage(_ image: Image) -> Mask {
        let threshold = UInt16(image.maxValue / 2)
        var mask = Mask(width: image.width, height: image.height)
        let cc = image.colorChannels, stride = image.channels
        image.samples.withUnsafeBufferPointer { s in
            for p in 0..<image.width * image.height where (0..<cc).contains(where: { s[p * stride + $0] > threshold }) {
                mask.pixels[p] = 1
            }
        }
        return mask
    }

    /// Hole where the alpha is below half scale (transparent); nil for an image without alpha.
    public static func fromAlpha(_ image: Image) -> Mask? {
        guard image.hasAlpha else { return nil }
        let threshold = UInt16(image.maxValue / 2), stride = image.channels
        var mask = Mask(width: image.width, height: image.height)
        for p in 0..<image.width * image.height where image.samples[p * stride + stride - 1] <= threshold { mask.pixels[p] = 1 }
        return mask
    }

    /// For a mask picture that marks nothing in colour: how many pixels its alpha would mark as
    /// opaque strokes on a transparent background, so the error can say where the hole went.
    public static func alphaStrokes(_ image: Image) -> Int {
        guard image.hasAlpha else { return 0 }
        let threshold = UInt16(image.maxValue / 2), stride = image.channels
        var opaque = 0
        for p in 0..<image.width * image.height where image.samples[p * stride + stride - 1] > threshold { opaque += 1 }
        return opaque == image.width * image.height ? 0 : opaque
    }

    public static func count(_ mask: Mask) -> Int { mask.pixels.reduce(0) { $0 + Int($1) } }
}

/// A rectangle of pixels: columns x..<x+width, rows y..<y+height.
public struct Box: Equatable, Sendable, CustomStringConvertible {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)x\(height) at (\(x), \(y))" }
    var maxX: Int { x + width }
    var maxY: Int { y + height }

    func union(_ o: Box) -> Box {
        let x0 = min(x, o.x), y0 = min(y, o.y)
        return Box(x: x0, y: y0, width: max(maxX, o.maxX) - x0, height: max(maxY, o.maxY) - y0)
    }

    func intersects(_ o: Box) -> Bool { x < o.maxX && o.x < maxX && y < o.maxY && o.y < maxY }

    func expanded(by margin: Int, within w: Int, _ h: Int) -> Box {
        let x0 = max(0, x - margin), y0 = max(0, y - margin)
        return Box(x: x0, y: y0, width: min(w, maxX + margin) - x0, height: min(h, maxY + margin) - y0)
    }
}
