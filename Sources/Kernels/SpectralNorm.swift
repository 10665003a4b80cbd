// Spectral normalisation with one power iteration from a stored u (neuralgym
// kernel_spectral_norm, spec §4.3): with W the kernel as a [out, in·kh·kw] matrix and
// l2n(x) = x / (‖x‖ + 1e-12):  v = l2n(Wᵀu),  u' = l2n(W v),  σ = u'ᵀ W v.
// The convolution uses W/σ and u' becomes the stored u. Sums are accumulated in double.

public enum SpectralNorm {
    public struct Result: Sendable {
        public var normalizedWeight: [Float]
        public var updatedU: [Float]
        public var sigma: Float
    }

    public static func normalize(weight: [Float], rows: Int, cols: Int, u: [Float]) -> Result {
        precondition(weight.count == rows * cols && u.count == rows)
        var v = [Double](repeating: 0, count: cols)
        for r in 0..<rows {
            let ur = Double(u[r])
            for c in 0..<cols { v[c] += Double(weight[r * cols + c]) * ur }
        }
        let vn = v.reduce(0) { $0 + $1 * $1 }.squareRoot() + 1e-12
        v = v.map { Double(Float($0 / vn)) }
        var wv = [Double](repeating: 0, count: rows)
        for r in 0..<rows {
            var acc = 0.0
            for c in 0..<cols { acc += Double(weight[r * cols + c]) * v[c] }
            wv[r] = acc
        }
        let un = wv.reduce(0) { $0 + $1 * $1 }.squareRoot() + 1e-12
        let u2 = wv.map { Float($0 / un) }
        var sigma = 0.0
        for r in 0..<rows { sigma += Double(u2[r]) * wv[r] }
        let s = Float(sigma)
        return Result(normalizedWeight: weight.map { $0 / s }, updatedU: u2, sigma: s)
    }
}
