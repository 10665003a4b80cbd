// Activation fusion: a plain convolution followed by an activation (DeepFill's RGB layers end in
// tanh; other networks use ELU or leaky ReLU) writes its output once with the activation
// applied per tile, instead of writing it and reading it back.
// How: the plan lets a convolution that absorbs nothing yet absorb an elementwise activation
// reading its output. Runs after gate fusion, so a gated conv is never also given an activation.
import GraphIR

public struct ActivationFusion: GraphPass {
    public init() {}
    public var id: String { "activation-fusion" }
    public var name: String { "activation fusion" }

    public func run(_ typed: TypedGraph) throws -> (Graph, [String]) {
        var graph = typed.graph
        let fused = ProducerFusion.absorb(&graph) { consumer in
            if case .unary(let u) = consumer.op { return .activation(u.activation) }
            return nil
        }
        let names = fused.map { "\($0.0)+\($0.1)" }.joined(separator: ", ")
        return (graph, fused.isEmpty ? [] : ["fused \(fused.count) activations into their convolutions (\(names))"])
    }
}
