// Ops the vjps of the activations, the gate, the nearest resize and the layout ops emit. Each
// takes the forward input (or a `like` tensor for its shape) and the cotangent dy.
import Kernels

/// dx = dy · f'(x) for an activation, or the gate's two-half gradient (gated = true).
public struct ActivationGrad: OpContract {
    public var activation: Activation
    public var gated: Bool
    public init(_ activation: Activation, gated: Bool) {
        self.activation = activation
        self.gated = gated
    }

    public var opName: String { gated ? "gate_grad" : "activation_grad" }
    public var inputNames: [String] { ["x", "dy"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let x = inputs[0], dy = inputs[1]
        let y = gated ? try Gate(activation).inferTypes([x], symbols)[0] : x
        guard y.equals(dy, symbols) else { throw OpError("dy \(dy) is not the forward output type \(y)") }
        return [x]
    }

    public var attributeSummary: [String] { ["act=\(activation)"] }
    public var mayRunInPlace: Bool { !gated }
    public static var yamlNames: [String] { ["activation_grad", "gate_grad"] }
    public static func yamlFields(_ name: String) -> [String] { ["act", "alpha"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        let kind = ActivationKind(rawValue: try r.word("act", ActivationKind.allCases.map(\.rawValue), "elu"))!
        return .activationGrad(ActivationGrad(Activation(kind, alpha: r.has("alpha") ? try r.float("alpha", nil) : nil),
                                              gated: name == "gate_grad"))
    }

    public func eval(_ k: KernelContext) {
        let x = k.shapes.inputs[0]
        if gated {
            PointwiseGradient.gate(activation.function, x: k.input(0), dy: k.input(1), dx: k.output(0)!, batch: x[0],
                                   featureChannels: x[1] / 2, pixels: x[2] * x[3], threads: k.threads)
        } else {
            PointwiseGradient.activation(activation.function, x: k.input(0), dy: k.input(1), dx: k.output(0)!, count: k.count(x),
                                         threads: k.threads)
        }
    }
}

/// The adjoint of a layout op, shaped like its forward input: `resize` (scatter-add of the
/// nearest resize), `slice` (dy placed at start..<end of the axis, zeros elsewhere),
/// `unflatten` (flatten's inverse) or `sum_to` (a broadcast's adjoint: sums over the axes where
/// `like` has size 1).
public struct LayoutGrad: OpContract {
    public enum Kind: Hashable, Codable, Sendable {
        case resize(alignCorners: Bool)
        case slice(axis: Axis, start: Int, end: Int)
        case unflatten(FlattenOrder)
        case sumTo
    }

    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    public var opName: String {
        switch kind {
        case .resize: return "resize_nearest_grad"
        case .slice: return "slice_grad"
        case .unflatten: return "unflatten"
        case .sumTo: return "sum_to"
        }
    }

    public var inputNames: [String] { ["dy", "like"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let dy = inputs[0], like = inputs[1]
        guard dy.dtype == .float32 else { throw OpError("dy must be float32, got \(dy)") }
        switch kind {
        case .resize:
            try Check.image(dy, "dy")
            try Check.image(like, "like", dtype: like.dtype)
        case .slice(let axis, let start, let end):
            guard like.rank > axis.index else { throw OpError("like \(like) has no \(axis.rawValue) axis") }
            var expected = like
            expected.shape[axis.index] = .constant(end - start)
            guard expected.equals(dy, symbols) else { throw OpError("dy \(dy) is not the slice's type \(expected)") }
        case .unflatten:
            try Check.image(like, "like", dtype: like.dtype)
            let flat = try Flatten().inferTypes([like], symbols)[0]
            guard flat.equals(dy, symbols) else { throw OpError("dy \(dy) is not the flatten's type \(flat)") }
        case .sumTo:
            guard (try? Binary.broadcast(dy, like, symbols))?.equals(dy, symbols) == true else {
                throw OpError("\(like) does not broadcast to \(dy)")
            }
        }
        return [TensorType(.float32, like.shape)]
    }

    public var attributeSummary: [String] {
        switch kind {
        case .resize(let a): return a ? [] : ["align_corners=false"]
        case .slice(let axis, let start, let end): return ["axis=\(axis.rawValue)", "start=\(start)", "end=\(end)"]
        case .unflatten(let o): return ["order=\(o.rawValue)"]
        case .sumTo: return []
        }
    }

    public static var yamlNames: [String] { ["resize_nearest_grad", "slice_grad", "unflatten", "sum_to"] }
    public static func yamlFields(_ name: String) -> [String] {
        switch name {
        case "resize_nearest_grad": return ["align_corners"]
        case "slice_grad": return ["axis", "start", "end"]
        case "unflatten": return ["order"]
        default: return []
        }
    }

    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        switch name {
        case "resize_nearest_grad": return .layoutGrad(LayoutGrad(.resize(alignCorners: try r.bool("align_corners", true))))
        case "slice_grad":
            return .layoutGrad(LayoutGrad(.slice(axis: Axis(rawValue: try r.word("axis", Axis.allCases.map(\.rawValue), "channel"))!,
                                                 start: try r.int("start", 0), end: try r.int("end", nil))))
        case "unflatten": return .layoutGrad(LayoutGrad(.unflatten(FlattenOrder(rawValue: try r.word("order", ["chw", "hwc"], "chw"))!)))
        default: return .layoutGrad(LayoutGrad(.sumTo))
        }
    }

    public func eval(_ k: KernelContext) {
        let dyShape = k.shapes.inputs[0], x = k.shapes.outputs[0], dy = k.input(0), dx = k.output(0)!
        switch kind {
        case .resize(let align):
            PointwiseGradient.resizeNearest(dy: dy, dx: dx, planes: x[0] * x[1], inHeight: x[2], inWidth: x[3], outHeight: dyShape[2],
                                            outWidth: dyShape[3], alignCorners: align, threads: k.threads)
        case .slice(let axis, let start, let end):
            // Rows of the slab: everything before the axis is the outer count, after it the inner.
            let outer = x[..<axis.index].reduce(1, *), inner = x[(axis.index + 1)...].reduce(1, *), n = x[axis.index]
            dx.update(repeating: 0, count: k.count(x))
            for o in 0..<outer {
                (dx + (o * n + start) * inner).update(from: dy + o * (end - start) * inner, count: (end - start) * inner)
            }
        case .unflatten(let order):
            if order == .chw { dx.update(from: dy, count: k.count(x)) } else {
                let P = x[2] * x[3], C = x[1]
                for b in 0..<x[0] { for c in 0..<C { for p in 0..<P { dx[(b * C + c) * P + p] = dy[(b * P + p) * C + c] } } }
            }
        case .sumTo:
            // dx[i] = Σ of dy over the positions that broadcast from i, in increasing order.
            var strides = [Int](repeating: 0, count: x.count), acc = 1
            for d in stride(from: x.count - 1, through: 0, by: -1) { strides[d] = x[d] == 1 ? 0 : acc; acc *= x[d] }
            dx.update(repeating: 0, count: k.count(x))
            for i in 0..<k.count(dyShape) {
                var rem = i, target = 0
                for d in stride(from: dyShape.count - 1, through: 0, by: -1) { target += (rem % dyShape[d]) * strides[d]; rem /= dyShape[d] }
                dx[target] += dy[i]
            }
        }
    }
}

/// y = factor · x.
public struct Scale: OpContract {
    public var factor: Float
    public init(_ factor: Float) { self.factor = factor }
    public var opName: String { "scale" }
    public var inputNames: [String] { ["x"] }
    public func validate() -> [String] { factor.isFinite ? [] : ["factor must be finite"] }
    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        guard inputs[0].dtype == .float32 else { throw OpError("input must be float32, got \(inputs[0])") }
        return [inputs[0]]
    }
    public var attributeSummary: [String] { ["factor=\(factor)"] }
    public var mayRunInPlace: Bool { true }
    public static var yamlNames: [String] { ["scale"] }
    public static func yamlFields(_ name: String) -> [String] { ["factor"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op { .scale(Scale(try r.float("factor", nil))) }
    public func eval(_ k: KernelContext) {
        let x = k.input(0), y = k.output(0)!, f = factor
        Pointwise.chunked(k.count(k.shapes.inputs[0]), threads: k.threads) { r in for i in r { y[i] = f * x[i] } }
        _ = x
    }
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return [nil] }
        return [try g.emit1(.scale(Scale(factor)), [dy])]
    }
}

/// concat's adjoint: dy cut back into its inputs' parts along the axis (sizes read at run time,
/// so a batch concat of symbolic N works).
public struct ConcatGrad: OpContract {
    public var axis: Axis
    public var count: Int
    public init(axis: Axis, count: Int) {
        self.axis = axis
        self.count = count
    }

