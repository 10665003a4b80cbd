// What the runtime actually runs, from the graph and its execution plan: one step per kernel
// call. A node absorbed by its producer (a fused gate or activation) runs inside the producer's
// step; an elided ×2 upsample runs nowhere, its readers reading its input instead; and a value
// that only the absorbed consumer reads is never written.
import GraphIR

struct Schedule {
    struct Step {
        var node: Int
        var absorbed: Int?
    }

    var steps: [Step] = []
    /// Values no step computes, read as another value (an elided upsample's input).
    var aliases: [ValueRef: ValueRef] = [:]
    /// Values never materialised.
    var unwritten: Set<ValueRef> = []
    /// Outputs that update state parameters (spectral norm's u), by parameter name.
    var stateOutputs: [(value: ValueRef, parameter: String)] = []

    init(_ typed: TypedGraph) {
        let g = typed.graph
        let index = Dictionary(g.nodes.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        for i in typed.order {
            let node = g.nodes[i], e = g.execution(of: node.name)
            if e.elided { aliases[ValueRef(node.name)] = node.inputs[0]; continue }
            if e.absorbedInto != nil { continue }
            steps.append(Step(node: i, absorbed: e.absorbs.flatMap { index[$0] }))
            for (output, slot) in node.op.contract.stateOutputs {
                stateOutputs.append((ValueRef(node.name, output: output), node.inputs[slot].node))
            }
        }
        var readers: [ValueRef: Int] = [:]
        for node in g.nodes where !g.execution(of: node.name).elided { for r in node.inputs { readers[resolve(r), default: 0] += 1 } }
        for r in g.outputs.map(\.value) { readers[resolve(r), default: 0] += 1 }
        for s in steps {
            guard let a = s.absorbed else { continue }
            let own = ValueRef(g.nodes[s.node].name)
            if readers[own, default: 0] <= 1 && !stateOutputs.contains(where: { $0.value == own }) { unwritten.insert(own) }
            _ = a
        }
    }

    func resolve(_ r: ValueRef) -> ValueRef {
        var r = r
        while let a = aliases[r] { r = a }
        return r
    }
}
