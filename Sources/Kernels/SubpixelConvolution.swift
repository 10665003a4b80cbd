// A 3×3 convolution of a nearest-×2-upsampled input (DeepFill's "deconv", after upsample
// folding) computed as four 2×2 convolutions of the input itself, one per output phase.
// Output pixel (2i+py, 2j+px) reads upsampled rows 2i+py−1 … 2i+py+1, which are input rows
// {i−1, i, i} for py = 0 and {i, i, i+1} for py = 1: two distinct rows, whose kernel rows are
// summed (likewise for columns). So each phase is a 2×2 convolution of the H×W input with summed
// weights — 4 instead of 9 multiply-adds per output and input channel (2.25× fewer), an im2col
// of a quarter the size, and the same zero padding (upsampled row −1 is input row −1). Only the
// rounding of the weight sums differs from the 3×3 form (they are summed in double, rounded once).
// Pieces are (image, phase, tile), fixed by the problem, so results do not depend on threads.

public enum SubpixelConvolution {
    /// A folded ×2 upsample feeding a 3×3, stride-1, undilated conv with zero padding 1 that keeps the size.
    public static func applies(_ g: ConvGeometry) -> Bool {
        g.upsample == 2 && g.kernelH == 3 && g.kernelW == 3 && g.strideH == 1 && g.strideW == 1 && g.dilationH == 1
            && g.dilationW == 1 && g.padTop == 1 && g.padLeft == 1 && !g.reflect
            && g.outHeight == g.inHeight && g.outWidth == g.inWidth && g.inHeight % 2 == 0 && g.inWidth % 2 == 0
    }

    /// Which 3×3 kernel taps fold into each of a phase's two taps, per phase (0: rows {0}, {1, 2}; 1: {0, 1}, {2}).
    static let taps: [[[Int]]] = [[[0], [1, 2]], [[0, 1], [2]]]

    /// Phase weights: for phase (py, px) = index 2·py + px, an OIHW [O × I × 2 × 2] block.
    public static func transformWeights(_ w: UnsafePointer<Float>, outChannels O: Int, inChannels I: Int, threads: Int = 1) -> [Float] {
        var out = [Float](repeating: 0, count: 4 * O * I * 4)
        out.withUnsafeMutableBufferPointer { out in Parallel.forEach(pieces: O, threads: threads) { o, _ in
        for py in 0..<2 {
            for px in 0..<2 {
                let base = (py * 2 + px) * O * I * 4
                do {
                    for i in 0..<I {
                        let g = w + (o * I + i) * 9
                        for a in 0..<2 {
                            for b in 0..<2 {
                                var s = 0.0
                                for ky in taps[py][a] { for kx in taps[px][b] { s += Double(g[ky * 3 + kx]) } }
                                out[base + ((o * I + i) * 2 + a) * 2 + b] = Float(s)
                            }
                        }
                    }
                }
            }
        }
        } }
        return out
    }

    /// The 2×2 convolution of phase (py, px) over the stored (half-size) input. Padding 1 − py
    /// on the whole tensor; a window (ConvGeometry.windowed, even origins) shifts it by half
    /// the upsampled shift.
    static func phaseGeometry(_ g: ConvGeometry, py: Int, px: Int) -> ConvGeometry {
        var p = ConvGeometry(batch: g.batch, inChannels: g.inChannels, inHeight: g.inHeight / 2, inWidth: g.inWidth / 2,
                             outChannels: g.outChannels, kernel: (2, 2),
                             padding: ((g.padTop - 1) / 2 + 1 - py, 0, (g.padLeft - 1) / 2 + 1 - px, 0))
        p.outHeight = g.outHeight / 2
        p.outWidth = g.outWidth / 2
        return p
    }

    /// Bytes of scratch per `forward` call: a column tile and the staged GEMM result per worker.
    public static func scratchBytes(_ g: ConvGeometry, threads: Int) -> Int {
        let p = phaseGeometry(g, py: 0, px: 0), T = p.tilePixels
        let pieces = g.batch * 4 * ((p.outPixels + T - 1) / T)
        return 4 * max(1, min(threads, pieces)) * (p.columnRows + g.outChannels) * T
    }

    public static func forward(_ g: ConvGeometry, input: UnsafePointer<Float>, phaseWeights: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue,
                               scratch: UnsafeMutablePointer<Float>, threads: Int) {
        let geometries = (0..<4).map { phaseGeometry(g, py: $0 / 2, px: $0 % 2) }
        let p0g = geometries[0], K = p0g.columnRows, T = p0g.tilePixels, M = g.outChannels
        let P = p0g.outPixels, lowW = p0g.outWidth, OW = g.outWidth, OP = g.outPixels
        let tiles = (P + T - 1) / T, outC = epilogue.outputChannels(g)
        let pieces = g.batch * 4 * tiles
        Parallel.forEach(pieces: pieces, threads: max(1, min(threads, pieces))) { piece, thread in
            let n = piece / (4 * tiles), phase = (piece / tiles) % 4, first = (piece % tiles) * T, width = min(T, P - first)
            let pg = geometries[phase], py = phase / 2, px = phase % 2
            let col = scratch + thread * (K + M) * T, staged = col + K * T
            Im2Col.expand(pg, image: input + n * g.inChannels * g.storedInputPlane, firstPixel: first, width: width, into: col)
            GEMM.multiply(m: M, n: width, k: K, a: phaseWeights + phase * M * K, lda: K, b: col, ldb: width, c: staged, ldc: width)
            epilogue.apply(staged, ld: width, channels: M, bias: bias, into: staged, ldOut: width, count: width)
            // Scatter: low-resolution pixel q goes to output pixel (2·qy + py, 2·qx + px).
            let out = output + n * outC * OP
            for co in 0..<outC {
                let src = staged + co * width, dst = out + co * OP
                var j = 0
                while j < width {
                    let q = first + j, qy = q / lowW, qx0 = q % lowW, run = min(lowW - qx0, width - j)
                    let row = dst + (2 * qy + py) * OW + 2 * qx0 + px
                    for t in 0..<run { row[2 * t] = src[j + t] }
                    j += run
                }
            }
        }
    }
}
