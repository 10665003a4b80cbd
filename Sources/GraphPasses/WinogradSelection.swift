// Winograd selection: marks the undilated 3×3 stride-1 convolutions the runtime computes as
// Winograd F(4×4,3×3). Why: 36 multiplications per 4×4 tile and input channel instead of 144 —
// 4× less arithmetic for the layers that make up most of DeepFill's MACs — at the price of input
// and output transforms and shorter GEMMs. Measured per layer (Docs/performance.md) it pays for
// every such layer of DeepFill at 256² and 512², down to conv17's 24 → 3 channels; the runtime
// keeps im2col for feature maps under 4 pixels a side, under one tile (Conv2D.algorithm).
// How: the plan records what the convolution rule (Conv2D.bestAlgorithm) gives for a conv that
// reads no folded upsample: Winograd for zero-padded 3×3 stride-1 convolutions. Visible in
// `graphc dump`.
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

    /// Plans Winograd for the convolutions the rule allows whose (equal) dilation satisfies `rate`.
    static func select(_ graph: inout Graph, rate: (Int) -> Bool) -> [String] {
        var chosen: [String] = []
        for node in graph.nodes {
            // A convolution, or its data gradient (the same convolution with rotated, transposed
            // weights) or weight gradient (in the Winograd domain): the same rule decides.
            let conv: Conv2D
            switch node.op {
            case .conv2d(let c): conv = c
            case .conv2dGradInput(let gi): conv = gi.conv
            case .conv2dGradWeight(let gw): conv = gw.conv
            default: continue
            }
            let c = conv
            guard rate(c.dilation[0]) else { continue }
            var e = graph.execution(of: node.name)
            guard e.inputUpsample == 1, e.algorithm == .im2col, c.bestAlgorithm(inputUpsample: 1) == .winograd else { continue }
            e.algorithm = .winograd
            graph.execution[node.name] = e
            chosen.append(node.name)
        }
        return chosen
    }
}
