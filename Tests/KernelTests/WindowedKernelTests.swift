import Foundation
import Kernels
import TestSupport
import XCTest

/// Hole-aware execution's kernels: a convolution or contextual attention computing a window of
/// its output from a held window of its input (ConvGeometry.windowed) equals that window of the
/// seven-loop reference, and is bit-identical to the same pixels of the whole fast output, for
/// every algorithm, stride 2, dilation 1–16, odd sizes and channel counts, inputs held larger
/// than needed, and windows touching the image's edges.
final class WindowedKernelTests: XCTestCase {
    typealias Box = (y0: Int, y1: Int, x0: Int, x1: Int)

    /// Rows of `t` [n, c, h, w] inside `b`, as a tensor of the box's size.
    func crop(_ t: Tensor4, _ b: Box) -> [Float] {
        var out: [Float] = []
        for n in 0..<t.n { for c in 0..<t.c { for y in b.y0..<b.y1 { for x in b.x0..<b.x1 { out.append(t[n, c, y, x]) } } } }
        return out
    }

    /// A random output window aligned to `step` (clipped to h × w) and the input window it
    /// reads, grown by up to `slack` on each side (an input held for other readers too).
    func windows(_ g: ConvGeometry, step: Int, slack: Int, _ rng: inout SeededRandom) -> (Box, Box) {
        func axis(_ n: Int, stride s: Int, pad: Int, extent: Int, size: Int) -> (Int, Int, Int, Int) {
            var a = rng.int(0...n - 1), b = rng.int(a + 1...n)
            a = a / step * step
            b = min(n, (b + step - 1) / step * step)
            let lo = max(0, a * s - pad - rng.int(0...slack)), hi = min(size, (b - 1) * s - pad + extent + rng.int(0...slack))
            return (a, b, lo, max(lo, hi))
        }
        let (oy0, oy1, iy0, iy1) = axis(g.outHeight, stride: g.strideH, pad: g.padTop, extent: g.dilationH * (g.kernelH - 1) + 1, size: g.inHeight)
        let (ox0, ox1, ix0, ix1) = axis(g.outWidth, stride: g.strideW, pad: g.padLeft, extent: g.dilationW * (g.kernelW - 1) + 1, size: g.inWidth)
        return ((oy0, oy1, ox0, ox1), (iy0, iy1, ix0, ix1))
    }

