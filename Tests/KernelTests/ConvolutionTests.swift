import Foundation
import Kernels
import TestSupport
import XCTest

/// Tiled im2col + SGEMM convolution against the seven-loop definition.
final class ConvolutionTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var n, cin, h, w, cout, kh, kw, sh, sw, dh, dw: Int
        var padding: NaivePadding
        var bias: Bool
        var description: String {
            "n\(n) cin\(cin) \(h)x\(w) cout\(cout) k\(kh)x\(kw) s\(sh)x\(sw) d\(dh)x\(dw) \(padding) bias=\(bias)"
        }
    }

    func run(_ c: Case, threads: Int = 2, seed: UInt64) -> (fast: [Float], naive: [Float]) {
        var rng = SeededRandom(seed: seed)
        let x = Tensor4(c.n, c.cin, c.h, c.w, rng.floats(c.n * c.cin * c.h * c.w))
        let weight = rng.floats(c.cout * c.cin * c.kh * c.kw, -0.5, 0.5)
        let bias = c.bias ? rng.floats(c.cout) : nil
        let naive = naiveConv2D(x, weight: weight, bias: bias, cout: c.cout, k: (c.kh, c.kw), stride: (c.sh, c.sw),
                                dilation: (c.dh, c.dw), padding: c.padding)
        var pads: (Int, Int, Int, Int)
        switch c.padding {
        case .same:
            let a = naiveSamePads(c.h, k: c.kh, s: c.sh, d: c.dh), b = naiveSamePads(c.w, k: c.kw, s: c.sw, d: c.dw)
            pads = (a.0, a.1, b.0, b.1)
        case .explicit(let t, let b, let l, let r): pads = (t, b, l, r)
        case .reflect:
            pads = (c.dh * (c.kh - 1) / 2, c.dh * (c.kh - 1) - c.dh * (c.kh - 1) / 2, c.dw * (c.kw - 1) / 2, c.dw * (c.kw - 1) - c.dw * (c.kw - 1) / 2)
        }
        var isReflect = false
        if case .reflect = c.padding { isReflect = true }
        let g = ConvGeometry(batch: c.n, inChannels: c.cin, inHeight: c.h, inWidth: c.w, outChannels: c.cout,
                             kernel: (c.kh, c.kw), stride: (c.sh, c.sw), dilation: (c.dh, c.dw), padding: pads, reflect: isReflect)
        XCTAssertEqual(g.outHeight, naive.h, "\(c)")
        XCTAssertEqual(g.outWidth, naive.w, "\(c)")
        var out = [Float](repeating: .nan, count: c.n * c.cout * g.outHeight * g.outWidth)
        x.data.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    if let bias {
                        bias.withUnsafeBufferPointer { bp in
                            Convolution.forward(g, input: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!, output: op.baseAddress!, threads: threads)
                        }
                    } else {
                        Convolution.forward(g, input: xp.baseAddress!, weight: wp.baseAddress!, bias: nil, output: op.baseAddress!, threads: threads)
                    }
                }
            }
        }
        return (out, naive.data)
    }

    func check(_ c: Case, seed: UInt64, threads: Int = 2) {
        let (fast, naive) = run(c, threads: threads, seed: seed)
        XCTAssertLessThan(relativeError(fast, naive), 2e-5, "\(c)")
    }

    func testEveryDilationRate1To16() {
        for d in 1...16 {
            check(Case(n: 1, cin: 5, h: 21, w: 19, cout: 7, kh: 3, kw: 3, sh: 1, sw: 1, dh: d, dw: d, padding: .same, bias: true), seed: UInt64(d))
        }
    }

    func testStrideTwoOddAndEvenSizes() {
        for (i, (h, w)) in [(8, 8), (9, 7), (1, 1), (2, 3), (17, 16), (33, 31)].enumerated() {
            check(Case(n: 2, cin: 3, h: h, w: w, cout: 6, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, padding: .same, bias: true), seed: 100 + UInt64(i))
            check(Case(n: 1, cin: 4, h: h, w: w, cout: 5, kh: 5, kw: 5, sh: 2, sw: 2, dh: 1, dw: 1, padding: .same, bias: false), seed: 200 + UInt64(i))
        }
    }

    func testRandomShapesPaddingModesAndChannelCounts() {
        var rng = SeededRandom(seed: 7)
        for i in 0..<60 {
            let kh = rng.pick([1, 3, 5]), kw = rng.pick([1, 3, 5, kh])
            let dh = rng.int(1...4), dw = rng.int(1...4)
            let h = rng.int(1...20), w = rng.int(1...20)
            var padding: NaivePadding
            switch i % 3 {
            case 0: padding = .same
            case 1: padding = .explicit(rng.int(0...3), rng.int(0...3), rng.int(0...3), rng.int(0...3))
            default: padding = .reflect
            }
            // Reflect needs the input larger than the pad; explicit needs a non-empty output.
            if case .reflect = padding, h <= dh * (kh - 1) || w <= dw * (kw - 1) { padding = .same }
            if case .explicit(let t, let b, let l, let r) = padding, h + t + b < dh * (kh - 1) + 1 || w + l + r < dw * (kw - 1) + 1 { padding = .same }
            let c = Case(n: rng.int(1...3), cin: rng.pick([1, 2, 3, 5, 7, 9, 13]), h: h, w: w, cout: rng.pick([1, 3, 6, 11, 17]),
                         kh: kh, kw: kw, sh: rng.int(1...2), sw: rng.int(1...2), dh: dh, dw: dw, padding: padding, bias: i % 2 == 0)
            check(c, seed: 1000 + UInt64(i))
        }
    }

    func testManyTilesAndThreadCountsGiveIdenticalBits() {
        // K = 48·9 = 432 gives 592-pixel tiles, so a 47x53 output is cut into several tiles.
        let c = Case(n: 2, cin: 48, h: 47, w: 53, cout: 24, kh: 3, kw: 3, sh: 1, sw: 1, dh: 2, dw: 2, padding: .same, bias: true)
        let one = run(c, threads: 1, seed: 9), four = run(c, threads: 4, seed: 9)
        XCTAssertLessThan(relativeError(one.fast, one.naive), 2e-5)
        XCTAssertEqual(one.fast, four.fast, "results must not depend on the thread count")
    }

    func testPointwiseConvolutionSkipsIm2Col() {
        check(Case(n: 3, cin: 11, h: 9, w: 14, cout: 5, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, padding: .same, bias: true), seed: 5)
    }

    func testCol2ImIsTheAdjointOfIm2Col() {
        var rng = SeededRandom(seed: 3)
        for _ in 0..<20 {
            let h = rng.int(2...12), w = rng.int(2...12), k = rng.pick([1, 2, 3, 4]), s = rng.int(1...2), c = rng.int(1...3)
            let pads = naiveSamePads(h, k: k, s: s, d: 1), padsW = naiveSamePads(w, k: k, s: s, d: 1)
            let g = ConvGeometry(batch: 1, inChannels: c, inHeight: h, inWidth: w, outChannels: 1, kernel: (k, k), stride: (s, s),
                                 padding: (pads.0, pads.1, padsW.0, padsW.1))
            let x = rng.floats(c * h * w), y = rng.floats(g.columnRows * g.outPixels)
            var col = [Float](repeating: 0, count: g.columnRows * g.outPixels)
            var back = [Float](repeating: 0, count: c * h * w)
            x.withUnsafeBufferPointer { Im2Col.expand(g, image: $0.baseAddress!, firstPixel: 0, width: g.outPixels, into: &col) }
            y.withUnsafeBufferPointer { Im2Col.accumulate(g, col: $0.baseAddress!, channels: 0..<c, into: &back) }
            // <im2col(x), y> == <x, col2im(y)>
            let lhs = zip(col, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let rhs = zip(x, back).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-3 * max(1, abs(lhs)))
        }
    }

    /// The fused epilogues equal convolution, then the activation or gate, done naively.
    func testFusedGateAndActivationEpilogues() {
        var rng = SeededRandom(seed: 77)
        let shapes: [(n: Int, cin: Int, h: Int, w: Int, features: Int, k: Int, s: Int, d: Int)] = [
            (1, 5, 17, 23, 7, 3, 1, 1), (2, 3, 9, 8, 13, 5, 1, 1), (1, 6, 31, 30, 5, 3, 2, 1), (1, 4, 40, 36, 3, 3, 1, 4),
            (1, 9, 20, 20, 6, 1, 1, 1), (1, 2, 64, 64, 1, 3, 1, 16), (3, 7, 11, 5, 9, 3, 2, 1),
        ]
        for (index, c) in shapes.enumerated() {
            for epilogue in [ConvEpilogue.gate(.elu(alpha: 1)), .gate(.relu), .activation(.tanh), .activation(.leakyRelu(alpha: 0.2))] {
                var gated = false
                if case .gate = epilogue { gated = true }
                let cout = gated ? 2 * c.features : c.features
                let x = Tensor4(c.n, c.cin, c.h, c.w, rng.floats(c.n * c.cin * c.h * c.w))
                let weight = rng.floats(cout * c.cin * c.k * c.k, -0.5, 0.5), bias = rng.floats(cout)
                let conv = naiveConv2D(x, weight: weight, bias: bias, cout: cout, k: (c.k, c.k), stride: (c.s, c.s),
                                       dilation: (c.d, c.d), padding: .same)
                var expected: [Float] = []
                let plane = conv.h * conv.w
                for b in 0..<c.n {
                    for ch in 0..<c.features {
                        for i in 0..<plane {
                            let v = conv.data[(b * cout + ch) * plane + i]
                            switch epilogue {
                            case .gate(let f):
                                let g = conv.data[(b * cout + c.features + ch) * plane + i]
                                let a: Float = f == .relu ? max(v, 0) : naiveElu(v, 1)
                                expected.append(a * naiveSigmoid(g))
                            case .activation(let f):
                                expected.append(f == .tanh ? Float(Foundation.tanh(Double(v))) : (v > 0 ? v : 0.2 * v))
                            case .none:
                                expected.append(v)
                            }
                        }
                    }
                }
                let a = naiveSamePads(c.h, k: c.k, s: c.s, d: c.d), bpad = naiveSamePads(c.w, k: c.k, s: c.s, d: c.d)
                let g = ConvGeometry(batch: c.n, inChannels: c.cin, inHeight: c.h, inWidth: c.w, outChannels: cout,
                                     kernel: (c.k, c.k), stride: (c.s, c.s), dilation: (c.d, c.d), padding: (a.0, a.1, bpad.0, bpad.1))
                var out = [Float](repeating: .nan, count: c.n * c.features * plane)
                for threads in [1, 3] {
                    x.data.withUnsafeBufferPointer { xp in weight.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                        Convolution.forward(g, input: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                            output: &out, epilogue: epilogue, threads: threads)
                    } } }
                    XCTAssertLessThan(relativeError(out, expected), 2e-5, "case \(index) \(epilogue) threads \(threads)")
                }
            }
        }
    }
}

