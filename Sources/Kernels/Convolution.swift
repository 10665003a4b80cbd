// 2-D convolution over NCHW as tiled im2col + SGEMM (the MLAS / ggml #14388 scheme): the output
// pixels of each image are cut into tiles whose column buffer (K × tile floats) stays around a
// megabyte; tiles are independent GEMMs spread over threads. Dilation and stride live in the
// im2col index arithmetic, so rates 1–16 cost the same as rate 1. Padding is zeros, or
// reflection (mirror without repeating the edge) when `reflect` is set.

public struct ConvGeometry: Sendable, Equatable {
    public var batch: Int
    public var inChannels: Int
    public var inHeight: Int
    public var inWidth: Int
    public var outChannels: Int
    public var kernelH: Int
    public var kernelW: Int
    public var strideH: Int
    public var strideW: Int
    public var dilationH: Int
    public var dilationW: Int
    public var padTop: Int
    public var padLeft: Int
    public var outHeight: Int
    public var outWidth: Int
    public var reflect: Bool
    /// 2: the input held in memory is half of inHeight × inWidth and is read as if each pixel
    /// were repeated 2×2 (a folded nearest ×2 upsample).
    public var upsample: Int

    public init(batch: Int, inChannels: Int, inHeight: Int, inWidth: Int, outChannels: Int,
                kernel: (Int, Int), stride: (Int, Int) = (1, 1), dilation: (Int, Int) = (1, 1),
                padding: (top: Int, bottom: Int, left: Int, right: Int), reflect: Bool = false, upsample: Int = 1) {
        self.batch = batch
        self.inChannels = inChannels
        self.inHeight = inHeight
        self.inWidth = inWidth
        self.outChannels = outChannels
        (kernelH, kernelW) = kernel
        (strideH, strideW) = stride
        (dilationH, dilationW) = dilation
        padTop = padding.top
        padLeft = padding.left
        outHeight = (inHeight + padding.top + padding.bottom - dilationH * (kernelH - 1) - 1) / strideH + 1
        outWidth = (inWidth + padding.left + padding.right - dilationW * (kernelW - 1) - 1) / strideW + 1
        self.reflect = reflect
        self.upsample = upsample
    }

    /// The same convolution computing only `output` (a window of this geometry's output) from
    /// `input`, the window of the input held in memory (for a folded upsample: in upsampled
    /// coordinates, even-aligned). The taps shift by the windows' origins; a tap outside the held
    /// input reads zero, which is the padding, since the held window holds every row and
    /// column inside the image that `output` reads.
    public func windowed(input: (y0: Int, y1: Int, x0: Int, x1: Int), output: (y0: Int, y1: Int, x0: Int, x1: Int)) -> ConvGeometry {
        var g = self
        g.inHeight = input.y1 - input.y0
        g.inWidth = input.x1 - input.x0
        g.padTop = padTop - output.y0 * strideH + input.y0
        g.padLeft = padLeft - output.x0 * strideW + input.x0
        g.outHeight = output.y1 - output.y0
        g.outWidth = output.x1 - output.x0
        return g
    }

    /// Floats of one input channel as stored (before any folded upsample).
    public var storedInputPlane: Int { (inHeight / upsample) * (inWidth / upsample) }

    /// Rows of the column matrix: one per (input channel, kernel row, kernel column).
    public var columnRows: Int { inChannels * kernelH * kernelW }
    public var outPixels: Int { outHeight * outWidth }

    /// Output pixels per tile: at most about 1 MiB of column buffer, and small enough that an
    /// image makes about 32 equal tiles (for 32 threads) when it has 16 pixels per tile to give;
    /// a multiple of 16, the whole image if smaller.
    public var tilePixels: Int {
        let largest = max(16, ((1 << 18) / max(columnRows, 1)) / 16 * 16)
        let tiles = max((outPixels + largest - 1) / largest, min(32, outPixels / 16))
        let size = ((outPixels + max(1, tiles) - 1) / max(1, tiles) + 15) / 16 * 16
        return min(outPixels, max(16, size))
    }
}

