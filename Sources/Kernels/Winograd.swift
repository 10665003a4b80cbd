// 3×3 stride-1 convolutions as Winograd F(4×4, 3×3): 36 multiplications per 4×4 output tile and
// input channel instead of 144, i.e. 4× less arithmetic for the layers that make up about two
// thirds of DeepFill's MACs. Weights are transformed once (U = G g Gᵀ, 36 matrices
// [outChannels × inChannels]); per piece of tile rows the input patches are transformed
// (V = Bᵀ d B, C kernels), 36 SGEMMs give M = U·V, and the output transform Y = Aᵀ M A feeds the
// same epilogues as the im2col path (bias, activation, gate). Pieces are fixed tile-row bands,
// so results do not depend on the thread count.
import CKernels

public enum Winograd {
    /// 3×3, stride 1, dilation 1, zeros padding 1 on every side (TF 'SAME' for a 3×3 stride-1 conv).
    public static func applies(_ g: ConvGeometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && g.strideH == 1 && g.strideW == 1 && g.dilationH == 1 && g.dilationW == 1
            && g.padTop == 1 && g.padLeft == 1 && g.outHeight == g.inHeight && g.outWidth == g.inWidth && !g.reflect
            && g.upsample == 1
    }

    /// U[ξ][co][ci] = (G g Gᵀ)[ξ] for OIHW weights, with F(4×4,3×3)'s G (6 × 3).
    public static func transformWeights(_ w: UnsafePointer<Float>, outChannels O: Int, inChannels I: Int) -> [Float] {
        var u = [Float](repeating: 0, count: 36 * O * I)
        let G: [Double] = [1.0 / 4, 0, 0, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
                           1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 24, -1.0 / 12, 1.0 / 6, 0, 0, 1]  // 6 × 3, row-major
        var t = [Double](repeating: 0, count: 18)  // G g, 6 × 3, in double so U is rounded once
        for o in 0..<O {
            for i in 0..<I {
                let g = w + (o * I + i) * 9
                for a in 0..<6 {
                    for c in 0..<3 {
                        t[a * 3 + c] = G[a * 3] * Double(g[c]) + G[a * 3 + 1] * Double(g[3 + c]) + G[a * 3 + 2] * Double(g[6 + c])
                    }
                }
                for a in 0..<6 {
                    for b in 0..<6 {
                        u[((a * 6 + b) * O + o) * I + i] = Float(t[a * 3] * G[b * 3] + t[a * 3 + 1] * G[b * 3 + 1] + t[a * 3 + 2] * G[b * 3 + 2])
                    }
                }
            }
        }
        return u
    }

    /// Tile rows per piece: about 192–383 tiles, so V, M and Y of a piece stay near the cache.
    static func rowsPerPiece(_ g: ConvGeometry) -> Int { max(1, 192 / ((g.outWidth + 3) / 4)) }

    /// Bytes of scratch per `forward` call: V, M and Y of one piece per worker thread.
    public static func scratchBytes(_ g: ConvGeometry, threads: Int) -> Int {
        let tw = (g.outWidth + 3) / 4, th = (g.outHeight + 3) / 4, rows = rowsPerPiece(g)
        let T = rows * tw, pieces = g.batch * ((th + rows - 1) / rows)
        return 4 * max(1, min(threads, pieces)) * (36 * g.inChannels * T + 36 * g.outChannels * T + 16 * g.outChannels * T)
    }

    public static func forward(_ g: ConvGeometry, input: UnsafePointer<Float>, transformedWeight U: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue,
                               scratch: UnsafeMutablePointer<Float>, threads: Int) {
        let H = g.outHeight, W = g.outWidth, Ci = g.inChannels, Co = g.outChannels
        let tw = (W + 3) / 4, th = (H + 3) / 4, rows = rowsPerPiece(g), T = rows * tw
        let bands = (th + rows - 1) / rows, outC = epilogue.outputChannels(g)
        let perWorker = 36 * Ci * T + 36 * Co * T + 16 * Co * T
        Parallel.forEach(pieces: g.batch * bands, threads: max(1, min(threads, g.batch * bands))) { piece, thread in
            let n = piece / bands, row0 = (piece % bands) * rows, r = min(rows, th - row0), t = r * tw
            let V = scratch + thread * perWorker, M = V + 36 * Ci * T, Y = M + 36 * Co * T
            fg_winograd_input(input + n * Ci * H * W, Ci, H, W, row0, r, V, t)
            for xi in 0..<36 {
                GEMM.multiply(m: Co, n: t, k: Ci, a: U + xi * Co * Ci, lda: Ci, b: V + xi * Ci * t, ldb: t, c: M + xi * Co * t, ldc: t)
            }
            fg_winograd_output(M, Co, t, Y)
            // Epilogue on each (channel, position-in-tile) row of Y, in place.
            switch epilogue {
            case .none, .activation:
                var f = ActivationFunction.identity
                if case .activation(let a) = epilogue { f = a }
                for k in 0..<Co { for pos in 0..<16 { let row = Y + (k * 16 + pos) * t; f.apply(row, bias: bias?[k] ?? 0, row, count: t) } }
            case .gate(let f):
                let C = Co / 2
                for k in 0..<C {
                    for pos in 0..<16 {
                        let row = Y + (k * 16 + pos) * t
                        f.gate(feature: row, bias: bias?[k] ?? 0, gate: Y + ((C + k) * 16 + pos) * t, bias: bias?[C + k] ?? 0, row, count: t)
                    }
                }
            }
            // Scatter the 4×4 tiles into the output, cropping at the edges.
            fg_winograd_scatter(Y, outC, t, row0, r, H, W, output + n * outC * H * W)
        }
    }
}
