// What each training step sees, as a pure function of (seed, step, which step, sample): the
// photo (a seeded shuffle of the folder per epoch, so every photo is seen once per epoch), a
// random crop at a random scale (the crop is the largest region of the training aspect ratio,
// scaled by s ∈ crop_scale, at a uniform position), resized to the training size (area
// averaging when shrinking, bilinear when enlarging), flipped left-right with probability ½;
// and one mask for the whole batch. Nothing depends on what ran before, so resuming and the
// thread count cannot change a step's data.
import Foundation
import ImageIO
import Masks
import Randomness

/// Which of an iteration's two steps a draw is for.
public enum StepKind: UInt64, Sendable {
    case discriminator = 1
    case generator = 2
}

/// The photos of a folder (PNG or JPEG), checked up front, decoded on use and kept while they fit in `cacheBytes`.
public final class PhotoSet {
    public let folder: String
    public let paths: [String]
    public static let maxPixels = 1 << 26
    let cacheBytes: Int
    private var cache: [Int: Image] = [:]
    private var cached = 0

    public init(folder: String, cacheBytes: Int = 64 << 20) throws {
        self.folder = folder
        self.cacheBytes = cacheBytes
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw TrainingError("--data \(folder) is not a folder", hint: "give a folder of PNG or JPEG photos (Tools/fetch-photos.sh fetches the project's)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        paths = names.filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) && !$0.hasPrefix(".") }
            .map { (folder as NSString).appendingPathComponent($0) }
        guard !paths.isEmpty else {
            throw TrainingError("--data \(folder) holds no .png, .jpg or .jpeg photos", hint: "Tools/fetch-photos.sh fetches the project's training photos")
        }
        for path in paths {
            let h = try ImageFile.header(path: path)
            guard h.width >= 1, h.height >= 1, h.width * h.height <= Self.maxPixels else {
                throw TrainingError("\(path) is \(h.width)x\(h.height); training photos are limited to \(Self.maxPixels) pixels", hint: "shrink it or remove it from the folder")
            }
        }
    }

    public func image(_ index: Int) throws -> Image {
        if let image = cache[index] { return image }
        let image = try ImageFile.read(path: paths[index], maxPixels: Self.maxPixels)
        let bytes = image.samples.count * 2
        if cached + bytes <= cacheBytes {
            cache[index] = image
            cached += bytes
        }
        return image
    }
}

public final class TrainingData {
    public let photos: PhotoSet
    public let masks: MaskSource
    public let seed: UInt64
    public let cropScale: (min: Double, max: Double)
    public let flip: Bool
    private var epochOrder: (epoch: Int, order: [Int])?

    public init(photos: PhotoSet, masks: MaskSource, seed: UInt64, cropScale: (min: Double, max: Double) = (0.5, 1), flip: Bool = true) {
        self.photos = photos
        self.masks = masks
        self.seed = seed
        self.cropScale = cropScale
        self.flip = flip
    }

