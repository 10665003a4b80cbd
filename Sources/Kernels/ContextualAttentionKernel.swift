// Contextual attention, following the official inpaint_ops.contextual_attention step by step
// (spec §3.1) but in matrix form: patch extraction is im2col, matching and pasting are GEMMs.
//   raw    = im2col(b, 2·rate × 2·rate, stride rate·stride, SAME)      [C·(2r)², L]
//   w      = im2col(b↓, ksize, stride, SAME), columns L2-normalised      [C·k², L]
//   scores = wᵀ · im2col(f↓, ksize, 1, SAME)                             [L, P]
//   fuse   = identity-kernel sums along diagonals, on row-major then on column-major
//            flattenings of both grids (wrap-around at row ends included, as the original)
//   attn   = softmax over L of scale·(scores·mm), then ·mm                [L, P]
//   y      = col2im(raw · attn, stride rate, SAME) / 4
// The mask validity mm uses batch element 0 only, as the official op does.
import Foundation

public struct AttentionParameters: Sendable, Equatable {
    public var ksize: Int
    public var stride: Int
    public var rate: Int
    public var fuseK: Int
    public var softmaxScale: Float
    public var fuse: Bool
    /// Downscale rule: TF1 align-corners nearest (official) or floor (PyTorch nearest).
    public var alignCorners: Bool

    public init(ksize: Int = 3, stride: Int = 1, rate: Int = 2, fuseK: Int = 3, softmaxScale: Float = 10, fuse: Bool = true,
                alignCorners: Bool = true) {
        self.ksize = ksize
        self.stride = stride
        self.rate = rate
        self.fuseK = fuseK
        self.softmaxScale = softmaxScale
        self.fuse = fuse
        self.alignCorners = alignCorners
    }
}

public enum ContextualAttentionKernel {
    /// TF 'SAME' geometry of a patch extraction with the given kernel and stride.
    static func patches(channels: Int, height: Int, width: Int, kernel: Int, stride: Int) -> ConvGeometry {
        func pads(_ n: Int) -> (Int, Int) {
            let out = (n + stride - 1) / stride
            let total = max((out - 1) * stride + kernel - n, 0)
            return (total / 2, total - total / 2)
        }
        let (t, b) = pads(height), (l, r) = pads(width)
        return ConvGeometry(batch: 1, inChannels: channels, inHeight: height, inWidth: width, outChannels: 1,
                            kernel: (kernel, kernel), stride: (stride, stride), padding: (t, b, l, r))
    }

