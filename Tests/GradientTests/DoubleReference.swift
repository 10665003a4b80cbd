// Double-precision reference forwards of every differentiable op, written from the definitions
// as plain loops (no code shared with Sources/Kernels), for float64 finite differences.
import Foundation

struct DT {
    var n: Int, c: Int, h: Int, w: Int
    var data: [Double]
    init(_ n: Int, _ c: Int, _ h: Int, _ w: Int, _ data: [Double]? = nil) {
        (self.n, self.c, self.h, self.w) = (n, c, h, w)
        self.data = data ?? [Double](repeating: 0, count: n * c * h * w)
        precondition(self.data.count == n * c * h * w)
    }
    init(_ shape: [Int], _ data: [Double]) { self.init(shape[0], shape[1], shape[2], shape[3], data) }
    subscript(n: Int, c: Int, y: Int, x: Int) -> Double {
        get { data[((n * self.c + c) * h + y) * w + x] }
        set { data[((n * self.c + c) * h + y) * w + x] = newValue }
    }
}

enum Ref {
    static func samePads(_ n: Int, k: Int, s: Int, d: Int) -> (Int, Int) {
        let out = (n + s - 1) / s
        let total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        return (total / 2, total - total / 2)
    }

    /// Zero-padded convolution: TF 'SAME' when `pads` is nil, else (top, bottom, left, right).
    static func conv(_ x: DT, _ wt: [Double], _ bias: [Double]?, cout: Int, k: Int, stride: Int, dilation: Int,
                     pads: (Int, Int, Int, Int)? = nil) -> DT {
        let (pt, pb) = pads.map { ($0.0, $0.1) } ?? samePads(x.h, k: k, s: stride, d: dilation)
        let (pl, pr) = pads.map { ($0.2, $0.3) } ?? samePads(x.w, k: k, s: stride, d: dilation)
        let oh = (x.h + pt + pb - dilation * (k - 1) - 1) / stride + 1, ow = (x.w + pl + pr - dilation * (k - 1) - 1) / stride + 1
        var y = DT(x.n, cout, oh, ow)
        for n in 0..<x.n { for co in 0..<cout { for oy in 0..<oh { for ox in 0..<ow {
            var acc = bias?[co] ?? 0
            for ci in 0..<x.c { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * stride - pt + ky * dilation, ix = ox * stride - pl + kx * dilation
                if iy >= 0 && iy < x.h && ix >= 0 && ix < x.w { acc += wt[((co * x.c + ci) * k + ky) * k + kx] * x[n, ci, iy, ix] }
            } } }
            y[n, co, oy, ox] = acc
        } } } }
        return y
    }

    /// One power iteration from u (neuralgym): W / σ.
    static func spectralNormalize(_ w: [Double], rows: Int, u: [Double]) -> [Double] {
        let cols = w.count / rows
        var v = [Double](repeating: 0, count: cols)
        for r in 0..<rows { for c in 0..<cols { v[c] += w[r * cols + c] * u[r] } }
        let nv = sqrt(v.reduce(0) { $0 + $1 * $1 }) + 1e-12
        v = v.map { $0 / nv }
        var wv = [Double](repeating: 0, count: rows)
        for r in 0..<rows { for c in 0..<cols { wv[r] += w[r * cols + c] * v[c] } }
        let nu = sqrt(wv.reduce(0) { $0 + $1 * $1 }) + 1e-12
        let sigma = zip(wv.map { $0 / nu }, wv).reduce(0) { $0 + $1.0 * $1.1 }
        return w.map { $0 / sigma }
    }

    static func act(_ kind: String, _ x: Double, alpha: Double = 1) -> Double {
        switch kind {
        case "elu": return x > 0 ? x : alpha * (exp(x) - 1)
        case "relu": return max(x, 0)
        case "leaky_relu": return x > 0 ? x : alpha * x
        case "sigmoid": return 1 / (1 + exp(-x))
        case "tanh": return tanh(x)
        default: return x
        }
    }

    static func gate(_ x: DT, _ kind: String, alpha: Double = 1) -> DT {
        let c = x.c / 2
        var y = DT(x.n, c, x.h, x.w)
        for n in 0..<x.n { for ch in 0..<c { for i in 0..<x.h { for j in 0..<x.w {
            y[n, ch, i, j] = act(kind, x[n, ch, i, j], alpha: alpha) * act("sigmoid", x[n, ch + c, i, j])
        } } } }
        return y
    }

    /// TF1 nearest: align-corners rounds half away from zero, else floor.
    static func nearest(_ d: Int, input: Int, output: Int, alignCorners: Bool) -> Int {
        let scale = alignCorners && output > 1 ? Double(Float(input - 1) / Float(output - 1)) : Double(Float(input) / Float(output))
        let v = Double(Float(Double(d) * scale))
        return min(Int(alignCorners ? (v + 0.5).rounded(.down) : v.rounded(.down)), input - 1)
    }

    static func resize(_ x: DT, oh: Int, ow: Int, alignCorners: Bool) -> DT {
        var y = DT(x.n, x.c, oh, ow)
        for n in 0..<x.n { for c in 0..<x.c { for i in 0..<oh { for j in 0..<ow {
            y[n, c, i, j] = x[n, c, nearest(i, input: x.h, output: oh, alignCorners: alignCorners),
                              nearest(j, input: x.w, output: ow, alignCorners: alignCorners)]
        } } } }
        return y
    }

    /// Contextual attention after the official op (spec §3.1), in double: f, b [N, C, H, W],
    /// mask [·, 1, H, W] (element 0) or nil.
    static func attention(f: DT, b: DT, mask: DT?, ksize: Int, rate: Int, fuseK: Int, scale: Double, fuse: Bool) -> DT {
        let C = f.c, K = 2 * rate, fh2 = f.h / rate, fw2 = f.w / rate, bh2 = b.h / rate, bw2 = b.w / rate
        let (rpt, _) = samePads(b.h, k: K, s: rate, d: 1), (rpl, _) = samePads(b.w, k: K, s: rate, d: 1)
        let rh = (b.h + rate - 1) / rate, rw = (b.w + rate - 1) / rate, L = rh * rw, P = fh2 * fw2
        let (mpt, _) = samePads(bh2, k: ksize, s: 1, d: 1), (mpl, _) = samePads(bw2, k: ksize, s: 1, d: 1)
        let (fpt, _) = samePads(fh2, k: ksize, s: 1, d: 1), (fpl, _) = samePads(fw2, k: ksize, s: 1, d: 1)
        func down(_ t: DT, _ n: Int, _ c: Int, _ y: Int, _ x: Int, _ oh: Int, _ ow: Int) -> Double {
            t[n, c, nearest(y, input: t.h, output: oh, alignCorners: true), nearest(x, input: t.w, output: ow, alignCorners: true)]
        }
        var mm = [Double](repeating: 1, count: L)
        if let mask {
            for l in 0..<L {
                var sum = 0.0
                for ky in 0..<ksize { for kx in 0..<ksize {
                    let y = l / rw - mpt + ky, x = l % rw - mpl + kx
                    if y >= 0 && y < bh2 && x >= 0 && x < bw2 { sum += down(mask, 0, 0, y, x, bh2, bw2) }
                } }
                mm[l] = sum == 0 ? 1 : 0
            }
        }
        var out = DT(f.n, C, f.h, f.w)
        for n in 0..<f.n {
            var w = [[Double]](repeating: [], count: L)
            for l in 0..<L {
                var v: [Double] = []
                for ky in 0..<ksize { for kx in 0..<ksize { for c in 0..<C {
                    let y = l / rw - mpt + ky, x = l % rw - mpl + kx
                    v.append(y >= 0 && y < bh2 && x >= 0 && x < bw2 ? down(b, n, c, y, x, bh2, bw2) : 0)
                } } }
                let norm = max(sqrt(v.reduce(0) { $0 + $1 * $1 }), 1e-4)
                w[l] = v.map { $0 / norm }
            }
            var s = [[Double]](repeating: [Double](repeating: 0, count: L), count: P)
            for p in 0..<P {
                var patch: [Double] = []
                for ky in 0..<ksize { for kx in 0..<ksize { for c in 0..<C {
                    let y = p / fw2 - fpt + ky, x = p % fw2 - fpl + kx
                    patch.append(y >= 0 && y < fh2 && x >= 0 && x < fw2 ? down(f, n, c, y, x, fh2, fw2) : 0)
                } } }
                for l in 0..<L { s[p][l] = zip(patch, w[l]).reduce(0) { $0 + $1.0 * $1.1 } }
            }
            if fuse {
                func identityConv(_ m: [[Double]]) -> [[Double]] {
                    let pad = (fuseK - 1) / 2
                    var r = m
                    for i in 0..<m.count { for j in 0..<m[0].count {
                        var acc = 0.0
                        for t in 0..<fuseK {
                            let a = i + t - pad, c = j + t - pad
                            if a >= 0 && a < m.count && c >= 0 && c < m[0].count { acc += m[a][c] }
                        }
                        r[i][j] = acc
                    } }
                    return r
                }
                s = identityConv(s)
                var t = s
                for fy in 0..<fh2 { for fx in 0..<fw2 { for by in 0..<bh2 { for bx in 0..<bw2 {
                    t[fx * fh2 + fy][bx * bh2 + by] = s[fy * fw2 + fx][by * bw2 + bx]
                } } } }
                t = identityConv(t)
                for fy in 0..<fh2 { for fx in 0..<fw2 { for by in 0..<bh2 { for bx in 0..<bw2 {
                    s[fy * fw2 + fx][by * bw2 + bx] = t[fx * fh2 + fy][bx * bh2 + by]
                } } } }
            }
            let (opt, _) = samePads(f.h, k: K, s: rate, d: 1), (opl, _) = samePads(f.w, k: K, s: rate, d: 1)
            for p in 0..<P {
                let logits = (0..<L).map { s[p][$0] * mm[$0] * scale }
                let top = logits.max()!
                let e = logits.map { exp($0 - top) }, z = e.reduce(0, +)
                for l in 0..<L where mm[l] != 0 {
                    let a = e[l] / z
                    for ky in 0..<K { for kx in 0..<K {
                        let oy = (p / fw2) * rate + ky - opt, ox = (p % fw2) * rate + kx - opl
                        let by = (l / rw) * rate - rpt + ky, bx = (l % rw) * rate - rpl + kx
                        guard oy >= 0 && oy < f.h && ox >= 0 && ox < f.w && by >= 0 && by < b.h && bx >= 0 && bx < b.w else { continue }
                        for c in 0..<C { out[n, c, oy, ox] += a * b[n, c, by, bx] / 4 }
                    } }
                }
            }
        }
        return out
    }
}