public enum Im2Col {
    /// The t in 0 ..< run with base + t·stride inside [0, extent), as lo ..< hi (empty: lo == hi).
    @inline(__always) static func inside(base: Int, stride s: Int, run: Int, extent: Int) -> (lo: Int, hi: Int) {
        let lo = base >= 0 ? 0 : min(run, (-base + s - 1) / s)
        return (lo, base >= extent ? lo : max(lo, min(run, (extent - base + s - 1) / s)))
    }

    /// Mirror index without repeating the edge (numpy 'reflect'), for any overshoot.
    @inline(__always) public static func mirror(_ i: Int, _ n: Int) -> Int {
        guard n > 1 else { return 0 }
        let period = 2 * (n - 1)
        let m = ((i % period) + period) % period
        return m < n ? m : period - m
    }

    /// Fills col[row * ld + j] for output pixels p0 ..< p0+width of one image (ld defaults to width;
    /// a larger ld writes these columns into a wider matrix).
    public static func expand(_ g: ConvGeometry, image: UnsafePointer<Float>, firstPixel p0: Int, width: Int,
                              into col: UnsafeMutablePointer<Float>, ld: Int? = nil) {
        let H = g.inHeight, W = g.inWidth, OW = g.outWidth, stride = ld ?? width, u = g.upsample
        var row = 0
        for ci in 0..<g.inChannels {
            let plane = image + ci * g.storedInputPlane
            for ky in 0..<g.kernelH {
                for kx in 0..<g.kernelW {
                    let dst = col + row * stride
                    var j = 0
                    while j < width {
                        let p = p0 + j
                        let oy = p / OW, ox0 = p % OW
                        let run = min(OW - ox0, width - j)  // pixels left on this output row
                        var iy = oy * g.strideH - g.padTop + ky * g.dilationH
                        let ixBase = ox0 * g.strideW - g.padLeft + kx * g.dilationW
                        if g.reflect {
                            iy = mirror(iy, H)
                            for t in 0..<run { dst[j + t] = plane[iy * W + mirror(ixBase + t * g.strideW, W)] }
                        } else if u == 2 && iy >= 0 && iy < H {
                            // Folded ×2 upsample: the virtual pixel (iy, ix) is the stored (iy/2, ix/2).
                            let src = plane + (iy >> 1) * (W >> 1), s = g.strideW
                            let (tLo, tHi) = inside(base: ixBase, stride: s, run: run, extent: W)
                            for t in 0..<tLo { dst[j + t] = 0 }
                            if s == 1 {
                                // dst[t] = src[(ixBase + t) / 2]: pairs of equal values, written as such.
                                var t = tLo
                                let d = dst + j
                                if (ixBase &+ t) & 1 == 1 && t < tHi { d[t] = src[(ixBase &+ t) &>> 1]; t &+= 1 }
                                while t &+ 1 < tHi {
                                    let v = src[(ixBase &+ t) &>> 1]
                                    d[t] = v
                                    d[t &+ 1] = v
                                    t &+= 2
                                }
                                if t < tHi { d[t] = src[(ixBase &+ t) &>> 1] }
                            } else {
                                for t in tLo..<tHi { dst[j + t] = src[(ixBase &+ t &* s) &>> 1] }
                            }
                            for t in tHi..<run { dst[j + t] = 0 }
                        } else if iy < 0 || iy >= H {
                            (dst + j).update(repeating: 0, count: run)
                        } else {
                            let src = plane + iy * W
                            // ix = ixBase + t*stride must lie in [0, W).
                            let s = g.strideW
                            let (tLo, tHi) = inside(base: ixBase, stride: s, run: run, extent: W)
                            for t in 0..<tLo { dst[j + t] = 0 }
                            if s == 1 {
                                (dst + j + tLo).update(from: src + ixBase + tLo, count: tHi - tLo)
                            } else if s == 2 {
                                // A constant stride lets the compiler de-interleave pairs with shuffles.
                                let d = dst + j, q = src + ixBase
                                for t in tLo..<tHi { d[t] = q[t &* 2] }
                            } else {
                                for t in tLo..<tHi { dst[j + t] = src[ixBase + t * s] }
                            }
                            for t in tHi..<run { dst[j + t] = 0 }
                        }
                        j += run
                    }
                    row += 1
                }
            }
        }
    }