/// Winograd F(4×4,3×3) against the naive convolution: dilation rates 1–16 (run as phases), odd and
/// even sizes, channel counts that are not multiples of 8, every epilogue, 1 and 3 threads (same bits).
final class WinogradTests: XCTestCase {
    func testMatchesNaiveConvolution() {
        var rng = SeededRandom(seed: 5)
        let shapes: [(n: Int, cin: Int, h: Int, w: Int, cout: Int, d: Int)] = [
            (1, 8, 9, 7, 6, 1), (2, 13, 16, 16, 10, 1), (1, 3, 1, 1, 4, 1), (1, 24, 31, 2, 14, 1), (1, 96, 12, 20, 192, 1),
            (1, 5, 17, 23, 6, 2), (1, 11, 20, 13, 4, 3), (2, 7, 33, 18, 6, 4), (1, 9, 21, 40, 10, 5), (1, 6, 40, 37, 4, 8),
            (1, 4, 19, 35, 6, 16), (1, 3, 50, 49, 2, 16), (1, 4, 5, 6, 2, 7), (1, 12, 64, 64, 8, 16)]
        for (index, c) in shapes.enumerated() {
            for epilogue in [ConvEpilogue.none, .activation(.elu(alpha: 1)), .gate(.elu(alpha: 1))] {
                let x = Tensor4(c.n, c.cin, c.h, c.w, rng.floats(c.n * c.cin * c.h * c.w))
                let weight = rng.floats(c.cout * c.cin * 9, -0.5, 0.5), bias = rng.floats(c.cout)
                let g = ConvGeometry(batch: c.n, inChannels: c.cin, inHeight: c.h, inWidth: c.w, outChannels: c.cout,
                                     kernel: (3, 3), dilation: (c.d, c.d), padding: (c.d, c.d, c.d, c.d))
                XCTAssertTrue(Winograd.applies(g))
                var reference = [Float](repeating: 0, count: c.n * epilogue.outputChannels(g) * c.h * c.w)
                x.data.withUnsafeBufferPointer { xp in weight.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                    Convolution.forward(g, input: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!, output: &reference,
                                        epilogue: epilogue, threads: 1)
                } } }
                if case .none = epilogue {
                    let naive = naiveConv2D(x, weight: weight, bias: bias, cout: c.cout, k: (3, 3), stride: (1, 1), dilation: (c.d, c.d), padding: .same)
                    XCTAssertLessThan(relativeError(reference, naive.data), 2e-5)
                }
                let u = weight.withUnsafeBufferPointer { Winograd.transformWeights($0.baseAddress!, outChannels: c.cout, inChannels: c.cin) }
                var byThreads: [[Float]] = []
                for threads in [1, 3] {
                    var out = [Float](repeating: .nan, count: reference.count)
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Winograd.scratchBytes(g, threads: threads) / 4)
                    defer { scratch.deallocate() }
                    x.data.withUnsafeBufferPointer { xp in u.withUnsafeBufferPointer { up in bias.withUnsafeBufferPointer { bp in
                        Winograd.forward(g, input: xp.baseAddress!, transformedWeight: up.baseAddress!, bias: bp.baseAddress!, output: &out,
                                         epilogue: epilogue, scratch: scratch, threads: threads)
                    } } }
                    XCTAssertLessThan(relativeError(out, reference), 2e-5, "case \(index) \(epilogue) threads \(threads)")
                    byThreads.append(out)
                }
                XCTAssertEqual(byThreads[0], byThreads[1], "case \(index): thread counts differ")
            }
        }
    }

    /// Small pieces: many pieces of whole tile rows across phases give the same result.
    func testPieceSizeDoesNotChangeTheResultBeyondRounding() {
        var rng = SeededRandom(seed: 8)
        let (cin, h, w, cout, d) = (6, 37, 29, 5, 4)
        let x = rng.floats(cin * h * w), weight = rng.floats(cout * cin * 9, -0.5, 0.5)
        let g = ConvGeometry(batch: 1, inChannels: cin, inHeight: h, inWidth: w, outChannels: cout, kernel: (3, 3),
                             dilation: (d, d), padding: (d, d, d, d))
        let u = weight.withUnsafeBufferPointer { Winograd.transformWeights($0.baseAddress!, outChannels: cout, inChannels: cin) }
        func run(_ pieces: Winograd.Pieces) -> [Float] {
            var out = [Float](repeating: .nan, count: cout * h * w)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Winograd.scratchBytes(g, threads: 2, pieces: pieces) / 4)
            defer { scratch.deallocate() }
            x.withUnsafeBufferPointer { xp in u.withUnsafeBufferPointer { up in
                Winograd.forward(g, input: xp.baseAddress!, transformedWeight: up.baseAddress!, bias: nil, output: &out,
                                 epilogue: .none, scratch: scratch, threads: 2, pieces: pieces)
            } }
            return out
        }
        let wide = run(.standard)
        let narrow = run(Winograd.Pieces(targetTiles: 1, minimumTiles: 1))
        // The narrow setting really cuts smaller pieces (one tile row each needs less scratch).
        XCTAssertLessThan(Winograd.scratchBytes(g, threads: 2, pieces: Winograd.Pieces(targetTiles: 1, minimumTiles: 1)),
                          Winograd.scratchBytes(g, threads: 2))
        // Each output depends only on its own tile, so the bits are the same however tiles are grouped.
        XCTAssertEqual(wide, narrow)
        XCTAssertFalse(wide.contains { $0.isNaN })
    }
}

