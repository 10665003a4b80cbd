// graphrun's job for one photo: read the photo and its holes, fill them with a strategy, write
// the picture (PNG or JPEG by the output's extension) and, on request, every raw graph output.
// Any photo size works: the photo is mirror-padded to the graph's size step and cropped back,
// and the output's known pixels are the input's own samples, bit for bit.
import Foundation
import GraphIR
import ImageIO
import Masks
import ModelFormat
import NumpyIO
import Runtime

/// Where the holes of a photo come from.
public enum HoleSource: Equatable, Sendable {
    /// A mask picture: white (> 50 %) = hole.
    case maskFile(String)
    /// The photo's own alpha channel: transparent (< 50 %) = hole.
    case photoAlpha
}

public struct InpaintRequest {
    public var modelPath: String
    public var photoPath: String
    public var holes: HoleSource
    public var outputPath: String?
    public var rawDirectory: String?
    public var channelOrder: ChannelOrder = .rgb
    public var strategy: FillStrategy = .full
    public var jpegQuality = JPEG.defaultQuality
    /// The graph output written as the picture.
    public var outputName = "completed"
    /// Compute every pixel of every node (implied by rawDirectory), not just what the holes need.
    public var computeAll = false
    public var options = RunOptions()

    /// Whether runs compute only what the hole pixels need (the same picture, sooner).
    public var holeAware: Bool { !computeAll && rawDirectory == nil }

    public init(modelPath: String, photoPath: String, holes: HoleSource, outputPath: String?) {
        self.modelPath = modelPath
        self.photoPath = photoPath
        self.holes = holes
        self.outputPath = outputPath
    }

    public var inputPaths: [String] {
        if case .maskFile(let m) = holes { return [modelPath, photoPath, m] }
        return [modelPath, photoPath]
    }
}

public struct InpaintReport {
    public var notes: [String] = []
    public var size = (height: 0, width: 0)
    public var paddedSize = (height: 0, width: 0)
    public var holePixels = 0
    public var seconds = 0.0
    public var estimatedPeakBytes = 0
    public var rawFiles: [String] = []
    public var nodeSeconds: [NodeTiming] = []
    /// Where the process's time went, phase by phase (for --profile).
    public var phases: [(name: String, seconds: Double)] = []
    public var runs: [(region: Box, width: Int, height: Int)] = []
}

public enum Inpainter {
    /// Largest photo accepted before decoding (64 megapixels); the memory check refuses far
    /// smaller ones for a full run on ordinary machines, since attention grows with the square
    /// of the area (the crop and resize strategies do not).
    public static let maxPixels = 1 << 26
    /// A hole this large more likely means a mask of the other polarity (black = hole).
    public static let suspiciousCoverage = 0.6

    public static func run(_ request: InpaintRequest) throws -> InpaintReport {
        if let out = request.outputPath { try OutputPaths.checkWritable(out, inputs: request.inputPaths) }
        if let dir = request.rawDirectory { try OutputPaths.checkDirectory(dir, flag: "--save-raw") }
        if request.rawDirectory != nil && request.strategy != .full {
            throw InpaintError("--save-raw writes the outputs of one whole-photo run; use it with --strategy full")
        }
        var report = InpaintReport()
        var lap = DispatchTime.now().uptimeNanoseconds
        func phase(_ name: String) {
            let now = DispatchTime.now().uptimeNanoseconds
            report.phases.append((name, Double(now - lap) / 1e9))
            lap = now
        }
        let model = try InpaintModel(path: request.modelPath, needsCompleted: request.outputPath != nil, picture: request.outputName)
        try model.check(order: request.channelOrder)
        phase("read and verify the model")
        var request = request
        request.options.extraBytes = try checkBeforeDecoding(model, request)
        phase("check headers and plan memory")
        let (photo, holes) = try loadPhotoAndHoles(photoPath: request.photoPath, holes: request.holes, notes: &report.notes)
        phase("decode photo and mask")
        let outcome = try fill(model, photo: photo, holes: holes, request: request, report: &report)
        phase("fill (convert, plan, run, composite)")
        if let dir = request.rawDirectory, let raw = outcome.rawOutputs {
            report.rawFiles = try saveRaw(raw, to: dir, crop: (photo.height, photo.width), padded: outcome.paddedSize)
        }
        if let out = request.outputPath { try write(outcome.image, to: out, quality: request.jpegQuality, notes: &report.notes) }
        phase("encode and write")
        return report
    }

