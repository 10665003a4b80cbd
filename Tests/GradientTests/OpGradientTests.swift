// Every vjp against float64 finite differences of the Double references (GradientCheck.swift):
// odd sizes, stride 2, dilation rates up to 16, channel counts that are not multiples of 8,
// both spectral-norm conventions, both resize rules, and attention with and without fuse.
import GraphIR
import Kernels
import XCTest

final class OpGradientTests: XCTestCase {
    static func shape(_ s: [Int]) -> [Int] { s }

    func testConvolution() {
        // (x shape, out channels, kernel, stride, dilation, explicit pads or nil, bias)
        let cases: [([Int], Int, Int, Int, Int, (Int, Int, Int, Int)?, Bool)] = [
            ([2, 3, 7, 9], 5, 3, 1, 1, nil, true),
            ([1, 5, 9, 6], 4, 5, 2, 1, nil, true),
            ([2, 3, 8, 8], 3, 3, 1, 4, nil, true),
            ([1, 2, 11, 7], 3, 3, 1, 16, nil, false),
            ([1, 3, 6, 7], 2, 3, 2, 1, (1, 0, 2, 1), true),
            ([1, 9, 5, 5], 10, 1, 1, 1, nil, true),
            // Even kernels with valid padding (global_gan's last layer is one): a map larger than
            // the kernel, the kernel spanning the whole map, and stride 2.
            ([2, 3, 5, 4], 3, 2, 1, 1, (0, 0, 0, 0), true),
            ([2, 4, 4, 4], 1, 4, 1, 1, (0, 0, 0, 0), true),
            ([1, 3, 6, 6], 2, 2, 2, 1, (0, 0, 0, 0), false),
        ]
        for (i, (x, cout, k, stride, dilation, pads, bias)) in cases.enumerated() {
            let padding: Padding = pads.map { .explicit(top: $0.0, bottom: $0.1, left: $0.2, right: $0.3) } ?? .tfSame
            let conv = Conv2D(outChannels: cout, kernel: [k, k], stride: [stride, stride], dilation: [dilation, dilation],
                              padding: padding, bias: bias)
            var params: [(name: String, shape: [Int], role: ParameterRole)] = [("c.weight", [cout, x[1], k, k], .parameter)]
            if bias { params.append(("c.bias", [cout], .parameter)) }
            GradientCheck.check(GradCase(op: .conv2d(conv), inputs: [("x", x)], params: params, nodeInputs: ["x"] + params.map(\.name),
                                         wrt: ["x"], forward: { v in
                Ref.conv(DT(x, v["x"]!), v["c.weight"]!, v["c.bias"], cout: cout, k: k, stride: stride, dilation: dilation, pads: pads).data
            }), seed: UInt64(100 + i))
        }
    }

    func testSpectralNormConvolutionBothConventions() {
        let x = [2, 4, 9, 8], cout = 6, k = 5
        let conv = Conv2D(outChannels: cout, kernel: [k, k], stride: [2, 2], spectralNorm: true)
        let params: [(name: String, shape: [Int], role: ParameterRole)] = [("d.weight", [cout, 4, k, k], .parameter),
                                                                          ("d.bias", [cout], .parameter), ("d.u", [cout], .state)]
        // full: σ, u' and v follow W, so plain finite differences of the normalised convolution.
        GradientCheck.check(GradCase(op: .conv2d(conv), inputs: [("x", x)], params: params, nodeInputs: ["x", "d.weight", "d.bias", "d.u"],
                                     wrt: ["x"], mode: .full, forward: { v in
            Ref.conv(DT(x, v["x"]!), Ref.spectralNormalize(v["d.weight"]!, rows: cout, u: v["d.u"]!), v["d.bias"], cout: cout, k: k,
                     stride: 2, dilation: 1).data
        }), seed: 200)
        // sigma: u' and v come from the unperturbed W and are held fixed while W moves.
        var base: [Double]?
        GradientCheck.check(GradCase(op: .conv2d(conv), inputs: [("x", x)], params: params, nodeInputs: ["x", "d.weight", "d.bias", "d.u"],
                                     wrt: ["x"], mode: .sigma, forward: { v in
            let w = v["d.weight"]!, u = v["d.u"]!
            if base == nil { base = w }
            let sigma = Self.sigmaWithFixedVectors(w, rows: cout, u: u, base: base!)
            return Ref.conv(DT(x, v["x"]!), w.map { $0 / sigma }, v["d.bias"], cout: cout, k: k, stride: 2, dilation: 1).data
        }), seed: 201)
    }

