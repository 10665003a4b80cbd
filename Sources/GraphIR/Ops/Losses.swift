// The losses of the DeepFill v2 recipe as ops with scalar ([1]) outputs, summed in double in
// element order (so a loss is the same for any thread count):
//   l1_mean(a, b) = mean |a − b|
//   mean(x)       = mean x
//   hinge(r, f)   = 0.5·mean relu(1 − r) + 0.5·mean relu(1 + f)      (SN-PatchGAN's D loss)
// and `loss_grad`, which their vjps emit: each input's gradient for a scalar cotangent g.
import Kernels

public enum LossKind: String, Codable, Sendable, CaseIterable {
    case l1Mean = "l1_mean"
    case mean
    case hinge
}

public struct Loss: OpContract {
    public var kind: LossKind
    public init(_ kind: LossKind) { self.kind = kind }

    public var opName: String { kind.rawValue }
    public var inputNames: [String] { kind == .mean ? ["x"] : kind == .l1Mean ? ["a", "b"] : ["real", "fake"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        for (i, t) in inputs.enumerated() where t.dtype != .float32 { throw OpError("input \(i + 1) must be float32, got \(t)") }
        if kind == .l1Mean, !inputs[0].equals(inputs[1], symbols) { throw OpError("a \(inputs[0]) and b \(inputs[1]) must have the same type") }
        return [Loss.scalar]
    }

    public static let scalar = TensorType(.float32, [.constant(1)])

    public static var yamlNames: [String] { LossKind.allCases.map(\.rawValue) }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op { .loss(Loss(LossKind(rawValue: name)!)) }

    public func eval(_ k: KernelContext) {
        let n = k.count(k.shapes.inputs[0])
        var acc = 0.0
        switch kind {
        case .l1Mean:
            let a = k.input(0), b = k.input(1)
            for i in 0..<n { acc += Double(abs(a[i] - b[i])) }
            acc /= Double(n)
        case .mean:
            let x = k.input(0)
            for i in 0..<n { acc += Double(x[i]) }
            acc /= Double(n)
        case .hinge:
            let r = k.input(0), f = k.input(1), nf = k.count(k.shapes.inputs[1])
            var real = 0.0, fake = 0.0
            for i in 0..<n { real += Double(max(0, 1 - r[i])) }
            for i in 0..<nf { fake += Double(max(0, 1 + f[i])) }
            acc = 0.5 * real / Double(n) + 0.5 * fake / Double(nf)
        }
        k.output(0)![0] = Float(acc)
    }

    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return Array(repeating: nil, count: node.inputs.count) }
        let grads = try g.emit(.lossGrad(LossGrad(kind)), node.inputs + [dy])
        switch kind {
        case .mean: return grads
        case .hinge: return grads
        case .l1Mean: return [grads[0], g.needs(node.inputs[1]) ? try g.emit1(.scale(Scale(-1)), [grads[0]]) : nil]
        }
    }
}

public struct LossGrad: OpContract {
    public var kind: LossKind
    public init(_ kind: LossKind) { self.kind = kind }

    public var opName: String { kind.rawValue + "_grad" }
    public var inputNames: [String] { Loss(kind).inputNames + ["dy"] }
    public var outputNames: [String] { kind == .hinge ? ["d_real", "d_fake"] : ["dx"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        guard inputs.last!.concreteShape == [1] else { throw OpError("dy must be a scalar [1], got \(inputs.last!)") }
        return kind == .hinge ? [inputs[0], inputs[1]] : [inputs[0]]
    }

    public static var yamlNames: [String] { LossKind.allCases.map { $0.rawValue + "_grad" } }
    public static func yamlOutputs(_ name: String) -> [String] { name == "hinge_grad" ? ["d_real", "d_fake"] : ["dx"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        .lossGrad(LossGrad(LossKind(rawValue: String(name.dropLast(5)))!))
    }

    public func eval(_ k: KernelContext) {
        let n = k.count(k.shapes.inputs[0]), dy = k.input(k.inputs.count - 1)[0], dx = k.output(0)!
        switch kind {
        case .l1Mean:
            let a = k.input(0), b = k.input(1), s = dy / Float(n)
            for i in 0..<n { dx[i] = a[i] > b[i] ? s : a[i] < b[i] ? -s : 0 }
        case .mean:
            let s = dy / Float(n)
            for i in 0..<n { dx[i] = s }
        case .hinge:
            let r = k.input(0), f = k.input(1), nf = k.count(k.shapes.inputs[1]), df = k.output(1)!
            let sr = -0.5 * dy / Float(n), sf = 0.5 * dy / Float(nf)
            for i in 0..<n { dx[i] = 1 - r[i] > 0 ? sr : 0 }
            for i in 0..<nf { df[i] = 1 + f[i] > 0 ? sf : 0 }
        }
    }
}
