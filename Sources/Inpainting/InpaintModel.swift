// A compiled inpainting model, loaded once: the checks that it takes a photo and a mask, and one
// network run on a photo of any size (mirror-padded to the graph's size step, cropped back by
// the caller). The strategies (Strategy.swift) and the folder mode build on `run`.
import Foundation
import GraphIR
import ImageIO
import Masks
import ModelFormat
import Runtime

/// Bad photo, mask or request: exit code 2.
public struct InpaintError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public final class InpaintModel {
    public let path: String
    public let file: ModelFile
    let executor: Executor
    let stepH: Int, stepW: Int

    /// The output pasted into the holes of the picture written (`completed` unless asked otherwise).
    public let pictureOutput: String

    /// `needsCompleted`: the caller will write a photo, so the graph must produce `picture`, an
    /// image-shaped output [N, 3, H, W] at the input's size.
    public init(path: String, needsCompleted: Bool, picture: String = "completed") throws {
        pictureOutput = picture
        self.path = path
        file = try ModelReader.read(path: path)
        let graph = file.model.graph
        guard let imageInput = graph.inputs.first(where: { $0.name == "image" }), imageInput.dims.first == .fixed(3),
              let maskInput = graph.inputs.first(where: { $0.name == "mask" }), maskInput.dims.first == .fixed(1) else {
            throw InpaintError("\(path): graph '\(graph.name)' does not take image [3, H, W] and mask [1, H, W] inputs "
                               + "(it takes \(graph.inputs.map { "\($0.name) \($0.dims)" }.joined(separator: ", ")))")
        }
        if needsCompleted {
            guard let out = file.typed.graph.outputs.first(where: { $0.name == picture }) else {
                throw InpaintError("\(path): graph '\(graph.name)' has no '\(picture)' output to write as a photo "
                                   + "(outputs: \(graph.outputs.map(\.name).joined(separator: ", "))); choose one with --output-name, "
                                   + "or use --save-raw DIR instead of --output")
            }
            let t = file.typed.type(of: out.value), image = file.typed.type(of: ValueRef("image"))
            guard t.dtype == .float32, t.rank == 4, t.shape[1] == .constant(3), t.shape[2] == image.shape[2], t.shape[3] == image.shape[3] else {
                throw InpaintError("\(path): output '\(picture)' is \(t), not a picture of the input's size (float32[N, 3, H, W]); "
                                   + "write it with --save-raw DIR")
            }
        }
        let symbols = graph.symbolTable
        stepH = imageInput.dims[1].symbolStep(symbols)
        stepW = imageInput.dims[2].symbolStep(symbols)
        executor = Executor(model: file.model)
    }

    /// graphc converts BGR-trained weights to take RGB and records it, so asking a recorded
    /// RGB model for BGR would swap the channels a second time: refused. Older files record
    /// nothing and are taken at the user's word.
    public func check(order: ChannelOrder) throws {
        guard order == .bgr, let recorded = file.model.metadata.colourOrder, recorded == "rgb" else { return }
        throw InpaintError("\(path) takes RGB images: graphc converted its weights' colour order when it compiled them "
                           + "(\(file.model.metadata.weights)); --channel-order bgr would swap the colours a second time. "
                           + "Drop the flag. If the weights were trained on BGR images, compile them with graphc compile --channel-order bgr: the model then takes RGB")
    }

    /// The run size for a photo: each side rounded up to the graph's step.
    func paddedSize(_ h: Int, _ w: Int) -> (Int, Int) {
        ((h + stepH - 1) / stepH * stepH, (w + stepW - 1) / stepW * stepW)
    }