    /// global_gan's dense layer: a spectral-normalised convolution with one output whose even
    /// kernel spans the whole last map (2×2 at 128², 4×4 at 256²), valid padding: [N, C, k, k] → [N, 1, 1, 1].
    func testSpectralNormEvenKernelSpanningTheMap() {
        for (i, (k, mode)) in [(2, SpectralNormGradientMode.full), (4, .full), (4, .sigma)].enumerated() {
            let x = [3, 5, k, k], cout = 1
            let conv = Conv2D(outChannels: cout, kernel: [k, k], padding: .explicit(top: 0, bottom: 0, left: 0, right: 0), spectralNorm: true)
            let params: [(name: String, shape: [Int], role: ParameterRole)] = [("fc.weight", [cout, 5, k, k], .parameter),
                                                                              ("fc.bias", [cout], .parameter), ("fc.u", [cout], .state)]
            var base: [Double]?
            GradientCheck.check(GradCase(op: .conv2d(conv), inputs: [("x", x)], params: params, nodeInputs: ["x", "fc.weight", "fc.bias", "fc.u"],
                                         wrt: ["x"], mode: mode, forward: { v in
                let w = v["fc.weight"]!, u = v["fc.u"]!
                let normalised: [Double]
                if mode == .full {
                    normalised = Ref.spectralNormalize(w, rows: cout, u: u)
                } else {
                    if base == nil { base = w }
                    let sigma = Self.sigmaWithFixedVectors(w, rows: cout, u: u, base: base!)
                    normalised = w.map { $0 / sigma }
                }
                return Ref.conv(DT(x, v["x"]!), normalised, v["fc.bias"], cout: cout, k: k, stride: 1, dilation: 1, pads: (0, 0, 0, 0)).data
            }), seed: UInt64(210 + i))
        }
    }

    /// σ = u'ᵀ W v with u' and v from one power iteration on `base` (PyTorch's spectral_norm gradient).
    static func sigmaWithFixedVectors(_ w: [Double], rows: Int, u: [Double], base: [Double]) -> Double {
        let cols = w.count / rows
        var v = [Double](repeating: 0, count: cols)
        for r in 0..<rows { for c in 0..<cols { v[c] += base[r * cols + c] * u[r] } }
        let nv = v.reduce(0) { $0 + $1 * $1 }.squareRoot() + 1e-12
        v = v.map { $0 / nv }
        var wv = [Double](repeating: 0, count: rows)
        for r in 0..<rows { for c in 0..<cols { wv[r] += base[r * cols + c] * v[c] } }
        let nu = wv.reduce(0) { $0 + $1 * $1 }.squareRoot() + 1e-12
        var sigma = 0.0
        for r in 0..<rows { var s = 0.0; for c in 0..<cols { s += w[r * cols + c] * v[c] }; sigma += wv[r] / nu * s }
        return sigma
    }

    func testGateAndActivations() {
        for (i, (kind, alpha)) in [("elu", 1.0), ("relu", 1.0), ("leaky_relu", 0.2), ("none", 1.0)].enumerated() {
            let act = Activation(ActivationKind(rawValue: kind)!, alpha: Float(alpha))
            let x = [2, 6, 5, 7]
            GradientCheck.check(GradCase(op: .gate(Gate(act)), inputs: [("x", x)], nodeInputs: ["x"], wrt: ["x"],
                                         nearKink: { abs($0) < 0.01 }, forward: { Ref.gate(DT(x, $0["x"]!), kind, alpha: alpha).data }),
                                seed: UInt64(300 + i))
        }
        for (i, (kind, alpha)) in [("elu", 1.0), ("relu", 1.0), ("leaky_relu", 0.2), ("sigmoid", 1.0), ("tanh", 1.0)].enumerated() {
            let act = Activation(ActivationKind(rawValue: kind)!, alpha: Float(alpha))
            GradientCheck.check(GradCase(op: .unary(Unary(act)), inputs: [("x", [1, 3, 4, 5])], nodeInputs: ["x"], wrt: ["x"],
                                         nearKink: { abs($0) < 0.01 }, forward: { $0["x"]!.map { Ref.act(kind, $0, alpha: alpha) } }),
                                seed: UInt64(310 + i))
        }
    }

