import Kernels
import TestSupport
import XCTest

final class AttentionAndSpectralNormTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var n = 1, c = 3, fh = 8, fw = 8, bh = 8, bw = 8
        var ksize = 3, stride = 1, rate = 2, fuseK = 3, fuse = true, mask = true, sameTensor = true
        var description: String {
            "n\(n) c\(c) f\(fh)x\(fw) b\(bh)x\(bw) k\(ksize) s\(stride) r\(rate) fuseK\(fuseK) fuse=\(fuse) mask=\(mask) b=f:\(sameTensor)"
        }
    }

    /// The same cases with the score budget cut to one attention-grid row per chunk (and less),
    /// so the fuse halos cross chunk boundaries and the grid wrap-around spans chunks.
    func testChunkedScoresEqualTheReference() {
        let p = AttentionParameters(ksize: 3, stride: 1, rate: 2, fuseK: 3, softmaxScale: 10, fuse: true)
        let whole = ContextualAttentionKernel.scratchBytes(p, channels: 4, fh: 16, fw: 24, bh: 16, bw: 24)
        for budget in [1, 200] {
            let chunking = ContextualAttentionKernel.Chunking(floats: budget, minimumRows: 1)
            // The budget reaches the kernel: smaller chunks need less scratch than one whole chunk.
            let chunked = ContextualAttentionKernel.scratchBytes(p, channels: 4, fh: 16, fw: 24, bh: 16, bw: 24, chunking: chunking)
            XCTAssertLessThan(chunked, whole, "budget \(budget)")
            check(Case(c: 4, fh: 16, fw: 24, bh: 16, bw: 24), seed: 91, chunking: chunking)
            check(Case(c: 3, fh: 20, fw: 12, bh: 20, bw: 12, fuseK: 5), seed: 92, chunking: chunking)
            check(Case(n: 2, c: 2, fh: 12, fw: 16, bh: 12, bw: 16, fuse: false), seed: 93, chunking: chunking)
            check(Case(c: 3, fh: 16, fw: 16, bh: 12, bw: 20, sameTensor: false), seed: 94, chunking: chunking)
            // Two batch elements with the fuse: raw scores handed from chunk to chunk never cross elements.
            check(Case(n: 2, c: 3, fh: 12, fw: 10, bh: 12, bw: 10), seed: 95, chunking: chunking)
        }
    }

    func check(_ t: Case, seed: UInt64, chunking: ContextualAttentionKernel.Chunking = .standard) {
        var rng = SeededRandom(seed: seed)
        let f = Tensor4(t.n, t.c, t.fh, t.fw, rng.floats(t.n * t.c * t.fh * t.fw))
        let b = t.sameTensor ? f : Tensor4(t.n, t.c, t.bh, t.bw, rng.floats(t.n * t.c * t.bh * t.bw))
        // A rectangular hole plus scattered hole pixels.
        var m = Tensor4(1, 1, b.h, b.w)
        if t.mask {
            let y0 = rng.int(0...b.h / 2), x0 = rng.int(0...b.w / 2)
            for y in y0..<min(b.h, y0 + b.h / 3 + 1) { for x in x0..<min(b.w, x0 + b.w / 3 + 1) { m[0, 0, y, x] = 1 } }
            for _ in 0..<2 { m[0, 0, rng.int(0...b.h - 1), rng.int(0...b.w - 1)] = 1 }
        }
        let naive = naiveContextualAttention(f: f, b: b, mask: t.mask ? m : nil, ksize: t.ksize, stride: t.stride, rate: t.rate,
                                             fuseK: t.fuseK, scale: 10, fuse: t.fuse)
        var y = [Float](repeating: .nan, count: f.data.count)
        var argmax = [Int32](repeating: -1, count: naive.argmax.count)
        let p = AttentionParameters(ksize: t.ksize, stride: t.stride, rate: t.rate, fuseK: t.fuseK, softmaxScale: 10, fuse: t.fuse)
        f.data.withUnsafeBufferPointer { fp in
            b.data.withUnsafeBufferPointer { bp in
                m.data.withUnsafeBufferPointer { mp in
                    ContextualAttentionKernel.forward(p, f: fp.baseAddress!, b: bp.baseAddress!, mask: t.mask ? mp.baseAddress! : nil,
                                                batch: t.n, channels: t.c, fh: t.fh, fw: t.fw, bh: b.h, bw: b.w,
                                                y: &y, argmax: &argmax, threads: 2, chunking: chunking)
                }
            }
        }
        XCTAssertLessThan(relativeError(y, naive.y.data), 2e-5, "\(t) \(chunking)")
        // The argmax must agree wherever the reference's winner is clear of float32 noise.
        for i in 0..<argmax.count where naive.gap[i] > 1e-4 {
            XCTAssertEqual(argmax[i], naive.argmax[i], "\(t) position \(i)")
        }
    }

    func testDeepFillSettings() {
        check(Case(), seed: 1)
        check(Case(n: 2, c: 5, fh: 12, fw: 16, bh: 12, bw: 16), seed: 2)
        check(Case(n: 1, c: 1, fh: 4, fw: 4, bh: 4, bw: 4), seed: 3)
        check(Case(n: 2, c: 3, fh: 10, fw: 6, bh: 10, bw: 6, mask: false), seed: 4)
    }

    func testOtherRatesKernelSizesAndFuseWidths() {
        check(Case(c: 2, fh: 6, fw: 9, bh: 6, bw: 9, ksize: 3, rate: 1), seed: 5)
        check(Case(c: 3, fh: 12, fw: 12, bh: 12, bw: 12, ksize: 3, rate: 3), seed: 6)
        check(Case(c: 4, fh: 8, fw: 12, bh: 8, bw: 12, ksize: 1, rate: 2), seed: 7)
        check(Case(c: 3, fh: 8, fw: 8, bh: 8, bw: 8, ksize: 5, rate: 2, fuseK: 5), seed: 8)
        check(Case(c: 3, fh: 8, fw: 10, bh: 8, bw: 10, fuseK: 1), seed: 9)
    }

    func testSeparateBackgroundStrideTwoAndNoFuse() {
        check(Case(c: 3, fh: 8, fw: 8, bh: 12, bw: 8, fuse: false, sameTensor: false), seed: 10)
        check(Case(c: 2, fh: 8, fw: 8, bh: 8, bw: 12, stride: 2, fuse: false, sameTensor: false), seed: 11)
        check(Case(n: 2, c: 3, fh: 8, fw: 8, bh: 8, bw: 8, fuse: false), seed: 12)
    }

    func testSpectralNormMatchesThePowerIterationDefinition() {
        var rng = SeededRandom(seed: 13)
        for (rows, cols) in [(1, 1), (3, 7), (17, 5), (64, 100)] {
            let w = rng.floats(rows * cols), u = rng.floats(rows)
            let r = SpectralNorm.normalize(weight: w, rows: rows, cols: cols, u: u)
            // v = l2n(Wᵀu), u' = l2n(Wv), σ = u'ᵀWv, written with separate loops in double.
            var v = (0..<cols).map { c in (0..<rows).reduce(0.0) { $0 + Double(w[$1 * cols + c]) * Double(u[$1]) } }
            let vn = sqrt(v.reduce(0) { $0 + $1 * $1 }) + 1e-12
            v = v.map { $0 / vn }
            let wv = (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + Double(w[r * cols + $1]) * v[$1] } }
            let un = sqrt(wv.reduce(0) { $0 + $1 * $1 }) + 1e-12
            let u2 = wv.map { $0 / un }
            let sigma = zip(u2, wv).reduce(0) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(Double(r.sigma), sigma, accuracy: 1e-5 * sigma)
            XCTAssertLessThan(relativeError(r.updatedU, u2.map(Float.init)), 1e-6)
            XCTAssertLessThan(relativeError(r.normalizedWeight, w.map { Float(Double($0) / sigma) }), 1e-5)
        }
        // A rank-one matrix a·bᵀ has σ = |a|·|b|, reached in one iteration from any u not orthogonal to a.
        let a: [Float] = [3, 4], b: [Float] = [1, 2, 2]
        let w = a.flatMap { x in b.map { x * $0 } }
        XCTAssertEqual(SpectralNorm.normalize(weight: w, rows: 2, cols: 3, u: [1, 0]).sigma, 15, accuracy: 1e-4)
    }
}
