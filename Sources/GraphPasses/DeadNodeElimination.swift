// Dead-node elimination: drops nodes whose values reach no graph output (and the parameters only they read). Variants that cut a
// branch (e.g. DeepFill without attention) can then leave helper nodes such as the resized
// mask behind without paying for them; each removal is reported so nothing vanishes silently.
import GraphIR

public struct DeadNodeElimination: GraphPass {
    public init() {}
    public var id: String { "dead-node-elimination" }
    public var name: String { "dead-node elimination" }

    public func run(_ typed: TypedGraph) throws -> (Graph, [String]) {
        var graph = typed.graph
        var needed = Set(graph.outputs.map(\.value.node))
        for i in typed.order.reversed() where needed.contains(graph.nodes[i].name) {
            for r in graph.nodes[i].inputs { needed.insert(r.node) }
        }
        let dead = graph.nodes.filter { !needed.contains($0.name) }
        graph.nodes.removeAll { !needed.contains($0.name) }
        for n in dead { graph.execution[n.name] = nil }
        let read = Set(graph.nodes.flatMap { $0.inputs.map(\.node) })
        graph.parameters.removeAll { !read.contains($0.name) }
        let notes = dead.map { n in "removed '\(n.name)' (\(n.op.name)): it feeds no output" + (n.location.map { " [\($0)]" } ?? "") }
        return (graph, notes)
    }
}
