// Folder mode: fill every photo of a directory with one loaded model. Masks are matched by file
// name (or one mask serves all). Everything that can be checked before the first run is (no
// photos, a photo without a mask, two outputs with one name), so a bad request costs nothing;
// after that a photo that fails is reported and the rest go on. Each output file appears whole
// or not at all (written to a temporary file, then renamed).
import Foundation
import ImageIO
import Runtime

public struct BatchRequest {
    public enum Masks: Equatable, Sendable {
        case directory(String)
        case file(String)
        case photoAlpha
    }

    public var modelPath: String
    public var inputDirectory: String
    public var masks: Masks
    public var outputDirectory: String
    /// nil: each output in its photo's format.
    public var outputFormat: ImageFile.Format?
    public var channelOrder: ChannelOrder = .rgb
    public var strategy: FillStrategy = .full
    public var jpegQuality = JPEG.defaultQuality
    public var outputName = "completed"
    /// Compute every pixel of every node, not just what the holes need (same pictures).
    public var computeAll = false
    public var options = RunOptions()

    public init(modelPath: String, inputDirectory: String, masks: Masks, outputDirectory: String) {
        self.modelPath = modelPath
        self.inputDirectory = inputDirectory
        self.masks = masks
        self.outputDirectory = outputDirectory
    }
}

public struct BatchItem: Equatable, Sendable {
    public var photo: String
    public var holes: HoleSource
    public var output: String
}

public struct BatchSummary {
    public var filled: [(item: BatchItem, report: InpaintReport)] = []
    public var failed: [(item: BatchItem, message: String)] = []
    public var seconds = 0.0
}

public enum BatchFill {
    public static let photoExtensions: Set<String> = ["png", "jpg", "jpeg"]
    /// Mask names tried for a photo named <stem>.<ext>, in order.
    static func maskStems(_ stem: String) -> [String] { [stem, stem + "_mask", stem + "-mask", stem + ".mask"] }

    static func split(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]).lowercased())
    }

    /// Regular image files of a directory, sorted by name (hidden files skipped).
    static func images(in dir: String, flag: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw InpaintError("\(flag) \(dir): no such directory")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw InpaintError("\(flag) \(dir): cannot list the directory (\(error.localizedDescription))")
        }
        return names.filter { !$0.hasPrefix(".") && photoExtensions.contains(split($0).ext) }.sorted()
    }

    /// Every photo with its holes and output path, or one error naming everything that is wrong.
    public static func plan(_ r: BatchRequest) throws -> [BatchItem] {
        var photos = try images(in: r.inputDirectory, flag: "--input")
        var maskNames: [String: String] = [:]  // stem -> file name
        if case .directory(let maskDir) = r.masks {
            for name in try images(in: maskDir, flag: "--mask") { maskNames[split(name).stem] = maskNames[split(name).stem] ?? name }
            // Masks kept beside their photos are not photos themselves.
            if OutputPaths.identity(maskDir).map({ $0 == OutputPaths.identity(r.inputDirectory)! }) ?? false {
                let stems = Set(photos.map { split($0).stem })
                photos.removeAll { name in
                    let stem = split(name).stem
                    return ["_mask", "-mask", ".mask"].contains { stem.hasSuffix($0) && stems.contains(String(stem.dropLast($0.count))) }
                }
            }
        }
        guard !photos.isEmpty else {
            throw InpaintError("--input \(r.inputDirectory) holds no photos (files ending in .png, .jpg or .jpeg)")
        }
        try prepareOutputDirectory(r)
        var items: [BatchItem] = [], missing: [String] = [], outputs: [String: String] = [:], clashes: [String] = []
        for name in photos {
            let (stem, ext) = split(name)
            let holes: HoleSource
            switch r.masks {
            case .file(let m): holes = .maskFile(m)
            case .photoAlpha: holes = .photoAlpha
            case .directory(let maskDir):
                guard let mask = maskStems(stem).lazy.compactMap({ maskNames[$0] }).first else { missing.append(name); continue }
                holes = .maskFile((maskDir as NSString).appendingPathComponent(mask))
            }
            let outExt = r.outputFormat.map { $0 == .png ? "png" : "jpg" } ?? ext
            let outName = "\(stem).\(outExt)"
            if let other = outputs[outName] { clashes.append("\(other) and \(name) would both write \(outName)") }
            outputs[outName] = name
            items.append(BatchItem(photo: (r.inputDirectory as NSString).appendingPathComponent(name), holes: holes,
                                   output: (r.outputDirectory as NSString).appendingPathComponent(outName)))
        }
        if case .directory(let maskDir) = r.masks, !missing.isEmpty {
            throw InpaintError("--mask \(maskDir) has no mask for \(missing.count) of \(photos.count) photos: "
                               + missing.prefix(10).joined(separator: ", ") + (missing.count > 10 ? ", ..." : "")
                               + "; a mask is found by the photo's name (photo.jpg -> photo.png, photo_mask.png or photo-mask.png)")
        }
        if !clashes.isEmpty { throw InpaintError(clashes.joined(separator: "; ") + "; choose one output format per name or rename a photo") }
        return items
    }

    /// The output directory is created if missing (its parent must exist) and may not be an
    /// input directory, where outputs would replace photos.
    static func prepareOutputDirectory(_ r: BatchRequest) throws {
        let out = r.outputDirectory
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDir) {
            guard isDir.boolValue else { throw InpaintError("--output \(out) is a file; in folder mode --output names a directory") }
            var inputs = [r.inputDirectory]
            if case .directory(let m) = r.masks { inputs.append(m) }
            if inputs.contains(where: { OutputPaths.identity($0).map { $0 == OutputPaths.identity(out)! } ?? false }) {
                throw InpaintError("--output \(out) is an input directory; outputs would replace the photos or masks there; choose another")
            }
            return
        }
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false) } catch {
            throw InpaintError("--output \(out): cannot create the directory (\((error as NSError).localizedFailureReason ?? "does its parent exist?"))")
        }
    }

    /// Runs every item; `progress(done, total, item, elapsed seconds)` is called before each.
    public static func run(_ r: BatchRequest, items: [BatchItem],
                           progress: (Int, Int, BatchItem, Double) -> Void = { _, _, _, _ in }) throws -> BatchSummary {
        let model = try InpaintModel(path: r.modelPath, needsCompleted: true, picture: r.outputName)
        try model.check(order: r.channelOrder)
        var summary = BatchSummary()
        let start = Date()
        for (i, item) in items.enumerated() {
            progress(i, items.count, item, Date().timeIntervalSince(start))
            var request = InpaintRequest(modelPath: r.modelPath, photoPath: item.photo, holes: item.holes, outputPath: item.output)
            request.channelOrder = r.channelOrder
            request.strategy = r.strategy
            request.computeAll = r.computeAll
            request.options = r.options
            var report = InpaintReport()
            do {
                try OutputPaths.checkWritable(item.output, inputs: request.inputPaths)
                request.options.extraBytes = try Inpainter.checkBeforeDecoding(model, request)
                let (photo, holes) = try Inpainter.loadPhotoAndHoles(photoPath: item.photo, holes: item.holes, notes: &report.notes)
                let outcome = try Inpainter.fill(model, photo: photo, holes: holes, request: request, report: &report)
                try Inpainter.write(outcome.image, to: item.output, quality: r.jpegQuality, notes: &report.notes)
                summary.filled.append((item, report))
            } catch let cancelled as RunCancelled {
                throw cancelled
            } catch {
                summary.failed.append((item, String(describing: error)))
            }
        }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }
}
