import Evaluation
import Masks
import XCTest

/// The metrics against hand-computed values and against a naive SSIM that evaluates every window
/// directly (no separable blur).
final class MetricsTests: XCTestCase {
    func constant(_ v: Double, width: Int = 16, height: Int = 12, channels: Int = 3) -> PlanarImage {
        PlanarImage(width: width, height: height, channels: channels, values: [Double](repeating: v, count: width * height * channels))
    }

    func testL1L2AndPSNRByHand() {
        // Truth 0.5 everywhere; the fill differs by 0.1 on the 24 hole pixels (2 rows of 12) only.
        let truth = constant(0.5, width: 12, height: 10)
        var fill = truth
        var holes = Mask(width: 12, height: 10)
        for p in 0..<24 { holes.pixels[p] = 1 }
        for c in 0..<3 { for p in 0..<24 { fill.values[c * 120 + p] = 0.6 } }
        let s = Metrics.score(truth: truth, fill: fill, holes: holes)
        XCTAssertEqual(s.holeRatio, 0.2, accuracy: 1e-12)
        XCTAssertEqual(s.l1, 0.1 * 0.2, accuracy: 1e-12)
        XCTAssertEqual(s.l2, 0.01 * 0.2, accuracy: 1e-12)
        XCTAssertEqual(s.psnr, 10 * log10(1 / 0.002), accuracy: 1e-9)       // 26.99 dB
        XCTAssertEqual(s.psnrHole, 20, accuracy: 1e-9)                       // MSE 0.01 in the hole
        // Identical images: PSNR at its cap, SSIM 1.
        let same = Metrics.score(truth: truth, fill: truth, holes: holes)
        XCTAssertEqual(same.psnr, Metrics.psnrCap)
        XCTAssertEqual(same.ssim, 1, accuracy: 1e-12)
        XCTAssertEqual(same.ssimHole, 1, accuracy: 1e-12)
    }

    /// Two constant images: no variance, so SSIM is the luminance term alone.
    func testSSIMOfConstantImagesByHand() {
        let s = Metrics.score(truth: constant(0.2), fill: constant(0.6), holes: Mask(width: 16, height: 12))
        let c1 = 0.0001
        XCTAssertEqual(s.ssim, (2 * 0.2 * 0.6 + c1) / (0.04 + 0.36 + c1), accuracy: 1e-9)
    }

    /// Direct SSIM: the 11×11 Gaussian window at every pixel with mirrored borders.
    func naiveSSIM(_ a: [Double], _ b: [Double], _ w: Int, _ h: Int) -> [Double] {
        let sigma = 1.5
        var kernel = [[Double]](repeating: [Double](repeating: 0, count: 11), count: 11)
        var total = 0.0
        for i in 0..<11 { for j in 0..<11 { kernel[i][j] = exp(-Double((i - 5) * (i - 5) + (j - 5) * (j - 5)) / (2 * sigma * sigma)); total += kernel[i][j] } }
        func mirror(_ i: Int, _ n: Int) -> Int {
            var i = i
            while i < 0 || i >= n { i = i < 0 ? -i - 1 : 2 * n - i - 1 }
            return i
        }
        var out: [Double] = []
        for y in 0..<h {
            for x in 0..<w {
                var ma = 0.0, mb = 0.0, aa = 0.0, bb = 0.0, ab = 0.0
                for i in 0..<11 {
                    for j in 0..<11 {
                        let k = kernel[i][j] / total, p = mirror(y + i - 5, h) * w + mirror(x + j - 5, w)
                        ma += k * a[p]; mb += k * b[p]; aa += k * a[p] * a[p]; bb += k * b[p] * b[p]; ab += k * a[p] * b[p]
                    }
                }
                let c1 = 0.0001, c2 = 0.0009
                out.append((2 * ma * mb + c1) * (2 * (ab - ma * mb) + c2) / ((ma * ma + mb * mb + c1) * (aa - ma * ma + bb - mb * mb + c2)))
            }
        }
        return out
    }

    func testSSIMMapAgreesWithTheDirectWindowOnOddSizes() {
        var state: UInt64 = 99
        func next() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) * 0x1p-53 }
        for (w, h) in [(23, 17), (11, 11), (6, 31), (3, 4)] {
            let a = (0..<w * h).map { _ in next() }, b = a.map { min(1, max(0, $0 + (next() - 0.5) * 0.3)) }
            let fast = Metrics.ssimMap(a, b, width: w, height: h), slow = naiveSSIM(a, b, w, h)
            XCTAssertLessThan(zip(fast, slow).map { abs($0 - $1) }.max()!, 1e-9, "\(w)x\(h)")
        }
    }

    func testSSIMInTheHoleAveragesTheMapThereAndWholeImageSkipsTheBorder() {
        // A 30x30 image, damaged only in the hole (rows 10..<20): SSIM in the hole is lower than
        // over the whole image, and the whole-image value is the map's mean away from 5 pixels.
        var state: UInt64 = 7
        func next() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) * 0x1p-53 }
        let n = 900
        let truth = PlanarImage(width: 30, height: 30, channels: 1, values: (0..<n).map { _ in next() })
        var fill = truth
        var holes = Mask(width: 30, height: 30)
        for y in 10..<20 { for x in 0..<30 { holes.pixels[y * 30 + x] = 1; fill.values[y * 30 + x] = 0.5 } }
        let s = Metrics.score(truth: truth, fill: fill, holes: holes)
        let map = Metrics.ssimMap(truth.values, fill.values, width: 30, height: 30)
        let interior = (5..<25).flatMap { y in (5..<25).map { map[y * 30 + $0] } }
        XCTAssertEqual(s.ssim, interior.reduce(0, +) / 400, accuracy: 1e-12)
        XCTAssertEqual(s.ssimHole, (0..<n).filter { holes.pixels[$0] == 1 }.map { map[$0] }.reduce(0, +) / 300, accuracy: 1e-12)
        XCTAssertLessThan(s.ssimHole, s.ssim)
    }

    func testResultsGroupCasesByHoleRatio() {
        func score(_ hole: Double, _ l1: Double) -> ImageScore {
            ImageScore(holeRatio: hole, l1: l1, l2: 0, psnr: 30, psnrHole: 20, ssim: 0.9, ssimHole: 0.5)
        }
        let cases = [score(0.05, 0.01), score(0.08, 0.03), score(0.15, 0.05), score(0.72, 0.2)].enumerated().map {
            CaseResult(id: "\($0.offset)", photo: "p", score: $0.element)
        }
        let r = EvalResults(method: "m", size: "8x8", masks: "brush", seed: 1, maskHash: "0", secondsPerImage: nil, cases: cases)
        XCTAssertEqual(r.overall.count, 4)
        XCTAssertEqual(r.overall.l1Percent, 100 * (0.01 + 0.03 + 0.05 + 0.2) / 4, accuracy: 1e-12)
        XCTAssertEqual(r.bins.map(\.range), ["0–10 %", "10–20 %", "60–100 %"])
        XCTAssertEqual(r.bins.map(\.summary.count), [2, 1, 1])
        XCTAssertEqual(r.bins[0].summary.l1Percent, 2, accuracy: 1e-12)
        XCTAssertTrue(r.markdown.contains("| hole 0–10 % | 2 | 6.5 | 2.00 |"), r.markdown)
    }
}