    /// Fills one decoded photo, with the report's numbers; shared with the folder mode.
    static func fill(_ model: InpaintModel, photo: Image, holes: Mask, request: InpaintRequest,
                     report: inout InpaintReport) throws -> FillOutcome {
        let h = photo.height, w = photo.width
        if request.strategy == .full {
            let (ph, pw) = model.paddedSize(h, w)
            if (ph, pw) != (h, w) {
                report.notes.append("\(w)x\(h) is not a multiple of \(model.stepW)x\(model.stepH): mirror-padded to \(pw)x\(ph) for the run and cropped back")
            }
        }
        report.size = (h, w)
        report.holePixels = Holes.count(holes)
        let outcome = try model.fill(photo: photo, holes: holes, strategy: request.strategy, order: request.channelOrder, options: request.options,
                                     holeAware: request.holeAware)
        report.paddedSize = outcome.paddedSize
        report.seconds = outcome.seconds
        report.estimatedPeakBytes = outcome.estimatedPeakBytes
        report.nodeSeconds = outcome.nodeSeconds
        report.runs = outcome.runs
        if request.strategy != .full {
            report.notes.append("\(request.strategy.summary): \(outcome.runs.count) run\(outcome.runs.count == 1 ? "" : "s") ("
                                + outcome.runs.map { "\($0.width)x\($0.height)" }.joined(separator: ", ") + ")")
        }
        return outcome
    }

    /// From the headers alone, before any pixel is decoded: the mask has the photo's size, and a
    /// full run fits the memory limit with everything the process will hold. Returns the bytes
    /// of the decoded pictures (each run adds its own tensors to the estimate).
    static func checkBeforeDecoding(_ model: InpaintModel, _ request: InpaintRequest) throws -> Int {
        let photo = try ImageFile.header(path: request.photoPath)
        guard photo.width * photo.height <= maxPixels else {
            throw InpaintError("\(request.photoPath) is \(photo.width)x\(photo.height): above the limit of \(maxPixels / 1_000_000) megapixels")
        }
        var extra = 2 * photo.decodedBytes + photo.width * photo.height
        if case .maskFile(let maskPath) = request.holes {
            let mask = try ImageFile.header(path: maskPath)
            guard mask.width == photo.width, mask.height == photo.height else {
                throw InpaintError("\(maskPath) is \(mask.width)x\(mask.height) but \(request.photoPath) is "
                                   + "\(photo.width)x\(photo.height) (width x height); the mask must have the photo's size")
            }
            extra += mask.decodedBytes
        }
        if request.strategy == .full {
            var options = request.options
            options.extraBytes = extra
            try model.checkMemory(height: photo.height, width: photo.width, options: options, holeAware: request.holeAware)
        }
        return extra
    }

