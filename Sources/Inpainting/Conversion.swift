// Between pixels and network tensors: the DeepFill conventions (spec §1) for the photo
// (x = p/127.5 − 1 in float32, channel order of the weights) and the mask (1 = hole), mirror
// padding to the graph's size step, and back to pixels with rounding half up.
import ImageIO
import Kernels
import Masks

public enum ChannelOrder: String, CaseIterable, Sendable {
    case rgb  // as decoded (the oracle fixtures, PyTorch ports)
    case bgr  // the official TensorFlow checkpoints (OpenCV reads BGR)
}

enum Conversion {
    /// [3, H', W'] in [-1, 1]; gray photos are replicated to three channels; the area beyond the
    /// photo (H' ≥ H, W' ≥ W) is a mirror image of it. Rows are spread over `threads` (it is
    /// serial time before the run otherwise: 7 ms at 512²).
    static func photoTensor(_ image: Image, paddedHeight: Int, paddedWidth: Int, order: ChannelOrder, threads: Int = 1) -> [Float] {
        let h = image.height, w = image.width, cc = image.channels
        let half = image.bitDepth == 16 ? Float(32767.5) : Float(127.5)
        let plane = paddedHeight * paddedWidth
        let sources = (0..<3).map { c in image.colorChannels == 1 ? 0 : (order == .rgb ? c : 2 - c) }
        let columns = (0..<paddedWidth).map { Im2Col.mirror($0, w) * cc }
        return [Float](unsafeUninitializedCapacity: 3 * plane) { out, count in
            let o = out.baseAddress!
            image.samples.withUnsafeBufferPointer { samples in
                Parallel.forEach(pieces: paddedHeight, threads: plane >= 1 << 16 ? threads : 1) { y, _ in
                    let row = samples.baseAddress! + Im2Col.mirror(y, h) * w * cc
                    for c in 0..<3 {
                        let dst = o + c * plane + y * paddedWidth, s = row + sources[c]
                        for x in 0..<paddedWidth { dst[x] = Float(s[columns[x]]) / half - 1 }
                    }
                }
            }
            count = 3 * plane
        }
    }

    /// [1, H', W'] with 1 in the holes; the padding is known (0).
    static func maskTensor(_ mask: Mask, paddedHeight: Int, paddedWidth: Int) -> [Float] {
        var out = [Float](repeating: 0, count: paddedHeight * paddedWidth)
        for y in 0..<mask.height {
            for x in 0..<mask.width where mask.pixels[y * mask.width + x] != 0 { out[y * paddedWidth + x] = 1 }
        }
        return out
    }

    /// Value in [-1, 1] → sample, rounding half up, clamped.
    @inline(__always) static func sample(_ v: Float, maxValue: Int) -> UInt16 {
        let scaled = (Double(v) + 1) * Double(maxValue) / 2
        return UInt16(min(max((scaled + 0.5).rounded(.down), 0), Double(maxValue)))
    }

    /// Writes the fill into the hole pixels of `out` inside `region`; every other sample stays
    /// the input's own, bit for bit. `rgb(x, y)` gives the network's colour at a photo pixel, in
    /// [-1, 1] and RGB order. Gray photos get the mean of the three channels; filled pixels
    /// become opaque, so a hole erased to transparency shows its fill.
    static func composite(into out: inout Image, holes: Mask, region: Box, rgb: (Int, Int) -> (Float, Float, Float)) {
        let cc = out.channels, maxValue = out.maxValue
        for y in region.y..<region.maxY {
            for x in region.x..<region.maxX where holes.pixels[y * holes.width + x] != 0 {
                let base = (y * out.width + x) * cc
                let (r, g, b) = rgb(x, y)
                if out.colorChannels == 1 {
                    out.samples[base] = sample((r + g + b) / 3, maxValue: maxValue)
                } else {
                    out.samples[base] = sample(r, maxValue: maxValue)
                    out.samples[base + 1] = sample(g, maxValue: maxValue)
                    out.samples[base + 2] = sample(b, maxValue: maxValue)
                }
                if out.hasAlpha { out.samples[base + cc - 1] = UInt16(maxValue) }
            }
        }
    }

    /// The colour of a [3, H', W'] network output at (x, y), in RGB order.
    @inline(__always) static func colour(_ t: [Float], _ x: Int, _ y: Int, paddedWidth: Int, plane: Int, order: ChannelOrder) -> (Float, Float, Float) {
        let i = y * paddedWidth + x
        return order == .rgb ? (t[i], t[plane + i], t[2 * plane + i]) : (t[2 * plane + i], t[plane + i], t[i])
    }
}
