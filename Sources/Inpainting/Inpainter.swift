// graphrun's job: fill the holes of a photo with a compiled model. Any photo size works: the
// photo is mirror-padded to the graph's size step (8 for DeepFill), run, and cropped back; the
// known pixels of the output are the input's own samples, bit for bit.
import Foundation
import GraphIR
import ImageIO
import ModelFormat
import NumpyIO
import Runtime

public struct InpaintRequest {
    public var modelPath: String
    public var photoPath: String
    public var maskPath: String
    public var outputPath: String?
    public var rawDirectory: String?
    public var channelOrder: ChannelOrder = .rgb
    public var options = RunOptions()

    public init(modelPath: String, photoPath: String, maskPath: String, outputPath: String?) {
        self.modelPath = modelPath
        self.photoPath = photoPath
        self.maskPath = maskPath
        self.outputPath = outputPath
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
}

/// Bad photo, mask or request: exit code 2.
public struct InpaintError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum Inpainter {
    /// Largest photo accepted before decoding (64 megapixels); the memory check refuses far
    /// smaller ones on ordinary machines, since attention grows with the square of the area.
    public static let maxPixels = 1 << 26

    public static func run(_ request: InpaintRequest) throws -> InpaintReport {
        var report = InpaintReport()
        if let out = request.outputPath {
            let resolved = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.path }
            if [request.photoPath, request.maskPath, request.modelPath].map(resolved).contains(resolved(out)) {
                throw InpaintError("--output \(out) would overwrite an input file; choose another path")
            }
        }
        let file = try ModelReader.read(path: request.modelPath)
        let graph = file.model.graph
        guard let imageInput = graph.inputs.first(where: { $0.name == "image" }), imageInput.dims.first == .fixed(3),
              let maskInput = graph.inputs.first(where: { $0.name == "mask" }), maskInput.dims.first == .fixed(1) else {
            throw InpaintError("\(request.modelPath): graph '\(graph.name)' does not take image [3, H, W] and mask [1, H, W] inputs "
                               + "(it takes \(graph.inputs.map { "\($0.name) \($0.dims)" }.joined(separator: ", ")))")
        }
        if request.outputPath != nil, !graph.outputs.contains(where: { $0.name == "completed" }) {
            throw InpaintError("\(request.modelPath): graph '\(graph.name)' has no 'completed' output to write as a photo "
                               + "(outputs: \(graph.outputs.map(\.name).joined(separator: ", "))); use --save-raw DIR instead of --output")
        }
        let photo = try PNG.read(path: request.photoPath, maxPixels: maxPixels)
        let maskImage = try PNG.read(path: request.maskPath, maxPixels: maxPixels)
        guard photo.width == maskImage.width, photo.height == maskImage.height else {
            throw InpaintError("\(request.maskPath) is \(maskImage.width)x\(maskImage.height) but \(request.photoPath) is "
                               + "\(photo.width)x\(photo.height) (width x height); the mask must have the photo's size")
        }
        if photo.hasAlpha { report.notes.append("\(request.photoPath) has an alpha channel: it is not used for inpainting and is copied to the output unchanged") }
        if maskImage.hasAlpha { report.notes.append("\(request.maskPath) has an alpha channel: it is ignored; holes are the white (> 50 %) colour pixels") }

        let h = photo.height, w = photo.width
        let symbols = graph.symbolTable
        let stepH = imageInput.dims[1].symbolStep(symbols), stepW = imageInput.dims[2].symbolStep(symbols)
        let ph = (h + stepH - 1) / stepH * stepH, pw = (w + stepW - 1) / stepW * stepW
        if (ph, pw) != (h, w) {
            report.notes.append("\(w)x\(h) is not a multiple of \(stepW)x\(stepH): mirror-padded to \(pw)x\(ph) for the run and cropped back")
        }
        let executor = Executor(model: file.model)
        // Refuse sizes the machine cannot run before building any input tensor.
        try executor.checkMemory(["image": [1, 3, ph, pw], "mask": [1, 1, ph, pw]], options: request.options)
        let (maskValues, holes) = Conversion.maskTensor(maskImage, paddedHeight: ph, paddedWidth: pw)
        guard holes > 0 else {
            throw InpaintError("\(request.maskPath) marks no pixel as a hole: holes are white (colour value > 50 %, e.g. 255), the rest black")
        }
        if holes == h * w { report.notes.append("the mask covers the whole photo: there is no known content to fill from") }
        report.size = (h, w)
        report.paddedSize = (ph, pw)
        report.holePixels = holes

        let start = Date()
        let result = try executor.run([
            "image": HostTensor(shape: [1, 3, ph, pw], floats: Conversion.photoTensor(photo, paddedHeight: ph, paddedWidth: pw, order: request.channelOrder)),
            "mask": HostTensor(shape: [1, 1, ph, pw], floats: maskValues),
        ], options: request.options)
        report.seconds = Date().timeIntervalSince(start)
        report.estimatedPeakBytes = result.estimatedPeakBytes
        report.nodeSeconds = result.nodeSeconds

        if let dir = request.rawDirectory { report.rawFiles = try saveRaw(result.outputs, to: dir, crop: (h, w), padded: (ph, pw)) }
        if let out = request.outputPath, let completed = result.outputs["completed"]?.floats {
            let image = Conversion.composite(photo: photo, mask: maskValues, paddedWidth: pw, result: completed,
                                             paddedHeight: ph, order: request.channelOrder)
            try PNG.write(image, to: out)
        }
        return report
    }

    /// Every output as <name>.npy without the batch axis; image-shaped outputs are cropped back
    /// to the photo (an output at 1/k of the padded size to ceil(size/k)).
    static func saveRaw(_ outputs: [String: HostTensor], to dir: String, crop: (Int, Int), padded: (Int, Int)) throws -> [String] {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw InpaintError("cannot create --save-raw directory \(dir): \(error.localizedDescription)")
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

extension InputDim {
    /// The step a size symbol must be a multiple of (1 for fixed dimensions).
    func symbolStep(_ symbols: SymbolTable) -> Int {
        if case .symbol(let s) = self { return symbols.step(of: s) }
        return 1
    }
}