    /// An output of `count` floats (NaN until written) from a kernel given its scratch.
    func output(_ count: Int, scratchBytes: Int, _ kernel: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchBytes / 4))
        defer { scratch.deallocate() }
        out.withUnsafeMutableBufferPointer { kernel($0.baseAddress!, scratch) }
        return out
    }

    /// The fast Winograd kernel on 2 threads (output NaN until written).
    func winograd(_ g: ConvGeometry, _ input: [Float], _ u: [Float], _ bias: [Float]) -> [Float] {
        output(g.outChannels * g.outHeight * g.outWidth, scratchBytes: Winograd.scratchBytes(g, threads: 2)) { out, scratch in
            input.withUnsafeBufferPointer { xp in u.withUnsafeBufferPointer { up in bias.withUnsafeBufferPointer { bp in
                Winograd.forward(g, input: xp.baseAddress!, transformedWeight: up.baseAddress!, bias: bp.baseAddress!, output: out,
                                 epilogue: .none, scratch: scratch, threads: 2)
            } } }
        }
    }

    func testIm2colWindowsMatchTheReference() {
        var rng = SeededRandom(seed: 41)
        for (cin, h, w, cout, k, s, d) in [(3, 23, 17, 5, 5, 1, 1), (7, 31, 26, 9, 3, 2, 1), (5, 40, 33, 6, 3, 1, 3), (2, 21, 19, 3, 3, 1, 16)] {
            let x = Tensor4(1, cin, h, w, rng.floats(cin * h * w)), weight = rng.floats(cout * cin * k * k, -0.5, 0.5), bias = rng.floats(cout)
            let pads = naiveSamePads(h, k: k, s: s, d: d), padsW = naiveSamePads(w, k: k, s: s, d: d)
            let g = ConvGeometry(batch: 1, inChannels: cin, inHeight: h, inWidth: w, outChannels: cout, kernel: (k, k), stride: (s, s),
                                 dilation: (d, d), padding: (pads.0, pads.1, padsW.0, padsW.1))
            let naive = naiveConv2D(x, weight: weight, bias: bias, cout: cout, k: (k, k), stride: (s, s), dilation: (d, d), padding: .same)
            var whole = [Float](repeating: .nan, count: cout * g.outHeight * g.outWidth)
            x.data.withUnsafeBufferPointer { xp in weight.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                Convolution.forward(g, input: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!, output: &whole, threads: 2)
            } } }
            let wholeTensor = Tensor4(1, cout, g.outHeight, g.outWidth, whole)
            for _ in 0..<4 {
                let (o, i) = windows(g, step: 1, slack: 3, &rng)
                let wg = g.windowed(input: i, output: o)
                var out = [Float](repeating: .nan, count: cout * (o.y1 - o.y0) * (o.x1 - o.x0))
                let held = crop(x, i)
                held.withUnsafeBufferPointer { xp in weight.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                    Convolution.forward(wg, input: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!, output: &out, threads: 2)
                } } }
                XCTAssertLessThan(relativeError(out, crop(naive, o)), 2e-5, "k\(k) s\(s) d\(d) out \(o) in \(i)")
                XCTAssertEqual(out, crop(wholeTensor, o), "k\(k) s\(s) d\(d) out \(o) in \(i): not bit-identical to the whole output")
            }
        }
    }

    func testWinogradWindowsOnWholeTilesMatchTheReference() {
        var rng = SeededRandom(seed: 42)
        for (cin, h, w, cout, d) in [(5, 37, 29, 7, 1), (3, 45, 52, 4, 2), (4, 70, 66, 3, 4), (2, 90, 75, 5, 16)] {
            let x = Tensor4(1, cin, h, w, rng.floats(cin * h * w)), weight = rng.floats(cout * cin * 9, -0.5, 0.5), bias = rng.floats(cout)
            let g = ConvGeometry(batch: 1, inChannels: cin, inHeight: h, inWidth: w, outChannels: cout, kernel: (3, 3),
                                 dilation: (d, d), padding: (d, d, d, d))
            let naive = naiveConv2D(x, weight: weight, bias: bias, cout: cout, k: (3, 3), stride: (1, 1), dilation: (d, d), padding: .same)
            let u = weight.withUnsafeBufferPointer { Winograd.transformWeights($0.baseAddress!, outChannels: cout, inChannels: cin) }
            func run(_ g: ConvGeometry, _ input: [Float]) -> [Float] { winograd(g, input, u, bias) }
            let wholeTensor = Tensor4(1, cout, h, w, run(g, x.data))
            for _ in 0..<4 {
                let (o, i) = windows(g, step: 4 * d, slack: 2 * d, &rng)
                let out = run(g.windowed(input: i, output: o), crop(x, i))
                XCTAssertLessThan(relativeError(out, crop(naive, o)), 2e-5, "d\(d) out \(o) in \(i)")
                XCTAssertEqual(out, crop(wholeTensor, o), "d\(d) out \(o) in \(i): not bit-identical to the whole output")
            }
        }
    }

    /// Winograd.inputRows: an output window that starts and ends inside tiles, its tiles
    /// computed whole from an input held wider but NaN wherever the rule says the asked pixels
    /// do not depend (zeros beyond the held input), still gives the asked pixels bit for bit.
    func testWinogradAskedPixelsDependOnlyOnTheirInputRows() {
        var rng = SeededRandom(seed: 46)
        for (cin, h, w, cout, d) in [(5, 37, 29, 7, 1), (3, 45, 52, 4, 2), (2, 41, 47, 3, 3), (4, 70, 66, 3, 4), (2, 90, 75, 5, 16)] {
            let x = Tensor4(1, cin, h, w, rng.floats(cin * h * w)), weight = rng.floats(cout * cin * 9, -0.5, 0.5), bias = rng.floats(cout)
            let g = ConvGeometry(batch: 1, inChannels: cin, inHeight: h, inWidth: w, outChannels: cout, kernel: (3, 3),
                                 dilation: (d, d), padding: (d, d, d, d))
            let naive = naiveConv2D(x, weight: weight, bias: bias, cout: cout, k: (3, 3), stride: (1, 1), dilation: (d, d), padding: .same)
            let u = weight.withUnsafeBufferPointer { Winograd.transformWeights($0.baseAddress!, outChannels: cout, inChannels: cin) }
            func run(_ g: ConvGeometry, _ input: [Float]) -> [Float] { winograd(g, input, u, bias) }
            let wholeTensor = Tensor4(1, cout, h, w, run(g, x.data))
            for _ in 0..<6 {
                let ay0 = rng.int(0...h - 1), ay1 = rng.int(ay0 + 1...h), ax0 = rng.int(0...w - 1), ax1 = rng.int(ax0 + 1...w)
                let (ny0, ny1) = Winograd.inputRows(ay0, ay1, dilation: d, size: h), (nx0, nx1) = Winograd.inputRows(ax0, ax1, dilation: d, size: w)
                // Never less than the convolution itself reads.
                XCTAssertLessThanOrEqual(ny0, max(0, ay0 - d))
                XCTAssertGreaterThanOrEqual(ny1, min(h, ay1 + d))
                let step = 4 * d, o: Box = (ay0 / step * step, min(h, (ay1 + step - 1) / step * step), ax0 / step * step, min(w, (ax1 + step - 1) / step * step))
                let held: Box = (max(0, ny0 - rng.int(0...2 * d)), min(h, ny1 + rng.int(0...2 * d)), max(0, nx0 - rng.int(0...2 * d)), min(w, nx1 + rng.int(0...2 * d)))
                var input = crop(x, held)
                let hh = held.y1 - held.y0, hw = held.x1 - held.x0
                for i in input.indices {
                    let y = held.y0 + (i / hw) % hh, xx = held.x0 + i % hw
                    if y < ny0 || y >= ny1 || xx < nx0 || xx >= nx1 { input[i] = .nan }
                }
                let wg = g.windowed(input: held, output: o)
                let out = run(wg, input)
                let asked: Box = (ay0, ay1, ax0, ax1)
                let got = crop(Tensor4(1, cout, wg.outHeight, wg.outWidth, out), (ay0 - o.y0, ay1 - o.y0, ax0 - o.x0, ax1 - o.x0))
                XCTAssertLessThan(relativeError(got, crop(naive, asked)), 2e-5, "d\(d) asked \(asked) held \(held)")
                XCTAssertEqual(got, crop(wholeTensor, asked), "d\(d) asked \(asked) held \(held): not bit-identical to the whole output")
            }
        }
    }

    func testSubpixelWindowsMatchTheReference() {
        var rng = SeededRandom(seed: 43)
        for (cin, h, w, cout) in [(3, 9, 13, 4), (11, 16, 10, 6)] {
            let small = Tensor4(1, cin, h, w, rng.floats(cin * h * w))
            var big = Tensor4(1, cin, 2 * h, 2 * w)
            for c in 0..<cin { for y in 0..<2 * h { for x in 0..<2 * w { big[0, c, y, x] = small[0, c, y / 2, x / 2] } } }
            let weight = rng.floats(cout * cin * 9, -0.5, 0.5), bias = rng.floats(cout)
            let g = ConvGeometry(batch: 1, inChannels: cin, inHeight: 2 * h, inWidth: 2 * w, outChannels: cout, kernel: (3, 3),
                                 padding: (1, 1, 1, 1), upsample: 2)
            let naive = naiveConv2D(big, weight: weight, bias: bias, cout: cout, k: (3, 3), stride: (1, 1), dilation: (1, 1), padding: .same)
            let phases = weight.withUnsafeBufferPointer { SubpixelConvolution.transformWeights($0.baseAddress!, outChannels: cout, inChannels: cin) }
            func run(_ g: ConvGeometry, _ input: [Float]) -> [Float] {
                output(cout * g.outHeight * g.outWidth, scratchBytes: SubpixelConvolution.scratchBytes(g, threads: 2)) { out, scratch in
                    input.withUnsafeBufferPointer { xp in phases.withUnsafeBufferPointer { pp in bias.withUnsafeBufferPointer { bp in
                        SubpixelConvolution.forward(g, input: xp.baseAddress!, phaseWeights: pp.baseAddress!, bias: bp.baseAddress!, output: out,
                                                    epilogue: .none, scratch: scratch, threads: 2)
                    } } }
                }
            }
            let wholeTensor = Tensor4(1, cout, 2 * h, 2 * w, run(g, small.data))
            for _ in 0..<4 {
                let (o, need) = windows(g, step: 2, slack: 2, &rng)
                // The stored input is held in whole low-resolution pixels: an even-aligned upsampled window.
                let stored = (need.y0 / 2, (need.y1 + 1) / 2, need.x0 / 2, (need.x1 + 1) / 2)
                let out = run(g.windowed(input: (2 * stored.0, 2 * stored.1, 2 * stored.2, 2 * stored.3), output: o), crop(small, stored))
                XCTAssertLessThan(relativeError(out, crop(naive, o)), 2e-5, "\(h)x\(w) out \(o) stored \(stored)")
                XCTAssertEqual(out, crop(wholeTensor, o), "\(h)x\(w) out \(o): not bit-identical to the whole output")
            }
        }
    }

    /// A window of attention's output matches the same pixels of the whole output, and the
    /// argmax of the positions it matched; few chunks or many (chunk boundaries are the whole run's).
    func testAttentionWindowsMatchTheWholeOutput() {
        var rng = SeededRandom(seed: 44)
        for (c, h, w, chunking) in [(5, 24, 32, ContextualAttentionKernel.Chunking.standard), (3, 30, 22, .init(floats: 2000, minimumRows: 1))] {
            let f = Tensor4(1, c, h, w, rng.floats(c * h * w))
            var m = Tensor4(1, 1, h, w)
            for y in h / 3..<h / 2 { for x in w / 4..<w / 2 { m[0, 0, y, x] = 1 } }
            let p = AttentionParameters()
            func run(_ window: Box?) -> ([Float], [Int32]) {
                let size = window.map { c * ($0.y1 - $0.y0) * ($0.x1 - $0.x0) } ?? c * h * w
                var y = [Float](repeating: .nan, count: size), argmax = [Int32](repeating: -1, count: (h / 2) * (w / 2))
                f.data.withUnsafeBufferPointer { fp in m.data.withUnsafeBufferPointer { mp in
                    ContextualAttentionKernel.forward(p, f: fp.baseAddress!, b: fp.baseAddress!, mask: mp.baseAddress!, batch: 1, channels: c,
                                                      fh: h, fw: w, bh: h, bw: w, y: &y, argmax: &argmax, window: window, threads: 2, chunking: chunking)
                } }
                return (y, argmax)
            }
            let (whole, wholeArgmax) = run(nil)
            let wholeTensor = Tensor4(1, c, h, w, whole)
            for box in [(5, 14, 3, 20), (0, h, 0, w), (h - 5, h, w - 7, w), (0, 1, 0, 1)] as [Box] {
                let (y, argmax) = run(box)
                XCTAssertEqual(y, crop(wholeTensor, box), "\(box): not bit-identical to the whole output")
                let matched = argmax.indices.filter { argmax[$0] >= 0 }
                XCTAssertFalse(matched.isEmpty)
                for i in matched { XCTAssertEqual(argmax[i], wholeArgmax[i], "\(box) position \(i)") }
            }
        }
    }

    /// The GEMM every forward kernel uses: an element of C does not depend on the product's
    /// shape or its place in it (sub-products, transposes, k split at multiples of 512 with
    /// accumulation), and matches a double-precision reference.
    func testGEMMElementsDoNotDependOnTheProductsShape() {
        var rng = SeededRandom(seed: 45)
        for (m, n, k) in [(37, 45, 1300), (7, 130, 96), (200, 17, 513), (1, 1, 1), (13, 4100, 1100)] {
            let a = rng.floats(m * k), b = rng.floats(k * n)
            var c = [Float](repeating: .nan, count: m * n)
            GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n)
            for i in 0..<m { for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
                XCTAssertEqual(Double(c[i * n + j]), s, accuracy: 1e-5 * Double(k), "\(m)x\(n)x\(k) (\(i), \(j))")
            } }
            // Transposed storage of both operands gives the same bits.
            let at = (0..<k * m).map { a[($0 % m) * k + $0 / m] }, bt = (0..<n * k).map { b[($0 % k) * n + $0 / k] }
            var ct = [Float](repeating: .nan, count: m * n)
            GEMM.multiply(m: m, n: n, k: k, a: at, lda: m, transA: true, b: bt, ldb: k, transB: true, c: &ct, ldc: n)
            XCTAssertEqual(ct, c)
            // Any sub-block of C, computed on its own, gives the same bits.
            for _ in 0..<6 {
                let i0 = rng.int(0...m - 1), i1 = rng.int(i0 + 1...m), j0 = rng.int(0...n - 1), j1 = rng.int(j0 + 1...n)
                var sub = [Float](repeating: .nan, count: (i1 - i0) * (j1 - j0))
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                    GEMM.multiply(m: i1 - i0, n: j1 - j0, k: k, a: ap.baseAddress! + i0 * k, lda: k, b: bp.baseAddress! + j0, ldb: n, c: &sub, ldc: j1 - j0)
                } }
                for i in i0..<i1 { for j in j0..<j1 { XCTAssertEqual(sub[(i - i0) * (j1 - j0) + j - j0].bitPattern, c[i * n + j].bitPattern) } }
            }
            // Shared packed B, rows split over threads (attention's products), in k slabs: the same bits.
            for threads in [1, 3] {
                var rows = [Float](repeating: .nan, count: m * n), rowsT = rows
                GEMM.multiplyRows(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &rows, ldc: n, threads: threads, pieces: 5)
                GEMM.multiplyRows(m: m, n: n, k: k, a: at, lda: m, transA: true, b: b, ldb: n, c: &rowsT, ldc: n, threads: threads)
                XCTAssertEqual(rows, c, "\(m)x\(n)x\(k) rows, \(threads) threads")
                XCTAssertEqual(rowsT, c, "\(m)x\(n)x\(k) rows of a transposed A, \(threads) threads")
            }
            // A packed once and multiplied by B (Winograd's weights): the same bits, also accumulating.
            var packed = [Float](repeating: .nan, count: GEMM.packedFloats(m: m, k: k))
            a.withUnsafeBufferPointer { GEMM.pack(m: m, k: k, a: $0.baseAddress!, lda: k, into: &packed) }
            var pre = [Float](repeating: .nan, count: m * n)
            GEMM.multiplyPrepacked(m: m, n: n, k: k, packedA: packed, b: b, ldb: n, c: &pre, ldc: n)
            XCTAssertEqual(pre, c, "\(m)x\(n)x\(k) with A packed once")
            var twice = c, twiceReference = c
            GEMM.multiplyPrepacked(m: m, n: n, k: k, packedA: packed, b: b, ldb: n, c: &twice, ldc: n, accumulate: true)
            GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &twiceReference, ldc: n, accumulate: true)
            XCTAssertEqual(twice, twiceReference, "\(m)x\(n)x\(k) accumulated")
            // k cut at a multiple of 512, the second part accumulated: the same bits.
            if k > 512 {
                var split = [Float](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                    GEMM.multiply(m: m, n: n, k: 512, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, c: &split, ldc: n)
                    GEMM.multiply(m: m, n: n, k: k - 512, a: ap.baseAddress! + 512, lda: k, b: bp.baseAddress! + 512 * n, ldb: n, c: &split, ldc: n,
                                  accumulate: true)
                } }
                XCTAssertEqual(split, c)
                var splitRows = [Float](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                    GEMM.multiplyRows(m: m, n: n, k: 512, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, c: &splitRows, ldc: n, threads: 2)
                    GEMM.multiplyRows(m: m, n: n, k: k - 512, a: ap.baseAddress! + 512, lda: k, b: bp.baseAddress! + 512 * n, ldb: n, c: &splitRows,
                                      ldc: n, accumulate: true, threads: 2)
                } }
                XCTAssertEqual(splitRows, c)
            }
        }
    }
}
