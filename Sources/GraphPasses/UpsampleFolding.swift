// Upsample folding: DeepFill's "deconv" is a nearest ×2 upsample followed by a 3×3 convolution.
// Materialised, the upsampled tensor is four times its input — at 512² a 48-channel 512×512
// plane set, the largest value of the run — only to be read once by the next conv's im2col.
// Folded, the convolution's patch gather reads the half-size input directly, pixel (y, x) of the
// upsampled image being input pixel (y/2, x/2): nearest ×2 is pixel replication under both
// resize rules (TF1 align-corners: checked exhaustively for every side up to 32768).
// The runtime then computes a folded 3×3 stride-1 conv as four 2×2 convolutions of the half-size
// input, one per output phase, with kernel taps summed (Kernels/SubpixelConvolution.swift): 2.25×
// fewer multiply-adds. Other folded convs (reflect padding, other kernels) read it through im2col.
// How: a resize_nearest with scale 2 whose only consumer is a zero-padded conv2d (and which is not
// a graph output) is removed; the conv reads its input with `input_upsample: 2`.
import GraphIR

public struct UpsampleFolding: GraphPass {
    public init() {}
    public var id: String { "upsample-folding" }
    public var name: String { "upsample folding" }

    public func run(_ typed: TypedGraph) throws -> (Graph, [String]) {
        var graph = typed.graph
        var consumers: [String: [Int]] = [:]
        for (i, node) in graph.nodes.enumerated() { for r in node.inputs { consumers[r.node, default: []].append(i) } }
        let outputs = Set(graph.outputs.map(\.value.node))
        var removed = Set<String>()
        var folded: [String] = []
        for node in graph.nodes {
            guard case .resizeNearest(let r) = node.op, r.scaleNum == 2, r.scaleDen ?? 1 == 1, node.inputs.count == 1,
                  !outputs.contains(node.name), let users = consumers[node.name], users.count == 1 else { continue }
            let u = users[0]
            guard case .conv2d(var conv) = graph.nodes[u].op, conv.inputUpsample == 1, conv.padding != .reflect,
                  graph.nodes[u].inputs == [ValueRef(node.name)] else { continue }
            conv.inputUpsample = 2
            graph.nodes[u].op = .conv2d(conv)
            graph.nodes[u].inputs = node.inputs
            removed.insert(node.name)
            folded.append(graph.nodes[u].name)
        }
        graph.nodes.removeAll { removed.contains($0.name) }
        return (graph, folded.isEmpty ? [] : ["folded \(folded.count) ×2 upsamples into \(folded.joined(separator: ", "))"])
    }
}
