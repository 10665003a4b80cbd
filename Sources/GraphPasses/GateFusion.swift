// Gate fusion. DeepFill's gated convolution is one conv with 2C outputs followed by a gate
// (act of the first C channels times sigmoid of the other C). Run apart, the conv writes 2C
// full-resolution planes that the gate reads back once: at 512² that traffic and the separate
// pass cost as much as a fifth of the run. Fused, the conv's GEMM result for each tile stays in
// the worker's cache and the epilogue writes only the C gated channels.
// How: the IR keeps both nodes; the plan says the conv absorbs the gate that reads it. When the
// conv's own output is read elsewhere too (a training graph's gate backward needs the
// pre-activation), the conv keeps writing it as well: the runtime sees that it has readers.
import GraphIR

public struct GateFusion: GraphPass {
    public init() {}
    public var id: String { "gate-fusion" }
    public var name: String { "gate fusion" }

    public func run(_ typed: TypedGraph) throws -> (Graph, [String]) {
        var graph = typed.graph
        let fused = ProducerFusion.absorb(&graph) { consumer in
            if case .gate(let g) = consumer.op { return .gate(g.activation) }
            return nil
        }
        return (graph, fused.isEmpty ? [] : ["fused \(fused.count) gates into their convolutions"])
    }
}

/// Shared by the fusions that let a convolution do its consumer's elementwise work.
enum ProducerFusion {
    /// For each convolution not yet absorbing anything, the first consumer of its output 0
    /// that reads nothing else and for which `rule` gives an epilogue is absorbed. Returns the
    /// (conv, consumer) pairs.
    static func absorb(_ graph: inout Graph, _ rule: (Node) -> Epilogue?) -> [(String, String)] {
        var consumers: [String: [Node]] = [:]
        for node in graph.nodes { for r in node.inputs { consumers[r.node, default: []].append(node) } }
        var out: [(String, String)] = []
        for node in graph.nodes {
            guard case .conv2d = node.op, graph.execution(of: node.name).absorbs == nil, graph.execution(of: node.name).absorbedInto == nil,
                  let user = consumers[node.name]?.first(where: { $0.inputs == [ValueRef(node.name)] && rule($0) != nil }),
                  graph.execution(of: user.name).absorbedInto == nil, graph.execution(of: user.name).absorbs == nil else { continue }
            var producer = graph.execution(of: node.name), consumer = graph.execution(of: user.name)
            producer.absorbs = user.name
            producer.epilogue = rule(user)
            consumer.absorbedInto = node.name
            graph.execution[node.name] = producer
            graph.execution[user.name] = consumer
            out.append((node.name, user.name))
        }
        return out
    }
}
