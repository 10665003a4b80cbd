// Gradients of the pointwise kernels, the nearest resize and spectral normalisation. Each
// recomputes what it needs from the forward input (x, not y), so backward keeps one tensor per
// activation alive. Work is cut into the same pieces as the forward, so results do not depend
// on the thread count.
import Foundation

extension ActivationFunction {
    /// f'(x) at one point (for elu: α·eˣ below 0; at the kink 0 the right derivative, as TF/PyTorch).
    @inline(__always) public func derivative(_ x: Float) -> Float {
        switch self {
        case .identity: return 1
        case .relu: return x > 0 ? 1 : 0
        case .leakyRelu(let a): return x > 0 ? 1 : a
        case .elu(let a): return x > 0 ? 1 : a * expf(x)
        case .sigmoid:
            let s = 1 / (1 + expf(-x))
            return s * (1 - s)
        case .tanh:
            let t = tanhf(x)
            return 1 - t * t
        }
    }

    @inline(__always) public func value(_ x: Float) -> Float {
        switch self {
        case .identity: return x
        case .relu: return max(x, 0)
        case .leakyRelu(let a): return x > 0 ? x : a * x
        case .elu(let a): return x > 0 ? x : a * expm1f(x)
        case .sigmoid: return 1 / (1 + expf(-x))
        case .tanh: return tanhf(x)
        }
    }
}

public enum PointwiseGradient {
    /// dx = dy · f'(x).
    public static func activation(_ f: ActivationFunction, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                  dx: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        Pointwise.chunked(count, threads: threads) { r in
            for i in r { dx[i] = dy[i] * f.derivative(x[i]) }
        }
    }

    /// The gate y = f(a)·σ(g) over [N, 2C, P] → dx [N, 2C, P] from dy [N, C, P].
    public static func gate(_ f: ActivationFunction, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                            batch: Int, featureChannels C: Int, pixels P: Int, threads: Int) {
        Parallel.forEach(pieces: batch * C, threads: threads) { piece, _ in
            let n = piece / C, c = piece % C
            let a = x + (n * 2 * C + c) * P, g = a + C * P, d = dy + (n * C + c) * P
            let da = dx + (n * 2 * C + c) * P, dg = da + C * P
            // σ(g) and f(a) by the vectorised forward kernels, then loops the compiler vectorises;
            // f'(a) from f(a): elu' = f(a) + α below 0.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * P) { tmp in
                let s = tmp.baseAddress!, fa = s + P
                ActivationFunction.sigmoid.apply(g, s, count: P)
                f.apply(a, fa, count: P)
                switch f {
                case .elu(let al):
                    for i in 0..<P { da[i] = d[i] * s[i] * (a[i] > 0 ? 1 : fa[i] + al); dg[i] = d[i] * fa[i] * s[i] * (1 - s[i]) }
                case .relu:
                    for i in 0..<P { da[i] = a[i] > 0 ? d[i] * s[i] : 0; dg[i] = d[i] * fa[i] * s[i] * (1 - s[i]) }
                case .leakyRelu(let al):
                    for i in 0..<P { da[i] = d[i] * s[i] * (a[i] > 0 ? 1 : al); dg[i] = d[i] * fa[i] * s[i] * (1 - s[i]) }
                case .identity:
                    for i in 0..<P { da[i] = d[i] * s[i]; dg[i] = d[i] * fa[i] * s[i] * (1 - s[i]) }
                default:
                    for i in 0..<P { da[i] = d[i] * s[i] * f.derivative(a[i]); dg[i] = d[i] * fa[i] * s[i] * (1 - s[i]) }
                }
            }
        }
    }

    /// The adjoint of the nearest resize: every output pixel's gradient added to the input pixel
    /// it was copied from (in increasing output order, so the sums are always in one order).
    public static func resizeNearest(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, planes: Int, inHeight: Int, inWidth: Int,
                                     outHeight: Int, outWidth: Int, alignCorners: Bool, threads: Int) {
        let rows = Layout.nearestIndices(input: inHeight, output: outHeight, alignCorners: alignCorners)
        let cols = Layout.nearestIndices(input: inWidth, output: outWidth, alignCorners: alignCorners)
        Parallel.forEach(pieces: planes, threads: threads) { p, _ in
            let src = dy + p * outHeight * outWidth, dst = dx + p * inHeight * inWidth
            dst.update(repeating: 0, count: inHeight * inWidth)
            for oy in 0..<outHeight {
                let row = dst + rows[oy] * inWidth, s = src + oy * outWidth
                for ox in 0..<outWidth { row[cols[ox]] += s[ox] }
            }
        }
    }
}

