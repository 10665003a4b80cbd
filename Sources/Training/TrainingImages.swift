// Photos and a mask as the training step's tensors: RGB in [-1, 1] (p/127.5 − 1, as the
// official trainer), the mask 1 where it is white (≥ half intensity).
import ImageIO

public struct TrainingBatch {
    public var image: [Float]
    public var mask: [Float]
    public var height: Int
    public var width: Int
}

public enum TrainingImages {
    public static let maxPixels = 4096 * 4096

    public static func load(images: [String], mask maskPath: String) throws -> TrainingBatch {
        var data: [Float] = []
        var size: (w: Int, h: Int)?
        for path in images {
            let img = try ImageFile.read(path: path, maxPixels: maxPixels)
            if let s = size, s != (img.width, img.height) {
                throw TrainingError("\(path) is \(img.width)x\(img.height), but \(images[0]) is \(s.w)x\(s.h)",
                                    hint: "every photo of a batch must have the same size")
            }
            size = (img.width, img.height)
            data += tensor(img)
        }
        let (w, h) = size!
        let m = try ImageFile.read(path: maskPath, maxPixels: maxPixels)
        guard m.width == w, m.height == h else {
            throw TrainingError("the mask \(maskPath) is \(m.width)x\(m.height), but the photos are \(w)x\(h)", hint: "draw the mask at the photos' size")
        }
        let mask = (0..<w * h).map { Float(isHole(m.samples[$0 * m.channels], bitDepth: m.bitDepth) ? 1 : 0) }
        guard mask.contains(1) else { throw TrainingError("the mask \(maskPath) marks no pixel as a hole (white = hole)") }
        return TrainingBatch(image: data, mask: mask, height: h, width: w)
    }

    /// A mask sample marks a hole when it is at least half white.
    static func isHole(_ sample: UInt16, bitDepth: Int) -> Bool { Int(sample) * 2 >= (bitDepth == 16 ? 65535 : 255) }

    /// [3, H, W] in [-1, 1]; grey photos replicated to three channels.
    static func tensor(_ img: Image) -> [Float] {
        let plane = img.width * img.height, half: Float = img.bitDepth == 16 ? 32767.5 : 127.5
        var out = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 {
                let s = img.colorChannels == 1 ? 0 : c
                out[c * plane + i] = Float(img.samples[i * img.channels + s]) / half - 1
            }
        }
        return out
    }
}
