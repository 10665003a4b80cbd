// Upsample folding: DeepFill's "deconv" is a nearest ×2 upsample followed by a 3×3 convolution.
// Materialised, the upsampled tensor is four times its input — at 512² a 48-channel 512×512
// plane set, the largest value of the run — only to be read once by the next conv's im2col.
// Folded, the convolution's patch gather reads the half-size input directly, pixel (y, x) of the
// upsampled image being input pixel (y/2, x/2): nearest ×2 is pixel replication under both
// resize rules (TF1 align-corners: checked exhaustively for every side up to 32768).
// The runtime then computes a folded 3×3 stride-1 conv as four 2×2 convolutions of the half-size
// input, one per output phase, with kernel taps summed (Kernels/SubpixelConvolution.swift): 2.25×
// fewer multiply-adds. Other folded convs read it through im2col.
// How: a ×2 resize_nearest that is not a graph output and whose every reader is a zero-padded
// conv2d reading it as input 0 is elided in the plan; each reader gets `input_upsample: 2` and
// the algorithm the convolution rule gives it (Conv2D.bestAlgorithm).
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
        var folded: [String] = []
        for node in graph.nodes {
            guard case .resizeNearest(let r) = node.op, r.isPixelReplication, node.inputs.count == 1,
                  !outputs.contains(node.name), let users = consumers[node.name], !users.isEmpty else { continue }
            let readers = users.map { graph.nodes[$0] }
            guard readers.allSatisfy({ reader in
                // In training graphs also: the weight gradient's im2col reads the input through the
                // fold too, and gradient ops that take the value as `like` read only its shape.
                let (read, shapeOnly): (Int, Int?)
                switch reader.op {
                case .conv2d(let c) where c.padding != .reflect: (read, shapeOnly) = (0, nil)
                case .conv2dGradWeight(let w) where w.conv.padding != .reflect: (read, shapeOnly) = (0, nil)
                case .conv2dGradInput: (read, shapeOnly) = (-1, 2)
                case .layoutGrad(let l): if case .resize = l.kind { (read, shapeOnly) = (-1, 1) } else { return false }
                default: return false
                }
                guard graph.execution(of: reader.name).inputUpsample == 1 else { return false }
                return reader.inputs.enumerated().allSatisfy { k, ref in (ref.node == node.name) == (k == read || k == shapeOnly) }
            }) else { continue }
            var resize = graph.execution(of: node.name)
            resize.elided = true
            graph.execution[node.name] = resize
            for reader in readers {
                var e = graph.execution(of: reader.name)
                switch reader.op {
                case .conv2d(let c): e.algorithm = c.bestAlgorithm(inputUpsample: 2)
                case .conv2dGradWeight: break
                default: continue
                }
                e.inputUpsample = 2
                graph.execution[reader.name] = e
                folded.append(reader.name)
            }
        }
        return (graph, folded.isEmpty ? [] : ["folded \(folded.count) ×2 upsamples into \(folded.joined(separator: ", "))"])
    }
}