/// How the gradient flows through spectral normalisation's power iteration.
public enum SpectralNormGradientMode: String, Codable, Sendable, CaseIterable {
    /// TensorFlow's (neuralgym): σ, u' and v are all functions of W.
    case full
    /// PyTorch's spectral_norm: u' and v are held constant; only σ = u'ᵀWv depends on W.
    case sigma
}

extension SpectralNorm {
    /// dL/dW for W̃ = W/σ(W) given G = dL/dW̃, W [rows × cols] and the stored u, in double.
    public static func gradient(weight: [Float], rows M: Int, cols K: Int, u: [Float], normalizedGradient G: [Float],
                                mode: SpectralNormGradientMode) -> [Float] {
        let w = weight.map(Double.init), eps = 1e-12
        // Forward again, in double: a = Wᵀu, v = a/(‖a‖+ε), c = W v, u' = c/(‖c‖+ε), σ = u'ᵀc.
        var a = [Double](repeating: 0, count: K)
        for r in 0..<M { let ur = Double(u[r]); for k in 0..<K { a[k] += w[r * K + k] * ur } }
        let na = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let v = a.map { $0 / (na + eps) }
        var c = [Double](repeating: 0, count: M)
        for r in 0..<M { var s = 0.0; for k in 0..<K { s += w[r * K + k] * v[k] }; c[r] = s }
        let nc = c.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let u2 = c.map { $0 / (nc + eps) }
        var sigma = 0.0
        for r in 0..<M { sigma += u2[r] * c[r] }
        // dL/dσ from W̃ = W/σ.
        var gw = [Double](repeating: 0, count: M * K)
        var dot = 0.0
        for i in 0..<M * K { dot += Double(G[i]) * w[i]; gw[i] = Double(G[i]) / sigma }
        let gs = -dot / (sigma * sigma)
        switch mode {
        case .sigma:
            for r in 0..<M { for k in 0..<K { gw[r * K + k] += gs * u2[r] * v[k] } }
        case .full:
            // σ = ‖c‖²/(‖c‖+ε): dσ/dc = c·(2/(‖c‖+ε) − ‖c‖/(‖c‖+ε)²).
            let f = 2 / (nc + eps) - nc / ((nc + eps) * (nc + eps))
            let gc = c.map { gs * f * $0 }
            // c = W v: dW += gc vᵀ, gv = Wᵀ gc.
            var gv = [Double](repeating: 0, count: K)
            for r in 0..<M { for k in 0..<K { gw[r * K + k] += gc[r] * v[k]; gv[k] += w[r * K + k] * gc[r] } }
            // v = a/(‖a‖+ε): ga = gv/(‖a‖+ε) − a·(aᵀgv)/(‖a‖(‖a‖+ε)²).
            var agv = 0.0
            for k in 0..<K { agv += a[k] * gv[k] }
            let ga = (0..<K).map { gv[$0] / (na + eps) - (na > 0 ? a[$0] * agv / (na * (na + eps) * (na + eps)) : 0) }
            // a = Wᵀu: dW += u gaᵀ.
            for r in 0..<M { let ur = Double(u[r]); for k in 0..<K { gw[r * K + k] += ur * ga[k] } }
        }
        return gw.map { Float($0) }
    }
}