    func testNearestResizeBothRules() {
        for (i, align) in [true, false].enumerated() {
            let x = [1, 2, 5, 7]
            GradientCheck.check(GradCase(op: .resizeNearest(ResizeNearest(scale: Rational(2, 1), alignCorners: align)), inputs: [("x", x)],
                                         nodeInputs: ["x"], wrt: ["x"], forward: {
                Ref.resize(DT(x, $0["x"]!), oh: 10, ow: 14, alignCorners: align).data
            }), seed: UInt64(400 + i))
            // Downscale to another tensor's size (resize_mask_like), several inputs per output dropped.
            let big = [2, 3, 13, 11], like = [2, 1, 4, 3]
            GradientCheck.check(GradCase(op: .resizeNearest(ResizeNearest(scale: nil, alignCorners: align)), inputs: [("x", big), ("like", like)],
                                         nodeInputs: ["x", "like"], wrt: ["x"], forward: {
                Ref.resize(DT(big, $0["x"]!), oh: 4, ow: 3, alignCorners: align).data
            }), seed: UInt64(410 + i))
        }
    }

    func testLayoutOps() {
        let a = [2, 3, 4, 5], b = [2, 2, 4, 5]
        GradientCheck.check(GradCase(op: .concat(Concat(axis: .channel, count: 2)), inputs: [("a", a), ("b", b)], nodeInputs: ["a", "b"],
                                     wrt: ["a", "b"], forward: { v in
            var out: [Double] = []
            let va: [Double] = v["a"]!, vb: [Double] = v["b"]!
            for n in 0..<2 {
                out += va[(n * 60)..<(n * 60 + 60)]
                out += vb[(n * 40)..<(n * 40 + 40)]
            }
            return out
        }), seed: 500)
        GradientCheck.check(GradCase(op: .slice(Slice(axis: .height, start: 1, end: 3)), inputs: [("x", a)], nodeInputs: ["x"], wrt: ["x"],
                                     forward: { v in
            let x = DT(a, v["x"]!)
            var y = DT(2, 3, 2, 5)
            for n in 0..<2 { for c in 0..<3 { for i in 0..<2 { for j in 0..<5 { y[n, c, i, j] = x[n, c, i + 1, j] } } } }
            return y.data
        }), seed: 501)
        for (i, order) in [FlattenOrder.chw, .hwc].enumerated() {
            let one = [1, 3, 4, 5]
            GradientCheck.check(GradCase(op: .flatten(Flatten(order: order)), inputs: [("x", one)], nodeInputs: ["x"], wrt: ["x"], forward: { v in
                let x = DT(one, v["x"]!)
                if order == .chw { return x.data }
                var out: [Double] = []
                for y in 0..<4 { for w in 0..<5 { for c in 0..<3 { out.append(x[0, c, y, w]) } } }
                return out
            }), seed: UInt64(502 + i))
        }
    }

