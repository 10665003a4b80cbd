// Adjoint identities of the linear gradient kernels at sizes beyond the finite-difference
// checks: ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ for the convolution's data and weight gradients (random shapes:
// odd sizes, stride 2, dilation 1–16, channel counts that are not multiples of 8) and for the
// nearest resize. Sums in double; tolerance relative to Σ|terms|.
import Kernels
import TestSupport
import XCTest

final class AdjointTests: XCTestCase {
    func dot(_ a: [Float], _ b: [Float]) -> (Double, Double) {
        var s = 0.0, m = 0.0
        for (x, y) in zip(a, b) { s += Double(x) * Double(y); m += abs(Double(x) * Double(y)) }
        return (s, m)
    }

    func testConvolutionDataAndWeightGradientsAreAdjoints() {
        var rng = SeededRandom(seed: 42)
        for trial in 0..<24 {
            let cin = [1, 3, 5, 9, 12][Int(rng.next() % 5)], cout = [2, 7, 10, 17][Int(rng.next() % 4)]
            let k = [1, 3, 5][Int(rng.next() % 3)], stride = 1 + Int(rng.next() % 2)
            let dilation = stride == 1 ? [1, 2, 4, 8, 16][Int(rng.next() % 5)] : 1
            let h = 5 + Int(rng.next() % 30), w = 5 + Int(rng.next() % 30), n = 1 + Int(rng.next() % 2)
            func pads(_ size: Int) -> (Int, Int) {
                let out = (size + stride - 1) / stride, total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
                return (total / 2, total - total / 2)
            }
            let (pt, pb) = pads(h), (pl, pr) = pads(w)
            let g = ConvGeometry(batch: n, inChannels: cin, inHeight: h, inWidth: w, outChannels: cout, kernel: (k, k),
                                 stride: (stride, stride), dilation: (dilation, dilation), padding: (pt, pb, pl, pr))
            let x = (0..<n * cin * h * w).map { _ in Float(rng.uniform()) }
            let wt = (0..<cout * cin * k * k).map { _ in Float(rng.uniform()) }
            let y = (0..<n * cout * g.outPixels).map { _ in Float(rng.uniform()) }
            var ax = [Float](repeating: 0, count: y.count), aty = [Float](repeating: 0, count: x.count)
            var dw = [Float](repeating: 0, count: wt.count), db = [Float](repeating: 0, count: cout)
            Convolution.forward(g, input: x, weight: wt, bias: nil, output: &ax, threads: 2)
            ConvolutionGradient.data(g, outputGradient: y, weight: wt, inputGradient: &aty, threads: 2)
            ConvolutionGradient.weight(g, input: x, outputGradient: y, weightGradient: &dw, biasGradient: &db, threads: 3)
            let (lhs, scale) = dot(ax, y), (rhs, _) = dot(x, aty), (wdot, _) = dot(wt, dw)
            let what = "trial \(trial): n\(n) c\(cin)→\(cout) \(h)x\(w) k\(k) s\(stride) d\(dilation)"
            XCTAssertEqual(lhs, rhs, accuracy: 1e-5 * scale, "data gradient, " + what)
            XCTAssertEqual(lhs, wdot, accuracy: 1e-5 * scale, "weight gradient, " + what)
            // The bias gradient is Σ y per output channel.
            for co in 0..<cout {
                var s = 0.0
                for b in 0..<n { for p in 0..<g.outPixels { s += Double(y[(b * cout + co) * g.outPixels + p]) } }
                XCTAssertEqual(Double(db[co]), s, accuracy: 1e-4, what)
            }
        }
    }

    func testNearestResizeGradientIsTheAdjoint() {
        var rng = SeededRandom(seed: 7)
        for (h, w, oh, ow, align) in [(5, 7, 10, 14, true), (13, 11, 4, 3, true), (13, 11, 4, 3, false), (6, 9, 17, 5, false)] {
            let x = (0..<2 * h * w).map { _ in Float(rng.uniform()) }, y = (0..<2 * oh * ow).map { _ in Float(rng.uniform()) }
            var ax = [UInt32](repeating: 0, count: y.count), aty = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { xp in
                xp.baseAddress!.withMemoryRebound(to: UInt32.self, capacity: x.count) {
                    Layout.resizeNearest($0, &ax, planes: 2, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, alignCorners: align, threads: 1)
                }
            }
            PointwiseGradient.resizeNearest(dy: y, dx: &aty, planes: 2, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow,
                                            alignCorners: align, threads: 2)
            let (lhs, scale) = dot(ax.map { Float(bitPattern: $0) }, y), (rhs, _) = dot(x, aty)
            XCTAssertEqual(lhs, rhs, accuracy: 1e-6 * scale, "\(h)x\(w) → \(oh)x\(ow) align \(align)")
        }
    }
}

final class WinogradGradientTests: XCTestCase {
    /// The Winograd-domain weight gradient against the im2col one (itself checked above), on
    /// odd sizes, dilations 1–16 and channel counts that are not multiples of 8.
    func testWinogradWeightGradientAgreesWithIm2col() {
        var rng = SeededRandom(seed: 11)
        for (n, cin, cout, h, w, d) in [(1, 3, 5, 9, 13, 1), (2, 7, 4, 16, 11, 2), (1, 5, 9, 33, 20, 4), (1, 2, 3, 64, 40, 16), (2, 12, 17, 8, 8, 1)] {
            let g = ConvGeometry(batch: n, inChannels: cin, inHeight: h, inWidth: w, outChannels: cout, kernel: (3, 3),
                                 dilation: (d, d), padding: (d, d, d, d))
            XCTAssertTrue(Winograd.applies(g))
            let x = (0..<n * cin * h * w).map { _ in Float(rng.uniform()) }, dy = (0..<n * cout * h * w).map { _ in Float(rng.uniform()) }
            var reference = [Float](repeating: 0, count: cout * cin * 9), winograd = reference, db = [Float](repeating: 0, count: cout)
            ConvolutionGradient.weight(g, input: x, outputGradient: dy, weightGradient: &reference, biasGradient: &db, threads: 2)
            Winograd.weightGradient(g, input: x, outputGradient: dy, weightGradient: &winograd, threads: 2)
            var one = [Float](repeating: 0, count: winograd.count)
            Winograd.weightGradient(g, input: x, outputGradient: dy, weightGradient: &one, threads: 1)
            XCTAssertEqual(one, winograd, "thread count changed the result, d\(d)")
            let scale = reference.map(abs).max()!, worst = zip(reference, winograd).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-4 * scale, "n\(n) c\(cin)→\(cout) \(h)x\(w) d\(d): \(worst) vs max \(scale)")
        }
    }
}
