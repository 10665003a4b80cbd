// `graphtrain masks`: the official training masks (spec §6: rectangle ∪ brush strokes, with the
// released code's quirks), their coverage statistics, and optionally the masks as PNGs.
import ArgumentParser
import CLISupport
import Foundation
import ImageIO
import Masks
import Randomness

struct MasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "masks",
        abstract: "Draw the official training masks and print their coverage statistics.",
        discussion: "Mask i is drawn from the seeded stream (seed, i), so a seed gives the same masks on every machine. "
            + "Spec §6.2 for rect+brush at 256x256: mean 31 %, 5–95 % range 20.6–43.2 %.")

    @Option(help: ArgumentHelp("Mask size, WIDTHxHEIGHT.", valueName: "WxH")) var size = "256x256"
    @Option(help: ArgumentHelp("How many masks.", valueName: "N")) var count = 2000
    @Option(help: ArgumentHelp("Seed.", valueName: "S")) var seed: UInt64 = 1
    @Option(help: ArgumentHelp("rect+brush (the recipe's), brush or rect.", valueName: "KIND")) var kind = "rect+brush"
    @Flag(help: "Print coverage statistics (mean, deviation, percentiles) of the masks and of their parts.") var stats = false
    @Option(help: ArgumentHelp("Write the masks here as mask_NNNNN.png (white = hole); created if missing.", valueName: "DIR")) var out: String?

    func validate() throws {
        guard let (h, w) = CLI.parseSize(size, limit: 8192), h >= 8, w >= 8 else {
            throw ValidationError("--size takes WIDTHxHEIGHT with sides in 8...8192, e.g. 256x256; got '\(size)'")
        }
        guard h * w <= 1 << 24 else { throw ValidationError("--size \(size) is over 16 megapixels") }
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be in 1...1000000, got \(count)") }
        guard MaskKind(rawValue: kind) != nil else { throw ValidationError("--kind must be rect+brush, brush or rect, got '\(kind)'") }
        guard stats || out != nil else { throw ValidationError("nothing to do: give --stats, --out DIR or both") }
    }

    func run() throws {
        let (h, w) = CLI.parseSize(size, limit: 8192)!, maskKind = MaskKind(rawValue: kind)!
        if let out { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
        var union: [Double] = [], rects: [Double] = [], brushes: [Double] = []
        for i in 0..<count {
            var rng = SplitMix64(seed, UInt64(i))
            let mask: Mask
            if maskKind == .rectBrush {
                // generate() draws the box, then the strokes, from one stream: the same here, keeping the parts.
                let box = FreeFormMask.rectangle(height: h, width: w, rng: &rng), strokes = FreeFormMask.brush(height: h, width: w, rng: &rng)
                mask = box | strokes
                rects.append(box.coverage)
                brushes.append(strokes.coverage)
            } else {
                mask = FreeFormMask.generate(maskKind, height: h, width: w, rng: &rng)
            }
            union.append(mask.coverage)
            if let out {
                let image = Image(width: w, height: h, channels: 1, bitDepth: 8, samples: mask.pixels.map { $0 != 0 ? 255 : 0 })
                _ = try ImageFile.write(image, to: (out as NSString).appendingPathComponent(String(format: "mask_%05d.png", i)))
            }
        }
        if stats {
            print("\(count) \(kind) masks at \(w)x\(h), seed \(seed): hole share of the image")
            print("            mean    sd      p5      p50     p95     min     max")
            print(MaskStatistics.line(kind == "rect+brush" ? "union" : kind, union))
            if !rects.isEmpty {
                print(MaskStatistics.line("rectangle", rects))
                print(MaskStatistics.line("brush", brushes))
            }
        }
        if let out { CLI.note("graphtrain: wrote \(count) masks to \(out)") }
    }
}

enum MaskStatistics {
    /// The q-quantile by linear interpolation between order statistics (NumPy's default).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let x = q * Double(sorted.count - 1), i = Int(x), f = x - Double(i)
        return i + 1 < sorted.count ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i]
    }

    static func line(_ name: String, _ values: [Double]) -> String {
        let s = values.sorted(), n = Double(values.count)
        let mean = values.reduce(0, +) / n, sd = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        let cells = [mean, sd, quantile(s, 0.05), quantile(s, 0.5), quantile(s, 0.95), s.first!, s.last!].map { String(format: "%5.1f %%", 100 * $0) }
        return name.padding(toLength: 10, withPad: " ", startingAt: 0) + "  " + cells.joined(separator: " ")
    }
}
