// 3×3 stride-1 convolutions as Winograd F(4×4, 3×3): 36 multiplications per 4×4 output tile and
// input channel instead of 144, i.e. 4× less arithmetic for the layers that make up about two
// thirds of DeepFill's MACs. Weights are transformed once (U = G g Gᵀ, 36 matrices
// [outChannels × inChannels]); per piece of tile rows the input patches are transformed
// (V = Bᵀ d B, C kernels), 36 SGEMMs give M = U·V, and the output transform Y = Aᵀ M A feeds the
// same epilogues as the im2col path (bias, activation, gate). Dilated convolutions run as d²
// dense phases (see winograd.c). Pieces are fixed runs of tile rows, so results do not depend
// on the thread count.
import CKernels

public enum Winograd {
    /// 3×3, stride 1, equal dilation d ≥ 1 in both axes, zeros padding d on every side (TF 'SAME'
    /// for a 3×3 stride-1 conv). A dilated conv runs as d² dense phases, read with stride d.
    public static func applies(_ g: ConvGeometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && g.strideH == 1 && g.strideW == 1 && g.dilationH == g.dilationW && g.dilationH >= 1
            && g.padTop == g.dilationH && g.padLeft == g.dilationW && g.outHeight == g.inHeight && g.outWidth == g.inWidth
            && !g.reflect && g.upsample == 1
    }

    /// Whether Winograd is the faster choice: phase sub-images (the map for d = 1) of at least one
    /// whole tile, 4 pixels a side (measured down to that, Docs/performance.md; below it most of
    /// every tile would be padding).
    public static func pays(_ g: ConvGeometry) -> Bool { min(g.outHeight, g.outWidth) / g.dilationH >= 4 }

    /// The input rows (or columns) whose values output rows lo ..< hi depend on, as computed —
    /// not just as convolved: within a tile, output 0 reads transformed rows 0…4, outputs 1 and 2
    /// rows 1…4, output 3 rows 1…5 (Aᵀ's zeros), and transformed row 0 reads tile inputs 0, 2, 4,
    /// rows 1…4 inputs 1…4, row 5 inputs 1, 3, 5 (Bᵀ's). So asked output r of a phase reads
    /// phase inputs r − 1 … 4t + 3 (r = 4t), 4t … 4t + 3 (r = 4t + 1, 4t + 2), 4t … 4t + 4
    /// (r = 4t + 3): an output window may start and end inside tiles, its tiles computed whole
    /// with zeros for the rest, and the asked pixels still equal the whole run's bit for bit.
    /// Nearly half the growth of whole tiles, which matters most where many layers stack.
    /// Phase p of dilation d holds rows p, p + d, …; clipped to 0 ..< size.
    public static func inputRows(_ lo: Int, _ hi: Int, dilation d: Int, size: Int) -> (Int, Int) {
        var first = Int.max, last = Int.min
        for p in 0..<d {
            let s = lo <= p ? 0 : (lo - p + d - 1) / d
            let e = hi - 1 - p < 0 ? -1 : (hi - 1 - p) / d
            guard s <= e else { continue }
            first = min(first, p + d * (s % 4 == 0 ? s - 1 : s / 4 * 4))
            last = max(last, p + d * (e % 4 == 3 ? e + 1 : e / 4 * 4 + 3))
        }
        guard first <= last else { return (0, 0) }
        return (max(0, first), min(size, last + 1))
    }

    /// Floats of one ξ's matrix of transformed weights as `forward` reads it (packed).
    static func packedStride(outChannels O: Int, inChannels I: Int) -> Int { GEMM.packedFloats(m: O, k: I) }

    /// U[ξ][co][ci] = (G g Gᵀ)[ξ] for OIHW weights, with F(4×4,3×3)'s G (6 × 3), each ξ's
    /// O × I matrix packed for the GEMM once here (`GEMM.pack`), not again in every piece.
    /// Output channels are independent, so they are spread over threads (a one-shot run transforms
    /// every layer's weights once, which was serial time).
    public static func transformWeights(_ w: UnsafePointer<Float>, outChannels O: Int, inChannels I: Int, threads: Int = 1) -> [Float] {
        let u = plainTransform(w, outChannels: O, inChannels: I, threads: threads), stride = packedStride(outChannels: O, inChannels: I)
        // Every float is written (the pack pads its last panel with zeros): no serial zero-fill first.
        return [Float](unsafeUninitializedCapacity: 36 * stride) { p, count in
            u.withUnsafeBufferPointer { u in
                Parallel.forEach(pieces: 36, threads: threads) { xi, _ in
                    GEMM.pack(m: O, k: I, a: u.baseAddress! + xi * O * I, lda: I, into: p.baseAddress! + xi * stride)
                }
            }
            count = 36 * stride
        }
    }

