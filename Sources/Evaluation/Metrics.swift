// Fill quality against the original, on images in [0, 1]: the paper's Table 1 measures (mean ℓ1
// and mean ℓ2 = squared error over the whole image, every channel), and PSNR and SSIM over the
// whole image and inside the hole. SSIM is Wang et al.'s (2004): 11×11 Gaussian window of σ 1.5,
// C1 = 0.01², C2 = 0.03², per channel then averaged, mirror-padded at the borders; the whole-image
// value averages the map away from a 5-pixel border, as scikit-image does, and the in-hole value
// averages it over the hole's pixels.
import Masks

/// One image's scores. ℓ1 and ℓ2 are fractions (×100 for %); PSNR in dB, capped at 100.
public struct ImageScore: Codable, Sendable, Equatable {
    public var holeRatio: Double
    public var l1: Double
    public var l2: Double
    public var psnr: Double
    public var psnrHole: Double
    public var ssim: Double
    public var ssimHole: Double

    public init(holeRatio: Double, l1: Double, l2: Double, psnr: Double, psnrHole: Double, ssim: Double, ssimHole: Double) {
        self.holeRatio = holeRatio
        self.l1 = l1
        self.l2 = l2
        self.psnr = psnr
        self.psnrHole = psnrHole
        self.ssim = ssim
        self.ssimHole = ssimHole
    }
}

/// A planar image: `channels` planes of width × height values in [0, 1].
public struct PlanarImage: Sendable {
    public var width: Int, height: Int, channels: Int
    public var values: [Double]

    public init(width: Int, height: Int, channels: Int, values: [Double]) {
        precondition(values.count == width * height * channels)
        self.width = width
        self.height = height
        self.channels = channels
        self.values = values
    }
}

public enum Metrics {
    public static let psnrCap = 100.0
    static let radius = 5, sigma = 1.5, c1 = 0.01 * 0.01, c2 = 0.03 * 0.03

    public static func psnr(mse: Double) -> Double { mse <= 0 ? psnrCap : min(psnrCap, -10 * log10(mse)) }

    public static func score(truth: PlanarImage, fill: PlanarImage, holes: Mask) -> ImageScore {
        precondition(truth.width == fill.width && truth.height == fill.height && truth.channels == fill.channels)
        precondition(holes.width == truth.width && holes.height == truth.height)
        let plane = truth.width * truth.height, n = Double(truth.values.count)
        var abs1 = 0.0, sq = 0.0, sqHole = 0.0, holeSamples = 0.0
        for c in 0..<truth.channels {
            for p in 0..<plane {
                let d = fill.values[c * plane + p] - truth.values[c * plane + p]
                abs1 += abs(d)
                sq += d * d
                if holes.pixels[p] != 0 { sqHole += d * d; holeSamples += 1 }
            }
        }
        var ssimAll = 0.0, ssimHole = 0.0
        let r = radius, w = truth.width, h = truth.height
        let interior = max(0, w - 2 * r) * max(0, h - 2 * r)
        for c in 0..<truth.channels {
            let map = ssimMap(Array(truth.values[c * plane..<(c + 1) * plane]), Array(fill.values[c * plane..<(c + 1) * plane]), width: w, height: h)
            var sumAll = 0.0, sumHole = 0.0
            for y in 0..<h {
                for x in 0..<w {
                    let v = map[y * w + x]
                    if interior == 0 || (x >= r && x < w - r && y >= r && y < h - r) { sumAll += v }
                    if holes.pixels[y * w + x] != 0 { sumHole += v }
                }
            }
            ssimAll += sumAll / Double(interior == 0 ? plane : interior)
            ssimHole += holeSamples > 0 ? sumHole / (holeSamples / Double(truth.channels)) : 1
        }
        let channels = Double(truth.channels)
        return ImageScore(holeRatio: holeSamples / n, l1: abs1 / n, l2: sq / n, psnr: psnr(mse: sq / n),
                          psnrHole: holeSamples > 0 ? psnr(mse: sqHole / holeSamples) : psnrCap,
                          ssim: ssimAll / channels, ssimHole: ssimHole / channels)
    }

    /// The normalised Gaussian window's 1-D taps.
    static let taps: [Double] = {
        let raw = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }()

    /// Separable Gaussian blur with mirror (half-sample symmetric) borders.
    static func blur(_ v: [Double], width w: Int, height h: Int) -> [Double] {
        func mirror(_ i: Int, _ n: Int) -> Int {
            guard n > 1 else { return 0 }
            var i = i
            let period = 2 * n
            i = ((i % period) + period) % period
            return i < n ? i : period - 1 - i
        }
        var rows = [Double](repeating: 0, count: v.count), out = rows
        for y in 0..<h {
            for x in 0..<w {
                var s = 0.0
                for k in -radius...radius { s += taps[k + radius] * v[y * w + mirror(x + k, w)] }
                rows[y * w + x] = s
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var s = 0.0
                for k in -radius...radius { s += taps[k + radius] * rows[mirror(y + k, h) * w + x] }
                out[y * w + x] = s
            }
        }
        return out
    }

    /// SSIM at every pixel of one channel.
    public static func ssimMap(_ a: [Double], _ b: [Double], width: Int, height: Int) -> [Double] {
        let ma = blur(a, width: width, height: height), mb = blur(b, width: width, height: height)
        let aa = blur(a.map { $0 * $0 }, width: width, height: height), bb = blur(b.map { $0 * $0 }, width: width, height: height)
        let ab = blur(zip(a, b).map { $0 * $1 }, width: width, height: height)
        return (0..<a.count).map { i in
            let va = aa[i] - ma[i] * ma[i], vb = bb[i] - mb[i] * mb[i], cov = ab[i] - ma[i] * mb[i]
            return ((2 * ma[i] * mb[i] + c1) * (2 * cov + c2)) / ((ma[i] * ma[i] + mb[i] * mb[i] + c1) * (va + vb + c2))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
