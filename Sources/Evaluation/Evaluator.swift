// `graphrun eval`: fill seeded cases with a model and score them; `graphrun score`: score fills
// made elsewhere (Tools/baselines.py's classical methods) against the same cases, with the same
// code, so every row of a comparison is measured alike. An eval run leaves inputs/, masks/ and
// fills/ as PNGs named by case id: exactly what `score` and the baselines read.
import Foundation
import ImageIO
import Inpainting
import Masks
import Runtime

public struct EvalRequest {
    public var modelPath: String
    public var photos: String
    public var size = 256
    public var masks = MaskChoice.generated(.brush)
    public var count: Int?
    public var seed: UInt64 = 1
    public var output: String
    public var channelOrder = ChannelOrder.rgb
    public var options = RunOptions()
    public var gridRows = 8

    public init(modelPath: String, photos: String, output: String) {
        self.modelPath = modelPath
        self.photos = photos
        self.output = output
    }
}

public enum Evaluator {
    public static func evaluate(_ r: EvalRequest, progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> EvalResults {
        try OutputPaths.checkDirectory(r.output, flag: "--out")
        let model = try InpaintModel(path: r.modelPath, needsCompleted: true)
        try model.check(order: r.channelOrder)
        try model.checkMemory(height: r.size, width: r.size, options: r.options)
        let cases = try EvalCases.make(photos: r.photos, size: r.size, masks: r.masks, count: r.count, seed: r.seed)
        let dirs = try makeDirectories(r.output, ["inputs", "masks", "fills"])
        var results: [CaseResult] = [], rows: [[Image]] = [], seconds = 0.0
        for (i, c) in cases.enumerated() {
            progress(i, cases.count, c.id)
            let outcome = try model.fill(photo: c.truth, holes: c.holes, strategy: .full, order: r.channelOrder, options: r.options)
            seconds += outcome.seconds
            try ImageFile.write(c.truth, to: dirs[0] + "/\(c.id).png")
            try ImageFile.write(maskPicture(c.holes), to: dirs[1] + "/\(c.id).png")
            try ImageFile.write(outcome.image, to: dirs[2] + "/\(c.id).png")
            results.append(CaseResult(id: c.id, photo: c.photo, score: Metrics.score(truth: planar(c.truth), fill: planar(outcome.image), holes: c.holes)))
            if rows.count < r.gridRows { rows.append([Grid.masked(c.truth, c.holes), outcome.image, c.truth]) }
        }
        let graph = model.file.model.metadata.graphName
        let out = EvalResults(method: "Fillgraph \(graph) (\((r.modelPath as NSString).lastPathComponent))", size: "\(r.size)x\(r.size)",
                              masks: r.masks.summary, seed: r.seed, maskHash: EvalCases.maskHash(cases.map(\.holes)),
                              secondsPerImage: seconds / Double(cases.count), cases: results)
        try out.write(to: r.output, grid: Grid.compose(rows))
        return out
    }

    /// Scores `fills/<id>.png` against `truth/<id>.png` with holes `masks/<id>.png`.
    public static func score(truth: String, masks: String, fills: String, output: String, method: String,
                             secondsPerImage: Double? = nil, gridRows: Int = 8) throws -> EvalResults {
        try OutputPaths.checkDirectory(output, flag: "--out")
        let names = try EvalCases.listImages(fills, flag: "--fills")
        guard !names.isEmpty else { throw EvalError("--fills \(fills) holds no images") }
        var results: [CaseResult] = [], allHoles: [Mask] = [], rows: [[Image]] = [], sizes = Set<String>()
        for name in names {
            let id = (name as NSString).deletingPathExtension
            let truthPath = try match(id, in: truth, flag: "--truth"), maskPath = try match(id, in: masks, flag: "--masks")
            let limit = EvalCases.maxPixels
            let t = try rgb(ImageFile.read(path: truthPath, maxPixels: limit))
            let f = try rgb(ImageFile.read(path: (fills as NSString).appendingPathComponent(name), maxPixels: limit))
            let holes = Holes.fromMaskImage(try ImageFile.read(path: maskPath, maxPixels: limit))
            guard t.width == f.width, t.height == f.height, holes.width == t.width, holes.height == t.height else {
                throw EvalError("\(id): the truth is \(t.width)x\(t.height), the mask \(holes.width)x\(holes.height) and the fill "
                                + "\(f.width)x\(f.height); all three must have one size")
            }
            sizes.insert("\(t.width)x\(t.height)")
            allHoles.append(holes)
            results.append(CaseResult(id: id, photo: name, score: Metrics.score(truth: planar(t), fill: planar(f), holes: holes)))
            if rows.count < gridRows { rows.append([Grid.masked(t, holes), f, t]) }
        }
        let out = EvalResults(method: method, size: sizes.sorted().joined(separator: ", "), masks: "from \(masks)", seed: nil,
                              maskHash: EvalCases.maskHash(allHoles), secondsPerImage: secondsPerImage, cases: results)
        try makeDirectories(output, [])
        try out.write(to: output, grid: Grid.compose(rows))
        return out
    }

    static func match(_ id: String, in dir: String, flag: String) throws -> String {
        for ext in ["png", "jpg", "jpeg"] {
            let p = (dir as NSString).appendingPathComponent("\(id).\(ext)")
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        throw EvalError("\(flag) \(dir) has no \(id).png for the fill of that name")
    }

    @discardableResult
    static func makeDirectories(_ root: String, _ names: [String]) throws -> [String] {
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false, attributes: nil)
        } catch where FileManager.default.fileExists(atPath: root) {} catch {
            throw EvalError("cannot create \(root): \(error.localizedDescription)")
        }
        return try names.map { name in
            let p = (root as NSString).appendingPathComponent(name)
            do { try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true) } catch {
                throw EvalError("cannot create \(p): \(error.localizedDescription)")
            }
            return p
        }
    }

    static func maskPicture(_ m: Mask) -> Image {
        Image(width: m.width, height: m.height, channels: 1, bitDepth: 8, samples: m.pixels.map { $0 != 0 ? 255 : 0 })
    }

    /// 8-bit RGB (gray replicated, alpha dropped, 16-bit rounded).
    static func rgb(_ image: Image) -> Image {
        if image.channels == 3 && image.bitDepth == 8 { return image }
        var out = Image(width: image.width, height: image.height, channels: 3, bitDepth: 8)
        let shift = image.bitDepth == 16 ? 257 : 1
        for p in 0..<image.width * image.height {
            for c in 0..<3 {
                let v = Int(image.samples[p * image.channels + (image.colorChannels == 1 ? 0 : c)])
                out.samples[p * 3 + c] = UInt16((v + shift / 2) / shift)
            }
        }
        return out
    }

    public static func planar(_ image: Image) -> PlanarImage {
        let img = rgb(image), plane = img.width * img.height
        var values = [Double](repeating: 0, count: 3 * plane)
        for p in 0..<plane { for c in 0..<3 { values[c * plane + p] = Double(img.samples[p * 3 + c]) / 255 } }
        return PlanarImage(width: img.width, height: img.height, channels: 3, values: values)
    }
}
