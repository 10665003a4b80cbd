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
//
// Two things keep it fast and bounded (AttentionPlan.swift): foreground positions are processed
// in chunks of grid rows, so the score matrices take about 64 MiB, or 8 grid rows where a row
// is larger (200 MiB at 1024²), while the official op holds L×L several times (64 MiB each at
// 512², 1 GiB at 1024²); and background patches the mask disables are
// neither matched nor pasted, except where the fuse step needs their scores for a usable
// neighbour. Their softmax terms, exp(0 − max) each, are added to the denominator analytically,
// so the result is the official one.
import CKernels
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

    static func downscale(_ x: UnsafePointer<Float>, planes: Int, _ h: Int, _ w: Int, _ oh: Int, _ ow: Int, alignCorners: Bool,
                          into out: UnsafeMutablePointer<Float>, threads: Int = 1) {
        x.withMemoryRebound(to: UInt32.self, capacity: planes * h * w) { src in
            out.withMemoryRebound(to: UInt32.self, capacity: planes * oh * ow) {
                Layout.resizeNearest(src, $0, planes: planes, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow,
                                     alignCorners: alignCorners, threads: threads)
            }
        }
    }

    /// How attention is cut into chunks of grid rows: a score budget in floats (64 MiB: at 512²
    /// that is 21 of the 64 grid rows; measured 4–7 % faster attention than 32 MiB, when each
    /// chunk still matched the fuse's halo rows itself) and the fewest grid rows a chunk takes
    /// (a chunk's first-pass and raw scores span its rows plus 2·pad, so one-row chunks would
    /// triple that scratch). The halo rows two chunks share are now matched once and handed on
    /// (AttentionScores). The chunk rows also fix the paste's order of terms, so changing these
    /// defaults changes results in the last bits. A parameter, not a global, so tests can force
    /// many chunks without touching other runs.
    public struct Chunking: Sendable, Equatable {
        public var floats: Int
        public var minimumRows: Int
        public init(floats: Int = 16 << 20, minimumRows: Int = 8) {
            self.floats = floats
            self.minimumRows = minimumRows
        }
        public static let standard = Chunking()
    }

    /// Foreground positions per chunk: whole rows of the attention grid, so that the three score
    /// matrices (raw, first fuse pass, second) of all L patches stay within the budget.
    static func chunkPositions(L: Int, P: Int, rowLength: Int, _ c: Chunking) -> Int {
        let rows = max(max(1, c.minimumRows), c.floats / max(1, 3 * L * rowLength))
        return min(P, rows * rowLength)
    }

    /// The most foreground positions whose raw scores one chunk needs: its rows, the fuse's
    /// neighbours within `pad` in both flattenings, and the wrap-arounds at grid ends.
    static func haloPositions(P: Int, chunk: Int, pad: Int, rowLength: Int, rows: Int) -> Int {
        min(P, chunk + 4 * pad * (rowLength + 1) + 2 * pad * rows)
    }

    /// Floats of each scratch buffer, in the order `forward` takes them: matching kernels, raw
    /// patches, pasted columns, the downscaled b and f, then AttentionScores' buffers. Upper
    /// bounds (every patch usable; `halo`: the most foreground positions one chunk's scores need).
    static func scratchFloats(_ p: AttentionParameters, channels C: Int, fh: Int, fw: Int, bh: Int, bw: Int, chunking: Chunking,
                              window: WindowBox? = nil) -> [Int] {
        let L = patches(channels: C, height: bh, width: bw, kernel: 2 * p.rate, stride: p.rate * p.stride).outPixels
        let kr = C * 4 * p.rate * p.rate, kd = C * p.ksize * p.ksize
        let fg = AttentionForeground(p, fh: fh, fw: fw, L: L, chunking: chunking, window: window)
        return [kd * L, kr * fg.rawColumns(L), kr * fg.chunkPositions, C * (bh / p.rate) * (bw / p.rate), C * (fh / p.rate) * (fw / p.rate)]
            + AttentionScores.floats(L: L, kd: kd, chunk: fg.chunkPositions, halo: fg.halo, carry: fg.carry, fused: p.fuse && p.fuseK >= 3)
    }

    /// Bytes of scratch `forward` uses: what the runtime's arena provides, or what it allocates.
    public static func scratchBytes(_ p: AttentionParameters, channels C: Int, fh: Int, fw: Int, bh: Int, bw: Int,
                                    chunking: Chunking = .standard, window: (y0: Int, y1: Int, x0: Int, x1: Int)? = nil) -> Int {
        ScratchRegion.bytes(scratchFloats(p, channels: C, fh: fh, fw: fw, bh: bh, bw: bw, chunking: chunking, window: window))
    }

    /// f [N, C, fh, fw], b [N, C, bh, bw], mask [≥1, 1, bh, bw] (element 0 used) or nil.
    /// y [N, C, fh, fw]; argmax [N, 1, fh/rate, fw/rate].
    /// With `window`, y holds only those rows and columns of the whole y ([N, C, y1 − y0,
    /// x1 − x0]), and only the foreground positions whose pasted patches reach it are matched
    /// (argmax is written for those alone). Every background patch is used, the chunks are the
    /// whole run's rows, and the paste adds tap by tap, so the window is bit-identical to the
    /// same part of the whole y.
    public static func forward(_ p: AttentionParameters, f: UnsafePointer<Float>, b: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
                               batch: Int, channels C: Int, fh: Int, fw: Int, bh: Int, bw: Int,
                               y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>,
                               window: (y0: Int, y1: Int, x0: Int, x1: Int)? = nil,
                               scratch given: UnsafeMutableRawPointer? = nil, threads: Int, chunking: Chunking = .standard) {
        let rate = p.rate
        let rawGeo = patches(channels: C, height: bh, width: bw, kernel: 2 * rate, stride: rate * p.stride)
        let L = rawGeo.outPixels
        let fdh = fh / rate, fdw = fw / rate, bdh = bh / rate, bdw = bw / rate, P = fdh * fdw
        let matchGeo = patches(channels: C, height: bdh, width: bdw, kernel: p.ksize, stride: p.stride)
        precondition(matchGeo.outPixels == L, "contextual attention: \(matchGeo.outPixels) matching vs \(L) raw patches")
        let fGeo = patches(channels: C, height: fdh, width: fdw, kernel: p.ksize, stride: 1)
        let kd = matchGeo.columnRows, kr = rawGeo.columnRows

        // A background patch is usable only if it touches no hole (official mm).
        var usable = [Bool](repeating: true, count: L)
        if let mask {
            var md = [Float](repeating: 0, count: bdh * bdw)
            md.withUnsafeMutableBufferPointer { downscale(mask, planes: 1, bh, bw, bdh, bdw, alignCorners: p.alignCorners, into: $0.baseAddress!) }
            let mGeo = patches(channels: 1, height: bdh, width: bdw, kernel: p.ksize, stride: p.stride)
            var col = [Float](repeating: 0, count: mGeo.columnRows * L)
            md.withUnsafeBufferPointer { Im2Col.expand(mGeo, image: $0.baseAddress!, firstPixel: 0, width: L, into: &col) }
            for l in 0..<L {
                var sum: Float = 0
                for r in 0..<mGeo.columnRows { sum += col[r * L + l] }
                usable[l] = sum == 0
            }
        }
        let plan = AttentionPlan(usable: usable, background: (matchGeo.outHeight, matchGeo.outWidth), foreground: (fdh, fdw),
                                 pad: p.fuse ? (p.fuseK - 1) / 2 : 0)
        let Lv = plan.valid.count, Ln = plan.needed.count
        let fg = AttentionForeground(p, fh: fh, fw: fw, L: L, chunking: chunking, window: window)
        let rawColumns = fg.rawColumns(Lv)

        // Scratch: the arena slice the runtime planned, else a region of our own.
        let bounds = scratchFloats(p, channels: C, fh: fh, fw: fw, bh: bh, bw: bw, chunking: chunking, window: window)
        let bytes = ScratchRegion.bytes(bounds)
        let base = given ?? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { if given == nil { base.deallocate() } }
        var region = ScratchRegion(base, bytes: bytes)
        let w = region.take(bounds[0])!, raw = region.take(bounds[1])!, pasted = region.take(bounds[2])!
        let bd = region.take(bounds[3])!, fd = region.take(bounds[4])!
        var scores = AttentionScores(plan: plan, kd: kd, chunk: fg.chunkPositions, halo: fg.halo, carry: fg.carry, region: &region)
        defer { scores.release() }

        let win = window ?? (0, fh, 0, fw), yh = win.y1 - win.y0, yw = win.x1 - win.x0
        let chunks = fg.chunks()
        var chosenArgmax = [Int32](repeating: 0, count: window == nil ? 0 : fg.chunkPositions)
        for n in 0..<batch {
            let fi = f + n * C * fh * fw, bi = b + n * C * bh * bw
            // Raw patches of the usable background (pasting) — all at once, or (a window) block by
            // block in each chunk's paste — and matching kernels of the needed ones.
            func expandRaw(_ v0: Int, _ v1: Int) {
                let runs = plan.validRuns.compactMap { r -> (Int, Int, Int)? in
                    let lo = max(r.offset, v0), hi = min(r.offset + r.count, v1)
                    return lo < hi ? (r.start + lo - r.offset, hi - lo, lo - v0) : nil
                }
                Im2Col.expand(rawGeo, image: bi, runs: runs, into: raw, ld: v1 - v0, threads: threads)
            }
            if rawColumns == Lv { expandRaw(0, Lv) }
            downscale(bi, planes: C, bh, bw, bdh, bdw, alignCorners: p.alignCorners, into: bd, threads: threads)
            downscale(fi, planes: C, fh, fw, fdh, fdw, alignCorners: p.alignCorners, into: fd, threads: threads)
            Im2Col.expand(matchGeo, image: bd, runs: plan.neededRuns.map { ($0.start, $0.count, $0.offset) }, into: w, ld: Ln, threads: threads)
            normaliseColumns(w, rows: kd, columns: Ln, threads: threads)
            let yi = y + n * C * yh * yw
            Pointwise.fill(yi, count: C * yh * yw, value: 0, threads: threads)
            var pasteGeo = patches(channels: C, height: fh, width: fw, kernel: 2 * rate, stride: rate).windowed(input: win, output: (0, fdh, 0, fdw))
            pasteGeo.outHeight = fdh
            pasteGeo.outWidth = fdw
            do {
                let monitor = RunMonitor.current
                for (i, (o0, positions, segments)) in chunks.enumerated() {
                    // The longest kernel of a large run: report progress and stop between chunks.
                    if monitor?.isStopped == true { return }
                    monitor?.setNodeFraction(Double(n * P + o0) / Double(batch * P))
                    let count = positions.count
                    // The next chunk of this batch element reuses the raw scores both need.
                    scores.compute(positions: positions, next: i + 1 < chunks.count ? chunks[i + 1].positions : nil, matching: w, kd: kd,
                                   foreground: fd, geometry: fGeo, fuse: p.fuse, threads: threads)
                    if window == nil {
                        scores.softmax(scale: p.softmaxScale, argmax: argmax + n * P + o0, threads: threads)
                    } else {
                        chosenArgmax.withUnsafeMutableBufferPointer { scores.softmax(scale: p.softmaxScale, argmax: $0.baseAddress!, threads: threads) }
                        for (j, o) in positions.enumerated() { argmax[n * P + o] = chosenArgmax[j] }
                    }
                    // Paste: weighted raw patches, then col2im of these grid positions. Raw patches
                    // in blocks of a multiple of the GEMM's k block add up exactly as in one product.
                    for v0 in stride(from: 0, to: max(Lv, 1), by: max(rawColumns, 1)) {
                        let v1 = min(Lv, v0 + rawColumns)
                        if rawColumns < Lv { expandRaw(v0, v1) }
                        GEMM.multiplyRows(m: kr, n: count, k: v1 - v0, a: raw, lda: max(1, v1 - v0), b: scores.weights + v0 * count, ldb: count,
                                              c: pasted, ldc: count, accumulate: v0 > 0, threads: threads)
                    }
                    Parallel.forEach(pieces: C, threads: threads) { c, _ in
                        Im2Col.accumulate(pasteGeo, col: pasted, ld: count, segments: segments, channels: c..<c + 1, into: yi)
                    }
                }
            }
            Parallel.forEach(pieces: C, threads: threads) { c, _ in
                let plane = yi + c * yh * yw
                for i in 0..<yh * yw { plane[i] /= 4 }
            }
        }
    }

    /// Divides each column by max(its L2 norm, 1e-4), the norm accumulated in double, row by row
    /// (the same order whichever thread takes the column's block).
    static func normaliseColumns(_ w: UnsafeMutablePointer<Float>, rows: Int, columns: Int, threads: Int = 1) {
        let block = 64
        Parallel.forEach(pieces: (columns + block - 1) / block, threads: threads) { piece, _ in
            let l0 = piece * block, n = min(block, columns - l0)
            var norms = [Double](repeating: 0, count: n)
            for r in 0..<rows { let row = w + r * columns + l0; for l in 0..<n { norms[l] += Double(row[l]) * Double(row[l]) } }
            let inv = norms.map { Float(1 / max($0.squareRoot(), 1e-4)) }
            for r in 0..<rows { let row = w + r * columns + l0; for l in 0..<n { row[l] *= inv[l] } }
        }
    }
}
