// The ops conv2d's and sn_conv2d's vjp emits: the data gradient (the convolution's adjoint,
// GEMM + col2im), the weight and bias gradient (dy · im2col(x)ᵀ, summed in a fixed order),
// spectral normalisation as a value (W/σ from the stored u) and its gradient in either
// convention (TF's `full`, PyTorch's `sigma`). Each carries the forward convolution's attributes.
import Kernels

public struct Conv2DGradInput: OpContract {
    public var conv: Conv2D
    public init(_ conv: Conv2D) { self.conv = conv }

    public var opName: String { "conv2d_grad_input" }
    public var inputNames: [String] { ["dy", "weight", "like"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let dy = inputs[0], x = inputs[2]
        try Check.image(dy, "dy")
        try Check.image(x, "like")
        let y = try conv.inferTypes([x, inputs[1]] + conv.parameterSlots.dropFirst().map { slot in
            TensorType(.float32, (conv.parameterShape(slot: slot, inputs: [x]) ?? []).map { .constant($0) })
        }, symbols)[0]
        guard y.equals(dy, symbols) else { throw OpError("dy \(dy) is not the convolution's output type \(y)") }
        return [x]
    }

    public func macs(inputs: [[Int]], outputs: [[Int]]) -> Int { conv.macs(inputs: [outputs[0]], outputs: [inputs[0]]) }
    public var attributeSummary: [String] { conv.attributeSummary }
    public static var yamlNames: [String] { ["conv2d_grad_input"] }
    public static func yamlFields(_ name: String) -> [String] { Conv2D.yamlFields("conv2d") }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        guard case .conv2d(let c) = try Conv2D.build("conv2d", &r, inputCount: inputCount) else { fatalError("conv2d builds conv2d") }
        return .conv2dGradInput(Conv2DGradInput(c))
    }

    /// The adjoint of a planned-Winograd convolution as a convolution of dy (3×3, stride 1,
    /// padding = dilation, so the adjoint has the same geometry), when Winograd applies at this size.
    func winogradAdjoint(_ s: KernelShapes) -> ConvGeometry? {
        guard s.execution.algorithm == .winograd else { return nil }
        let x = s.inputs[2], d = conv.dilation[0]
        let g = ConvGeometry(batch: x[0], inChannels: conv.outChannels, inHeight: x[2], inWidth: x[3], outChannels: x[1], kernel: (3, 3),
                             stride: (1, 1), dilation: (d, d), padding: (d, d, d, d))
        return Winograd.applies(g) && Winograd.pays(g) ? g : nil
    }

    public func scratchBytes(_ s: KernelShapes) -> Int { winogradAdjoint(s).map { Winograd.scratchBytes($0, threads: s.threads) } ?? 0 }

    public func eval(_ k: KernelContext) {
        if let g = winogradAdjoint(k.shapes) {
            // W'[ci][co] = W[co][ci] rotated by 180°.
            let cout = conv.outChannels, cin = g.outChannels, w = k.input(1)
            var rotated = [Float](repeating: 0, count: cout * cin * 9)
            for co in 0..<cout { for ci in 0..<cin { for t in 0..<9 { rotated[(ci * cout + co) * 9 + 8 - t] = w[(co * cin + ci) * 9 + t] } } }
            let u = rotated.withUnsafeBufferPointer { Winograd.transformWeights($0.baseAddress!, outChannels: cin, inChannels: cout) }
            u.withUnsafeBufferPointer {
                Winograd.forward(g, input: k.input(0), transformedWeight: $0.baseAddress!, bias: nil, output: k.output(0)!, epilogue: .none,
                                 scratch: k.scratch!.assumingMemoryBound(to: Float.self), threads: k.threads)
            }
            return
        }
        let g = conv.geometry(input: k.shapes.inputs[2])
        ConvolutionGradient.data(g, outputGradient: k.input(0), weight: k.input(1), inputGradient: k.output(0)!, threads: k.threads)
    }
}

public struct Conv2DGradWeight: OpContract {
    public var conv: Conv2D
    public init(_ conv: Conv2D) { self.conv = conv }

