// The gradient of contextual attention (ContextualAttentionKernel.swift) with respect to f and
// b, for one cotangent dy of its output. It recomputes the forward per image in dense matrix
// form (every patch, no chunks: training sizes keep L × P small, 1024² floats at 256²), then
// runs each step's adjoint in reverse:
//   y = col2im(raw · A)/4               → dA = im2col(dy)ᵀ·raw/4,  d raw = im2col(dy)·A/4 → col2im into b
//   A = mm ⊙ softmax(scale · mm ⊙ S₂)    → dS₂ = mm ⊙ scale · s ⊙ (dA' − ⟨dA', s⟩), dA' = mm ⊙ dA (dots in double)
//   S₂ = F₂(F₁(S))                       → dS = F₁(F₂(dS₂)): each fuse pass is its own adjoint
//   S = fcolᵀ · ŵ                        → d fcol = ŵ·dSᵀ → col2im → scatter through f's downscale
//                                           d ŵ = fcol·dS → through the norm clamp → col2im → b's downscale
// Rows of S are foreground positions (row-major on the f grid), columns background patches.
import Foundation

public enum ContextualAttentionGradient {
    /// df, db [N, C, ·] (overwritten) from f, b, the mask (or nil) and dy [N, C, fh, fw].
    public static func backward(_ p: AttentionParameters, f: UnsafePointer<Float>, b: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
                                dy: UnsafePointer<Float>, batch: Int, channels C: Int, fh: Int, fw: Int, bh: Int, bw: Int,
                                df: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>, threads: Int) {
        let rate = p.rate
        let rawGeo = ContextualAttentionKernel.patches(channels: C, height: bh, width: bw, kernel: 2 * rate, stride: rate * p.stride)
        let L = rawGeo.outPixels
        let fdh = fh / rate, fdw = fw / rate, bdh = bh / rate, bdw = bw / rate, P = fdh * fdw
        let matchGeo = ContextualAttentionKernel.patches(channels: C, height: bdh, width: bdw, kernel: p.ksize, stride: p.stride)
        precondition(matchGeo.outPixels == L, "contextual attention: \(matchGeo.outPixels) matching vs \(L) raw patches")
        let fGeo = ContextualAttentionKernel.patches(channels: C, height: fdh, width: fdw, kernel: p.ksize, stride: 1)
        var pasteGeo = ContextualAttentionKernel.patches(channels: C, height: fh, width: fw, kernel: 2 * rate, stride: rate)
        pasteGeo.outHeight = fdh
        pasteGeo.outWidth = fdw
        let kd = matchGeo.columnRows, kr = rawGeo.columnRows
        let bgGrid = (h: matchGeo.outHeight, w: matchGeo.outWidth), fgGrid = (h: fdh, w: fdw)
        let pad = p.fuse ? (p.fuseK - 1) / 2 : 0

        var mm = [Float](repeating: 1, count: L)
        if let mask {
            var md = [Float](repeating: 0, count: bdh * bdw)
            md.withUnsafeMutableBufferPointer {
                ContextualAttentionKernel.downscale(mask, planes: 1, bh, bw, bdh, bdw, alignCorners: p.alignCorners, into: $0.baseAddress!)
            }
            let mGeo = ContextualAttentionKernel.patches(channels: 1, height: bdh, width: bdw, kernel: p.ksize, stride: p.stride)
            var col = [Float](repeating: 0, count: mGeo.columnRows * L)
            md.withUnsafeBufferPointer { Im2Col.expand(mGeo, image: $0.baseAddress!, firstPixel: 0, width: L, into: &col) }
            for l in 0..<L {
                var sum: Float = 0
                for r in 0..<mGeo.columnRows { sum += col[r * L + l] }
                mm[l] = sum == 0 ? 1 : 0
            }
        }
        let fRows = Layout.nearestIndices(input: fh, output: fdh, alignCorners: p.alignCorners)
        let fCols = Layout.nearestIndices(input: fw, output: fdw, alignCorners: p.alignCorners)
        let bRows = Layout.nearestIndices(input: bh, output: bdh, alignCorners: p.alignCorners)
        let bCols = Layout.nearestIndices(input: bw, output: bdw, alignCorners: p.alignCorners)

        let buffers = Buffers(kr: kr, kd: kd, L: L, P: P, C: C, fd: fdh * fdw, bd: bdh * bdw)
        defer { buffers.release() }
        let raw = buffers.raw, w = buffers.w, fcol = buffers.fcol, s = buffers.s, s1 = buffers.s1, a = buffers.a
        let dycol = buffers.dycol, dA = buffers.dA, dRaw = buffers.dRaw, dwn = buffers.dwn, dfcol = buffers.dfcol
        let bd = buffers.bd, fd = buffers.fd, dbd = buffers.dbd, dfd = buffers.dfd

        for n in 0..<batch {
            let fi = f + n * C * fh * fw, bi = b + n * C * bh * bw, dyi = dy + n * C * fh * fw
            let dfi = df + n * C * fh * fw, dbi = db + n * C * bh * bw
            dfi.update(repeating: 0, count: C * fh * fw)
            dbi.update(repeating: 0, count: C * bh * bw)
            // Forward, dense.
            Im2Col.expand(rawGeo, image: bi, firstPixel: 0, width: L, into: raw)
            ContextualAttentionKernel.downscale(bi, planes: C, bh, bw, bdh, bdw, alignCorners: p.alignCorners, into: bd, threads: threads)
            ContextualAttentionKernel.downscale(fi, planes: C, fh, fw, fdh, fdw, alignCorners: p.alignCorners, into: fd, threads: threads)
            Im2Col.expand(matchGeo, image: bd, firstPixel: 0, width: L, into: w)
            var norms = [Double](repeating: 0, count: L)
            for r in 0..<kd { for l in 0..<L { norms[l] += Double(w[r * L + l]) * Double(w[r * L + l]) } }
            let norm = norms.map { Float(max($0.squareRoot(), 1e-4)) }, clamped = norms.map { $0.squareRoot() <= 1e-4 }
            for r in 0..<kd { for l in 0..<L { w[r * L + l] /= norm[l] } }
            Im2Col.expand(fGeo, image: fd, firstPixel: 0, width: P, into: fcol)
            // S [P × L] = fcolᵀ · ŵ
            GEMM.multiplyParallel(m: P, n: L, k: kd, a: fcol, lda: P, transA: true, b: w, ldb: L, c: s, ldc: L, threads: threads, useBLAS: true)
            if pad > 0 {
                fuse(s, into: s1, P: P, L: L, pad: pad, columnMajor: false, fg: fgGrid, bg: bgGrid, threads: threads)
                fuse(s1, into: s, P: P, L: L, pad: pad, columnMajor: true, fg: fgGrid, bg: bgGrid, threads: threads)
            }
            // Softmax rows (s becomes the softmax itself, a = mm ⊙ softmax).
            Parallel.forEach(pieces: P, threads: threads) { q, _ in
                let row = s + q * L, out = a + q * L
                var top = -Float.infinity
                for l in 0..<L { row[l] = p.softmaxScale * row[l] * mm[l]; top = max(top, row[l]) }
                var sum = 0.0
                for l in 0..<L { sum += Double(expf(row[l] - top)) }
                for l in 0..<L { row[l] = Float(Double(expf(row[l] - top)) / sum); out[l] = row[l] * mm[l] }
            }
            // Paste adjoint.
            Im2Col.expand(pasteGeo, image: dyi, firstPixel: 0, width: P, into: dycol)
            GEMM.multiplyParallel(m: P, n: L, k: kr, a: dycol, lda: P, transA: true, b: raw, ldb: L, c: dA, ldc: L, threads: threads, useBLAS: true)
            GEMM.multiplyParallel(m: kr, n: L, k: P, a: dycol, lda: P, b: a, ldb: L, c: dRaw, ldc: L, threads: threads, useBLAS: true)
            for i in 0..<kr * L { dRaw[i] *= 0.25 }
            Parallel.forEach(pieces: C, threads: threads) { c, _ in
                Im2Col.accumulate(rawGeo, col: dRaw, channels: c..<c + 1, into: dbi)
            }
            // Softmax adjoint (into dA, which becomes dS₂).
            Parallel.forEach(pieces: P, threads: threads) { q, _ in
                let g = dA + q * L, sm = s + q * L
                var dot = 0.0
                for l in 0..<L { g[l] *= 0.25 * mm[l]; dot += Double(g[l]) * Double(sm[l]) }
                let d = Float(dot)
                for l in 0..<L { g[l] = mm[l] * p.softmaxScale * sm[l] * (g[l] - d) }
            }
            if pad > 0 {
                fuse(dA, into: s1, P: P, L: L, pad: pad, columnMajor: true, fg: fgGrid, bg: bgGrid, threads: threads)
                fuse(s1, into: dA, P: P, L: L, pad: pad, columnMajor: false, fg: fgGrid, bg: bgGrid, threads: threads)
            }
            // Matching adjoint: dfcol [kd × P] = ŵ · dSᵀ, dŵ [kd × L] = fcol · dS.
            GEMM.multiplyParallel(m: kd, n: P, k: L, a: w, lda: L, b: dA, ldb: L, transB: true, c: dfcol, ldc: P, threads: threads, useBLAS: true)
            GEMM.multiplyParallel(m: kd, n: L, k: P, a: fcol, lda: P, b: dA, ldb: L, c: dwn, ldc: L, threads: threads, useBLAS: true)
            // Through ŵ = w / max(‖w‖, 1e-4): (dŵ − ŵ⟨ŵ, dŵ⟩)/‖w‖, or dŵ/1e-4 where clamped.
            var dots = [Double](repeating: 0, count: L)
            for r in 0..<kd { for l in 0..<L { dots[l] += Double(w[r * L + l]) * Double(dwn[r * L + l]) } }
            for r in 0..<kd {
                for l in 0..<L {
                    let i = r * L + l
                    dwn[i] = clamped[l] ? dwn[i] / norm[l] : (dwn[i] - w[i] * Float(dots[l])) / norm[l]
                }
            }
            dfd.update(repeating: 0, count: C * fdh * fdw)
            dbd.update(repeating: 0, count: C * bdh * bdw)
            Parallel.forEach(pieces: C, threads: threads) { c, _ in
                Im2Col.accumulate(fGeo, col: dfcol, channels: c..<c + 1, into: dfd)
                Im2Col.accumulate(matchGeo, col: dwn, channels: c..<c + 1, into: dbd)
                // Scatter through the downscales (each small pixel came from one large one).
                for i in 0..<fdh { for j in 0..<fdw { dfi[(c * fh + fRows[i]) * fw + fCols[j]] += dfd[(c * fdh + i) * fdw + j] } }
                for i in 0..<bdh { for j in 0..<bdw { dbi[(c * bh + bRows[i]) * bw + bCols[j]] += dbd[(c * bdh + i) * bdw + j] } }
            }
        }
    }

