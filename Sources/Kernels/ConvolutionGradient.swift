// Gradients of the im2col convolution (Convolution.swift), in the same matrix form:
//   data:   dx = col2im(Wᵀ · dy)            per image, tile by tile (the forward's tiles)
//   weight: dW = Σ_tiles dy_tile · colᵀ      in a fixed number of groups, summed in order
//   bias:   db = Σ_{n, pixels} dy           in double
// Every reduction runs in an order fixed by the problem, never by the thread count, so the
// gradients are bit-identical for any number of threads. Zero padding only (the training graphs
// have no reflect padding and read no folded upsample).

public enum ConvolutionGradient {
    /// Groups the weight gradient's tiles are summed in: enough for 8 threads, few enough that
    /// the partial sums (8 × M × K floats) stay small.
    public static let weightGroups = 8

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
                                      c: col, ldc: width, threads: threads)
                Parallel.forEach(pieces: g.inChannels, threads: threads) { c, _ in
                    Im2Col.accumulate(g, col: col, channels: c..<c + 1, firstPixel: p0, width: width, into: dxi)
                }
            }
        }
    }

    /// dW [M, Cin·kh·kw] = Σ over images and pixels of dy · im2col(x)ᵀ; db [M] = Σ dy (if given).
    public static func weight(_ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                              weightGradient dw: UnsafeMutablePointer<Float>, biasGradient db: UnsafeMutablePointer<Float>?,
                              threads: Int) {
        precondition(!g.reflect && g.upsample == 1, "convolution gradients need zero padding and no folded upsample")
        let K = g.columnRows, P = g.outPixels, T = g.tilePixels, M = g.outChannels
        let tiles = (P + T - 1) / max(T, 1), pieces = g.batch * tiles
        let groups = max(1, min(weightGroups, pieces))
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: groups * M * K)
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: groups * K * T)
        defer { partial.deallocate(); cols.deallocate() }
        Parallel.forEach(pieces: groups, threads: threads) { group, _ in
            let sum = partial + group * M * K, col = cols + group * K * T
            sum.update(repeating: 0, count: M * K)
            for piece in stride(from: group, to: pieces, by: groups) {
                let n = piece / tiles, p0 = (piece % tiles) * T, width = min(T, P - p0)
                Im2Col.expand(g, image: x + n * g.inChannels * g.storedInputPlane, firstPixel: p0, width: width, into: col)
                // sum[M × K] += dy[M × width] · col[K × width]ᵀ
                GEMM.multiply(m: M, n: K, k: width, a: dy + n * M * P + p0, lda: P, b: col, ldb: width, transB: true,
                              c: sum, ldc: K, accumulate: true)
            }
        }
        dw.update(from: partial, count: M * K)
        for group in 1..<groups {
            let s = partial + group * M * K
            for i in 0..<M * K { dw[i] += s[i] }
        }
        if let db {
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
