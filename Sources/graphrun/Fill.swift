// `graphrun fill` (the default command): one photo, or every photo of a folder.
import ArgumentParser
import CLISupport
import Foundation
import Kernels
import ImageIO
import Inpainting
import Runtime

extension ImageFile.Format: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        default: return nil
        }
    }
    public static var allValueStrings: [String] { ["png", "jpg"] }
}

enum StrategyName: String, ExpressibleByArgument, CaseIterable {
    case full, crop, resize
}

struct Fill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the holes of a photo, or of every photo in a folder (the default command).",
        discussion: """
            Photos and masks are PNG (8- or 16-bit, gray, RGB or RGBA) or JPEG files. Mask pixels whose colour \
            value is above 50 % (> 127 for 8-bit) are holes, or, with --mask-from-alpha, the photo's transparent \
            pixels are. Any size works: the photo is mirror-padded to the model's size step and cropped back. \
            Known pixels are copied into the output unchanged; filled pixels are opaque. The output's format \
            follows its extension: .png (lossless) or .jpg. Results are bit-identical for any --threads value.

            Folder mode: --input DIR --output DIR, with --mask DIR (masks matched by name: photo.jpg takes \
            photo.png, photo_mask.png or photo-mask.png), --mask FILE (one mask for every photo) or \
            --mask-from-alpha. The model is loaded once; a photo that fails is reported and the rest go on.

            Large photos: --strategy full runs on the whole photo (exact); crop runs on each hole's bounding \
            box plus --crop-margin; resize runs on a copy whose longer side is --resize-limit and pastes the \
            enlarged fill. Full and crop runs compute only what the hole pixels depend on (the region each \
            layer's hole can see; contextual attention still searches the whole photo), so a small hole in a \
            large photo costs far less than the whole network; the picture is bit-identical to computing \
            every pixel, which --compute-all (and --save-raw) does.
            """)

    @Argument(help: ArgumentHelp("The compiled model (graphc compile ... -o model.bin).", valueName: "model.bin")) var model: String
    @Option(name: [.customShort("i"), .long, .customLong("image")], help: ArgumentHelp("The photo, or a folder of photos (--image works too).", valueName: "photo|dir"))
    var input: String
    @Option(name: [.customShort("m"), .long], help: ArgumentHelp("The hole mask (white = hole), or a folder of masks.", valueName: "mask|dir"))
    var mask: String?
    @Flag(name: .long, help: "Take the hole from the photo's alpha channel (transparent = hole) instead of a mask.")
    var maskFromAlpha = false
    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Where to write the filled photo (.png or .jpg), or a folder.", valueName: "out.png|dir"))
    var output: String?
    @Option(name: .long, help: ArgumentHelp("Also write every graph output as <name>.npy ([C, H, W]) into this directory.", valueName: "dir"))
    var saveRaw: String?
    @Option(name: .long, help: "How to run on a photo: full, crop or resize.") var strategy: StrategyName = .full
    @Option(name: .long, help: ArgumentHelp("Pixels added around each hole's box for --strategy crop.", valueName: "n")) var cropMargin = 128
    @Option(name: .long, help: ArgumentHelp("Longer side of the copy --strategy resize runs on.", valueName: "n")) var resizeLimit = 1024
    @Flag(name: .long, help: "Compute every pixel of every layer, not only what the holes depend on (same picture, slower).")
    var computeAll = false
    @Option(name: .long, help: ArgumentHelp("Folder mode: write every output as png or jpg (default: each photo's own format).", valueName: "png|jpg"))
    var format: ImageFile.Format?
    @Option(name: .long, help: ArgumentHelp("Quality of JPEG outputs, 1-100.", valueName: "q")) var jpegQuality = JPEG.defaultQuality
    @Option(name: .long, help: ArgumentHelp("The graph output pasted into the holes of the picture written, e.g. stage1.", valueName: "name"))
    var outputName = "completed"
    @OptionGroup var runFlags: RunFlags
    @Flag(name: .long, help: "Print time, share and GFLOP/s per node and per op type after the run.") var profile = false
    @Option(name: .long, help: ArgumentHelp("Write a Chrome trace (chrome://tracing, Perfetto) of the run.", valueName: "trace.json"))
    var trace: String?
    @Flag(name: .shortAndLong, help: "Print nothing but errors.") var quiet = false

    var isFolder: Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: input, isDirectory: &isDir) && isDir.boolValue
    }

    /// Checks between options. Run from `run()`, not `validate()`: ArgumentParser validates
    /// before it reports an unknown option, and "--ouput" must be named, not answered with
    /// "give --output".
    func checkCombination() throws {
        if (mask == nil) == !maskFromAlpha { throw ValidationError("give --mask MASK, or --mask-from-alpha to take the hole from the photo's transparency") }
        if output == nil && saveRaw == nil { throw ValidationError("give --output FILE (.png or .jpg) and/or --save-raw DIR") }
        if !(1...100).contains(jpegQuality) { throw ValidationError("--jpeg-quality must be in 1...100, got \(jpegQuality)") }
        if cropMargin < 0 || cropMargin > 1 << 15 { throw ValidationError("--crop-margin must be in 0...32768, got \(cropMargin)") }
        if resizeLimit < 8 || resizeLimit > 1 << 15 { throw ValidationError("--resize-limit must be in 8...32768, got \(resizeLimit)") }
        if isFolder {
            if saveRaw != nil { throw ValidationError("--save-raw works on one photo, not a folder") }
            if output == nil { throw ValidationError("folder mode needs --output DIR") }
        } else {
            if format != nil { throw ValidationError("--format applies to folder mode; for one photo the --output extension decides") }
            if let output, ImageFile.format(ofPath: output) == nil {
                throw ValidationError("--output \(output): end the name in .png (lossless) or .jpg")
            }
        }
    }

    var fillStrategy: FillStrategy {
        switch strategy {
        case .full: return .full
        case .crop: return .crop(margin: cropMargin)
        case .resize: return .resize(limit: resizeLimit)
        }
    }

    func run() throws {
        try checkCombination()
        installInterruptHandler()
        do { try isFolder ? runFolder() : runOne() } catch {
            StatusLine.clear()
            if error is RunCancelled {
                CLI.note("graphrun: interrupted; no output was written for the photo in progress")
                throw ExitCode(130)
            }
            throw error
        }
    }

    func runOne() throws {
        var request = InpaintRequest(modelPath: model, photoPath: input, holes: maskFromAlpha ? .photoAlpha : .maskFile(mask!), outputPath: output)
        request.rawDirectory = saveRaw
        request.channelOrder = runFlags.channelOrder
        request.strategy = fillStrategy
        request.jpegQuality = jpegQuality
        request.outputName = outputName
        request.computeAll = computeAll
        let printer = ProgressPrinter()
        let show: @Sendable (RunProgress) -> Void = { printer.report($0) }
        request.options = runFlags.options(progress: quiet ? nil : show)
        let parallelTrace = profile ? ParallelTrace(runThreads: runFlags.threadCount) : nil
        request.options.parallelTrace = parallelTrace
        if let trace { try OutputPaths.checkWritable(trace, inputs: request.inputPaths, flag: "--trace") }
        let report = try Inpainter.run(request)
        StatusLine.clear()
        // --quiet silences messages, not files the user asked for.
        if let trace { try Profile.writeTrace(report.nodeSeconds, to: trace) }
        guard !quiet else { return }
        for n in report.notes { CLI.note(n.hasPrefix("warning:") ? n : "note: \(n)") }
        let holes = String(format: "%.1f", 100 * Double(report.holePixels) / Double(report.size.height * report.size.width))
        var line = "filled \(report.holePixels) hole pixels (\(holes) %) of \(report.size.width)x\(report.size.height) in "
            + String(format: "%.2f s", report.seconds) + " on \(runFlags.threadCount) thread\(runFlags.threadCount == 1 ? "" : "s")"
            + String(format: " (estimated peak memory %.0f MiB)", Double(report.estimatedPeakBytes) / 1_048_576)
        if let output { line += " -> \(output)" }
        print(line)
        for f in report.rawFiles { print("wrote \(f)") }
        if profile {
            Profile.print(report.nodeSeconds)
            let run = report.nodeSeconds.reduce(0) { $0 + $1.seconds }
            let process = Double(DispatchTime.now().uptimeNanoseconds - processStart) / 1e9
            let accounted = report.phases.reduce(0) { $0 + $1.seconds }
            Swift.print(String(format: "process phases (%.3f s from main):", process))
            for (name, s) in [("start, parse arguments", process - accounted)] + report.phases {
                Swift.print("  " + name.padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%8.1f ms", s * 1e3))
            }
            Profile.printScaling(ScalingPrediction(trace: parallelTrace!, runSeconds: run, outsideSeconds: process - run),
                                 measuredThreads: runFlags.threadCount, nodes: report.nodeSeconds.map(\.node),
                                 nodeSeconds: report.nodeSeconds.map(\.seconds))
        }
        if let trace { print("wrote trace \(trace)") }
    }

    func runFolder() throws {
        let masks: BatchRequest.Masks
        if maskFromAlpha { masks = .photoAlpha } else {
            var isDir: ObjCBool = false
            masks = FileManager.default.fileExists(atPath: mask!, isDirectory: &isDir) && isDir.boolValue ? .directory(mask!) : .file(mask!)
        }
        var request = BatchRequest(modelPath: model, inputDirectory: input, masks: masks, outputDirectory: output!)
        request.outputFormat = format
        request.channelOrder = runFlags.channelOrder
        request.strategy = fillStrategy
        request.jpegQuality = jpegQuality
        request.outputName = outputName
        request.computeAll = computeAll
        request.options = runFlags.options()
        let items = try BatchFill.plan(request)
        let summary = try BatchFill.run(request, items: items) { done, total, item, elapsed in
            guard !quiet else { return }
            let name = (item.photo as NSString).lastPathComponent
            var eta = ""
            if done > 0 { eta = ", ETA " + CLI.duration(elapsed / Double(done) * Double(total - done)) }
            let text = "[\(done + 1)/\(total)] \(name) (elapsed \(CLI.duration(elapsed))\(eta))"
            if StatusLine.isTerminal { StatusLine.show(text) } else { CLI.note(text) }
        }
        StatusLine.clear()
        if !quiet {
            for (item, report) in summary.filled {
                for n in report.notes { CLI.note("\((item.photo as NSString).lastPathComponent): \(n)") }
            }
        }
        for (item, message) in summary.failed { CLI.note("error: \((item.photo as NSString).lastPathComponent): \(message)") }
        let per = summary.filled.isEmpty ? "" : String(format: ", %.2f s per photo", summary.seconds / Double(items.count))
        if !quiet || !summary.failed.isEmpty {
            print("filled \(summary.filled.count) of \(items.count) photos into \(output!) in " + CLI.duration(summary.seconds) + per
                  + (summary.failed.isEmpty ? "" : "; \(summary.failed.count) failed (listed above)"))
        }
        if !summary.failed.isEmpty { throw ExitCode(1) }
    }
}