    /// One fuse pass over the [P × L] scores: out[p, q] = Σ_{|d| ≤ pad} in[p + d, q + d] with
    /// p and q taken in row-major order of their grids, or (columnMajor) in column-major order,
    /// zero outside. Its own adjoint.
    static func fuse(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, P: Int, L: Int, pad: Int, columnMajor: Bool,
                     fg: (h: Int, w: Int), bg: (h: Int, w: Int), threads: Int) {
        // Index maps from the flattening's order to storage (row-major) order.
        let fgAt = (0..<P).map { columnMajor ? AttentionPlan.rowMajor($0, fg) : $0 }
        let bgAt = (0..<L).map { columnMajor ? AttentionPlan.rowMajor($0, bg) : $0 }
        Parallel.forEach(pieces: P, threads: threads) { i, _ in
            let out = y + fgAt[i] * L
            for j in 0..<L {
                var acc: Float = 0
                for d in -pad...pad {
                    let ii = i + d, jj = j + d
                    if ii >= 0 && ii < P && jj >= 0 && jj < L { acc += x[fgAt[ii] * L + bgAt[jj]] }
                }
                out[bgAt[j]] = acc
            }
        }
    }

    /// The dense buffers of one image, allocated once per call.
    struct Buffers {
        let raw, w, fcol, s, s1, a, dycol, dA, dRaw, dwn, dfcol, bd, fd, dbd, dfd: UnsafeMutablePointer<Float>
        init(kr: Int, kd: Int, L: Int, P: Int, C: Int, fd fdCount: Int, bd bdCount: Int) {
            func make(_ n: Int) -> UnsafeMutablePointer<Float> { .allocate(capacity: max(1, n)) }
            raw = make(kr * L); w = make(kd * L); fcol = make(kd * P); s = make(P * L); s1 = make(P * L); a = make(P * L)
            dycol = make(kr * P); dA = make(P * L); dRaw = make(kr * L); dwn = make(kd * L); dfcol = make(kd * P)
            bd = make(C * bdCount); fd = make(C * fdCount); dbd = make(C * bdCount); dfd = make(C * fdCount)
        }
        func release() { for b in [raw, w, fcol, s, s1, a, dycol, dA, dRaw, dwn, dfcol, bd, fd, dbd, dfd] { b.deallocate() } }
        static func bytes(kr: Int, kd: Int, L: Int, P: Int, C: Int, fd: Int, bd: Int) -> Int {
            4 * (kr * L * 2 + kd * L * 2 + kd * P * 2 + P * L * 4 + kr * P + C * (bd + fd) * 2)
        }
    }

    public static func scratchBytes(_ p: AttentionParameters, channels C: Int, fh: Int, fw: Int, bh: Int, bw: Int) -> Int {
        let rawGeo = ContextualAttentionKernel.patches(channels: C, height: bh, width: bw, kernel: 2 * p.rate, stride: p.rate * p.stride)
        let L = rawGeo.outPixels, P = (fh / p.rate) * (fw / p.rate)
        return Buffers.bytes(kr: rawGeo.columnRows, kd: C * p.ksize * p.ksize, L: L, P: P, C: C,
                             fd: (fh / p.rate) * (fw / p.rate), bd: (bh / p.rate) * (bw / p.rate))
    }
}