    /// `expand` for several runs of output pixels (start, count, column offset in the ld-wide
    /// matrix), split over threads by input channel: each channel's rows are its own.
    public static func expand(_ g: ConvGeometry, image: UnsafePointer<Float>, runs: [(start: Int, count: Int, offset: Int)],
                              into col: UnsafeMutablePointer<Float>, ld: Int, threads: Int) {
        var one = g
        one.inChannels = 1
        let rowsPerChannel = g.kernelH * g.kernelW
        Parallel.forEach(pieces: g.inChannels, threads: threads) { c, _ in
            for run in runs {
                expand(one, image: image + c * g.storedInputPlane, firstPixel: run.start, width: run.count,
                       into: col + c * rowsPerChannel * ld + run.offset, ld: ld)
            }
        }
    }

    /// The adjoint of `expand` (zero padding): image[...] += col[...], for the output pixels
    /// p0 ..< p0+width (default: all) held in col's columns 0 ..< width. Channels are
    /// independent, so the caller may run disjoint channel ranges in parallel.
    public static func accumulate(_ g: ConvGeometry, col: UnsafePointer<Float>, channels: Range<Int>,
                                  firstPixel p0: Int = 0, width: Int? = nil, into image: UnsafeMutablePointer<Float>) {
        let n = width ?? g.outPixels
        accumulate(g, col: col, ld: n, segments: [(p0, n, 0)], channels: channels, into: image)
    }

    /// `accumulate` for several runs of output pixels (first pixel, count, column in the
    /// ld-wide col). Tap by tap over all runs, so each image sample receives its terms in tap
    /// order, as from one call over all the pixels (what makes a window of contextual
    /// attention's paste bit-identical to the whole one).
    public static func accumulate(_ g: ConvGeometry, col: UnsafePointer<Float>, ld n: Int, segments: [(first: Int, count: Int, column: Int)],
                                  channels: Range<Int>, into image: UnsafeMutablePointer<Float>) {
        let H = g.inHeight, W = g.inWidth, OW = g.outWidth
        for ci in channels {
            let plane = image + ci * H * W
            for ky in 0..<g.kernelH {
                for kx in 0..<g.kernelW {
                    let tap = col + ((ci * g.kernelH + ky) * g.kernelW + kx) * n
                    for segment in segments {
                        // Output row by output row, with the columns that land inside worked out
                        // once per row: the same additions in the same order as pixel by pixel.
                        let src = tap + segment.column, p0 = segment.first, count = segment.count
                        var j = 0
                        while j < count {
                            let p = p0 + j, oy = p / OW, ox0 = p % OW, run = min(OW - ox0, count - j)
                            let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                            if iy >= 0 && iy < H {
                                let s = g.strideW, ixBase = ox0 * s - g.padLeft + kx * g.dilationW
                                let (tLo, tHi) = inside(base: ixBase, stride: s, run: run, extent: W)
                                let dst = plane + iy * W + ixBase, from = src + j
                                for t in tLo..<tHi { dst[t &* s] += from[t] }
                            }
                            j += run
                        }
                    }
                }
            }
        }
    }
}

/// What a convolution does to its GEMM result before writing it (the fused epilogue): add the
/// bias only, add it and apply an activation, or — for DeepFill's gated convolutions — treat the
/// outChannels rows as C features and C gates and write act(feature)·sigmoid(gate), C rows.
public enum ConvEpilogue: Sendable, Equatable {
    case none
    case activation(ActivationFunction)
    case gate(ActivationFunction)

    /// Channels the convolution writes.
    public func outputChannels(_ g: ConvGeometry) -> Int {
        if case .gate = self { return g.outChannels / 2 }
        return g.outChannels
    }

