// The pictures a run draws with its own code (written with libpng): the samples grid — per
// row the input with its hole in white, stage 1, the completed image, the original and, for
// generators with contextual attention, the attention flow of that sample — and the loss curves.
import Evaluation
import Plots
import Foundation
import ImageIO
import Masks
import ModelFormat
import Randomness
import Runtime
import Training

enum RunPictures {
    /// RGB 8-bit from planar [3, h, w] in [-1, 1].
    static func image(_ planar: ArraySlice<Float>, height h: Int, width w: Int) -> Image {
        var out = Image(width: w, height: h, channels: 3, bitDepth: 8)
        let base = planar.startIndex, plane = h * w
        for i in 0..<plane {
            for c in 0..<3 {
                let v = (planar[base + c * plane + i] + 1) * 127.5
                out.samples[i * 3 + c] = UInt16(max(0, min(255, v.rounded())))
            }
        }
        return out
    }

    /// The first `count` photos of the folder (centre crops at the training size), each with its own
    /// seeded official mask, filled by the generator; one row per photo.
    static func samples(forward: Executor, photos: PhotoSet, count: Int, height h: Int, width w: Int, seed: UInt64, threads: Int) throws -> Image {
        var rows: [[Image]] = []
        for i in 0..<min(count, photos.paths.count) {
            let (x, holes) = try sampleCase(photos, i, height: h, width: w, seed: seed)
            let out = try fill(forward, x, holes, height: h, width: w, threads: threads)
            let original = image(x[...], height: h, width: w)
            var row = [Grid.masked(original, holes), image(out["stage1"]!.floats![...], height: h, width: w),
                       image(out["completed"]!.floats![...], height: h, width: w), original]
            if let flow = out["attention"], let argmax = flow.ints, flow.shape.count == 4 {
                row.append(AttentionPicture.flow(argmax: argmax, height: flow.shape[2], width: flow.shape[3], holes: holes, size: (w, h)))
            }
            rows.append(row)
        }
        return Grid.compose(rows)!
    }

    /// Photo i of the folder as a centre crop at the training size, with its own seeded official mask.
    static func sampleCase(_ photos: PhotoSet, _ i: Int, height h: Int, width w: Int, seed: UInt64) throws -> (x: [Float], holes: Mask) {
        var rng = SplitMix64(seed, 0x5A3D_1E5, UInt64(i))
        return (TrainingData.centre(try photos.image(i), height: h, width: w), FreeFormMask.generate(.rectBrush, height: h, width: w, rng: &rng))
    }

    static func fill(_ forward: Executor, _ x: [Float], _ holes: Mask, height h: Int, width w: Int, threads: Int) throws -> [String: HostTensor] {
        try forward.run(["image": HostTensor(shape: [1, 3, h, w], floats: x),
                         "mask": HostTensor(shape: [1, 1, h, w], floats: holes.pixels.map { Float($0) })], options: RunOptions(threads: threads)).outputs
    }

    /// One row per photo: the input with its hole, each generator's completion, the original; a
    /// header row names the columns. The same photos and masks as `samples`.
    static func comparison(_ generators: [(name: String, forward: Executor)], photos: PhotoSet, count: Int, height h: Int, width w: Int,
                           seed: UInt64, threads: Int) throws -> Image {
        func label(_ text: String) -> Image {
            var image = Image(width: w, height: 14, channels: 3, bitDepth: 8, fill: 255)
            var t = text
            while BitmapFont.width(of: t) > w - 2 && !t.isEmpty { t.removeLast() }
            BitmapFont.draw(t, into: &image, x: max(0, (w - BitmapFont.width(of: t)) / 2), y: 3, colour: .black)
            return image
        }
        let header = [label("input")] + generators.map { label($0.name) } + [label("original")]
        var rows: [[Image]] = []
        for i in 0..<min(count, photos.paths.count) {
            let (x, holes) = try sampleCase(photos, i, height: h, width: w, seed: seed)
            let original = image(x[...], height: h, width: w)
            var row = [Grid.masked(original, holes)]
            for g in generators {
                row.append(image(try fill(g.forward, x, holes, height: h, width: w, threads: threads)["completed"]!.floats![...], height: h, width: w))
            }
            rows.append(row + [original])
        }
        // Grid.compose wants equal cells: the header row is composed alone and stacked on top.
        let top = Grid.compose([header])!, body = Grid.compose(rows)!
        var out = Image(width: body.width, height: top.height - 4 + body.height, channels: 3, bitDepth: 8, fill: 255)
        out.samples.replaceSubrange(0..<(top.height - 4) * top.width * 3, with: top.samples[0..<(top.height - 4) * top.width * 3])
        out.samples.replaceSubrange((top.height - 4) * top.width * 3..<out.samples.count, with: body.samples)
        return out
    }

    static func write(run: String, trainer: Trainer, photos: PhotoSet, config: TrainingConfig, step: Int) throws {
        let grid = try samples(forward: trainer.forward, photos: photos, count: 4, height: config.height, width: config.width,
                               seed: config.seed, threads: RunOptions.defaultThreads)
        _ = try ImageFile.write(grid, to: (run as NSString).appendingPathComponent("samples.png"))
        _ = try ImageFile.write(LossPicture.draw(LossLog.read(TrainingRun.lossLogPath(run)), title: "\((run as NSString).lastPathComponent) to step \(step)"),
                                to: (run as NSString).appendingPathComponent("losses.png"))
    }
}

enum AttentionPicture {
    /// The attention's argmax [h', w'] as a flow picture at the sample size; positions outside the
    /// hole (where attention is not used) white.
    static func flow(argmax: [Int32], height: Int, width: Int, holes: Mask, size: (Int, Int)) -> Image {
        // The mask at the attention grid: a position is in the hole when any pixel it covers is.
        var hole = [Bool](repeating: false, count: height * width)
        for y in 0..<holes.height { for x in 0..<holes.width where holes.pixels[y * holes.width + x] != 0 {
            hole[min(height - 1, y * height / holes.height) * width + min(width - 1, x * width / holes.width)] = true
        } }
        return AttentionFlow.image(argmax: argmax, height: height, width: width, hole: hole, size: (width: size.0, height: size.1))
    }
}

enum LossPicture {
    /// The four loss curves against the step, each smoothed over a window of 1/50 of the run.
    static func draw(_ entries: [LossLog.Entry], title: String) -> Image {
        let window = max(1, entries.count / 50)
        func series(_ name: String, _ k: Int, _ value: (LossLog.Entry) -> Float) -> Series {
            Series(name: name, colour: RGB.palette[k], points: entries.map { (Double($0.step), Double(value($0))) }).smoothed(window: window)
        }
        return LineChart.render(series: [series("d_loss", 0, \.d_loss), series("g_loss", 1, \.g_loss), series("g_adv", 2, \.g_adv),
                                          series("l1", 3, \.l1)],
                                title: title + (window > 1 ? " (moving average of \(window))" : ""), xLabel: "step")
    }
}
