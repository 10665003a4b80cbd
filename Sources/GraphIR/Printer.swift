// The textual form of a typed graph (graphc dump): one line per value, in execution order,
// with attributes, inferred types and the YAML position it came from.

extension TypedGraph {
    public func printed(showLocations: Bool = true) -> String {
        let byName = Dictionary(graph.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func describe(_ ref: ValueRef) -> String {  // `node` for a first output, `node:name` for the others
            guard ref.output > 0, let node = byName[ref.node] else { return ref.node }
            return "\(ref.node):\(node.op.contract.outputNames[ref.output])"
        }
        var lines: [String] = []
        let steps = graph.symbols.map { $0.multipleOf > 1 ? "\($0.name) % \($0.multipleOf) == 0" : $0.name }
        lines.append("graph \(graph.name)" + (steps.isEmpty ? "" : "  [\(steps.joined(separator: ", "))]"))
        for input in graph.inputs {
            lines.append("  input  \(input.name): \(type(of: ValueRef(input.name)))")
        }
        if !graph.parameters.isEmpty {
            let values = graph.parameters.reduce(0) { Cost.sum([$0, Cost.product($1.shape ?? [])]) }
            let states = graph.parameters.filter { $0.role == .state }.count
            lines.append("  params \(graph.parameters.count) tensors, \(values) values" + (states > 0 ? " (\(states) state)" : ""))
        }
        for i in order {
            let node = graph.nodes[i]
            let c = node.op.contract
            let outs = outputTypes(of: node)
            let lhs = outs.count == 1 ? node.name
                : "(" + c.outputNames.map { "\(node.name):\($0)" }.joined(separator: ", ") + ")"
            let args = node.inputs.map { describe($0) }.joined(separator: ", ")
            let attrs = c.attributeSummary.isEmpty ? "" : " {" + c.attributeSummary.joined(separator: ", ") + "}"
            var line = "  \(lhs) = \(c.opName)(\(args))\(attrs) : " + outs.map(\.description).joined(separator: ", ")
            let plan = graph.execution(of: node.name).summary
            if !plan.isEmpty { line += "  [" + plan.joined(separator: ", ") + "]" }
            if showLocations, let loc = node.location { line += "  # \(loc)" }
            lines.append(line)
        }
        for out in graph.outputs {
            lines.append("  output \(out.name) = \(describe(out.value)) : \(type(of: out.value))")
        }
        return lines.joined(separator: "\n")
    }
}