/// A folded ×2 upsample: the convolution of the replicated image, read from the half-size one.
final class FoldedUpsampleTests: XCTestCase {
    func testEqualsConvolvingTheUpsampledImage() {
        var rng = SeededRandom(seed: 11)
        for (n, cin, h, w, cout, k, s, d) in [(1, 3, 5, 7, 4, 3, 1, 1), (2, 5, 8, 6, 6, 3, 1, 2), (1, 4, 9, 9, 3, 5, 2, 1), (1, 16, 16, 12, 8, 3, 1, 1)] {
            let small = Tensor4(n, cin, h, w, rng.floats(n * cin * h * w))
            var big = Tensor4(n, cin, 2 * h, 2 * w)
            for b in 0..<n { for c in 0..<cin { for y in 0..<2 * h { for x in 0..<2 * w { big[b, c, y, x] = small[b, c, y / 2, x / 2] } } } }
            let weight = rng.floats(cout * cin * k * k, -0.5, 0.5), bias = rng.floats(cout)
            let naive = naiveConv2D(big, weight: weight, bias: bias, cout: cout, k: (k, k), stride: (s, s), dilation: (d, d), padding: .same)
            let a = naiveSamePads(2 * h, k: k, s: s, d: d), b = naiveSamePads(2 * w, k: k, s: s, d: d)
            let g = ConvGeometry(batch: n, inChannels: cin, inHeight: 2 * h, inWidth: 2 * w, outChannels: cout, kernel: (k, k),
                                 stride: (s, s), dilation: (d, d), padding: (a.0, a.1, b.0, b.1), upsample: 2)
            var out = [Float](repeating: .nan, count: naive.data.count)
            small.data.withUnsafeBufferPointer { xp in weight.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                Convolution.forward(g, input: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!, output: &out, threads: 2)
            } } }
            XCTAssertLessThan(relativeError(out, naive.data), 2e-5, "n\(n) cin\(cin) \(h)x\(w) k\(k) s\(s) d\(d)")
        }
    }
}

