// The diagnosis behind a training run's "loss went non-finite" message: after each node, scan
// what it wrote (and what a fused activation wrote) for NaN or infinity, and name the first
// node that produced one — with the inputs that were already non-finite, so a parameter that
// an update blew up is told apart from an op that overflowed. Only runs with `checkFinite`
// pay for the scan.
import GraphIR

extension Executor {
    func checkFinite(_ node: Node, _ step: Schedule.Step, _ schedule: Schedule, _ typed: TypedGraph,
                     _ buffer: (ValueRef) -> UnsafeMutableRawPointer) throws {
        func firstNonFinite(_ r: ValueRef) -> Float? {
            // Unwritten values have no buffer; an elided upsample's buffer is its smaller source.
            guard !schedule.unwritten.contains(r), schedule.aliases[r] == nil, !parameters.contains(r.node) || r.output == 0 else { return nil }
            let t = typed.type(of: r)
            guard t.dtype == .float32, let shape = t.concreteShape else { return nil }
            let p = buffer(r).assumingMemoryBound(to: Float.self)
            for i in 0..<shape.reduce(1, *) where !p[i].isFinite { return p[i] }
            return nil
        }
        let graph = typed.graph
        var written = (0..<node.op.contract.outputNames.count).map { ValueRef(node.name, output: $0) }
        if let a = step.absorbed { written.append(ValueRef(graph.nodes[a].name)) }
        for r in written {
            guard let bad = firstNonFinite(r) else { continue }
            let inputs = node.inputs.filter { firstNonFinite($0) != nil }.map { $0.output == 0 ? $0.node : "\($0.node):\($0.output)" }
            throw NonFiniteValue(node: node.name, op: node.op.name, value: bad, nonFiniteInputs: inputs)
        }
    }
}