    /// Draw number `n` of the run: the photo at that place of its epoch's seeded shuffle.
    public func photoIndex(draw n: Int) -> Int {
        let count = photos.paths.count, epoch = n / count
        if epochOrder?.epoch != epoch {
            var order = Array(0..<count), rng = SplitMix64(seed, 0x5EED_0E0C, UInt64(epoch))
            for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(in: 0..<(i + 1))) }
            epochOrder = (epoch, order)
        }
        return epochOrder!.order[n % count]
    }

    /// The number of draws before `step`'s first (each iteration draws 2 · batch photos).
    public static func cursor(step: Int, batch: Int) -> Int { step * 2 * batch }

    /// The batch and mask of one step: [batch, 3, H, W] in [-1, 1].
    public func batch(step: Int, kind: StepKind, size: Int, height h: Int, width w: Int) throws -> Batch {
        var image: [Float] = []
        image.reserveCapacity(size * 3 * h * w)
        let first = Self.cursor(step: step, batch: size) + (kind == .generator ? size : 0)
        for s in 0..<size {
            var rng = SplitMix64(seed, UInt64(step), kind.rawValue, UInt64(s))
            image += crop(try photos.image(photoIndex(draw: first + s)), height: h, width: w, rng: &rng)
        }
        var rng = SplitMix64(seed, UInt64(step), kind.rawValue, 0x3A5C)
        let mask = try masks.mask(height: h, width: w, rng: &rng)
        return Batch(image: image, mask: mask.pixels.map { Float($0) })
    }

    /// A random crop of `photo` at a random scale, resized to h×w, maybe flipped: [3, h, w] in [-1, 1].
    func crop(_ photo: Image, height h: Int, width w: Int, rng: inout SplitMix64) -> [Float] {
        let pw = Double(photo.width), ph = Double(photo.height), aspect = Double(w) / Double(h)
        let (fullW, fullH) = pw / ph >= aspect ? (ph * aspect, ph) : (pw, pw / aspect)
        let s = rng.uniform(cropScale.min, cropScale.max)
        let cw = max(1, fullW * s), ch = max(1, fullH * s)
        let x0 = rng.uniform() * (pw - cw), y0 = rng.uniform() * (ph - ch)
        let mirrored = flip && rng.uniform() < 0.5
        return Resize.region(photo, x: x0, y: y0, width: cw, height: ch, to: w, h, mirrored: mirrored)
    }

    /// The centre region of the training aspect ratio, resized (for sample pictures).
    public static func centre(_ photo: Image, height h: Int, width w: Int) -> [Float] {
        let pw = Double(photo.width), ph = Double(photo.height), aspect = Double(w) / Double(h)
        let (cw, ch) = pw / ph >= aspect ? (ph * aspect, ph) : (pw, pw / aspect)
        return Resize.region(photo, x: (pw - cw) / 2, y: (ph - ch) / 2, width: cw, height: ch, to: w, h, mirrored: false)
    }
}

/// Where a step's mask comes from: the official generator (spec §6) or a folder of mask pictures.
public enum MaskSource {
    case generated(MaskKind)
    case folder([String])

    /// `rect+brush`, `brush`, `rect`, or a folder of masks (white = hole).
    public static func parse(_ text: String) throws -> MaskSource {
        if let kind = MaskKind(rawValue: text) { return .generated(kind) }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: text, isDirectory: &isDir), isDir.boolValue else {
            throw TrainingError("--masks must be rect+brush, brush, rect or a folder of mask pictures; '\(text)' is none of these")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: text).sorted()
            .filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) && !$0.hasPrefix(".") }
            .map { (text as NSString).appendingPathComponent($0) }
        guard !files.isEmpty else { throw TrainingError("--masks \(text) holds no .png or .jpg masks") }
        for f in files {
            let h = try ImageFile.header(path: f)
            guard h.width * h.height <= PhotoSet.maxPixels else { throw TrainingError("the mask \(f) is \(h.width)x\(h.height), larger than \(PhotoSet.maxPixels) pixels") }
        }
        return .folder(files)
    }

    public func mask(height h: Int, width w: Int, rng: inout SplitMix64) throws -> Mask {
        switch self {
        case .generated(let kind):
            return FreeFormMask.generate(kind, height: h, width: w, rng: &rng)
        case .folder(let files):
            let path = files[rng.int(in: 0..<files.count)]
            let image = try ImageFile.read(path: path, maxPixels: PhotoSet.maxPixels)
            // Nearest sampling of the first channel, white (≥ half) = hole.
            var mask = Mask(width: w, height: h)
            for y in 0..<h {
                let sy = min(image.height - 1, y * image.height / h)
                for x in 0..<w {
                    let sx = min(image.width - 1, x * image.width / w)
                    mask.pixels[y * w + x] = TrainingImages.isHole(image.samples[(sy * image.width + sx) * image.channels], bitDepth: image.bitDepth) ? 1 : 0
                }
            }
            guard mask.pixels.contains(1) else { throw TrainingError("the mask \(path) marks no pixel as a hole (white = hole)") }
            return mask
        }
    }
}
