// Contextual attention written literally after the official TensorFlow op (inpaint_ops.py):
// explicit patch tensors in (row, col, channel) order, the fuse as reshape → 3x3 identity conv →
// transpose → conv → transpose back on a 4-D grid, softmax per position, and conv2d_transpose as
// a scatter. Double precision throughout; no code shared with the kernel.
import Foundation

struct NaiveAttentionResult {
    var y: Tensor4
    var argmax: [Int32]     // [n][p] flattened
    var gap: [Double]       // best minus second-best final weight, per position
}

func naiveContextualAttention(f: Tensor4, b: Tensor4, mask: Tensor4?, ksize: Int, stride: Int, rate: Int,
                              fuseK: Int, scale: Double, fuse: Bool) -> NaiveAttentionResult {
    let C = f.c, K = 2 * rate, rs = rate * stride
    let fh2 = f.h / rate, fw2 = f.w / rate, bh2 = b.h / rate, bw2 = b.w / rate
    let (rpt, _) = naiveSamePads(b.h, k: K, s: rs, d: 1), (rpl, _) = naiveSamePads(b.w, k: K, s: rs, d: 1)
    let rh = Int((Double(b.h) / Double(rs)).rounded(.up)), rw = Int((Double(b.w) / Double(rs)).rounded(.up))
    let L = rh * rw, P = fh2 * fw2
    let (mpt, _) = naiveSamePads(bh2, k: ksize, s: stride, d: 1), (mpl, _) = naiveSamePads(bw2, k: ksize, s: stride, d: 1)
    let (fpt, _) = naiveSamePads(fh2, k: ksize, s: 1, d: 1), (fpl, _) = naiveSamePads(fw2, k: ksize, s: 1, d: 1)
    func down(_ t: Tensor4, _ n: Int, _ c: Int, _ y: Int, _ x: Int, _ oh: Int, _ ow: Int) -> Double {
        Double(t[n, c, naiveNearestSource(y, input: t.h, output: oh, alignCorners: true),
                 naiveNearestSource(x, input: t.w, output: ow, alignCorners: true)])
    }
    // Mask validity from batch element 0.
    var mm = [Double](repeating: 1, count: L)
    if let mask {
        for l in 0..<L {
            let ly = l / rw, lx = l % rw
            var sum = 0.0
            for ky in 0..<ksize { for kx in 0..<ksize {
                let y = ly * stride - mpt + ky, x = lx * stride - mpl + kx
                if y >= 0 && y < bh2 && x >= 0 && x < bw2 { sum += down(mask, 0, 0, y, x, bh2, bw2) }
            } }
            mm[l] = sum / Double(ksize * ksize) == 0 ? 1 : 0
        }
    }
    var out = Tensor4(f.n, C, f.h, f.w)
    var argmax: [Int32] = [], gaps: [Double] = []
    for n in 0..<f.n {
        // Matching kernels w[l][ky][kx][c], normalised.
        var w = [[Double]](repeating: [], count: L)
        for l in 0..<L {
            let ly = l / rw, lx = l % rw
            var v: [Double] = []
            for ky in 0..<ksize { for kx in 0..<ksize { for c in 0..<C {
                let y = ly * stride - mpt + ky, x = lx * stride - mpl + kx
                v.append(y >= 0 && y < bh2 && x >= 0 && x < bw2 ? down(b, n, c, y, x, bh2, bw2) : 0)
            } } }
            let norm = max(sqrt(v.reduce(0) { $0 + $1 * $1 }), 1e-4)
            w[l] = v.map { $0 / norm }
        }
        // scores[p][l]
        var s = [[Double]](repeating: [Double](repeating: 0, count: L), count: P)
        for p in 0..<P {
            let py = p / fw2, px = p % fw2
            var patch: [Double] = []
            for ky in 0..<ksize { for kx in 0..<ksize { for c in 0..<C {
                let y = py - fpt + ky, x = px - fpl + kx
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
            // reshape [fh2, fw2, bh2, bw2] → transpose to [fw2, fh2, bw2, bh2] → flatten.
            var t = s
            for fy in 0..<fh2 { for fx in 0..<fw2 { for by in 0..<bh2 { for bx in 0..<bw2 {
                t[fx * fh2 + fy][bx * bh2 + by] = s[fy * fw2 + fx][by * bw2 + bx]
            } } } }
            t = identityConv(t)
            for fy in 0..<fh2 { for fx in 0..<fw2 { for by in 0..<bh2 { for bx in 0..<bw2 {
                s[fy * fw2 + fx][by * bw2 + bx] = t[fx * fh2 + fy][bx * bh2 + by]
            } } } }
        }
        var att = s
        for p in 0..<P {
            let logits = (0..<L).map { s[p][$0] * mm[$0] * scale }
            let m = logits.max()!
            let e = logits.map { exp($0 - m) }
            let z = e.reduce(0, +)
            att[p] = (0..<L).map { e[$0] / z * mm[$0] }
            var best = 0
            for l in 1..<L where att[p][l] > att[p][best] { best = l }
            let second = (0..<L).filter { $0 != best }.map { att[p][$0] }.max() ?? 0
            argmax.append(Int32(best))
            gaps.append(att[p][best] - second)
        }
        // conv2d_transpose(att, raw patches, stride rate, SAME) / 4.
        let (opt, _) = naiveSamePads(f.h, k: K, s: rate, d: 1), (opl, _) = naiveSamePads(f.w, k: K, s: rate, d: 1)
        var acc = [Double](repeating: 0, count: C * f.h * f.w)
        for p in 0..<P {
            let py = p / fw2, px = p % fw2
            for l in 0..<L where att[p][l] != 0 {
                let ly = l / rw, lx = l % rw
                for ky in 0..<K { for kx in 0..<K {
                    let oy = py * rate + ky - opt, ox = px * rate + kx - opl
                    guard oy >= 0 && oy < f.h && ox >= 0 && ox < f.w else { continue }
                    let by = ly * rs - rpt + ky, bx = lx * rs - rpl + kx
                    guard by >= 0 && by < b.h && bx >= 0 && bx < b.w else { continue }
                    for c in 0..<C { acc[(c * f.h + oy) * f.w + ox] += att[p][l] * Double(b[n, c, by, bx]) }
                } }
            }
        }
        for c in 0..<C { for y in 0..<f.h { for x in 0..<f.w { out[n, c, y, x] = Float(acc[(c * f.h + y) * f.w + x] / 4) } } }
    }
    return NaiveAttentionResult(y: out, argmax: argmax, gap: gaps)
}