    /// Refuses a photo size the machine cannot run, before any tensor is built. `options`'
    /// extra bytes are the caller's pictures; the run's own input and output tensors are added.
    /// `holeAware`: the least any hole-aware run needs (a one-pixel hole; contextual attention's
    /// background is whole whatever the hole), since the holes are not known before decoding.
    public func checkMemory(height: Int, width: Int, options: RunOptions, holeAware: Bool = false) throws {
        let (ph, pw) = paddedSize(height, width)
        let shapes = ["image": [1, 3, ph, pw], "mask": [1, 1, ph, pw]]
        if holeAware {
            let dot = Window(y0: ph / 2, y1: ph / 2 + 1, x0: pw / 2, x1: pw / 2 + 1)
            _ = try executor.checkMemory(shapes, keep: [pictureOutput: dot], hole: dot, options: holeAwareTensors(options, ph, pw, dot))
        } else {
            _ = try executor.checkMemory(shapes, options: withTensors(options, ph, pw))
        }
    }

    /// A hole-aware run's own tensors: the inputs, the output window and its copy.
    func holeAwareTensors(_ options: RunOptions, _ ph: Int, _ pw: Int, _ box: Window) -> RunOptions {
        var o = options
        o.extraBytes += 4 * 4 * ph * pw + 2 * 3 * 4 * box.height * box.width
        return o
    }

    /// The network's inputs (4 floats a pixel) and the outputs kept (stage1, stage2, completed: 9).
    func withTensors(_ options: RunOptions, _ ph: Int, _ pw: Int) -> RunOptions {
        var o = options
        o.extraBytes += 13 * 4 * ph * pw
        return o
    }

    struct NetworkRun {
        var outputs: [String: HostTensor]
        /// Hole-aware runs: the window of the padded photo each output holds.
        var windows: [String: Window] = [:]
        var padded: (height: Int, width: Int)
        var seconds: Double
        var estimatedPeakBytes: Int
        var nodeSeconds: [NodeTiming]
    }

    /// One network run on the whole of `photo` with `holes` (same size). `holeAware`: compute
    /// only what the picture output's hole pixels depend on (Runtime/WindowPlan.swift); the
    /// run returns just that output, over the holes' box, with the whole run's values.
    func run(photo: Image, holes: Mask, order: ChannelOrder, options: RunOptions, holeAware: Bool = false) throws -> NetworkRun {
        let (ph, pw) = paddedSize(photo.height, photo.width)
        let mask = Conversion.maskTensor(holes, paddedHeight: ph, paddedWidth: pw)
        let box = holeAware ? Self.box(of: mask, height: ph, width: pw) : nil
        if box == nil { try checkMemory(height: photo.height, width: photo.width, options: options) }
        let start = Date()
        // Temporaries, so that a hole-aware run frees them once they are in its arena.
        func inputs() -> [String: HostTensor] {
            ["image": HostTensor(shape: [1, 3, ph, pw], floats: Conversion.photoTensor(photo, paddedHeight: ph, paddedWidth: pw, order: order, threads: options.threads)),
             "mask": HostTensor(shape: [1, 1, ph, pw], floats: mask)]
        }
        let result: RunResult
        if let box {
            result = try executor.run(inputs(), options: holeAwareTensors(options, ph, pw, box), keep: [pictureOutput: box], hole: box)
        } else {
            result = try executor.run(inputs(), options: withTensors(options, ph, pw))
        }
        return NetworkRun(outputs: result.outputs, windows: result.outputWindows, padded: (ph, pw), seconds: Date().timeIntervalSince(start),
                          estimatedPeakBytes: result.estimatedPeakBytes, nodeSeconds: result.nodeSeconds)
    }

    /// The bounding box of a mask tensor's nonzero pixels (nil: none).
    static func box(of mask: [Float], height: Int, width: Int) -> Window? {
        var w = Window(y0: height, y1: 0, x0: width, x1: 0)
        for y in 0..<height {
            let row = y * width
            guard let first = (0..<width).first(where: { mask[row + $0] != 0 }) else { continue }
            let last = (0..<width).last { mask[row + $0] != 0 }!
            w = Window(y0: min(w.y0, y), y1: y + 1, x0: min(w.x0, first), x1: max(w.x1, last + 1))
        }
        return w.isEmpty ? nil : w
    }
}

extension InputDim {
    /// The step a size symbol must be a multiple of (1 for fixed dimensions).
    func symbolStep(_ symbols: SymbolTable) -> Int {
        if case .symbol(let s) = self { return symbols.step(of: s) }
        return 1
    }
}