    public var opName: String { "concat_grad" }
    public var inputNames: [String] { ["dy"] + (0..<count).map { "x\($0)" } }
    public var outputNames: [String] { (0..<count).map { "dx\($0)" } }
    public func validate() -> [String] { (1...65536).contains(count) ? [] : ["concat_grad takes 1...65536 parts, got \(count)"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let forward = try Concat(axis: axis, count: count).inferTypes(Array(inputs.dropFirst()), symbols)[0]
        guard TensorType(.float32, forward.shape).equals(inputs[0], symbols) else { throw OpError("dy \(inputs[0]) is not the concat's type \(forward)") }
        return inputs.dropFirst().map { TensorType(.float32, $0.shape) }
    }

    public var attributeSummary: [String] { ["axis=\(axis.rawValue)"] }
    public static var yamlNames: [String] { ["concat_grad"] }
    public static func yamlFields(_ name: String) -> [String] { ["axis"] }
    public static func yamlOutputs(_ name: String) -> [String] { ["dx0", "dx1"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        .concatGrad(ConcatGrad(axis: Axis(rawValue: try r.word("axis", Axis.allCases.map(\.rawValue), "channel"))!, count: inputCount - 1))
    }

    public func eval(_ k: KernelContext) {
        let dy = k.shapes.inputs[0], src = k.inputs[0].assumingMemoryBound(to: UInt32.self)
        var start = 0
        for i in 0..<count {
            let n = k.shapes.inputs[i + 1][axis.index]
            if let out = k.outputs[i] {
                Layout.slice(src, shape: dy, axis: axis.index, start: start, end: start + n, out.assumingMemoryBound(to: UInt32.self),
                             threads: k.threads)
            }
            start += n
        }
    }
}