    static func downscale(_ x: UnsafePointer<Float>, planes: Int, _ h: Int, _ w: Int, _ oh: Int, _ ow: Int, alignCorners: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: planes * oh * ow)
        x.withMemoryRebound(to: UInt32.self, capacity: planes * h * w) { src in
            out.withUnsafeMutableBufferPointer { dst in
                dst.baseAddress!.withMemoryRebound(to: UInt32.self, capacity: dst.count) {
                    Layout.resizeNearest(src, $0, planes: planes, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow,
                                         alignCorners: alignCorners, threads: 1)
                }
            }
        }
        return out
    }

    /// out[r][c] = Σ_a x[r + a − pad][c + a − pad] for a in 0..<k (zero outside).
    static func diagonalSum(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int, k: Int, threads: Int) {
        let pad = (k - 1) / 2
        Parallel.forEach(pieces: rows, threads: threads) { r, _ in
            let o = out + r * cols
            o.update(repeating: 0, count: cols)
            for a in 0..<k {
                let rr = r + a - pad
                if rr < 0 || rr >= rows { continue }
                let src = x + rr * cols, shift = a - pad
                let lo = max(0, -shift), hi = min(cols, cols - shift)
                if lo < hi { for c in lo..<hi { o[c] += src[c + shift] } }
            }
        }
    }

    /// Bytes of scratch `forward` allocates: the score matrix (twice with fuse), raw patches and
    /// their pasted columns, the matching kernels and foreground columns, the downscaled f and b.
    public static func scratchBytes(_ p: AttentionParameters, channels C: Int, fh: Int, fw: Int, bh: Int, bw: Int) -> Int {
        let L = patches(channels: C, height: bh, width: bw, kernel: 2 * p.rate, stride: p.rate * p.stride).outPixels
        let P = (fh / p.rate) * (fw / p.rate)
        let kr = C * 4 * p.rate * p.rate, kd = C * p.ksize * p.ksize
        let floats = L * P * (p.fuse ? 2 : 1) + kr * (L + P) + kd * (L + P) + C * (bh * bw + fh * fw) / (p.rate * p.rate)
        return 4 * floats
    }

    /// f [N, C, fh, fw], b [N, C, bh, bw], mask [≥1, 1, bh, bw] (element 0 used) or nil.
    /// y [N, C, fh, fw]; argmax [N, 1, fh/rate, fw/rate].
    public static func forward(_ p: AttentionParameters, f: UnsafePointer<Float>, b: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
                               batch: Int, channels C: Int, fh: Int, fw: Int, bh: Int, bw: Int,
                               y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>, threads: Int) {
        let rate = p.rate, K = 2 * rate
        let rawGeo = patches(channels: C, height: bh, width: bw, kernel: K, stride: rate * p.stride)
        let L = rawGeo.outPixels
        let fdh = fh / rate, fdw = fw / rate, bdh = bh / rate, bdw = bw / rate
        let P = fdh * fdw
        let matchGeo = patches(channels: C, height: bdh, width: bdw, kernel: p.ksize, stride: p.stride)
        precondition(matchGeo.outPixels == L, "contextual attention: \(matchGeo.outPixels) matching vs \(L) raw patches")
        let fGeo = patches(channels: C, height: fdh, width: fdw, kernel: p.ksize, stride: 1)
        let kd = matchGeo.columnRows, kr = rawGeo.columnRows

        // Mask validity: a background patch is usable only if it touches no hole.
        var mm = [Float](repeating: 1, count: L)
        if let mask {
            let md = downscale(mask, planes: 1, bh, bw, bdh, bdw, alignCorners: p.alignCorners)
            let mGeo = patches(channels: 1, height: bdh, width: bdw, kernel: p.ksize, stride: p.stride)
            var col = [Float](repeating: 0, count: mGeo.columnRows * L)
            md.withUnsafeBufferPointer { Im2Col.expand(mGeo, image: $0.baseAddress!, firstPixel: 0, width: L, into: &col) }
            for l in 0..<L {
                var sum: Float = 0
                for r in 0..<mGeo.columnRows { sum += col[r * L + l] }
                mm[l] = sum == 0 ? 1 : 0
            }
        }

        let scores = UnsafeMutablePointer<Float>.allocate(capacity: L * P)
        let spare = UnsafeMutablePointer<Float>.allocate(capacity: p.fuse ? L * P : 1)
        let raw = UnsafeMutablePointer<Float>.allocate(capacity: kr * L)
        let pasted = UnsafeMutablePointer<Float>.allocate(capacity: kr * P)
        defer { scores.deallocate(); spare.deallocate(); raw.deallocate(); pasted.deallocate() }
        var w = [Float](repeating: 0, count: kd * L)
        var fcol = [Float](repeating: 0, count: kd * P)

        for n in 0..<batch {
            let fi = f + n * C * fh * fw, bi = b + n * C * bh * bw
            Im2Col.expand(rawGeo, image: bi, firstPixel: 0, width: L, into: raw)
            let bd = downscale(bi, planes: C, bh, bw, bdh, bdw, alignCorners: p.alignCorners)
            let fd = downscale(fi, planes: C, fh, fw, fdh, fdw, alignCorners: p.alignCorners)
            bd.withUnsafeBufferPointer { Im2Col.expand(matchGeo, image: $0.baseAddress!, firstPixel: 0, width: L, into: &w) }
            fd.withUnsafeBufferPointer { Im2Col.expand(fGeo, image: $0.baseAddress!, firstPixel: 0, width: P, into: &fcol) }
            var norms = [Double](repeating: 0, count: L)
            for r in 0..<kd { for l in 0..<L { norms[l] += Double(w[r * L + l]) * Double(w[r * L + l]) } }
            let inv = norms.map { Float(1 / max($0.squareRoot(), 1e-4)) }
            for r in 0..<kd { for l in 0..<L { w[r * L + l] *= inv[l] } }
            w.withUnsafeBufferPointer { wp in
                fcol.withUnsafeBufferPointer { fp in
                    GEMM.multiplyParallel(m: L, n: P, k: kd, a: wp.baseAddress!, lda: L, transA: true,
                                          b: fp.baseAddress!, ldb: P, c: scores, ldc: P, threads: threads)
                }
            }
            if p.fuse { fuse(scores, spare, L: L, P: P, k: p.fuseK, bg: (bdh, bdw), fg: (fdh, fdw), threads: threads) }
            softmax(scores, mm: mm, L: L, P: P, scale: p.softmaxScale, argmax: argmax + n * P, threads: threads)
            GEMM.multiplyParallel(m: kr, n: P, k: L, a: raw, lda: L, b: scores, ldb: P, c: pasted, ldc: P, threads: threads)
            // Paste: transposed convolution = col2im of the forward geometry y → attention grid.
            let yi = y + n * C * fh * fw
            yi.update(repeating: 0, count: C * fh * fw)
            var pasteGeo = patches(channels: C, height: fh, width: fw, kernel: K, stride: rate)
            pasteGeo.outHeight = fdh
            pasteGeo.outWidth = fdw
            Parallel.forEach(pieces: C, threads: threads) { c, _ in
                Im2Col.accumulate(pasteGeo, col: pasted, channels: c..<c + 1, into: yi)
                let plane = yi + c * fh * fw
                for i in 0..<fh * fw { plane[i] /= 4 }
            }
        }
    }

    /// Both fuse passes of the official op on scores[l][p] (the identity kernel is symmetric,
    /// so the transposed layout is equivalent).
    static func fuse(_ s: UnsafeMutablePointer<Float>, _ tmp: UnsafeMutablePointer<Float>, L: Int, P: Int, k: Int,
                     bg: (Int, Int), fg: (Int, Int), threads: Int) {
        diagonalSum(s, tmp, rows: L, cols: P, k: k, threads: threads)
        // Row-major (y, x) → column-major index x·height + y, on both grids.
        let permL = (0..<L).map { ($0 % bg.1) * bg.0 + $0 / bg.1 }
        let permP = (0..<P).map { ($0 % fg.1) * fg.0 + $0 / fg.1 }
        Parallel.forEach(pieces: L, threads: threads) { l, _ in
            let src = tmp + l * P, dst = s + permL[l] * P
            for q in 0..<P { dst[permP[q]] = src[q] }
        }
        diagonalSum(s, tmp, rows: L, cols: P, k: k, threads: threads)
        Parallel.forEach(pieces: L, threads: threads) { l, _ in
            let src = tmp + permL[l] * P, dst = s + l * P
            for q in 0..<P { dst[q] = src[permP[q]] }
        }
    }

    /// In place: s[l][p] ← softmax_l(scale·s[l][p]·mm[l])·mm[l]; argmax[p] = first l with the
    /// largest weight.
    static func softmax(_ s: UnsafeMutablePointer<Float>, mm: [Float], L: Int, P: Int, scale: Float,
                        argmax: UnsafeMutablePointer<Int32>, threads: Int) {
        let block = 64
        Parallel.forEach(pieces: (P + block - 1) / block, threads: threads) { piece, _ in
            let p0 = piece * block, width = min(block, P - p0)
            var maxv = [Float](repeating: -.infinity, count: width)
            var sum = [Float](repeating: 0, count: width)
            var best = [Float](repeating: -.infinity, count: width)
            var bestIndex = [Int32](repeating: 0, count: width)
            for l in 0..<L {
                let row = s + l * P + p0, m = mm[l]
                for j in 0..<width {
                    row[j] = row[j] * m * scale
                    maxv[j] = max(maxv[j], row[j])
                }
            }
            for l in 0..<L {
                let row = s + l * P + p0
                for j in 0..<width {
                    row[j] = expf(row[j] - maxv[j])
                    sum[j] += row[j]
                }
            }
            for l in 0..<L {
                let row = s + l * P + p0, m = mm[l]
                for j in 0..<width {
                    let v = row[j] / sum[j] * m
                    row[j] = v
                    if v > best[j] { best[j] = v; bestIndex[j] = Int32(l) }
                }
            }
            for j in 0..<width { argmax[p0 + j] = bestIndex[j] }
        }
    }
}