    public var opName: String { "conv2d_grad_weight" }
    public var inputNames: [String] { ["x", "dy"] }
    public var outputNames: [String] { conv.bias ? ["weight", "bias"] : ["weight"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let x = inputs[0], dy = inputs[1]
        try Check.image(x, "x")
        try Check.image(dy, "dy")
        let w = conv.parameterShape(slot: conv.parameterSlots[0], inputs: [x])!
        let params = conv.parameterSlots.map { TensorType(.float32, (conv.parameterShape(slot: $0, inputs: [x]) ?? []).map { .constant($0) }) }
        let y = try conv.inferTypes([x] + params, symbols)[0]
        guard y.equals(dy, symbols) else { throw OpError("dy \(dy) is not the convolution's output type \(y)") }
        return [TensorType(.float32, w.map { .constant($0) })] + (conv.bias ? [TensorType(.float32, [.constant(conv.outChannels)])] : [])
    }

    public func macs(inputs: [[Int]], outputs: [[Int]]) -> Int { conv.macs(inputs: [inputs[0]], outputs: [inputs[1]]) }
    public var attributeSummary: [String] { conv.attributeSummary }
    public static var yamlNames: [String] { ["conv2d_grad_weight"] }
    public static func yamlFields(_ name: String) -> [String] { Conv2D.yamlFields("conv2d") }
    public static func yamlOutputs(_ name: String) -> [String] { ["weight", "bias"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        guard case .conv2d(let c) = try Conv2D.build("conv2d", &r, inputCount: inputCount) else { fatalError("conv2d builds conv2d") }
        return .conv2dGradWeight(Conv2DGradWeight(c))
    }

    public func eval(_ k: KernelContext) {
        let g = conv.geometry(input: k.shapes.inputs[0], upsample: k.shapes.execution.inputUpsample)
        if k.shapes.execution.algorithm == .winograd, Winograd.applies(g), Winograd.pays(g) {
            Winograd.weightGradient(g, input: k.input(0), outputGradient: k.input(1), weightGradient: k.output(0)!, threads: k.threads)
            if conv.bias { ConvolutionGradient.bias(g, outputGradient: k.input(1), biasGradient: k.output(1)!, threads: k.threads) }
            return
        }
        ConvolutionGradient.weight(g, input: k.input(0), outputGradient: k.input(1), weightGradient: k.output(0)!,
                                   biasGradient: conv.bias ? k.output(1) : nil, threads: k.threads)
    }
}

/// W/σ(W) from one power iteration on u (the value sn_conv2d convolves with).
public struct SpectralNormalize: OpContract {
    public init() {}
    public var opName: String { "spectral_normalize" }
    public var inputNames: [String] { ["weight", "u"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        try SpectralNormalize.check(inputs[0], inputs[1])
        return [inputs[0]]
    }

    static func check(_ w: TensorType, _ u: TensorType) throws {
        guard let ws = w.concreteShape, ws.count >= 2, let us = u.concreteShape, us == [ws[0]] else {
            throw OpError("weight must be a concrete [out, ...] tensor and u [out], got \(w) and \(u)")
        }
    }

    public static var yamlNames: [String] { ["spectral_normalize"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op { .spectralNormalize(SpectralNormalize()) }

    public func eval(_ k: KernelContext) {
        let shape = k.shapes.inputs[0], count = k.count(shape), rows = shape[0]
        let r = SpectralNorm.normalize(weight: Array(UnsafeBufferPointer(start: k.input(0), count: count)), rows: rows, cols: count / rows,
                                       u: Array(UnsafeBufferPointer(start: k.input(1), count: rows)))
        k.output(0)!.update(from: r.normalizedWeight, count: count)
    }
}

/// dL/dW from dL/d(W/σ): `full` (TF: σ, u', v functions of W) or `sigma` (PyTorch: u', v constant).
public struct SpectralNormGrad: OpContract {
    public var mode: SpectralNormGradientMode
    public init(mode: SpectralNormGradientMode) { self.mode = mode }

    public var opName: String { "spectral_norm_grad" }
    public var inputNames: [String] { ["weight", "u", "d_normalized"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        try SpectralNormalize.check(inputs[0], inputs[1])
        guard inputs[2].concreteShape == inputs[0].concreteShape else { throw OpError("d_normalized \(inputs[2]) must match weight \(inputs[0])") }
        return [inputs[0]]
    }

    public var attributeSummary: [String] { ["mode=\(mode.rawValue)"] }
    public static var yamlNames: [String] { ["spectral_norm_grad"] }
    public static func yamlFields(_ name: String) -> [String] { ["mode"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        .spectralNormGrad(SpectralNormGrad(mode: SpectralNormGradientMode(rawValue: try r.word("mode", ["full", "sigma"], "full"))!))
    }

    public func eval(_ k: KernelContext) {
        let shape = k.shapes.inputs[0], count = k.count(shape), rows = shape[0]
        let g = SpectralNorm.gradient(weight: Array(UnsafeBufferPointer(start: k.input(0), count: count)), rows: rows, cols: count / rows,
                                      u: Array(UnsafeBufferPointer(start: k.input(1), count: rows)),
                                      normalizedGradient: Array(UnsafeBufferPointer(start: k.input(2), count: count)), mode: mode)
        k.output(0)!.update(from: g, count: count)
    }
}

extension Conv2D {
    /// dx = conv2d_grad_input(dy, W̃, x); (dW̃, db) = conv2d_grad_weight(x, dy); for sn_conv2d
    /// W̃ = spectral_normalize(W, u) and dW = spectral_norm_grad(W, u, dW̃). u gets none (state).
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return Array(repeating: nil, count: node.inputs.count) }
        let x = node.inputs[0], w = node.inputs[1]
        var plain = self
        plain.spectralNorm = false
        let uIndex = bias ? 3 : 2
        let effective = spectralNorm ? try g.emit1(.spectralNormalize(SpectralNormalize()), [w, node.inputs[uIndex]], tag: "normalized") : w
        var grads = [ValueRef?](repeating: nil, count: node.inputs.count)
        if g.needs(x) { grads[0] = try g.emit1(.conv2dGradInput(Conv2DGradInput(plain)), [dy, effective, x], tag: "dx") }
        guard g.needs(w) || (bias && g.needs(node.inputs[2])) else { return grads }  // constant weights (a frozen network)
        let dw = try g.emit(.conv2dGradWeight(Conv2DGradWeight(plain)), [x, dy], tag: "dw")
        grads[1] = spectralNorm ? try g.emit1(.spectralNormGrad(SpectralNormGrad(mode: g.spectralNormMode)), [w, node.inputs[uIndex], dw[0]], tag: "dw_sn")
                                : dw[0]
        if bias { grads[2] = dw[1] }
        return grads
    }
}
