// Pointwise activations and the gated activation of DeepFill's gen_conv.
import Kernels

public enum ActivationKind: String, Codable, Sendable, CaseIterable {
    case elu
    case relu
    case leakyRelu = "leaky_relu"
    case sigmoid
    case tanh
    case none
}

/// An activation with its parameter (ELU's alpha, LeakyReLU's negative slope).
public struct Activation: Hashable, Codable, Sendable, CustomStringConvertible {
    public var kind: ActivationKind
    public var alpha: Float

    public init(_ kind: ActivationKind, alpha: Float? = nil) {
        self.kind = kind
        self.alpha = alpha ?? (kind == .leakyRelu ? 0.2 : 1.0)
    }

    public var description: String {
        switch kind {
        case .elu where alpha != 1, .leakyRelu: return "\(kind.rawValue)(\(alpha))"
        default: return kind.rawValue
        }
    }

    func validate() -> [String] {
        alpha.isFinite ? [] : ["alpha must be finite, got \(alpha)"]
    }
}

/// elu, relu, leaky_relu, sigmoid, tanh applied elementwise.
public struct Unary: OpContract {
    public var activation: Activation
    public init(_ activation: Activation) { self.activation = activation }

    public var opName: String { activation.kind.rawValue }
    public var inputNames: [String] { ["x"] }
    public func validate() -> [String] {
        activation.kind == .none ? ["'none' is not an op"] : activation.validate()
    }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        guard inputs[0].dtype == .float32 else { throw OpError("input must be float32, got \(inputs[0].dtype)") }
        return [inputs[0]]
    }

    public var attributeSummary: [String] {
        activation.kind == .elu || activation.kind == .leakyRelu ? ["alpha=\(activation.alpha)"] : []
    }

    public static var yamlNames: [String] { ["elu", "relu", "leaky_relu", "sigmoid", "tanh"] }
    public static func yamlFields(_ name: String) -> [String] { name == "elu" || name == "leaky_relu" ? ["alpha"] : [] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        let kind = ActivationKind(rawValue: name)!
        return .unary(Unary(Activation(kind, alpha: r.has("alpha") ? try r.float("alpha", nil) : nil)))
    }

    public var mayRunInPlace: Bool { true }

    public func eval(_ k: KernelContext) {
        Pointwise.activation(activation.function, k.input(0), k.output(0)!, count: k.count(k.shapes.outputs[0]), threads: k.threads)
    }

    public func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule? {
        shapes.inputs[0].count == 4 ? .pointwise(output, inputs: 1) : nil
    }
}

/// gate: split channels in halves, act(first half) × sigmoid(second half).
public struct Gate: OpContract {
    public var activation: Activation
    public init(_ activation: Activation) { self.activation = activation }

    public var opName: String { "gate" }
    public var inputNames: [String] { ["x"] }
    public func validate() -> [String] {
        activation.kind == .sigmoid || activation.kind == .tanh
            ? ["gate act must be elu, relu, leaky_relu or none, got \(activation.kind.rawValue)"]
            : activation.validate()
    }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let x = inputs[0]
        try Check.image(x, "input")
        let c = try Check.channels(x, "input")
        guard c % 2 == 0 else {
            throw OpError("gate needs an even channel count (features, then gates), got \(c)",
                          hint: "the convolution before a gate must output 2×(feature channels)")
        }
        var out = x
        out.shape[1] = .constant(c / 2)
        return [out]
    }

    public var attributeSummary: [String] { ["act=\(activation)"] }

    public static var yamlNames: [String] { ["gate"] }
    public static func yamlFields(_ name: String) -> [String] { ["act", "alpha"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        let kind = ActivationKind(rawValue: try r.word("act", ActivationKind.allCases.map(\.rawValue), "elu"))!
        return .gate(Gate(Activation(kind, alpha: r.has("alpha") ? try r.float("alpha", nil) : nil)))
    }

    public func eval(_ k: KernelContext) {
        let x = k.shapes.inputs[0]
        Pointwise.gate(activation.function, k.input(0), k.output(0)!, batch: x[0], featureChannels: x[1] / 2,
                       pixels: x[2] * x[3], threads: k.threads)
    }

    public func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule? { .pointwise(output, inputs: 1) }
}

extension Unary {
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return [nil] }
        return [try g.emit1(.activationGrad(ActivationGrad(activation, gated: false)), [node.inputs[0], dy])]
    }
}

extension Gate {
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return [nil] }
        return [try g.emit1(.activationGrad(ActivationGrad(activation, gated: true)), [node.inputs[0], dy])]
    }
}
