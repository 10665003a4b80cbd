// Data movement: nearest resize (TF1 rules), concat and slice along an axis, flatten.
// These work on raw 32-bit elements, so float32 and int32 tensors share them.
import Foundation

public enum Layout {
    /// Source index of each destination index for a nearest resize of `input` → `output`
    /// samples. With align_corners (TF1 legacy kernel): scale = (in−1)/(out−1) in float32 and
    /// src = min(roundf(dst·scale), in−1), rounding half away from zero. Without: scale =
    /// in/out and src = min(floorf(dst·scale), in−1).
    public static func nearestIndices(input: Int, output: Int, alignCorners: Bool) -> [Int] {
        let scale: Float = alignCorners && output > 1 ? Float(input - 1) / Float(output - 1) : Float(input) / Float(output)
        return (0..<output).map { d in
            let s = alignCorners ? (Float(d) * scale).rounded(.toNearestOrAwayFromZero) : (Float(d) * scale).rounded(.down)
            return min(Int(s), input - 1)
        }
    }

    /// NCHW nearest resize; `planes` = N·C.
    public static func resizeNearest(_ x: UnsafePointer<UInt32>, _ y: UnsafeMutablePointer<UInt32>, planes: Int,
                                      inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int, alignCorners: Bool, threads: Int) {
        let rows = nearestIndices(input: inHeight, output: outHeight, alignCorners: alignCorners)
        let cols = nearestIndices(input: inWidth, output: outWidth, alignCorners: alignCorners)
        Parallel.forEach(pieces: planes, threads: planes * outHeight * outWidth > 1 << 16 ? threads : 1) { p, _ in
            let src = x + p * inHeight * inWidth, dst = y + p * outHeight * outWidth
            for oy in 0..<outHeight {
                let s = src + rows[oy] * inWidth, d = dst + oy * outWidth
                for ox in 0..<outWidth { d[ox] = s[cols[ox]] }
            }
        }
    }

    /// Concatenation of 4-D tensors along `axis`; `shapes` are the inputs' shapes. Large
    /// outputs are copied in fixed chunks (Pointwise.chunked) spread over threads.
    public static func concat(_ inputs: [UnsafePointer<UInt32>], shapes: [[Int]], axis: Int, _ out: UnsafeMutablePointer<UInt32>, threads: Int) {
        let outer = shapes[0][..<axis].reduce(1, *)
        let inner = shapes[0][(axis + 1)...].reduce(1, *)
        let blocks = shapes.map { $0[axis] * inner }
        let row = blocks.reduce(0, +)
        // Each piece of an output row copies from the input blocks it overlaps.
        Pointwise.chunkedRows(outer, length: row, threads: threads) { o, at, count, i in
            var offset = 0
            for (x, block) in zip(inputs, blocks) {
                let lo = max(at, offset), hi = min(at + count, offset + block)
                if lo < hi { (out + i + lo - at).update(from: x + o * block + lo - offset, count: hi - lo) }
                offset += block
            }
        }
    }

    /// out = x[..., start..<end, ...] along `axis`, in fixed chunks over threads when large.
    public static func slice(_ x: UnsafePointer<UInt32>, shape: [Int], axis: Int, start: Int, end: Int, _ out: UnsafeMutablePointer<UInt32>,
                             threads: Int) {
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let block = (end - start) * inner, full = shape[axis] * inner
        Pointwise.chunkedRows(outer, length: block, threads: threads) { o, at, count, i in
            (out + i).update(from: x + o * full + start * inner + at, count: count)
        }
    }

    /// [N, C, H, W] → [N, H·W·C] in (row, column, channel) order; chw order is a plain copy.
    public static func flattenHWC(_ x: UnsafePointer<UInt32>, _ out: UnsafeMutablePointer<UInt32>, batch: Int, channels: Int, pixels: Int) {
        for n in 0..<batch {
            let src = x + n * channels * pixels, dst = out + n * channels * pixels
            for p in 0..<pixels { for c in 0..<channels { dst[p * channels + c] = src[c * pixels + p] } }
        }
    }
}
