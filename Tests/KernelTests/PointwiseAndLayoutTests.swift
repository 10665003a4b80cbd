import CKernels
import Foundation
import Kernels
import TestSupport
import XCTest

/// Elementwise and data-movement kernels against their definitions.
final class PointwiseAndLayoutTests: XCTestCase {
    func testActivationsMatchTheirFormulas() {
        var rng = SeededRandom(seed: 1)
        let x = rng.floats(1001, -6, 6) + [0, -0.0, 1e-8, -1e-8, 30, -30]
        let cases: [(ActivationFunction, (Float) -> Float)] = [
            (.elu(alpha: 1), { naiveElu($0, 1) }), (.elu(alpha: 0.5), { naiveElu($0, 0.5) }),
            (.relu, { max($0, 0) }), (.leakyRelu(alpha: 0.2), { $0 > 0 ? $0 : 0.2 * $0 }),
            (.sigmoid, naiveSigmoid), (.tanh, { Float(Foundation.tanh(Double($0))) }), (.identity, { $0 }),
        ]
        for (f, reference) in cases {
            var y = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { Pointwise.activation(f, $0.baseAddress!, &y, count: x.count, threads: 2) }
            XCTAssertLessThan(relativeError(y, x.map(reference)), 1e-6, "\(f)")
        }
    }

    /// The kernels' exp is within 3 ulp of libm's over its whole range, and clamps outside it.
    func testVectorExpAgreesWithLibm() {
        var worst: Float = 0
        var x: Float = -87.3
        while x < 88.3 {
            let e = expf(x)
            worst = max(worst, abs(fg_exp(x) - e) / e)
            x += 0.0173
        }
        XCTAssertLessThan(worst, 3 * Float.ulpOfOne / 2, "worst relative error \(worst)")
        XCTAssertEqual(fg_exp(0), 1)
        XCTAssertTrue(fg_exp(-1000) > 0 && fg_exp(-1000) < 1e-37)
        XCTAssertTrue(fg_exp(1000).isFinite)
    }

    /// The kernels' tanh is within a few ulp of libm's (absolute 2e-7 near 0, where it is a
    /// polynomial), odd, and saturates to ±1 without NaN far out.
    func testVectorTanhAgreesWithLibm() {
        var worst: Float = 0
        var x: Float = -20
        while x < 20 {
            worst = max(worst, abs(fg_tanh(x) - tanhf(x)))
            XCTAssertEqual(fg_tanh(-x), -fg_tanh(x))
            x += 0.00371
        }
        XCTAssertLessThan(worst, 2.5e-7, "worst absolute error \(worst)")
        XCTAssertEqual(fg_tanh(0), 0)
        XCTAssertEqual(fg_tanh(1000), 1)
        XCTAssertEqual(fg_tanh(-1000), -1)
        XCTAssertEqual(fg_tanh(.infinity), 1)
    }

    func testGateSplitsFeaturesAndGates() {
        var rng = SeededRandom(seed: 2)
        for (n, c, p) in [(1, 1, 1), (2, 3, 7), (3, 13, 33), (1, 24, 4096)] {
            let x = rng.floats(n * 2 * c * p, -4, 4)
            var y = [Float](repeating: 0, count: n * c * p)
            x.withUnsafeBufferPointer { Pointwise.gate(.elu(alpha: 1), $0.baseAddress!, &y, batch: n, featureChannels: c, pixels: p, threads: 3) }
            var expected: [Float] = []
            for b in 0..<n { for ch in 0..<c { for i in 0..<p {
                expected.append(naiveElu(x[(b * 2 * c + ch) * p + i], 1) * naiveSigmoid(x[(b * 2 * c + c + ch) * p + i]))
            } } }
            XCTAssertLessThan(relativeError(y, expected), 1e-6, "n\(n) c\(c) p\(p)")
        }
    }

