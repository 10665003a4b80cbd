// One seeded generator for everything Fillgraph draws at random (initial weights, masks, crops),
// so a seed means the same numbers on every machine, version and thread count. Streams for
// independent draws (a step, a sample) are derived by hashing their coordinates into a seed,
// never by sharing one generator across threads.
import Foundation

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fully specified, well mixed.
public struct SplitMix64: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }

    /// A stream for the coordinates `parts` (e.g. seed, step, sample): each part is mixed in, so
    /// neighbouring coordinates give unrelated streams.
    public init(_ parts: UInt64...) {
        var g = SplitMix64(seed: 0x6A09_E667_F3BC_C908)
        for p in parts { g.state ^= p; _ = g.next() }
        self.init(seed: g.next())
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 bits.
    public mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [a, b).
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * uniform() }

    /// Uniform integer in `range` (NumPy's randint(low, high) is `int(in: low..<high)`), without
    /// modulo bias (Lemire's multiply-shift with rejection).
    public mutating func int(in range: Range<Int>) -> Int {
        precondition(!range.isEmpty, "empty range")
        let n = UInt64(range.count)
        var m = next().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n
            while m.low < threshold { m = next().multipliedFullWidth(by: n) }
        }
        return range.lowerBound + Int(m.high)
    }

    /// Standard normal (Box–Muller, one value per call).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 0x1p-53), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    public mutating func normal(mean: Double, deviation: Double) -> Double { mean + deviation * normal() }
}
