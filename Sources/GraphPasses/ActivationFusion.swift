// Activation fusion: a plain convolution followed by an activation (DeepFill's RGB layers end in
// tanh; other networks use ELU or leaky ReLU) writes its output once with the activation
// applied per tile, instead of writing it and reading it back.
// How: a conv2d with nothing fused yet whose only consumer is an elementwise activation takes
// it as `fused: <act>`; the activation node disappears and references to it name the conv.
// Runs after gate fusion, so a gated conv is never also given an activation.
import GraphIR

public struct ActivationFusion: GraphPass {
    public init() {}
    public var id: String { "activation-fusion" }
    public var name: String { "activation fusion" }

    public func run(_ typed: TypedGraph) throws -> (Graph, [String]) {
        let fusions = ProducerFusion.candidates(typed) { conv, consumer in
            guard case .unary(let u) = consumer.op, case .none = conv.fused else { return nil }
            return .activation(u.activation)
        }
        let graph = ProducerFusion.apply(fusions, to: typed.graph)
        let names = fusions.map { "\($0.conv)+\($0.consumer)" }.joined(separator: ", ")
        return (graph, fusions.isEmpty ? [] : ["fused \(fusions.count) activations into their convolutions (\(names))"])
    }
}
