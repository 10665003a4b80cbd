// Gate fusion. DeepFill's gated convolution is one conv with 2C outputs followed by a gate
// (act of the first C channels times sigmoid of the other C). Run apart, the conv writes 2C
// full-resolution planes that the gate reads back once: at 512² that traffic and the separate
// pass cost as much as a fifth of the run. Fused, the conv's GEMM result for each tile stays in
// the worker's cache and the epilogue writes only the C gated channels.
// How: a conv2d whose only consumer is a gate (and which is not itself a graph output) takes the
// gate's activation as `fused: gate(act)`; the gate node disappears and every reference to it
// (nodes and graph outputs) now names the conv. Weights keep the conv's name.
import GraphIR

public struct GateFusion: GraphPass {
    public init() {}
    public var id: String { "gate-fusion" }
    public var name: String { "gate fusion" }

    public func run(_ typed: TypedGraph) throws -> (Graph, [String]) {
        let fusions = ProducerFusion.candidates(typed) { conv, consumer in
            guard case .gate(let g) = consumer.op, case .none = conv.fused else { return nil }
            return .gate(g.activation)
        }
        let graph = ProducerFusion.apply(fusions, to: typed.graph)
        return (graph, fusions.isEmpty ? [] : ["fused \(fusions.count) gates into their convolutions"])
    }
}

/// Shared by the fusions that fold a node's sole consumer into a convolution's epilogue.
enum ProducerFusion {
    struct Fusion {
        var conv: String
        var consumer: String
        var fused: ConvFusion
    }

    /// Convolutions with exactly one consumer, reading their output 0, for which `rule` says
    /// what to fold in; the convolution must not be a graph output.
    static func candidates(_ typed: TypedGraph, _ rule: (Conv2D, Node) -> ConvFusion?) -> [Fusion] {
        let graph = typed.graph
        var consumers: [String: [Node]] = [:]
        for node in graph.nodes { for r in node.inputs { consumers[r.node, default: []].append(node) } }
        let outputs = Set(graph.outputs.map(\.value.node))
        var out: [Fusion] = []
        for node in graph.nodes {
            guard case .conv2d(let conv) = node.op, !outputs.contains(node.name),
                  let users = consumers[node.name], users.count == 1, let user = users.first,
                  user.inputs == [ValueRef(node.name)], let fused = rule(conv, user) else { continue }
            out.append(Fusion(conv: node.name, consumer: user.name, fused: fused))
        }
        return out
    }

    static func apply(_ fusions: [Fusion], to input: Graph) -> Graph {
        var graph = input
        var rename: [String: String] = [:]
        var fusedBy: [String: ConvFusion] = [:]
        for f in fusions {
            rename[f.consumer] = f.conv
            fusedBy[f.conv] = f.fused
        }
        graph.nodes.removeAll { rename[$0.name] != nil }
        for i in graph.nodes.indices {
            if let fused = fusedBy[graph.nodes[i].name], case .conv2d(var conv) = graph.nodes[i].op {
                conv.fused = fused
                graph.nodes[i].op = .conv2d(conv)
            }
            graph.nodes[i].inputs = graph.nodes[i].inputs.map { r in rename[r.node].map { ValueRef($0, output: r.output) } ?? r }
        }
        for i in graph.outputs.indices {
            let r = graph.outputs[i].value
            if let to = rename[r.node] { graph.outputs[i].value = ValueRef(to, output: r.output) }
        }
        return graph
    }
}
