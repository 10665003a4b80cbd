// Naive reference kernels: the definitions written as plain loops, for comparison with the
// fast kernels. Slow on purpose; no shared code with Sources/Kernels.
import Foundation

struct Tensor4 {
    var n: Int, c: Int, h: Int, w: Int
    var data: [Float]

    init(_ n: Int, _ c: Int, _ h: Int, _ w: Int, _ data: [Float]? = nil) {
        (self.n, self.c, self.h, self.w) = (n, c, h, w)
        self.data = data ?? [Float](repeating: 0, count: n * c * h * w)
        precondition(self.data.count == n * c * h * w)
    }

    subscript(n: Int, c: Int, y: Int, x: Int) -> Float {
        get { data[((n * self.c + c) * h + y) * w + x] }
        set { data[((n * self.c + c) * h + y) * w + x] = newValue }
    }
}

enum NaivePadding {
    case same           // TF 'SAME' zeros
    case explicit(Int, Int, Int, Int)
    case reflect
}

/// TF 'SAME' (before, after) for one axis.
func naiveSamePads(_ n: Int, k: Int, s: Int, d: Int) -> (Int, Int) {
    let out = Int((Double(n) / Double(s)).rounded(.up))
    let total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return (total / 2, total - total / 2)
}

/// Direct convolution: seven nested loops over the definition.
func naiveConv2D(_ x: Tensor4, weight: [Float], bias: [Float]?, cout: Int, k: (Int, Int), stride: (Int, Int),
                 dilation: (Int, Int), padding: NaivePadding) -> Tensor4 {
    var pt = 0, pb = 0, pl = 0, pr = 0
    switch padding {
    case .same:
        (pt, pb) = naiveSamePads(x.h, k: k.0, s: stride.0, d: dilation.0)
        (pl, pr) = naiveSamePads(x.w, k: k.1, s: stride.1, d: dilation.1)
    case .explicit(let a, let b, let c, let d): (pt, pb, pl, pr) = (a, b, c, d)
    case .reflect:
        pt = dilation.0 * (k.0 - 1) / 2; pb = dilation.0 * (k.0 - 1) - pt
        pl = dilation.1 * (k.1 - 1) / 2; pr = dilation.1 * (k.1 - 1) - pl
    }
    let oh = (x.h + pt + pb - dilation.0 * (k.0 - 1) - 1) / stride.0 + 1
    let ow = (x.w + pl + pr - dilation.1 * (k.1 - 1) - 1) / stride.1 + 1
    var out = Tensor4(x.n, cout, oh, ow)
    func reflectIndex(_ i: Int, _ n: Int) -> Int { i < 0 ? -i : (i >= n ? 2 * n - 2 - i : i) }
    for n in 0..<x.n {
        for co in 0..<cout {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var acc = Double(bias?[co] ?? 0)
                    for ci in 0..<x.c {
                        for ky in 0..<k.0 {
                            for kx in 0..<k.1 {
                                var iy = oy * stride.0 - pt + ky * dilation.0
                                var ix = ox * stride.1 - pl + kx * dilation.1
                                if case .reflect = padding { iy = reflectIndex(iy, x.h); ix = reflectIndex(ix, x.w) }
                                guard iy >= 0, iy < x.h, ix >= 0, ix < x.w else { continue }
                                acc += Double(weight[((co * x.c + ci) * k.0 + ky) * k.1 + kx]) * Double(x[n, ci, iy, ix])
                            }
                        }
                    }
                    out[n, co, oy, ox] = Float(acc)
                }
            }
        }
    }
    return out
}

/// TF1 legacy nearest resize, written from the spec's formula.
func naiveNearestSource(_ dst: Int, input: Int, output: Int, alignCorners: Bool) -> Int {
    let scale: Float = alignCorners && output > 1 ? Float(input - 1) / Float(output - 1) : Float(input) / Float(output)
    let v = Float(dst) * scale
    let s = alignCorners ? Float((Double(v) + 0.5).rounded(.down)) : v.rounded(.down)  // v ≥ 0: half away from zero
    return min(Int(s), input - 1)
}

func naiveElu(_ x: Float, _ a: Float) -> Float { x > 0 ? x : a * Float(exp(Double(x)) - 1) }
func naiveSigmoid(_ x: Float) -> Float { Float(1 / (1 + exp(-Double(x)))) }

/// Max of |a − b|, scaled by max(1, max |b|).
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    let scale = max(1, b.map(abs).max() ?? 0)
    return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}
