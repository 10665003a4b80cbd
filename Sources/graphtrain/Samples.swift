// `graphtrain samples RUN --data DIR -o grid.png`: a checkpoint's generator on the first photos
// of a folder (centre crops at the run's training size, seeded official masks).
import ArgumentParser
import CLISupport
import Foundation
import GraphPasses
import ImageIO
import Runtime
import Training

struct Samples: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a grid of a checkpoint's fills: input, stage 1, completed, original (and the attention flow).",
        discussion: "Rows are the folder's first photos in name order, centre-cropped to the run's training size, each with "
            + "its own official mask seeded by the run's seed; the same photos and masks every time, so grids of "
            + "different checkpoints compare directly.")

    @Argument(help: ArgumentHelp("The run folder.", valueName: "RUN")) var folder: String
    @Option(help: ArgumentHelp("A folder of PNG or JPEG photos (e.g. held-out ones).", valueName: "DIR")) var data: String
    @Option(name: .shortAndLong, help: ArgumentHelp("The picture to write (.png).", valueName: "grid.png")) var output: String
    @Option(help: ArgumentHelp("The checkpoint's step (default: the newest).", valueName: "STEP")) var checkpoint: Int?
    @Option(help: ArgumentHelp("How many photos (rows).", valueName: "N")) var count = 6
    @Option(help: ArgumentHelp("Threads (default: one per core).", valueName: "T")) var threads: Int?
    @Option(help: ArgumentHelp("Another run to compare (repeatable): the grid then shows input, each run's completion and the original, "
                               + "with the runs named on top.", valueName: "RUN2")) var compare: [String] = []

    func validate() throws {
        guard (1...64).contains(count) else { throw ValidationError("--count must be in 1...64, got \(count)") }
        if let t = threads, !(1...256).contains(t) { throw ValidationError("--threads must be in 1...256, got \(t)") }
        guard output.lowercased().hasSuffix(".png") else { throw ValidationError("-o must name a .png file, got '\(output)'") }
    }

    func run() throws {
        let config = try TrainingRun.loadConfig(folder)
        let (step, path) = try TrainingRun.checkpoint(folder, step: checkpoint)
        let photos = try PhotoSet(folder: data)
        func forward(_ run: String, _ step: Int? = nil) throws -> Executor {
            try GradientStep.inference(try TrainingRun.readCheckpoint(run, step: step).generator)
        }
        let threadCount = threads ?? RunOptions.defaultThreads
        let grid: Image
        if compare.isEmpty {
            grid = try RunPictures.samples(forward: try forward(folder, step), photos: photos, count: count, height: config.height, width: config.width,
                                           seed: config.seed, threads: threadCount)
        } else {
            var generators = [((folder as NSString).lastPathComponent, try forward(folder, step))]
            for other in compare {
                let c = try TrainingRun.loadConfig(other)
                guard (c.height, c.width) == (config.height, config.width) else {
                    throw ValidationError("--compare \(other) trained at \(c.width)x\(c.height), but \(folder) at \(config.width)x\(config.height)")
                }
                generators.append(((other as NSString).lastPathComponent, try forward(other)))
            }
            grid = try RunPictures.comparison(generators, photos: photos, count: count, height: config.height, width: config.width,
                                              seed: config.seed, threads: threadCount)
        }
        _ = try ImageFile.write(grid, to: output)
        CLI.note("graphtrain: wrote \(output): \(min(count, photos.paths.count)) photos at \(config.width)x\(config.height), step \(step)")
    }
}