    func testBinaryWithBroadcastAndComposite() {
        let x = [2, 3, 4, 5], m = [2, 1, 4, 5], row = [2, 3, 1, 5]
        for (i, kind) in BinaryKind.allCases.enumerated() {
            for (j, other) in [x, m, row].enumerated() {
                GradientCheck.check(GradCase(op: .binary(Binary(kind)), inputs: [("a", x), ("b", other)], nodeInputs: ["a", "b"], wrt: ["a", "b"],
                                             forward: { v in
                    let a = DT(x, v["a"]!), b = DT(other, v["b"]!)
                    var y = a
                    for n in 0..<2 { for c in 0..<3 { for h in 0..<4 { for w in 0..<5 {
                        let bv = b[n, other[1] == 1 ? 0 : c, other[2] == 1 ? 0 : h, w], av = a[n, c, h, w]
                        y[n, c, h, w] = kind == .add ? av + bv : kind == .sub ? av - bv : av * bv
                    } } } }
                    return y.data
                }), seed: UInt64(600 + 10 * i + j))
            }
        }
        let holes: [Float] = (0..<40).map { $0 % 3 == 0 ? 1 : 0 }
        GradientCheck.check(GradCase(op: .composite(Composite()), inputs: [("fill", x), ("known", x), ("mask", m)],
                                     nodeInputs: ["fill", "known", "mask"], wrt: ["fill", "known"], fixed: ["mask": holes], forward: { v in
            let f = DT(x, v["fill"]!), k = DT(x, v["known"]!), mk = DT(m, v["mask"]!)
            var y = f
            for n in 0..<2 { for c in 0..<3 { for h in 0..<4 { for w in 0..<5 {
                y[n, c, h, w] = f[n, c, h, w] * mk[n, 0, h, w] + k[n, c, h, w] * (1 - mk[n, 0, h, w])
            } } } }
            return y.data
        }), seed: 650)
    }

    func testLosses() {
        let x = [2, 3, 4, 5]
        GradientCheck.check(GradCase(op: .loss(Loss(.l1Mean)), inputs: [("a", x), ("b", x)], nodeInputs: ["a", "b"], wrt: ["a", "b"],
                                     forward: { v in [zip(v["a"]!, v["b"]!).reduce(0) { $0 + abs($1.0 - $1.1) } / 120] }), seed: 700)
        GradientCheck.check(GradCase(op: .loss(Loss(.mean)), inputs: [("x", x)], nodeInputs: ["x"], wrt: ["x"],
                                     forward: { v in [v["x"]!.reduce(0, +) / 120] }), seed: 701)
        GradientCheck.check(GradCase(op: .loss(Loss(.hinge)), inputs: [("r", [2, 1, 3, 3]), ("f", [2, 1, 3, 3])], nodeInputs: ["r", "f"],
                                     wrt: ["r", "f"], nearKink: { abs(abs($0) - 1) < 0.01 }, forward: { v in
            [0.5 * v["r"]!.reduce(0) { $0 + max(0, 1 - $1) } / 18 + 0.5 * v["f"]!.reduce(0) { $0 + max(0, 1 + $1) } / 18]
        }), seed: 702)
    }

    func testContextualAttention() {
        let f = [2, 4, 8, 8], mask = [2, 1, 8, 8]
        var holes = [Float](repeating: 0, count: 64)
        for y in 2..<5 { for x in 3..<6 { holes[y * 8 + x] = 1 } }
        holes += holes  // the op reads element 0's mask for the whole batch
        for (i, fuse) in [true, false].enumerated() {
            let ca = ContextualAttention(ksize: 3, stride: 1, rate: 2, fuseK: 3, softmaxScale: 10, fuse: fuse)
            // Separate foreground and background.
            GradientCheck.check(GradCase(op: .contextualAttention(ca), inputs: [("f", f), ("b", f), ("mask", mask)], nodeInputs: ["f", "b", "mask"],
                                         wrt: ["f", "b"], fixed: ["mask": holes], forward: { v in
                Ref.attention(f: DT(f, v["f"]!), b: DT(f, v["b"]!), mask: DT(mask, v["mask"]!), ksize: 3, rate: 2, fuseK: 3, scale: 10,
                              fuse: fuse).data
            }), seed: UInt64(800 + i))
        }
        // DeepFill's call: one tensor as both f and b (two cotangent contributions summed), no mask, odd width.
        let x = [1, 3, 8, 10]
        GradientCheck.check(GradCase(op: .contextualAttention(ContextualAttention()), inputs: [("x", x)], nodeInputs: ["x", "x"], wrt: ["x"],
                                     forward: { v in
            Ref.attention(f: DT(x, v["x"]!), b: DT(x, v["x"]!), mask: nil, ksize: 3, rate: 2, fuseK: 3, scale: 10, fuse: true).data
        }), seed: 810)
    }
}
