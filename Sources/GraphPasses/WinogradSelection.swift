// Winograd selection: marks the undilated 3×3 stride-1 convolutions the runtime computes as
// Winograd F(4×4,3×3). Why: 36 multiplications per 4×4 tile and input channel instead of 144 —
// 4× less arithmetic for the layers that make up most of DeepFill's MACs — at the price of input
// and output transforms and shorter GEMMs. Measured per layer (Docs/performance.md) it pays for
// every such layer of DeepFill at 256² and 512², down to conv17's 24 → 3 channels; the runtime
// keeps im2col for feature maps under 4 pixels a side, under one tile (Winograd.pays).
// How: a conv2d with a 3×3 kernel, stride 1, dilation 1, zero 'SAME' padding (TF 'SAME' or
// explicit 1 on every side), no folded upsample and no spectral norm gets `algorithm: winograd`.
// The choice is visible in `graphc dump`.
import GraphIR

public struct WinogradSelection: GraphPass {
    public init() {}
    public var id: String { "winograd-selection" }
    public var name: String { "winograd selection" }

    public func run(_ typed: TypedGraph) throws -> (Graph, [String]) {
        var graph = typed.graph
        let chosen = Self.select(&graph) { $0 == 1 }
        return (graph, chosen.isEmpty ? [] : ["\(chosen.count) convolutions will run as Winograd F(4x4,3x3)"])
    }

    /// Marks the eligible convolutions whose (equal) dilation satisfies `rate`; returns their names.
    static func select(_ graph: inout Graph, rate: (Int) -> Bool) -> [String] {
        var chosen: [String] = []
        for i in graph.nodes.indices {
            guard case .conv2d(var c) = graph.nodes[i].op, c.algorithm == .im2col, !c.spectralNorm, c.inputUpsample == 1,
                  c.kernel == [3, 3], c.stride == [1, 1], c.dilation[0] == c.dilation[1], rate(c.dilation[0]),
                  c.padding == .tfSame || c.padding == .explicit(top: c.dilation[0], bottom: c.dilation[0], left: c.dilation[0], right: c.dilation[0])
            else { continue }
            c.algorithm = .winograd
            graph.nodes[i].op = .conv2d(c)
            chosen.append(graph.nodes[i].name)
        }
        return chosen
    }
}