    static func plainTransform(_ w: UnsafePointer<Float>, outChannels O: Int, inChannels I: Int, threads: Int) -> [Float] {
        let G: [Double] = [1.0 / 4, 0, 0, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
                           1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 24, -1.0 / 12, 1.0 / 6, 0, 0, 1]  // 6 × 3, row-major
        // Every element is written below, so the array is not zero-filled first (serial time).
        return [Float](unsafeUninitializedCapacity: 36 * O * I) { u, count in
            Parallel.forEach(pieces: O, threads: threads) { o, _ in
                var t = [Double](repeating: 0, count: 18)  // G g, 6 × 3, in double so U is rounded once
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
            count = 36 * O * I
        }
    }

    /// Tiles per piece: V, M and Y of a piece stay near the cache while the 36 GEMMs stay wide.
    /// A parameter rather than a global so that tests can force many small pieces without
    /// changing what concurrent runs compute.
    public struct Pieces: Sendable, Equatable {
        public var targetTiles: Int
        public var minimumTiles: Int
        public init(targetTiles: Int = 128, minimumTiles: Int = 16) {
            self.targetTiles = targetTiles
            self.minimumTiles = minimumTiles
        }
        public static let standard = Pieces()
    }

    /// The tile rows (py, px, ty) of every phase, in order, cut into pieces of whole tile rows
    /// of about `targetTiles` tiles; fixed by the geometry, never by the thread count.
    struct Tiling {
        var rows: [Int] = []          // triples
        var pieces: [(first: Int, count: Int, tiles: Int)] = []
        var largest = 0

        init(_ g: ConvGeometry, _ sizes: Pieces = .standard) {
            let d = g.dilationH
            // Tile rows and columns of each phase's sub-image.
            let th = (0..<min(d, g.outHeight)).map { py in ((g.outHeight - py + d - 1) / d + 3) / 4 }
            let tw = (0..<min(d, g.outWidth)).map { px in ((g.outWidth - px + d - 1) / d + 3) / 4 }
            // About 32 pieces when the layer is small (so 32 threads have work), at least
            // `minimumTiles` tiles each (fewer make the GEMMs too thin to pay).
            let total = th.reduce(0, +) * tw.reduce(0, +)
            let target = min(sizes.targetTiles, max(sizes.minimumTiles, total / 32))
            var current = (first: 0, count: 0, tiles: 0)
            for py in th.indices {
                for px in tw.indices {
                    let tw = tw[px]
                    for ty in 0..<th[py] {
                        if current.count > 0 && current.tiles + tw > target {
                            pieces.append(current)
                            current = (rows.count / 3, 0, 0)
                        }
                        rows += [py, px, ty]
                        current.count += 1
                        current.tiles += tw
                    }
                }
            }
            if current.count > 0 { pieces.append(current) }
            largest = pieces.map(\.tiles).max() ?? 0
        }
    }

    /// Floats of scratch per tile: M, and V — whose space Y reuses once the GEMMs have read V.
    static func perTile(_ g: ConvGeometry) -> Int { 36 * g.outChannels + max(36 * g.inChannels, 16 * g.outChannels) }

    /// Bytes of scratch per `forward` call: V (then Y) and M of one piece per worker thread.
    public static func scratchBytes(_ g: ConvGeometry, threads: Int, pieces: Pieces = .standard) -> Int {
        let tiling = Tiling(g, pieces)
        return 4 * max(1, min(threads, g.batch * tiling.pieces.count)) * tiling.largest * perTile(g)
    }

    public static func forward(_ g: ConvGeometry, input: UnsafePointer<Float>, transformedWeight U: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue,
                               scratch: UnsafeMutablePointer<Float>, threads: Int, pieces: Pieces = .standard) {
        let H = g.outHeight, W = g.outWidth, Ci = g.inChannels, Co = g.outChannels, d = g.dilationH
        let tiling = Tiling(g, pieces), bands = tiling.pieces.count, outC = epilogue.outputChannels(g)
        let stride = packedStride(outChannels: Co, inChannels: Ci)
        let perWorker = tiling.largest * perTile(g)
        tiling.rows.withUnsafeBufferPointer { rows in
            Parallel.forEach(pieces: g.batch * bands, threads: max(1, min(threads, g.batch * bands))) { piece, thread in
                let n = piece / bands, band = tiling.pieces[piece % bands], t = band.tiles
                let M = scratch + thread * perWorker, V = M + 36 * Co * t, Y = V
                let myRows = rows.baseAddress! + 3 * band.first
                // A window (ConvGeometry.windowed) holds a larger input, offset by d − pad.
                fg_winograd_input_window(input + n * Ci * g.inHeight * g.inWidth, Ci, g.inHeight, g.inWidth, d - g.padTop, d - g.padLeft,
                                         H, W, d, myRows, band.count, V, t)
                for xi in 0..<36 {
                    GEMM.multiplyPrepacked(m: Co, n: t, k: Ci, packedA: U + xi * stride, b: V + xi * Ci * t, ldb: t, c: M + xi * Co * t, ldc: t)
                }
                fg_winograd_output(M, Co, t, Y)
                // Epilogue on each channel's 16 × t values of Y, in place.
                epilogue.apply(Y, ld: 16 * t, channels: Co, bias: bias, into: Y, ldOut: 16 * t, count: 16 * t)
                // Scatter the 4×4 tiles into the output, cropping at the phase edges.
                fg_winograd_scatter(Y, outC, t, H, W, d, myRows, band.count, output + n * outC * H * W)
            }
        }
    }
}
