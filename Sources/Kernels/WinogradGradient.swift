// The weight gradient of a Winograd F(4×4,3×3) convolution, in the Winograd domain. The forward
// is Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per tile, so by linearity
//   dg = Gᵀ [ Σ_tiles (A dY Aᵀ) ⊙ (Bᵀ d B) ] G,
// i.e. 36 GEMMs dU[ξ] += dM[ξ] · V[ξ]ᵀ ([Co × tiles]·[tiles × Ci]) over the forward's tiles —
// a quarter of im2col's multiply-adds, as in the forward. Dilated convolutions work by phases,
// as the forward does. Pieces are transformed in parallel in fixed chunks; each ξ is summed by
// one thread over the pieces in order, so the result does not depend on the thread count.
import CKernels

extension Winograd {
    /// Pieces transformed at once (their V and dM held together).
    static let gradientChunk = 8

    /// dw [Co, Ci, 3, 3] (overwritten) from the input x and the output gradient dy.
    public static func weightGradient(_ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                      weightGradient dw: UnsafeMutablePointer<Float>, threads: Int) {
        precondition(applies(g))
        let H = g.outHeight, W = g.outWidth, Ci = g.inChannels, Co = g.outChannels, d = g.dilationH
        let tiling = Tiling(g), bands = tiling.pieces.count, total = g.batch * bands
        let perPiece = 36 * (Ci + Co) * tiling.largest
        let chunk = min(gradientChunk, total)
        let buffers = UnsafeMutablePointer<Float>.allocate(capacity: chunk * perPiece)
        let dU = UnsafeMutablePointer<Float>.allocate(capacity: 36 * Co * Ci)
        defer { buffers.deallocate(); dU.deallocate() }
        dU.update(repeating: 0, count: 36 * Co * Ci)
        tiling.rows.withUnsafeBufferPointer { rows in
            for first in stride(from: 0, to: total, by: chunk) {
                let count = min(chunk, total - first)
                Parallel.forEach(pieces: count, threads: threads) { i, _ in
                    let piece = first + i, n = piece / bands, band = tiling.pieces[piece % bands], t = band.tiles
                    let V = buffers + i * perPiece, dM = V + 36 * Ci * t
                    let myRows = rows.baseAddress! + 3 * band.first
                    fg_winograd_input(x + n * Ci * H * W, Ci, H, W, d, myRows, band.count, V, t)
                    fg_winograd_output_adjoint(dy + n * Co * H * W, Co, H, W, d, myRows, band.count, dM, t)
                }
                Parallel.forEach(pieces: 36, threads: threads) { xi, _ in
                    for i in 0..<count {
                        let t = tiling.pieces[(first + i) % bands].tiles
                        let V = buffers + i * perPiece, dM = V + 36 * Ci * t
                        GEMM.blas(m: Co, n: Ci, k: t, a: dM + xi * Co * t, lda: t, b: V + xi * Ci * t, ldb: t, transB: true,
                                      c: dU + xi * Co * Ci, ldc: Ci, accumulate: true)
                    }
                }
            }
        }
        // dg = Gᵀ dU G, in double.
        let G: [Double] = [1.0 / 4, 0, 0, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
                           1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 24, -1.0 / 12, 1.0 / 6, 0, 0, 1]
        Parallel.forEach(pieces: Co, threads: threads) { o, _ in
            for i in 0..<Ci {
                var t = [Double](repeating: 0, count: 18)  // (Gᵀ dU)[r][b], 3 × 6
                for a in 0..<6 {
                    for b in 0..<6 {
                        let u = Double(dU[((a * 6 + b) * Co + o) * Ci + i])
                        for r in 0..<3 { t[r * 6 + b] += G[a * 3 + r] * u }
                    }
                }
                for r in 0..<3 {
                    for c in 0..<3 {
                        var s = 0.0
                        for b in 0..<6 { s += t[r * 6 + b] * G[b * 3 + c] }
                        dw[(o * Ci + i) * 9 + r * 3 + c] = Float(s)
                    }
                }
            }
        }
    }
}
