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

    public init(batch: Int, inChannels: Int, inHeight: Int, inWidth: Int, outChannels: Int,
                kernel: (Int, Int), stride: (Int, Int) = (1, 1), dilation: (Int, Int) = (1, 1),
                padding: (top: Int, bottom: Int, left: Int, right: Int), reflect: Bool = false) {
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
    }

    /// Rows of the column matrix: one per (input channel, kernel row, kernel column).
    public var columnRows: Int { inChannels * kernelH * kernelW }
    public var outPixels: Int { outHeight * outWidth }

    /// Output pixels per tile: about 1 MiB of column buffer, a multiple of 16, whole image if smaller.
    public var tilePixels: Int {
        let target = max(16, ((1 << 18) / max(columnRows, 1)) / 16 * 16)
        return min(outPixels, target)
    }
}

public enum Im2Col {
    /// Mirror index without repeating the edge (numpy 'reflect'), for any overshoot.
    @inline(__always) public static func mirror(_ i: Int, _ n: Int) -> Int {
        guard n > 1 else { return 0 }
        let period = 2 * (n - 1)
        let m = ((i % period) + period) % period
        return m < n ? m : period - m
    }

    /// Fills col[row * width + j] for output pixels p0 ..< p0+width of one image.
    public static func expand(_ g: ConvGeometry, image: UnsafePointer<Float>, firstPixel p0: Int, width: Int,
                              into col: UnsafeMutablePointer<Float>) {
        let H = g.inHeight, W = g.inWidth, OW = g.outWidth
        var row = 0
        for ci in 0..<g.inChannels {
            let plane = image + ci * H * W
            for ky in 0..<g.kernelH {
                for kx in 0..<g.kernelW {
                    let dst = col + row * width
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
                        } else if iy < 0 || iy >= H {
                            (dst + j).update(repeating: 0, count: run)
                        } else {
                            let src = plane + iy * W
                            // ix = ixBase + t*stride must lie in [0, W).
                            let s = g.strideW
                            let tLo = ixBase >= 0 ? 0 : min(run, (-ixBase + s - 1) / s)
                            let tHi = ixBase >= W ? 0 : max(tLo, min(run, (W - ixBase + s - 1) / s))
                            for t in 0..<tLo { dst[j + t] = 0 }
                            if s == 1 {
                                (dst + j + tLo).update(from: src + ixBase + tLo, count: tHi - tLo)
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

    /// The adjoint of `expand` for a whole image (zero padding): image[...] += col[...].
    /// Channels are independent, so the caller may run disjoint channel ranges in parallel.
    public static func accumulate(_ g: ConvGeometry, col: UnsafePointer<Float>, channels: Range<Int>,
                                  into image: UnsafeMutablePointer<Float>) {
        let H = g.inHeight, W = g.inWidth, OW = g.outWidth, P = g.outPixels
        for ci in channels {
            let plane = image + ci * H * W
            for ky in 0..<g.kernelH {
                for kx in 0..<g.kernelW {
                    let src = col + ((ci * g.kernelH + ky) * g.kernelW + kx) * P
                    for oy in 0..<g.outHeight {
                        let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                        if iy < 0 || iy >= H { continue }
                        for ox in 0..<OW {
                            let ix = ox * g.strideW - g.padLeft + kx * g.dilationW
                            if ix >= 0 && ix < W { plane[iy * W + ix] += src[oy * OW + ox] }
                        }
                    }
                }
            }
        }
    }
}

public enum Convolution {
    /// Bytes of scratch `forward` allocates: one column tile per worker thread.
    public static func scratchBytes(_ g: ConvGeometry, threads: Int) -> Int {
        let T = g.tilePixels
        return 4 * g.columnRows * T * max(1, min(threads, g.batch * ((g.outPixels + T - 1) / max(T, 1))))
    }

    /// output[n, co, :, :] = bias[co] + Σ weight[co, ci, ky, kx] · input[n, ci, iy, ix].
    /// `weight` is OIHW, i.e. a row-major outChannels × columnRows matrix.
    public static func forward(_ g: ConvGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, threads: Int) {
        let K = g.columnRows, P = g.outPixels, T = g.tilePixels
        guard P > 0, g.outChannels > 0 else { return }
        let tilesPerImage = (P + T - 1) / T
        let pointwise = g.kernelH == 1 && g.kernelW == 1 && g.strideH == 1 && g.strideW == 1
            && g.padTop == 0 && g.padLeft == 0 && g.outHeight == g.inHeight && g.outWidth == g.inWidth
        let workers = max(1, min(threads, g.batch * tilesPerImage))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: pointwise ? 1 : workers * K * T)
        defer { scratch.deallocate() }
        Parallel.forEach(pieces: g.batch * tilesPerImage, threads: workers) { piece, thread in
            let n = piece / tilesPerImage, p0 = (piece % tilesPerImage) * T, width = min(T, P - p0)
            let image = input + n * g.inChannels * g.inHeight * g.inWidth
            let out = output + n * g.outChannels * P + p0
            if pointwise {
                GEMM.multiply(m: g.outChannels, n: width, k: K, a: weight, lda: K, b: image + p0, ldb: P, c: out, ldc: P)
            } else {
                let col = scratch + thread * K * T
                Im2Col.expand(g, image: image, firstPixel: p0, width: width, into: col)
                GEMM.multiply(m: g.outChannels, n: width, k: K, a: weight, lda: K, b: col, ldb: width, c: out, ldc: P)
            }
            if let bias {
                for co in 0..<g.outChannels {
                    let row = out + co * P, b = bias[co]
                    for j in 0..<width { row[j] += b }
                }
            }
        }
    }
}
