// Between PNG pixels and network tensors: the DeepFill conventions (spec §1) for the photo
// (x = p/127.5 − 1 in float32, channel order of the weights) and the mask (hole where a colour
// sample is above half scale: > 127 for 8-bit), mirror padding to the graph's size step, and
// back to pixels with rounding half up.
import ImageIO
import Kernels

public enum ChannelOrder: String, CaseIterable, Sendable {
    case rgb  // as decoded (the oracle fixtures, PyTorch ports)
    case bgr  // the official TensorFlow checkpoints (OpenCV reads BGR)
}

enum Conversion {
    /// [3, H', W'] in [-1, 1]; gray photos are replicated to three channels; the area beyond the
    /// photo (H' ≥ H, W' ≥ W) is a mirror image of it.
    static func photoTensor(_ image: Image, paddedHeight: Int, paddedWidth: Int, order: ChannelOrder) -> [Float] {
        let h = image.height, w = image.width, cc = image.channels
        let half = image.bitDepth == 16 ? Float(32767.5) : Float(127.5)
        let plane = paddedHeight * paddedWidth
        var out = [Float](repeating: 0, count: 3 * plane)
        for y in 0..<paddedHeight {
            let sy = Im2Col.mirror(y, h)
            for x in 0..<paddedWidth {
                let base = (sy * w + Im2Col.mirror(x, w)) * cc
                for c in 0..<3 {
                    let source = image.colorChannels == 1 ? 0 : (order == .rgb ? c : 2 - c)
                    out[c * plane + y * paddedWidth + x] = Float(image.samples[base + source]) / half - 1
                }
            }
        }
        return out
    }

    /// Hole = 1 where any colour sample is above half scale; padding is known (0).
    static func maskTensor(_ image: Image, paddedHeight: Int, paddedWidth: Int) -> (values: [Float], holes: Int) {
        let threshold = UInt16(image.maxValue / 2)  // 127 or 32767: hole if above
        var out = [Float](repeating: 0, count: paddedHeight * paddedWidth)
        var holes = 0
        for y in 0..<image.height {
            for x in 0..<image.width {
                let base = (y * image.width + x) * image.channels
                if (0..<image.colorChannels).contains(where: { image.samples[base + $0] > threshold }) {
                    out[y * paddedWidth + x] = 1
                    holes += 1
                }
            }
        }
        return (out, holes)
    }

    /// Value in [-1, 1] → sample, rounding half up, clamped.
    @inline(__always) static func sample(_ v: Float, maxValue: Int) -> UInt16 {
        let scaled = (Double(v) + 1) * Double(maxValue) / 2
        return UInt16(min(max((scaled + 0.5).rounded(.down), 0), Double(maxValue)))
    }

    /// The output photo: known pixels copied bit for bit from the input (alpha included), holes
    /// from the network's [3, H', W'] result; gray photos get the mean of the three channels.
    static func composite(photo: Image, mask: [Float], paddedWidth: Int, result: [Float], paddedHeight: Int,
                          order: ChannelOrder) -> Image {
        var out = photo
        let plane = paddedHeight * paddedWidth
        for y in 0..<photo.height {
            for x in 0..<photo.width where mask[y * paddedWidth + x] != 0 {
                let i = y * paddedWidth + x, base = (y * photo.width + x) * photo.channels
                let rgb = (0..<3).map { result[(order == .rgb ? $0 : 2 - $0) * plane + i] }
                if photo.colorChannels == 1 {
                    out.samples[base] = sample((rgb[0] + rgb[1] + rgb[2]) / 3, maxValue: photo.maxValue)
                } else {
                    for c in 0..<3 { out.samples[base + c] = sample(rgb[c], maxValue: photo.maxValue) }
                }
            }
        }
        return out
    }
}
