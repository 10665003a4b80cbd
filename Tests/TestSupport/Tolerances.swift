// The oracle fixtures' tolerances in one table, as Tests/Fixtures/oracle/README.md ("Recommended
// tolerances") and Tests/Fixtures/oracle/gradients_64x64_cnum8/README.md state them. Tests look
// the numbers up here instead of typing them again.
import Foundation

public enum OracleTolerance {
    /// Generator outputs against the reference: stage 1 max / mean; stage 2 and the composited
    /// output max / 99.9th percentile / mean (absolute).
    public struct Generator: Sendable, CustomStringConvertible {
        public var pixels: Int
        public var stage1Max: Float, stage1Mean: Float
        public var max: Float, p999: Float, mean: Float
        public var description: String { "stage1 \(stage1Max)/\(stage1Mean), stage2 \(max)/\(p999)/\(mean)" }
    }

    /// The README's rows, by image size (pixels) at which they apply.
    public static let generatorTiers = [
        Generator(pixels: 64 * 64, stage1Max: 1e-4, stage1Mean: 1e-5, max: 2e-4, p999: 1e-4, mean: 2e-5),
        Generator(pixels: 128 * 96, stage1Max: 5e-4, stage1Mean: 3e-5, max: 1e-3, p999: 5e-4, mean: 1e-4),
        Generator(pixels: 256 * 256, stage1Max: 2e-3, stage1Mean: 1e-4, max: 1e-2, p999: 5e-3, mean: 3e-4),
        Generator(pixels: 512 * 512, stage1Max: 5e-3, stage1Mean: 1e-4, max: 1e-1, p999: 1e-2, mean: 3e-4),
    ]

    /// The row for an h × w image: the first listed size at least as large (the last beyond 512²).
    public static func generator(height: Int, width: Int) -> Generator {
        generatorTiers.first { $0.pixels >= height * width } ?? generatorTiers.last!
    }

    /// The attention argmax is exact up to 256²; beyond, at least this share of positions agrees.
    public static let argmaxShareBeyond256Squared = 0.999
    public static func argmaxMustBeExact(height: Int, width: Int) -> Bool { height * width <= 256 * 256 }

    /// output.png: at most floor(127.5 × the output max tolerance) + 1 levels.
    public static func pngLevels(height: Int, width: Int) -> Int { Int((127.5 * generator(height: height, width: width).max).rounded(.down)) + 1 }

    /// Discriminator logits and the updated spectral-norm u (absolute).
    public static let discriminatorLogits: Float = 2e-5
    public static let discriminatorU: Float = 2e-6
    /// contextual_attention/y.npy and y_nofuse.npy (absolute).
    public static let attention: Float = 5e-5

    /// Gradients of one training step: max |grad − oracle| ≤ this × max |oracle|, per tensor.
    public static let gradientOfLargest: Double = 1e-3
    /// The step's losses, relative.
    public static let lossRelative: Double = 1e-5
}

/// Max, mean and 99.9th-percentile absolute difference, as the oracle README states its tolerances.
public struct Difference: CustomStringConvertible {
    public var max: Float
    public var mean: Float
    public var p999: Float

    public init(_ a: [Float], _ b: [Float]) {
        precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
        let d = zip(a, b).map { abs($0 - $1) }
        max = d.max() ?? 0
        mean = d.reduce(0, +) / Float(Swift.max(d.count, 1))
        let sorted = d.sorted()
        p999 = sorted.isEmpty ? 0 : sorted[Swift.min(sorted.count - 1, Int((Double(sorted.count) * 0.999).rounded(.down)))]
    }

    public var description: String { String(format: "max %.2e, mean %.2e, p99.9 %.2e", max, mean, p999) }
}
