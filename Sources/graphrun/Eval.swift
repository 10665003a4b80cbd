// `graphrun eval` and `graphrun score`: fill quality on held-out photos.
import ArgumentParser
import CLISupport
import Evaluation
import Foundation
import Masks

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill seeded masks on held-out photos and measure the result (ℓ1, ℓ2, PSNR, SSIM).",
        discussion: """
            Each photo is cut to its centre square and shrunk to --size. Masks are the official DeepFill v2 \
            generator's (brush strokes, the rectangle, or both), seeded per case, or pictures from a folder. \
            Writes OUT/results.json, OUT/results.md, OUT/grid.png, and the cases as OUT/inputs, OUT/masks and \
            OUT/fills (PNG, by case id) for `graphrun score` and Tools/baselines.py.
            """)

    @Argument(help: ArgumentHelp("The compiled model.", valueName: "model.bin")) var model: String
    @Option(name: .long, help: ArgumentHelp("A folder of photos (PNG or JPEG).", valueName: "dir")) var photos: String
    @Option(name: .long, help: ArgumentHelp("Side of the square cases.", valueName: "n")) var size = 256
    @Option(name: .long, help: ArgumentHelp("brush, rect+brush, rect, or a folder of mask pictures.", valueName: "kind|dir")) var masks = "brush"
    @Option(name: .long, help: ArgumentHelp("Number of cases (default: one per photo; photos repeat with new masks).", valueName: "n")) var count: Int?
    @Option(name: .long, help: ArgumentHelp("Seed of the masks.", valueName: "s")) var seed: UInt64 = 1
    @Option(name: .long, help: ArgumentHelp("Where to write the results (created if missing).", valueName: "dir")) var out: String
    @OptionGroup var runFlags: RunFlags
    @Flag(name: .shortAndLong, help: "Print only the results table.") var quiet = false

    func validate() throws {
        if size < 8 || size > 4096 { throw ValidationError("--size must be in 8...4096, got \(size)") }
        if let count, count < 1 || count > 1_000_000 { throw ValidationError("--count must be in 1...1000000, got \(count)") }
        _ = try maskChoice()
    }

    func maskChoice() throws -> MaskChoice {
        if let kind = MaskKind(rawValue: masks) { return .generated(kind) }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: masks, isDirectory: &isDir), isDir.boolValue else {
            throw ValidationError("--masks must be brush, rect+brush, rect or a folder of masks, got '\(masks)'")
        }
        return .directory(masks)
    }

    func run() throws {
        installInterruptHandler()
        var request = EvalRequest(modelPath: model, photos: photos, output: out)
        request.size = size
        request.masks = try maskChoice()
        request.count = count
        request.seed = seed
        request.channelOrder = runFlags.channelOrder
        request.options = runFlags.options()
        let results = try Evaluator.evaluate(request) { i, n, id in
            guard !quiet else { return }
            if StatusLine.isTerminal { StatusLine.show("[\(i + 1)/\(n)] \(id)") } else if i == 0 { CLI.note("evaluating \(n) cases ...") }
        }
        StatusLine.clear()
        if !quiet { CLI.note("masks: \(results.masks), seed \(seed), \(results.cases.count) cases, mask hash \(results.maskHash)") }
        print(results.markdown, terminator: "")
        if !quiet { CLI.note("wrote \(out)/results.json, results.md, grid.png, inputs/, masks/, fills/") }
    }
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure fills made elsewhere against their originals (the metrics of eval).",
        discussion: "Every FILLS/<id>.png is compared with TRUTH/<id>.png inside the holes of MASKS/<id>.png (white = hole), "
            + "as an eval run lays them out.")

    @Option(name: .long, help: ArgumentHelp("The original images.", valueName: "dir")) var truth: String
    @Option(name: .long, help: ArgumentHelp("The masks (white = hole).", valueName: "dir")) var masks: String
    @Option(name: .long, help: ArgumentHelp("The filled images.", valueName: "dir")) var fills: String
    @Option(name: .long, help: ArgumentHelp("Where to write results.json, results.md and grid.png.", valueName: "dir")) var out: String
    @Option(name: .long, help: ArgumentHelp("The method's name in the results.", valueName: "name")) var method = "fills"
    @Option(name: .long, help: ArgumentHelp("The method's time per image, measured where it ran, for the results.", valueName: "s"))
    var secondsPerImage: Double?

    func validate() throws {
        if let s = secondsPerImage, !(s >= 0 && s.isFinite) { throw ValidationError("--seconds-per-image must be a non-negative number") }
    }

    func run() throws {
        let results = try Evaluator.score(truth: truth, masks: masks, fills: fills, output: out, method: method, secondsPerImage: secondsPerImage)
        CLI.note("\(results.cases.count) cases, mask hash \(results.maskHash)")
        print(results.markdown, terminator: "")
    }
}
