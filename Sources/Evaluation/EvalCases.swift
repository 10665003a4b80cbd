// The evaluation's cases: each held-out photo cut to its centre square and shrunk (area
// average) to size², paired with a seeded official mask (or one from a folder). Case i's mask
// comes from the stream (seed, i), so it does not depend on how many cases there are, and a
// hash of all masks is printed so two runs (or a baseline) can show they used the same ones.
import Foundation
import ImageIO
import Inpainting
import Masks
import ModelFormat
import Randomness

public enum MaskChoice: Equatable, Sendable {
    case generated(MaskKind)
    case directory(String)

    public var summary: String {
        switch self {
        case .generated(let k): return k.rawValue
        case .directory(let d): return "from \(d)"
        }
    }
}

public struct EvalCase {
    public var id: String
    public var photo: String
    public var truth: Image
    public var holes: Mask
}

public enum EvalCases {
    /// The largest photo or mask read (32 megapixels: the held-out photos reach 20).
    public static let maxPixels = 1 << 25

    public static func make(photos dir: String, size: Int, masks: MaskChoice, count: Int?, seed: UInt64) throws -> [EvalCase] {
        let names = try listImages(dir, flag: "--photos")
        guard !names.isEmpty else { throw EvalError("--photos \(dir) holds no photos (.png, .jpg or .jpeg files)") }
        var maskFiles: [String] = []
        if case .directory(let m) = masks {
            maskFiles = try listImages(m, flag: "--masks")
            guard !maskFiles.isEmpty else { throw EvalError("--masks \(m) holds no mask pictures (.png, .jpg or .jpeg files)") }
        }
        let n = count ?? names.count
        var truths: [String: Image] = [:]
        var cases: [EvalCase] = []
        for i in 0..<n {
            let name = names[i % names.count]
            let path = (dir as NSString).appendingPathComponent(name)
            if truths[name] == nil { truths[name] = square(try ImageFile.read(path: path, maxPixels: maxPixels), size: size) }
            let holes: Mask
            switch masks {
            case .generated(let kind):
                var rng = SplitMix64(seed, UInt64(i))
                holes = FreeFormMask.generate(kind, height: size, width: size, rng: &rng)
            case .directory(let m):
                let file = (m as NSString).appendingPathComponent(maskFiles[i % maskFiles.count])
                holes = nearest(Holes.fromMaskImage(try ImageFile.read(path: file, maxPixels: maxPixels)), size: size)
                guard Holes.count(holes) > 0 else { throw EvalError("\(file) marks no pixel as a hole at \(size)x\(size)") }
            }
            let stem = (name as NSString).deletingPathExtension
            cases.append(EvalCase(id: String(format: "%03d_", i) + stem, photo: name, truth: truths[name]!, holes: holes))
        }
        return cases
    }

    static func listImages(_ dir: String, flag: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw EvalError("\(flag) \(dir): no such directory")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { !$0.hasPrefix(".") && ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
    }

    /// The centre square, area-averaged to size², as 8-bit RGB (gray replicated, alpha dropped).
    public static func square(_ image: Image, size: Int) -> Image {
        let side = min(image.width, image.height)
        let x0 = (image.width - side) / 2, y0 = (image.height - side) / 2
        var rgb = Image(width: side, height: side, channels: 3, bitDepth: 8)
        let cc = image.channels, shift = image.bitDepth == 16 ? 257 : 1
        for y in 0..<side {
            for x in 0..<side {
                let from = ((y0 + y) * image.width + x0 + x) * cc
                for c in 0..<3 {
                    let v = Int(image.samples[from + (image.colorChannels == 1 ? 0 : c)])
                    rgb.samples[(y * side + x) * 3 + c] = UInt16((v + shift / 2) / shift)
                }
            }
        }
        return side == size ? rgb : Resample.area(rgb, width: size, height: size)
    }

    /// A mask resized to size² by nearest neighbour (pixel centres).
    static func nearest(_ m: Mask, size: Int) -> Mask {
        guard m.width != size || m.height != size else { return m }
        var out = Mask(width: size, height: size)
        for y in 0..<size {
            let sy = min(m.height - 1, (2 * y + 1) * m.height / (2 * size))
            for x in 0..<size { out.pixels[y * size + x] = m.pixels[sy * m.width + min(m.width - 1, (2 * x + 1) * m.width / (2 * size))] }
        }
        return out
    }

    /// xxh64 over every case's mask (one byte per pixel, in case order).
    public static func maskHash(_ masks: [Mask]) -> String {
        XXHash64.hex(XXHash64.hash(masks.flatMap(\.pixels)))
    }
}

public struct EvalError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
