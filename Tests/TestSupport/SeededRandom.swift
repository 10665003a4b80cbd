// The tests' one seeded generator: the product's SplitMix64 (Sources/Randomness), so every random
// choice a test makes is fixed by its seed and a failure replays. Failure messages name the seed
// (`description`).
import Randomness

public struct SeededRandom: RandomNumberGenerator, CustomStringConvertible {
    public let seed: UInt64
    private var generator: SplitMix64

    public init(seed: UInt64) {
        self.seed = seed
        generator = SplitMix64(seed: seed)
    }

    public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [lo, hi) with 24 bits.
    public mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float { lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24) }
    public mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] { (0..<n).map { _ in float(lo, hi) } }
    /// Uniform in `r` (modulo bias below 2^-50 for test-sized ranges).
    public mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }
    public mutating func bool() -> Bool { next() >> 63 == 1 }
    /// Uniform in [lo, hi) with 53 bits (finite-difference checks work in double).
    public mutating func uniform(_ lo: Double = -1, _ hi: Double = 1) -> Double { lo + (hi - lo) * Double(next() >> 11) / Double(1 << 53) }
    public mutating func pick<T>(_ a: [T]) -> T { a[int(0...a.count - 1)] }

    public var description: String { "seed \(seed)" }
}