    /// Applies the epilogue to the `channels` GEMM result rows of `count` values at `src`
    /// (row stride `ld`) and writes the output rows to `dst` (row stride `ldOut`; in place when
    /// dst == src). Shared by the im2col, sub-pixel and Winograd kernels.
    func apply(_ src: UnsafeMutablePointer<Float>, ld: Int, channels M: Int, bias: UnsafePointer<Float>?,
               into dst: UnsafeMutablePointer<Float>, ldOut: Int, count: Int) {
        switch self {
        case .none:
            guard bias != nil || src != dst else { return }  // nothing to add, nothing to move
            for co in 0..<M { ActivationFunction.identity.apply(src + co * ld, bias: bias?[co] ?? 0, dst + co * ldOut, count: count) }
        case .activation(let f):
            for co in 0..<M { f.apply(src + co * ld, bias: bias?[co] ?? 0, dst + co * ldOut, count: count) }
        case .gate(let f):
            let C = M / 2
            for co in 0..<C {
                f.gate(feature: src + co * ld, bias: bias?[co] ?? 0, gate: src + (C + co) * ld, bias: bias?[C + co] ?? 0,
                       dst + co * ldOut, count: count)
            }
        }
    }
}

public enum Convolution {
    /// Bytes of scratch `forward` allocates: per worker thread, one column tile, plus the
    /// 2C × tile GEMM result when the gate is fused (it never reaches the output tensor).
    public static func scratchBytes(_ g: ConvGeometry, epilogue: ConvEpilogue = .none, threads: Int) -> Int {
        let T = g.tilePixels
        let workers = max(1, min(threads, g.batch * ((g.outPixels + T - 1) / max(T, 1))))
        var perWorker = g.columnRows * T
        if case .gate = epilogue { perWorker += g.outChannels * T }
        return 4 * perWorker * workers
    }

    /// output[n, co, :, :] = epilogue(bias[co] + Σ weight[co, ci, ky, kx] · input[n, ci, iy, ix]).
    /// `weight` is OIHW, i.e. a row-major outChannels × columnRows matrix. With a gate epilogue
    /// `output` has outChannels/2 channels.
    public static func forward(_ g: ConvGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                               epilogue: ConvEpilogue = .none, scratch given: UnsafeMutablePointer<Float>? = nil, threads: Int) {
        let K = g.columnRows, P = g.outPixels, T = g.tilePixels, M = g.outChannels
        guard P > 0, M > 0 else { return }
        let tilesPerImage = (P + T - 1) / T
        let pointwise = g.kernelH == 1 && g.kernelW == 1 && g.strideH == 1 && g.strideW == 1 && g.upsample == 1
            && g.padTop == 0 && g.padLeft == 0 && g.outHeight == g.inHeight && g.outWidth == g.inWidth
        let workers = max(1, min(threads, g.batch * tilesPerImage))
        var gated = false
        if case .gate = epilogue { gated = true }
        let columns = pointwise ? 0 : K * T, staged = gated ? M * T : 0
        // `given` (the runtime's arena) holds scratchBytes(g, epilogue:, threads:); else allocate.
        let scratch = given ?? UnsafeMutablePointer<Float>.allocate(capacity: max(1, workers * (columns + staged)))
        defer { if given == nil { scratch.deallocate() } }
        let outC = epilogue.outputChannels(g)
        Parallel.forEach(pieces: g.batch * tilesPerImage, threads: workers) { piece, thread in
            let n = piece / tilesPerImage, p0 = (piece % tilesPerImage) * T, width = min(T, P - p0)
            let image = input + n * g.inChannels * g.storedInputPlane
            let out = output + n * outC * P + p0
            let mine = scratch + thread * (columns + staged)
            // A gated tile goes to the staging buffer (ld = width) and only its C results to `out`.
            let (c, ldc) = gated ? (mine + columns, width) : (out, P)
            if pointwise {
                GEMM.multiply(m: M, n: width, k: K, a: weight, lda: K, b: image + p0, ldb: P, c: c, ldc: ldc)
            } else {
                Im2Col.expand(g, image: image, firstPixel: p0, width: width, into: mine)
                GEMM.multiply(m: M, n: width, k: K, a: weight, lda: K, b: mine, ldb: width, c: c, ldc: ldc)
            }
            epilogue.apply(c, ld: ldc, channels: M, bias: bias, into: out, ldOut: P, count: width)
        }
    }
}
