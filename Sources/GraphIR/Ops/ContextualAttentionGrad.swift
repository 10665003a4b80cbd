// contextual_attention's vjp: one op computing the cotangents of f and b from dy (the mask and
// the argmax output carry none). The kernel recomputes the forward in dense form and runs each
// step's adjoint (Kernels/ContextualAttentionGradient.swift).
import Kernels

public struct ContextualAttentionGrad: OpContract {
    public var attention: ContextualAttention
    public init(_ attention: ContextualAttention) { self.attention = attention }

    public var opName: String { "contextual_attention_grad" }
    public var inputNames: [String] { ["f", "b", "dy", "mask"] }
    public var minArity: Int { 3 }
    public var outputNames: [String] { ["df", "db"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let forward = try attention.inferTypes([inputs[0], inputs[1]] + (inputs.count > 3 ? [inputs[3]] : []), symbols)
        guard forward[0].equals(inputs[2], symbols) else { throw OpError("dy \(inputs[2]) is not the attention's output type \(forward[0])") }
        return [inputs[0], inputs[1]]
    }

    public func macs(inputs: [[Int]], outputs: [[Int]]) -> Int {
        Cost.product([3, attention.macs(inputs: [inputs[0], inputs[1]], outputs: [inputs[2]])])
    }

    public var attributeSummary: [String] { attention.attributeSummary }
    public static var yamlNames: [String] { ["contextual_attention_grad"] }
    public static func yamlFields(_ name: String) -> [String] { ContextualAttention.yamlFields("contextual_attention") }
    public static func yamlOutputs(_ name: String) -> [String] { ["df", "db"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        guard case .contextualAttention(let a) = try ContextualAttention.build("contextual_attention", &r, inputCount: inputCount) else {
            fatalError("contextual_attention builds contextual_attention")
        }
        return .contextualAttentionGrad(ContextualAttentionGrad(a))
    }

    public func scratchBytes(_ s: KernelShapes) -> Int {
        let f = s.inputs[0], b = s.inputs[1]
        return ContextualAttentionGradient.scratchBytes(attention.parameters, channels: f[1], fh: f[2], fw: f[3], bh: b[2], bw: b[3])
    }

    public func eval(_ k: KernelContext) {
        let f = k.shapes.inputs[0], b = k.shapes.inputs[1]
        ContextualAttentionGradient.backward(attention.parameters, f: k.input(0), b: k.input(1),
                                             mask: k.inputs.count > 3 ? UnsafePointer(k.input(3)) : nil, dy: k.input(2),
                                             batch: f[0], channels: f[1], fh: f[2], fw: f[3], bh: b[2], bw: b[3],
                                             df: k.output(0)!, db: k.output(1)!, threads: k.threads)
    }
}

extension ContextualAttention {
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return Array(repeating: nil, count: node.inputs.count) }
        let grads = try g.emit(.contextualAttentionGrad(ContextualAttentionGrad(self)),
                               [node.inputs[0], node.inputs[1], dy] + node.inputs.dropFirst(2))
        return [grads[0], grads[1]] + (node.inputs.count > 2 ? [nil] : [])
    }
}
