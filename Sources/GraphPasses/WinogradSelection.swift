// Winograd selection: marks the convolutions the runtime should compute as Winograd F(4×4,3×3).
// Why: 36 multiplications per 4×4 tile and input channel instead of 144 — 4× less arithmetic
// for 3×3 stride-1 layers, which are about two thirds of DeepFill's MACs — at the price of
// transforms and shorter GEMMs. With today's transforms the price is higher than the saving
// (Docs/performance.md), so this pass is optional: `graphc compile --enable winograd-selection`.
// How: a conv2d with a 3×3 kernel, stride 1, dilation 1, zero 'SAME' padding (TF 'SAME' or
// explicit 1 on every side), at least `minimumChannels` input channels and no spectral norm gets
// `algorithm: winograd`. The choice is visible in `graphc dump`.
import GraphIR

public struct WinogradSelection: GraphPass {
    public init() {}
    public var id: String { "winograd-selection" }
    public var name: String { "winograd selection" }
    static let minimumChannels = 96

    public func run(_ typed: TypedGraph) throws -> (Graph, [String]) {
        var graph = typed.graph
        var chosen: [String] = []
        for i in graph.nodes.indices {
            guard case .conv2d(var c) = graph.nodes[i].op, c.algorithm == .im2col, !c.spectralNorm, c.inputUpsample == 1,
                  c.kernel == [3, 3], c.stride == [1, 1], c.dilation == [1, 1],
                  c.padding == .tfSame || c.padding == .explicit(top: 1, bottom: 1, left: 1, right: 1),
                  let cin = typed.inputTypes(of: graph.nodes[i]).first?.shape[1].constantValue, cin >= Self.minimumChannels else { continue }
            c.algorithm = .winograd
            graph.nodes[i].op = .conv2d(c)
            chosen.append(graph.nodes[i].name)
        }
        return (graph, chosen.isEmpty ? [] : ["\(chosen.count) convolutions will run as Winograd F(4x4,3x3)"])
    }
}
