// What graphbench measures with and Tools/peers mirrors: the synthetic inputs (so Fillgraph,
// PyTorch and ONNX Runtime see the same image) and the process's peak resident memory.
import Foundation
import GraphIR
import ModelFormat
import Runtime

enum Benchmark {
    /// A smooth photo-like image in [-1, 1] (sum of sines per channel) and a centred hole of
    /// half the height and width. Tools/peers/bench_peers.py builds exactly the same arrays.
    static func inputs(height h: Int, width w: Int) -> [String: HostTensor] {
        var image = [Float](repeating: 0, count: 3 * h * w), mask = [Float](repeating: 0, count: h * w)
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w {
                    let v = 0.6 * sin(Double(x) / Double(11 + 4 * c)) * cos(Double(y) / Double(17 + 3 * c)) + 0.2 * sin(Double(x + y) / 29)
                    image[(c * h + y) * w + x] = Float(v)
                }
            }
        }
        for y in (h / 4)..<(h / 4 + h / 2) { for x in (w / 4)..<(w / 4 + w / 2) { mask[y * w + x] = 1 } }
        return ["image": HostTensor(shape: [1, 3, h, w], floats: image), "mask": HostTensor(shape: [1, 1, h, w], floats: mask)]
    }

    /// Inputs for any graph at h × w: the synthetic photo and mask for inputs called `image` and
    /// `mask` (when their shapes fit), seeded values in [−1, 1) for any other input.
    static func inputs(for graph: Graph, height h: Int, width w: Int) -> [String: HostTensor] {
        let synthetic = inputs(height: h, width: w), bindings = graph.bindings(height: h, width: w)
        var result: [String: HostTensor] = [:]
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for input in graph.inputs {
            let shape = [1] + input.dims.map { $0.dim.evaluate(bindings) ?? 1 }
            if let s = synthetic[input.name], s.shape == shape { result[input.name] = s; continue }
            let values = (0..<shape.reduce(1, *)).map { _ -> Float in
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                return Float(state >> 40) / Float(1 << 23) - 1
            }
            result[input.name] = HostTensor(shape: shape, floats: values)
        }
        return result
    }

    /// VmHWM from /proc/self/status, in bytes (0 where unavailable).
    static func peakRSS() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
}

extension Benchmark {
    /// Multiply-accumulates of one run of `model` at h × w, batch 1.
    static func macs(model: Model, height h: Int, width w: Int) throws -> Int {
        let typed = try Verifier.verify(model.graph, bindings: model.graph.bindings(height: h, width: w))
        return Cost.sum(typed.costs().map(\.macs))
    }
}