    /// Decodes the photo and its holes and checks them: same size, not empty; a hole over 60 %
    /// is likely an inverted mask and gets a warning.
    static func loadPhotoAndHoles(photoPath: String, holes source: HoleSource, notes: inout [String]) throws -> (Image, Mask) {
        let photo = try ImageFile.read(path: photoPath, maxPixels: maxPixels)
        let holes: Mask
        switch source {
        case .maskFile(let maskPath):
            let maskImage = try ImageFile.read(path: maskPath, maxPixels: maxPixels)
            guard photo.width == maskImage.width, photo.height == maskImage.height else {
                throw InpaintError("\(maskPath) is \(maskImage.width)x\(maskImage.height) but \(photoPath) is "
                                   + "\(photo.width)x\(photo.height) (width x height); the mask must have the photo's size")
            }
            holes = Holes.fromMaskImage(maskImage)
            if Holes.count(holes) == 0 {
                let strokes = Holes.alphaStrokes(maskImage)
                throw InpaintError("\(maskPath) marks no pixel as a hole: holes are white (colour value > 50 %, e.g. 255), the rest black"
                                   + (strokes > 0 ? "; its alpha channel is opaque on \(strokes) pixels — if the hole is drawn there, "
                                      + "paint it white instead" : ""))
            }
            if maskImage.hasAlpha { notes.append("\(maskPath) has an alpha channel: it is ignored; holes are the white (> 50 %) colour pixels") }
            if photo.hasAlpha { notes.append("\(photoPath) has an alpha channel: known pixels keep theirs, filled pixels become opaque") }
        case .photoAlpha:
            guard let fromAlpha = Holes.fromAlpha(photo) else {
                throw InpaintError("\(photoPath) has no alpha channel, so --mask-from-alpha finds no hole; give --mask MASK instead")
            }
            holes = fromAlpha
            if Holes.count(holes) == 0 {
                throw InpaintError("\(photoPath) is opaque everywhere: --mask-from-alpha takes transparent pixels (alpha < 50 %) as the hole")
            }
        }
        let count = Holes.count(holes)
        if count == photo.width * photo.height { notes.append("the hole covers the whole photo: there is no known content to fill from") }
        else if Double(count) > suspiciousCoverage * Double(photo.width * photo.height) {
            notes.append("warning: the hole covers \(Int((100 * Double(count) / Double(photo.width * photo.height)).rounded())) % of the photo; "
                         + "if the mask is inverted (black = hole), invert it: holes must be white")
        }
        return (photo, holes)
    }

    /// Writes by extension; says what a JPEG cannot hold.
    static func write(_ image: Image, to path: String, quality: Int, notes: inout [String]) throws {
        if ImageFile.format(ofPath: path) == .jpeg {
            if image.hasAlpha { notes.append("\(path): JPEG has no alpha channel; the output is opaque (write .png to keep alpha)") }
            if image.bitDepth == 16 { notes.append("\(path): JPEG holds 8 bits per sample; the 16-bit photo was rounded (write .png to keep 16 bits)") }
        }
        notes += try ImageFile.write(image, to: path, jpegQuality: quality)
    }

    /// Every output as <name>.npy without the batch axis; image-shaped outputs are cropped back
    /// to the photo (an output at 1/k of the padded size to ceil(size/k)).
    static func saveRaw(_ outputs: [String: HostTensor], to dir: String, crop: (Int, Int), padded: (Int, Int)) throws -> [String] {
        // The directory named is created; a missing parent is a typo more often than a wish.
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false) } catch {
                throw InpaintError("cannot create --save-raw directory \(dir) (does its parent exist?)")
            }
        } else if !isDir.boolValue {
            throw InpaintError("--save-raw \(dir) is a file, not a directory")
        }
        var written: [String] = []
        for (name, t) in outputs.sorted(by: { $0.key < $1.key }) {
            var shape = Array(t.shape.dropFirst())
            var keep: (Int, Int)? = nil
            if shape.count == 3, padded.0 % shape[1] == 0, padded.1 % shape[2] == 0 {
                let fh = padded.0 / shape[1], fw = padded.1 / shape[2]
                keep = ((crop.0 + fh - 1) / fh, (crop.1 + fw - 1) / fw)
            }
            func cropped<T>(_ v: [T]) -> [T] {
                guard let (kh, kw) = keep, (kh, kw) != (shape[1], shape[2]) else { return v }
                var out: [T] = []
                out.reserveCapacity(shape[0] * kh * kw)
                for c in 0..<shape[0] { for y in 0..<kh { out += v[(c * shape[1] + y) * shape[2]..<(c * shape[1] + y) * shape[2] + kw] } }
                return out
            }
            let array: NpyArray
            if let f = t.floats { array = NpyArray(shape: [], floats: cropped(f)) } else { array = NpyArray(shape: [], ints: cropped(t.ints!)) }
            if let (kh, kw) = keep { shape[1] = kh; shape[2] = kw }
            var shaped = array
            shaped.shape = shape
            let path = (dir as NSString).appendingPathComponent("\(name).npy")
            try Npy.write(shaped, to: path)
            written.append(path)
        }
        return written
    }
}

extension FillStrategy {
    var summary: String {
        switch self {
        case .full: return "full"
        case .crop(let m): return "crop strategy (margin \(m))"
        case .resize(let l): return "resize strategy (limit \(l))"
        }
    }
}
