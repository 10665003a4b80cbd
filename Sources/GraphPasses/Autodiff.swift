// Reverse-mode differentiation as a graph rewrite (after tinygrad's gradient.py: one rule per
// op, the op's vjp, and a reverse walk). From seeds — a scalar loss (cotangent 1) or a value
// with a cotangent supplied as a graph input — the walk visits the forward nodes in reverse
// execution order, sums each value's cotangent contributions in the order they were made (so
// the sum is the same on every run), and asks the node's op to emit the nodes of its vjp. The
// result is the forward graph plus those nodes and one output `<name>@grad` per differentiated
// parameter or input. Forward values the backward nodes read simply live longer: the memory
// planner sees their last reader. Only values that depend on a differentiated tensor and lead
// to a seed get cotangents, so constant branches (the mask, the blanked image) cost nothing.
import GraphIR
import Kernels

public enum Autodiff {
    public struct Seed {
        public var value: ValueRef
        /// The graph input holding the cotangent; nil for a scalar [1] loss (cotangent 1).
        public var cotangentInput: String?
        public init(_ value: ValueRef, cotangentInput: String? = nil) {
            self.value = value
            self.cotangentInput = cotangentInput
        }
    }

    /// The output name of a tensor's gradient.
    public static func gradientName(_ name: String) -> String { name + "@grad" }

    /// Differentiates `typed` from `seeds` with respect to the named parameters and inputs.
    public static func differentiate(_ typed: TypedGraph, seeds: [Seed], parameters: [String], inputs: [String] = [],
                                     spectralNormMode: SpectralNormGradientMode = .full) throws -> Graph {
        let graph = typed.graph
        let sources = (parameters + inputs).map { ValueRef($0) }
        for s in parameters where !graph.parameters.contains(where: { $0.name == s }) {
            throw Diagnostic("cannot differentiate with respect to '\(s)': the graph has no such parameter")
        }
        for s in inputs where !graph.inputs.contains(where: { $0.name == s }) {
            throw Diagnostic("cannot differentiate with respect to '\(s)': the graph has no such input")
        }
        // Values that depend on a source, and values a seed depends on: gradients flow through both.
        var depends = Set(sources)
        for i in typed.order {
            let node = graph.nodes[i]
            guard node.inputs.contains(where: depends.contains) else { continue }
            for k in 0..<node.op.contract.outputNames.count where typed.type(of: ValueRef(node.name, output: k)).dtype == .float32 {
                depends.insert(ValueRef(node.name, output: k))
            }
        }
        var leads = Set(seeds.map(\.value))
        for i in typed.order.reversed() {
            let node = graph.nodes[i]
            if (0..<node.op.contract.outputNames.count).contains(where: { leads.contains(ValueRef(node.name, output: $0)) }) {
                leads.formUnion(node.inputs)
            }
        }
        let needed = depends.intersection(leads)

        var g = GradientBuilder(types: typed.types, symbols: typed.symbols, needed: needed, spectralNormMode: spectralNormMode)
        var contributions: [ValueRef: [ValueRef]] = [:]
        for seed in seeds {
            let t = typed.type(of: seed.value)
            if let name = seed.cotangentInput {
                guard let input = graph.inputs.first(where: { $0.name == name }) else {
                    throw Diagnostic("the cotangent input '\(name)' of '\(seed.value)' is not an input of the graph")
                }
                guard input.type.equals(t, typed.symbols) else {
                    throw Diagnostic("the cotangent input '\(name)' has type \(input.type), but '\(seed.value)' has \(t)")
                }
                contributions[seed.value, default: []].append(ValueRef(name))
            } else {
                guard t.concreteShape == [1] else {
                    throw Diagnostic("a loss seed must be a scalar [1]; '\(seed.value)' has type \(t)",
                                     hint: "reduce it with mean or l1_mean first, or give its cotangent as an input")
                }
                g.begin(Node(name: seed.value.node, op: .scale(Scale(1)), inputs: [], location: nil))
                contributions[seed.value, default: []].append(try g.emit1(.fill(Fill(value: 1, channels: 1)), [seed.value], tag: "seed"))
            }
        }

        /// The one cotangent of a value: its contributions added in the order they were made.
        func total(_ r: ValueRef, owner: Node) throws -> ValueRef? {
            guard let parts = contributions[r], var sum = parts.first else { return nil }
            g.begin(owner)
            for part in parts.dropFirst() { sum = try g.emit1(.binary(Binary(.add)), [sum, part], tag: "sum") }
            contributions[r] = [sum]
            return sum
        }

        for i in typed.order.reversed() {
            let node = graph.nodes[i]
            guard node.inputs.contains(where: needed.contains) else { continue }
            let outputs = (0..<node.op.contract.outputNames.count).map { ValueRef(node.name, output: $0) }
            let cotangents = try outputs.map { try total($0, owner: node) }
            guard cotangents.contains(where: { $0 != nil }) else { continue }
            g.begin(node)
            let grads: [ValueRef?]
            do { grads = try node.op.contract.vjp(&g, node, cotangents) } catch let e as OpError {
                throw Diagnostic("cannot differentiate node '\(node.name)' (\(node.op.name)): \(e.message)", at: node.location, hint: e.hint)
            }
            for (input, grad) in zip(node.inputs, grads) where needed.contains(input) {
                if let grad { contributions[input, default: []].append(grad) }
            }
        }

        var out = graph
        for source in sources {
            let owner = Node(name: source.node, op: .scale(Scale(1)), inputs: [], location: nil)
            let grad: ValueRef
            if let sum = try total(source, owner: owner) {
                grad = sum
            } else {
                // No path to any seed: the gradient is zero.
                g.begin(owner)
                grad = try g.emit1(.scale(Scale(0)), [source], tag: "zero")
            }
            out.outputs.append(GraphOutput(name: gradientName(source.node), value: grad, location: nil))
        }
        out.nodes += g.nodes
        return out
    }
}