    func testBinaryBroadcasting() {
        var rng = SeededRandom(seed: 3)
        let shapes: [([Int], [Int])] = [([2, 3, 4, 5], [2, 3, 4, 5]), ([2, 3, 4, 5], [2, 1, 4, 5]), ([1, 3, 4, 5], [2, 3, 1, 1]),
                                         ([2, 1, 1, 5], [1, 3, 4, 1]), ([1, 1, 1, 1], [3, 2, 7, 9])]
        for (sa, sb) in shapes {
            let shape = zip(sa, sb).map { max($0, $1) }
            let a = rng.floats(sa.reduce(1, *)), b = rng.floats(sb.reduce(1, *))
            func at(_ v: [Float], _ s: [Int], _ i: [Int]) -> Float {
                var off = 0
                for d in 0..<4 { off = off * s[d] + (s[d] == 1 ? 0 : i[d]) }
                return v[off]
            }
            for (op, f) in [(Pointwise.BinaryOp.add, { (x: Float, y: Float) in x + y }), (.sub, { $0 - $1 }), (.mul, { $0 * $1 })] {
                var out = [Float](repeating: .nan, count: shape.reduce(1, *))
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                    Pointwise.binary(op, ap.baseAddress!, shapeA: sa, bp.baseAddress!, shapeB: sb, &out, shape: shape, threads: 2)
                } }
                var k = 0
                for i0 in 0..<shape[0] { for i1 in 0..<shape[1] { for i2 in 0..<shape[2] { for i3 in 0..<shape[3] {
                    let i = [i0, i1, i2, i3]
                    XCTAssertEqual(out[k], f(at(a, sa, i), at(b, sb, i)), "\(op) \(sa) \(sb) at \(i)")
                    k += 1
                } } } }
            }
        }
    }

    func testCompositeIsExactForBinaryMasks() {
        var rng = SeededRandom(seed: 4)
        let (n, c, p) = (2, 3, 50)
        let fill = rng.floats(n * c * p), known = rng.floats(n * c * p)
        let mask = (0..<p).map { _ in Float(rng.int(0...1)) }
        var out = [Float](repeating: 0, count: n * c * p)
        Pointwise.composite(fill: fill, known: known, mask: mask, maskBatch: 1, out: &out, batch: n, channels: c, pixels: p, threads: 1)
        for i in 0..<out.count { XCTAssertEqual(out[i], mask[i % p] == 1 ? fill[i] : known[i]) }
    }

    func resize(_ x: [Float], planes: Int, _ h: Int, _ w: Int, _ oh: Int, _ ow: Int, align: Bool) -> [Float] {
        let bits = x.map(\.bitPattern)
        var y = [UInt32](repeating: 0, count: planes * oh * ow)
        bits.withUnsafeBufferPointer {
            Layout.resizeNearest($0.baseAddress!, &y, planes: planes, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, alignCorners: align, threads: 2)
        }
        return y.map(Float.init(bitPattern:))
    }

    func testNearestResizeFollowsTheTF1Rule() {
        // The spec's example: 64 -> 32 with align corners takes 0, 2, ..., 30, 33, 35, ..., 63.
        let expected = Array(stride(from: 0, through: 30, by: 2)) + Array(stride(from: 33, through: 63, by: 2))
        XCTAssertEqual(Layout.nearestIndices(input: 64, output: 32, alignCorners: true), expected)
        // x2 upsampling is pixel replication.
        XCTAssertEqual(Layout.nearestIndices(input: 5, output: 10, alignCorners: true), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
        var rng = SeededRandom(seed: 5)
        for _ in 0..<40 {
            let h = rng.int(1...40), w = rng.int(1...40), oh = rng.int(1...80), ow = rng.int(1...80), align = rng.int(0...1) == 1
            let x = rng.floats(2 * h * w)
            let y = resize(x, planes: 2, h, w, oh, ow, align: align)
            for p in 0..<2 { for oy in 0..<oh { for ox in 0..<ow {
                let sy = naiveNearestSource(oy, input: h, output: oh, alignCorners: align)
                let sx = naiveNearestSource(ox, input: w, output: ow, alignCorners: align)
                XCTAssertEqual(y[(p * oh + oy) * ow + ox], x[(p * h + sy) * w + sx])
            } } }
        }
    }

    func testConcatSliceAndFlatten() {
        var rng = SeededRandom(seed: 6)
        let a = rng.floats(2 * 3 * 4 * 5), b = rng.floats(2 * 1 * 4 * 5)
        let bitsA = a.map(\.bitPattern), bitsB = b.map(\.bitPattern)
        var out = [UInt32](repeating: 0, count: 2 * 4 * 4 * 5)
        bitsA.withUnsafeBufferPointer { ap in bitsB.withUnsafeBufferPointer { bp in
            Layout.concat([ap.baseAddress!, bp.baseAddress!], shapes: [[2, 3, 4, 5], [2, 1, 4, 5]], axis: 1, &out, threads: 1)
        } }
        for n in 0..<2 { for c in 0..<4 { for i in 0..<20 {
            let expected = c < 3 ? bitsA[(n * 3 + c) * 20 + i] : bitsB[n * 20 + i]
            XCTAssertEqual(out[(n * 4 + c) * 20 + i], expected)
        } } }
        // Slicing the concatenation back gives the first operand.
        var back = [UInt32](repeating: 0, count: bitsA.count)
        out.withUnsafeBufferPointer { Layout.slice($0.baseAddress!, shape: [2, 4, 4, 5], axis: 1, start: 0, end: 3, &back, threads: 1) }
        XCTAssertEqual(back, bitsA)
        // Width-axis concat.
        var wide = [UInt32](repeating: 0, count: 2 * 3 * 4 * 10)
        bitsA.withUnsafeBufferPointer { ap in Layout.concat([ap.baseAddress!, ap.baseAddress!], shapes: [[2, 3, 4, 5], [2, 3, 4, 5]], axis: 3, &wide, threads: 1) }
        XCTAssertEqual(Array(wide[5..<10]), Array(bitsA[0..<5]))
        // hwc flatten: element (c, y, x) moves to (y·W + x)·C + c.
        var hwc = [UInt32](repeating: 0, count: bitsA.count)
        bitsA.withUnsafeBufferPointer { Layout.flattenHWC($0.baseAddress!, &hwc, batch: 2, channels: 3, pixels: 20) }
        for n in 0..<2 { for c in 0..<3 { for p in 0..<20 { XCTAssertEqual(hwc[n * 60 + p * 3 + c], bitsA[n * 60 + c * 20 + p]) } } }
    }

    /// Large tensors are copied in chunks that end mid-row and mid-block: every axis, odd sizes,
    /// one to three inputs, against index-by-index references, on 1 and 3 threads.
    func testChunkedConcatSliceAndCompositeMatchNaive() {
        var rng = SeededRandom(seed: 61)
        for trial in 0..<24 {
            let axis = trial % 4, parts = rng.int(1...3)
            var base = [rng.int(1...2), rng.int(1...7), rng.int(9...61), rng.int(9...67)]
            let shapes = (0..<parts).map { _ -> [Int] in base[axis] = rng.int(1...(axis < 2 ? 9 : 70)); return base }
            let inputs = shapes.map { s in (0..<s.reduce(1, *)).map { _ in UInt32(rng.int(0...1_000_000)) } }
            var outShape = shapes[0]
            outShape[axis] = shapes.reduce(0) { $0 + $1[axis] }
            let count = outShape.reduce(1, *)
            // Reference: each output index's input and position along the axis.
            var expected = [UInt32](repeating: 0, count: count)
            for i in 0..<count {
                var c = [0, 0, 0, 0], r = i
                for d in stride(from: 3, through: 0, by: -1) { c[d] = r % outShape[d]; r /= outShape[d] }
                var k = 0
                while c[axis] >= shapes[k][axis] { c[axis] -= shapes[k][axis]; k += 1 }
                let s = shapes[k]
                expected[i] = inputs[k][((c[0] * s[1] + c[1]) * s[2] + c[2]) * s[3] + c[3]]
            }
            for threads in [1, 3] {
                var out = [UInt32](repeating: 0, count: count)
                let pointers = inputs.map { a -> UnsafeMutablePointer<UInt32> in
                    let p = UnsafeMutablePointer<UInt32>.allocate(capacity: a.count)
                    p.initialize(from: a, count: a.count)
                    return p
                }
                defer { pointers.forEach { $0.deallocate() } }
                Layout.concat(pointers.map { UnsafePointer($0) }, shapes: shapes, axis: axis, &out, threads: threads)
                XCTAssertEqual(out, expected, "concat \(shapes) axis \(axis) threads \(threads)")
                // Slicing each operand back out.
                var start = 0
                for (k, s) in shapes.enumerated() {
                    var back = [UInt32](repeating: 0, count: inputs[k].count)
                    Layout.slice(out, shape: outShape, axis: axis, start: start, end: start + s[axis], &back, threads: threads)
                    XCTAssertEqual(back, inputs[k], "slice \(start)..<\(start + s[axis]) of \(outShape) axis \(axis)")
                    start += s[axis]
                }
            }
        }
        for trial in 0..<8 {
            let n = rng.int(1...2), c = rng.int(1...5), p = rng.int(5_000...40_000), maskBatch = trial % 2 == 0 ? 1 : n
            let fill = rng.floats(n * c * p), known = rng.floats(n * c * p), mask = rng.floats(maskBatch * p)
            let expected = (0..<n * c * p).map { i in
                let m = mask[(maskBatch == 1 ? 0 : i / (c * p) * p) + i % p]
                return fill[i] * m + known[i] * (1 - m)
            }
            for threads in [1, 3] {
                var out = [Float](repeating: .nan, count: n * c * p)
                Pointwise.composite(fill: fill, known: known, mask: mask, maskBatch: maskBatch, out: &out, batch: n, channels: c, pixels: p, threads: threads)
                XCTAssertEqual(out, expected, "composite \(n)x\(c)x\(p), mask batch \(maskBatch), \(threads) threads")
            }
            var filled = [Float](repeating: 0, count: c * p)
            Pointwise.fill(&filled, count: filled.count, value: Float(trial) + 0.5, threads: 3)
            XCTAssertEqual(filled, [Float](repeating: Float(trial) + 0.5, count: c * p))
        }
    }
}
