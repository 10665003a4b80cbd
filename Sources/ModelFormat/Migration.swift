// Reading models written before format 2.0 (graphc ≤ 0.2): their graphs kept weights inside the
// convolutions and recorded execution choices as conv attributes (`fused`, `algorithm`,
// `inputUpsample`), with the fused gate or activation and the folded upsample removed from the
// graph. This rebuilds the logical graph those files describe: parameters as values, the
// removed nodes back (a fused conv becomes `<name>/conv` feeding its gate, named `<name>` as
// before, so every reference still holds), and the choices as the execution plan.
import Foundation
import GraphIR

enum Migration {
    struct LegacyNode: Decodable {
        let name: String
        let op: [String: [String: LegacyConv]]
    }

    struct LegacyConv: Decodable {
        var fused: LegacyFusion?
        var algorithm: String?
        var inputUpsample: Int?
        var bias: Bool?
        var spectralNorm: Bool?
    }

    enum LegacyFusion: Decodable {
        case none
        case activation(Activation)
        case gate(Activation)

        enum CodingKeys: String, CodingKey { case none, activation, gate }
        struct Payload: Decodable { let _0: Activation }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let a = try c.decodeIfPresent(Payload.self, forKey: .gate) { self = .gate(a._0) }
            else if let a = try c.decodeIfPresent(Payload.self, forKey: .activation) { self = .activation(a._0) }
            else { self = .none }
        }
    }

    struct LegacyGraph: Decodable { let nodes: [LegacyNode] }

    /// The graph of a 1.x file as a logical graph with parameters and a plan; `shapes` are the
    /// stored tensors' shapes by name.
    static func upgrade(_ graph: Graph, json: Data, shapes: [String: [Int]]) throws -> Graph {
        guard graph.parameters.isEmpty, graph.nodes.contains(where: { if case .conv2d = $0.op { return true }; return false }) else { return graph }
        let legacy = try JSONDecoder().decode(LegacyGraph.self, from: json)
        let attributes = Dictionary(legacy.nodes.compactMap { n in n.op["conv2d"]?["_0"].map { (n.name, $0) } }, uniquingKeysWith: { a, _ in a })
        var out = graph
        out.nodes = []
        for var node in graph.nodes {
            // A conv whose attributes do not validate (kernel, stride or dilation not a pair...)
            // is left as it is for the verifier to refuse: choosing its algorithm would index
            // them (found by libFuzzer: dilation [131] trapped in bestAlgorithm).
            guard case .conv2d(let conv) = node.op, node.inputs.count == 1, conv.validate().isEmpty else { out.nodes.append(node); continue }
            let old = attributes[node.name] ?? LegacyConv()
            let name = node.name
            var plan = NodeExecution()
            if old.inputUpsample == 2 {
                let up = Node(name: "\(name)/upsample", op: .resizeNearest(ResizeNearest(scale: Rational(2))), inputs: node.inputs, location: node.location)
                var elided = NodeExecution()
                elided.elided = true
                out.execution[up.name] = elided
                out.nodes.append(up)
                node.inputs = [ValueRef(up.name)]
                plan.inputUpsample = 2
            }
            plan.algorithm = old.algorithm.flatMap(ConvAlgorithm.init(rawValue:)) ?? conv.bestAlgorithm(inputUpsample: plan.inputUpsample)
            if plan.inputUpsample == 2 { plan.algorithm = conv.bestAlgorithm(inputUpsample: 2) }
            for slot in conv.parameterSlots {
                let p = "\(name).\(slot.suffix)"
                out.parameters.append(ParameterDecl(name: p, role: slot.role, shape: shapes[p], location: node.location))
                node.inputs.append(ValueRef(p))
            }
            switch old.fused ?? .none {
            case .none:
                out.execution[name] = plan.isDefault ? nil : plan
                out.nodes.append(node)
            case .gate(let a), .activation(let a):
                let isGate: Bool = { if case .gate = old.fused { return true }; return false }()
                node.name = "\(name)/conv"
                let consumer = Node(name: name, op: isGate ? .gate(Gate(a)) : .unary(Unary(a)), inputs: [ValueRef(node.name)], location: node.location)
                plan.absorbs = name
                plan.epilogue = isGate ? .gate(a) : .activation(a)
                var absorbed = NodeExecution()
                absorbed.absorbedInto = node.name
                out.execution[node.name] = plan
                out.execution[name] = absorbed
                out.nodes.append(node)
                out.nodes.append(consumer)
            }
        }
        return out
    }
}
