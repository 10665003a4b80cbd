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

    /// `needsCompleted`: the caller will write a photo, so the graph must produce `completed`.
    public init(path: String, needsCompleted: Bool) throws {
        self.path = path
        file = try ModelReader.read(path: path)
        let graph = file.model.graph
        guard let imageInput = graph.inputs.first(where: { $0.name == "image" }), imageInput.dims.first == .fixed(3),
              let maskInput = graph.inputs.first(where: { $0.name == "mask" }), maskInput.dims.first == .fixed(1) else {
            throw InpaintError("\(path): graph '\(graph.name)' does not take image [3, H, W] and mask [1, H, W] inputs "
                               + "(it takes \(graph.inputs.map { "\($0.name) \($0.dims)" }.joined(separator: ", ")))")
        }
        if needsCompleted, !graph.outputs.contains(where: { $0.name == "completed" }) {
            throw InpaintError("\(path): graph '\(graph.name)' has no 'completed' output to write as a photo "
                               + "(outputs: \(graph.outputs.map(\.name).joined(separator: ", "))); use --save-raw DIR instead of --output")
        }
        let symbols = graph.symbolTable
        stepH = imageInput.dims[1].symbolStep(symbols)
        stepW = imageInput.dims[2].symbolStep(symbols)
        executor = Executor(model: file.model)
    }

    /// The run size for a photo: each side rounded up to the graph's step.
    func paddedSize(_ h: Int, _ w: Int) -> (Int, Int) {
        ((h + stepH - 1) / stepH * stepH, (w + stepW - 1) / stepW * stepW)
    }

    /// Refuses a photo size the machine cannot run, before any tensor is built. `options`'
    /// extra bytes are the caller's pictures; the run's own input and output tensors are added.
    public func checkMemory(height: Int, width: Int, options: RunOptions) throws {
        let (ph, pw) = paddedSize(height, width)
        _ = try executor.checkMemory(["image": [1, 3, ph, pw], "mask": [1, 1, ph, pw]], options: withTensors(options, ph, pw))
    }

    /// The network's inputs (4 floats a pixel) and the outputs kept (stage1, stage2, completed: 9).
    func withTensors(_ options: RunOptions, _ ph: Int, _ pw: Int) -> RunOptions {
        var o = options
        o.extraBytes += 13 * 4 * ph * pw
        return o
    }

    struct NetworkRun {
        var outputs: [String: HostTensor]
        var padded: (height: Int, width: Int)
        var seconds: Double
        var estimatedPeakBytes: Int
        var nodeSeconds: [NodeTiming]
    }

    /// One network run on the whole of `photo` with `holes` (same size).
    func run(photo: Image, holes: Mask, order: ChannelOrder, options: RunOptions) throws -> NetworkRun {
        let (ph, pw) = paddedSize(photo.height, photo.width)
        try checkMemory(height: photo.height, width: photo.width, options: options)
        let start = Date()
        let result = try executor.run([
            "image": HostTensor(shape: [1, 3, ph, pw], floats: Conversion.photoTensor(photo, paddedHeight: ph, paddedWidth: pw, order: order)),
            "mask": HostTensor(shape: [1, 1, ph, pw], floats: Conversion.maskTensor(holes, paddedHeight: ph, paddedWidth: pw)),
        ], options: withTensors(options, ph, pw))
        return NetworkRun(outputs: result.outputs, padded: (ph, pw), seconds: Date().timeIntervalSince(start),
                          estimatedPeakBytes: result.estimatedPeakBytes, nodeSeconds: result.nodeSeconds)
    }
}

extension InputDim {
    /// The step a size symbol must be a multiple of (1 for fixed dimensions).
    func symbolStep(_ symbols: SymbolTable) -> Int {
        if case .symbol(let s) = self { return symbols.step(of: s) }
        return 1
    }
}
