// What an evaluation writes: results.json (every case and the aggregates), results.md (the
// table a person reads) and grid.png (input with hole · fill · original for the first cases).
// Aggregates are means over cases; the bins group cases by hole ratio in steps of 10 %.
import Foundation
import ImageIO
import Masks

public struct ScoreSummary: Codable, Sendable {
    public var count: Int
    public var holePercent: Double
    public var l1Percent: Double
    public var l2Percent: Double
    public var psnr: Double
    public var psnrHole: Double
    public var ssim: Double
    public var ssimHole: Double

    init?(_ scores: [ImageScore]) {
        guard !scores.isEmpty else { return nil }
        func mean(_ f: (ImageScore) -> Double) -> Double { scores.reduce(0) { $0 + f($1) } / Double(scores.count) }
        count = scores.count
        holePercent = 100 * mean(\.holeRatio)
        l1Percent = 100 * mean(\.l1)
        l2Percent = 100 * mean(\.l2)
        psnr = mean(\.psnr)
        psnrHole = mean(\.psnrHole)
        ssim = mean(\.ssim)
        ssimHole = mean(\.ssimHole)
    }
}

public struct CaseResult: Codable, Sendable {
    public var id: String
    public var photo: String
    public var score: ImageScore

    public init(id: String, photo: String, score: ImageScore) {
        self.id = id
        self.photo = photo
        self.score = score
    }
}

public struct BinResult: Codable, Sendable {
    public var range: String
    public var summary: ScoreSummary
}

public struct EvalResults: Codable, Sendable {
    public var method: String
    public var size: String
    public var masks: String
    public var seed: UInt64?
    public var maskHash: String
    public var secondsPerImage: Double?
    public var overall: ScoreSummary
    public var bins: [BinResult]
    public var cases: [CaseResult]

    public init(method: String, size: String, masks: String, seed: UInt64?, maskHash: String, secondsPerImage: Double?,
                cases: [CaseResult]) {
        self.method = method
        self.size = size
        self.masks = masks
        self.seed = seed
        self.maskHash = maskHash
        self.secondsPerImage = secondsPerImage
        self.cases = cases
        overall = ScoreSummary(cases.map(\.score))!
        bins = Self.binEdges.compactMap { lo, hi in
            let inBin = cases.filter { $0.score.holeRatio * 100 >= Double(lo) && ($0.score.holeRatio * 100 < Double(hi) || hi == 100) }
            return ScoreSummary(inBin.map(\.score)).map { BinResult(range: "\(lo)–\(hi) %", summary: $0) }
        }
    }

    /// 0–10 … 50–60 %, and everything above in one bin.
    static let binEdges = [(0, 10), (10, 20), (20, 30), (30, 40), (40, 50), (50, 60), (60, 100)]

    public var markdown: String {
        func row(_ label: String, _ s: ScoreSummary) -> String {
            "| \(label) | \(s.count) | " + String(format: "%.1f | %.2f | %.3f | %.2f | %.2f | %.4f | %.4f |",
                                                 s.holePercent, s.l1Percent, s.l2Percent, s.psnr, s.psnrHole, s.ssim, s.ssimHole)
        }
        var lines = [
            "# \(method)", "",
            "Masks: \(masks)\(seed.map { ", seed \($0)" } ?? ""), mask hash \(maskHash); images \(size)"
                + (secondsPerImage.map { String(format: "; %.3f s per image", $0) } ?? "") + ".",
            "ℓ1 and ℓ2 (mean squared error) over the whole image in [0, 1]; PSNR in dB; SSIM 11×11 Gaussian (σ 1.5).", "",
            "| cases | count | hole % | ℓ1 % | ℓ2 % | PSNR | PSNR hole | SSIM | SSIM hole |",
            "|---|---|---|---|---|---|---|---|---|",
            row("all", overall),
        ]
        lines += bins.map { row("hole \($0.range)", $0.summary) }
        lines += ["", "grid.png: masked input · fill · original, one case per row (the first cases)."]
        return lines.joined(separator: "\n") + "\n"
    }

    public func write(to dir: String, grid: Image?) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(self).write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("results.json")), options: .atomic)
            try markdown.write(toFile: (dir as NSString).appendingPathComponent("results.md"), atomically: true, encoding: .utf8)
        } catch {
            throw EvalError("cannot write the results into \(dir): \(error.localizedDescription)")
        }
        if let grid { try ImageFile.write(grid, to: (dir as NSString).appendingPathComponent("grid.png")) }
    }
}

public enum Grid {
    /// Rows of equally sized RGB 8-bit images with a 4-pixel white gutter.
    public static func compose(_ rows: [[Image]]) -> Image? {
        guard let first = rows.first?.first else { return nil }
        let gap = 4, cw = first.width, ch = first.height, columns = rows.map(\.count).max()!
        let width = columns * cw + (columns + 1) * gap, height = rows.count * ch + (rows.count + 1) * gap
        var out = Image(width: width, height: height, channels: 3, bitDepth: 8, fill: 255)
        for (r, row) in rows.enumerated() {
            for (c, cell) in row.enumerated() where cell.width == cw && cell.height == ch && cell.channels == 3 {
                let x0 = gap + c * (cw + gap), y0 = gap + r * (ch + gap)
                for y in 0..<ch {
                    let to = ((y0 + y) * width + x0) * 3
                    out.samples.replaceSubrange(to..<to + cw * 3, with: cell.samples[y * cw * 3..<(y + 1) * cw * 3])
                }
            }
        }
        return out
    }

    /// The photo with its holes painted white, as the network's input is shown in the paper.
    public static func masked(_ image: Image, _ holes: Mask) -> Image {
        var out = image
        for p in 0..<holes.pixels.count where holes.pixels[p] != 0 {
            for c in 0..<image.channels { out.samples[p * image.channels + c] = UInt16(image.maxValue) }
        }
        return out
    }
}
