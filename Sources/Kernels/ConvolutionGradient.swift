// Gradients of the im2col convolution (Convolution.swift), in the same matrix form:
//   data:   dx = col2im(Wᵀ · dy)            per image, tile by tile (the forward's tiles)
//   weight: dW = Σ_tiles dy_tile · colᵀ      tiles in order, each GEMM split over fixed column blocks
//   bias:   db = Σ_{n, pixels} dy           in double
// Every reduction runs in an order fixed by the problem, never by the thread count, so the
// gradients are bit-identical for any number of threads. Zero padding only (the training graphs
// have no reflect padding); the weight gradient may read its input through a folded ×2 upsample.

public enum ConvolutionGradient {
    /// dx [N, Cin, H, W] = the adjoint of the convolution applied to dy [N, M, OH, OW].
    public static func data(_ g: ConvGeometry, outputGradient dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                            inputGradient dx: UnsafeMutablePointer<Float>, threads: Int) {
        precondition(!g.reflect && g.upsample == 1, "convolution gradients need zero padding and no folded upsample")
        let K = g.columnRows, P = g.outPixels, T = g.tilePixels, M = g.outChannels
        let plane = g.inHeight * g.inWidth
        dx.update(repeating: 0, count: g.batch * g.inChannels * plane)
        guard P > 0, M > 0 else { return }
        let col = UnsafeMutablePointer<Float>.allocate(capacity: K * T)
        defer { col.deallocate() }
        for n in 0..<g.batch {
            let dyi = dy + n * M * P, dxi = dx + n * g.inChannels * plane
            for p0 in stride(from: 0, to: P, by: T) {
                let width = min(T, P - p0)
                // col[K × width] = Wᵀ[K × M] · dy[M × width]
                GEMM.multiplyParallel(m: K, n: width, k: M, a: weight, lda: K, transA: true, b: dyi + p0, ldb: P,
                                      c: col, ldc: width, threads: threads, useBLAS: true)
                Parallel.forEach(pieces: g.inChannels, threads: threads) { c, _ in
                    Im2Col.accumulate(g, col: col, channels: c..<c + 1, firstPixel: p0, width: width, into: dxi)
                }
            }
        }
    }

    /// Output pixels per weight-gradient tile: long enough that each GEMM's inner dimension
    /// amortises reading and writing the M × K result (a column buffer of about 8 MiB).
    static func weightTilePixels(_ g: ConvGeometry) -> Int {
        min(g.outPixels, max(256, ((2 << 20) / max(g.columnRows, 1)) / 16 * 16))
    }

    /// dW [M, Cin·kh·kw] = Σ over images and pixels of dy · im2col(x)ᵀ; db [M] = Σ dy (if given).
    /// Tiles are taken in order and each tile's GEMM is split over fixed column blocks of dW,
    /// so every element is accumulated in the same order for any thread count.
    public static func weight(_ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                              weightGradient dw: UnsafeMutablePointer<Float>, biasGradient db: UnsafeMutablePointer<Float>?,
                              threads: Int) {
        precondition(!g.reflect, "convolution gradients need zero padding")  // a folded upsample is read by im2col
        let K = g.columnRows, P = g.outPixels, M = g.outChannels, T = weightTilePixels(g)
        dw.update(repeating: 0, count: M * K)
        let col = UnsafeMutablePointer<Float>.allocate(capacity: max(1, K * T))
        defer { col.deallocate() }
        for n in 0..<g.batch {
            for p0 in stride(from: 0, to: P, by: T) {
                let width = min(T, P - p0)
                Im2Col.expand(g, image: x + n * g.inChannels * g.storedInputPlane, runs: [(p0, width, 0)], into: col, ld: width, threads: threads)
                // dw[M × K] += dy[M × width] · col[K × width]ᵀ
                GEMM.multiplyParallel(m: M, n: K, k: width, a: dy + n * M * P + p0, lda: P, b: col, ldb: width, transB: true,
                                      c: dw, ldc: K, accumulate: true, threads: threads, pieces: 8, useBLAS: true)
            }
        }
        if let db { bias(g, outputGradient: dy, biasGradient: db, threads: threads) }
    }

    /// db [M] = Σ over images and pixels of dy, in double.
    public static func bias(_ g: ConvGeometry, outputGradient dy: UnsafePointer<Float>, biasGradient db: UnsafeMutablePointer<Float>,
                            threads: Int) {
        let P = g.outPixels, M = g.outChannels
        do {
            Parallel.forEach(pieces: M, threads: threads) { m, _ in
                var acc = 0.0
                for n in 0..<g.batch {
                    let row = dy + (n * M + m) * P
                    for p in 0..<P { acc += Double(row[p]) }
                }
                db[m] = Float(acc)
            }
        }
    }
}