/// The sub-pixel form of a folded upsample (four 2×2 phase convolutions) against the naive 3×3
/// convolution of the replicated image and the folded im2col path: odd stored sizes, channel
/// counts that are not multiples of 8, every epilogue, and identical bits for 1 and 3 threads.
final class SubpixelConvolutionTests: XCTestCase {
    func testMatchesConvolvingTheUpsampledImage() {
        var rng = SeededRandom(seed: 17)
        for (n, cin, h, w, cout) in [(1, 3, 5, 7, 4), (2, 13, 8, 6, 10), (1, 1, 1, 1, 2), (1, 20, 33, 3, 14), (1, 96, 16, 12, 48)] {
            let small = Tensor4(n, cin, h, w, rng.floats(n * cin * h * w))
            var big = Tensor4(n, cin, 2 * h, 2 * w)
            for b in 0..<n { for c in 0..<cin { for y in 0..<2 * h { for x in 0..<2 * w { big[b, c, y, x] = small[b, c, y / 2, x / 2] } } } }
            let weight = rng.floats(cout * cin * 9, -0.5, 0.5), bias = rng.floats(cout)
            let g = ConvGeometry(batch: n, inChannels: cin, inHeight: 2 * h, inWidth: 2 * w, outChannels: cout, kernel: (3, 3),
                                 padding: (1, 1, 1, 1), upsample: 2)
            XCTAssertTrue(SubpixelConvolution.applies(g))
            let phases = weight.withUnsafeBufferPointer { SubpixelConvolution.transformWeights($0.baseAddress!, outChannels: cout, inChannels: cin) }
            for epilogue in [ConvEpilogue.none, .activation(.elu(alpha: 1)), .gate(.elu(alpha: 1))] {
                var reference = [Float](repeating: 0, count: n * epilogue.outputChannels(g) * 4 * h * w)
                small.data.withUnsafeBufferPointer { xp in weight.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                    Convolution.forward(g, input: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!, output: &reference,
                                        epilogue: epilogue, threads: 1)
                } } }
                if case .none = epilogue {
                    let naive = naiveConv2D(big, weight: weight, bias: bias, cout: cout, k: (3, 3), stride: (1, 1), dilation: (1, 1), padding: .same)
                    XCTAssertLessThan(relativeError(reference, naive.data), 2e-5)
                }
                var byThreads: [[Float]] = []
                for threads in [1, 3] {
                    var out = [Float](repeating: .nan, count: reference.count)
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: SubpixelConvolution.scratchBytes(g, threads: threads) / 4)
                    defer { scratch.deallocate() }
                    small.data.withUnsafeBufferPointer { xp in phases.withUnsafeBufferPointer { pp in bias.withUnsafeBufferPointer { bp in
                        SubpixelConvolution.forward(g, input: xp.baseAddress!, phaseWeights: pp.baseAddress!, bias: bp.baseAddress!, output: &out,
                                                    epilogue: epilogue, scratch: scratch, threads: threads)
                    } } }
                    XCTAssertLessThan(relativeError(out, reference), 2e-5, "n\(n) cin\(cin) \(h)x\(w) \(epilogue) threads \(threads)")
                    byThreads.append(out)
                }
                XCTAssertEqual(byThreads[0], byThreads[1])
            }
        }
        // Reflect padding, odd virtual sizes or other kernels keep the im2col path.
        XCTAssertFalse(SubpixelConvolution.applies(ConvGeometry(batch: 1, inChannels: 1, inHeight: 8, inWidth: 8, outChannels: 1, kernel: (3, 3),
                                                                padding: (1, 1, 1, 1), reflect: true, upsample: 2)))
        XCTAssertFalse(SubpixelConvolution.applies(ConvGeometry(batch: 1, inChannels: 1, inHeight: 8, inWidth: 8, outChannels: 1, kernel: (3, 3),
                                                                padding: (1, 1, 1, 1), upsample: 1)))
    }
}
