// Parameter and multiply-accumulate counts per node, from the op contracts.

/// Counts that saturate at Int.max instead of trapping: a hand-made graph at an absurd size
/// reports an absurd cost, never a crash.
public enum Cost {
    public static func product(_ factors: [Int]) -> Int {
        factors.reduce(1) { a, b in
            let (p, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? Int.max : p
        }
    }

    public static func sum(_ terms: [Int]) -> Int {
        terms.reduce(0) { a, b in
            let (s, overflow) = a.addingReportingOverflow(b)
            return overflow ? Int.max : s
        }
    }
}

public struct NodeCost: Sendable {
    public var node: String
    public var op: String
    public var parameters: Int
    public var macs: Int
    public var outputShape: [Int]
}

extension TypedGraph {
    /// Parameter counts per node need only channel counts; MACs need concrete sizes, so this
    /// must be called on a graph verified with bindings for every symbol.
    public func costs() -> [NodeCost] {
        order.map { i in
            let node = graph.nodes[i]
            let c = node.op.contract
            let ins = inputTypes(of: node).map { $0.concreteShape ?? [] }
            let outs = outputTypes(of: node).map { $0.concreteShape ?? [] }
            let params = c.parameterSlots.filter { $0.role == .parameter && $0.input < node.inputs.count }
                .reduce(0) { Cost.sum([$0, Cost.product(type(of: node.inputs[$1.input]).concreteShape ?? [])]) }
            let known = !ins.contains { $0.isEmpty } && !outs.contains { $0.isEmpty }
            return NodeCost(node: node.name, op: c.opName, parameters: params,
                            macs: known ? c.macs(inputs: ins, outputs: outs) : 0, outputShape: outs.first ?? [])
        }
    }

    public var parameterCount: Int {
        graph.parameters.filter { $0.role == .parameter }.reduce(0) { Cost.sum([$0, Cost.product($1.shape ?? [])]) }
    }
}
