// conv2d and sn_conv2d: 2-D convolution over NCHW with OIHW weights and a bias, taken as
// parameter inputs. Padding follows the DeepFill code: TF 'SAME' (asymmetric on stride 2:
// floor(total/2) before), explicit per-side zeros, or reflect. sn_conv2d divides the kernel by
// its spectral norm, from one power iteration on the stored vector u (an input), and returns
// the updated u as its second output (neuralgym's kernel_spectral_norm).
// Execution (the plan): im2col + SGEMM, Winograd F(4×4,3×3) (3×3 stride-1, dilated as phases),
// or sub-pixel phases for a folded ×2 upsample; a fused gate or activation epilogue.
import Kernels

public enum Padding: Hashable, Codable, Sendable, CustomStringConvertible {
    case tfSame
    /// Zeros: top, bottom, left, right.
    case explicit(top: Int, bottom: Int, left: Int, right: Int)
    case reflect

    public var description: String {
        switch self {
        case .tfSame: return "tf_same"
        case .reflect: return "reflect"
        case .explicit(let t, let b, let l, let r): return "[\(t), \(b), \(l), \(r)]"
        }
    }

    /// Zero padding (before, after) on one axis for TF 'SAME' with concrete sizes.
    public static func tfSame(input: Int, kernel: Int, stride: Int, dilation: Int) -> (Int, Int) {
        let out = (input + stride - 1) / stride
        let total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - input, 0)
        return (total / 2, total - total / 2)
    }
}

public struct Conv2D: OpContract {
    public var outChannels: Int
    public var kernel: [Int]    // [kh, kw]
    public var stride: [Int]    // [sh, sw]
    public var dilation: [Int]  // [dh, dw]
    public var padding: Padding
    public var bias: Bool
    public var spectralNorm: Bool

    public init(outChannels: Int, kernel: [Int], stride: [Int] = [1, 1], dilation: [Int] = [1, 1],
                padding: Padding = .tfSame, bias: Bool = true, spectralNorm: Bool = false) {
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
        self.bias = bias
        self.spectralNorm = spectralNorm
    }

    public var opName: String { spectralNorm ? "sn_conv2d" : "conv2d" }
    public var inputNames: [String] { ["x", "weight"] + (bias ? ["bias"] : []) + (spectralNorm ? ["u"] : []) }
    public var outputNames: [String] { spectralNorm ? ["y", "u_next"] : ["out"] }
    public var parameterSlots: [ParameterSlot] {
        var s = [ParameterSlot(input: 1, suffix: "weight")]
        if bias { s.append(ParameterSlot(input: 2, suffix: "bias")) }
        if spectralNorm { s.append(ParameterSlot(input: bias ? 3 : 2, suffix: "u", role: .state)) }
        return s
    }

    public var stateOutputs: [Int: Int] { spectralNorm ? [1: bias ? 3 : 2] : [:] }

    public func validate() -> [String] {
        var errors: [String] = []
        if outChannels < 1 || outChannels > 65536 { errors.append("out must be in 1...65536, got \(outChannels)") }
        for (name, v, limit) in [("kernel", kernel, 64), ("stride", stride, 64), ("dilation", dilation, 256)] {
            if v.count != 2 || v.contains(where: { $0 < 1 || $0 > limit }) {
                errors.append("\(name) must be in 1...\(limit), got \(v)")
            }
        }
        if case .explicit(let t, let b, let l, let r) = padding, [t, b, l, r].contains(where: { $0 < 0 || $0 > 4096 }) {
            errors.append("explicit padding must be in 0...4096, got \(padding)")
        }
        return errors
    }

    /// (before, after) zero padding for one axis at a concrete size.
    public func pads(axis: Int, input: Int) -> (Int, Int) {
        switch padding {
        case .tfSame: return Padding.tfSame(input: input, kernel: kernel[axis], stride: stride[axis], dilation: dilation[axis])
        case .explicit(let t, let b, let l, let r): return axis == 0 ? (t, b) : (l, r)
        case .reflect:
            let total = dilation[axis] * (kernel[axis] - 1)
            return (total / 2, total - total / 2)
        }
    }

    func outDim(_ d: Dim, axis: Int, _ symbols: SymbolTable) throws -> Dim {
        let span = dilation[axis] * (kernel[axis] - 1)
        switch padding {
        case .tfSame: return try Dim.ceilDiv(d, stride[axis], symbols)
        case .reflect: return try Dim.add(try Dim.floorDiv(try Dim.add(d, -1), stride[axis], symbols), 1)
        case .explicit(let t, let b, let l, let r):
            let total = axis == 0 ? t + b : l + r
            return try Dim.add(try Dim.floorDiv(try Dim.add(d, total - span - 1), stride[axis], symbols), 1)
        }
    }

    public func parameterShape(slot: ParameterSlot, inputs: [TensorType?]) -> [Int]? {
        switch slot.suffix {
        case "weight":
            guard let x = inputs[0], x.rank == 4, let cin = x.shape[1].constantValue else { return nil }
            return [outChannels, cin, kernel[0], kernel[1]]
        default: return [outChannels]
        }
    }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let x = inputs[0]
        try Check.image(x, "input")
        let cin = try Check.channels(x, "input")
        let weights = outChannels.multipliedReportingOverflow(by: cin * kernel[0] * kernel[1])
        guard !weights.overflow, weights.partialValue <= 1 << 31 else {
            throw OpError("the weight [\(outChannels), \(cin), \(kernel[0]), \(kernel[1])] would hold more than 2^31 values",
                          hint: "check the channel counts and kernel size")
        }
        for slot in parameterSlots {
            try Check.parameter(inputs[slot.input], parameterShape(slot: slot, inputs: inputs)!, "\(slot.suffix) (input \(slot.input + 1))")
        }
        let oh = try outDim(x.shape[2], axis: 0, symbols), ow = try outDim(x.shape[3], axis: 1, symbols)
        for (name, d) in [("height", oh), ("width", ow)] {
            if let v = d.constantValue, v < 1 {
                throw OpError("output \(name) would be \(v): the input is smaller than the kernel's reach",
                              hint: "use tf_same padding or a larger input")
            }
        }
        if padding == .reflect {
            for axis in 0..<2 {
                let (before, after) = pads(axis: axis, input: 0)
                if let v = x.shape[2 + axis].constantValue, v <= max(before, after) {
                    throw OpError("reflect padding of \(max(before, after)) needs an input larger than that, got \(v)")
                }
            }
        }
        let y = TensorType(.float32, [x.shape[0], .constant(outChannels), oh, ow])
        return spectralNorm ? [y, TensorType(.float32, [.constant(outChannels)])] : [y]
    }

    public func macs(inputs: [[Int]], outputs: [[Int]]) -> Int {
        let o = outputs[0]
        return Cost.product([o[0], outChannels, o[2], o[3], inputs[0][1], kernel[0], kernel[1]])
    }

    public var attributeSummary: [String] {
        var a = ["out=\(outChannels)", "kernel=\(Conv2D.pair(kernel))", "stride=\(Conv2D.pair(stride))",
                 "dilation=\(Conv2D.pair(dilation))", "padding=\(padding)"]
        if !bias { a.append("bias=false") }
        return a
    }

    static func pair(_ v: [Int]) -> String { v.count == 2 && v[0] == v[1] ? "\(v[0])" : "\(v)" }

    // MARK: YAML

    public static var yamlNames: [String] { ["conv2d", "sn_conv2d"] }
    public static func yamlFields(_ name: String) -> [String] { ["out", "kernel", "stride", "dilation", "padding", "bias"] }
    public static func yamlOutputs(_ name: String) -> [String] { name == "sn_conv2d" ? ["y", "u_next"] : ["out"] }

    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        let kernel = try r.pair("kernel", nil)
        let padding: Padding
        switch try r.raw("padding") {
        case nil, .word("tf_same")?: padding = .tfSame
        case .word("reflect")?: padding = .reflect
        case .word("valid")?: padding = .explicit(top: 0, bottom: 0, left: 0, right: 0)
        case .integer(let p)?: padding = .explicit(top: p, bottom: p, left: p, right: p)
        case .list(let l)? where l.count == 4 && l.allSatisfy({ if case .integer = $0 { return true } else { return false } }):
            let v = l.map { v -> Int in if case .integer(let x) = v { return x } else { return 0 } }
            padding = .explicit(top: v[0], bottom: v[1], left: v[2], right: v[3])
        case let other?:
            throw r.failure("padding", "expected tf_same, reflect, valid, a number or [top, bottom, left, right], got '\(other)'")
        }
        return .conv2d(Conv2D(outChannels: try r.int("out", nil), kernel: kernel, stride: try r.pair("stride", 1),
                              dilation: try r.pair("dilation", 1), padding: padding, bias: try r.bool("bias", true),
                              spectralNorm: name == "sn_conv2d"))
    }

    // MARK: Running

    /// The kernel geometry on a logical input of concrete shape [N, C, H, W]; `upsample` is the
    /// factor by which the stored input is smaller (a folded ×2 upsample).
    public func geometry(input x: [Int], upsample: Int = 1) -> ConvGeometry {
        let h = x[2], w = x[3]
        let (pt, pb) = pads(axis: 0, input: h), (pl, pr) = pads(axis: 1, input: w)
        return ConvGeometry(batch: x[0], inChannels: x[1], inHeight: h, inWidth: w, outChannels: outChannels,
                            kernel: (kernel[0], kernel[1]), stride: (stride[0], stride[1]),
                            dilation: (dilation[0], dilation[1]), padding: (pt, pb, pl, pr), reflect: padding == .reflect,
                            upsample: upsample)
    }

    /// The one rule for how a convolution can be computed: Winograd for zero-padded 3×3 stride-1
    /// convolutions (dilated ones as phases), sub-pixel phases for those reading a folded ×2
    /// upsample, else im2col. The compile passes record it; `algorithm(_:_:)` applies it at a size.
    public func bestAlgorithm(inputUpsample: Int) -> ConvAlgorithm {
        let sameRate = dilation[0] == dilation[1]
        let zeroSame = padding == .tfSame
            || padding == .explicit(top: dilation[0], bottom: dilation[0], left: dilation[0], right: dilation[0])
        guard kernel == [3, 3], stride == [1, 1], sameRate, zeroSame else { return .im2col }
        if inputUpsample == 2 { return dilation == [1, 1] ? .subpixel : .im2col }
        return inputUpsample == 1 ? .winograd : .im2col
    }

    /// The planned algorithm where it applies at this geometry (feature maps under one Winograd
    /// tile per phase fall back to im2col); the planner and the kernel both ask here.
    public func algorithm(_ e: NodeExecution, _ g: ConvGeometry) -> ConvAlgorithm {
        switch e.algorithm {
        case .winograd where Winograd.applies(g) && Winograd.pays(g): return .winograd
        case .subpixel where SubpixelConvolution.applies(g): return .subpixel
        default: return .im2col
        }
    }

    /// The geometry a run computes and its algorithm, which is always the whole tensor's (a
    /// window computed another way would not be bit-identical).
    func runGeometry(_ s: KernelShapes) -> (ConvGeometry, ConvAlgorithm) {
        guard let w = s.windows else {
            let g = geometry(input: s.inputs[0], upsample: s.execution.inputUpsample)
            return (g, algorithm(s.execution, g))
        }
        let whole = geometry(input: w.wholeInputs[0], upsample: s.execution.inputUpsample)
        let i = w.inputs[0], o = w.outputs[0]
        return (whole.windowed(input: (i.y0, i.y1, i.x0, i.x1), output: (o.y0, o.y1, o.x0, o.x1)), algorithm(s.execution, whole))
    }

    /// Tiles the algorithm computes whole: Winograd's 4×4 tiles of each of the d² phases (so
    /// 4·d rows and columns), the sub-pixel phases' 2×2 blocks. The input window is what the
    /// widened output reads, rows and columns inside the image only — for Winograd, only what
    /// the asked pixels' values depend on (Winograd.inputRows): the rest of their tiles read
    /// zeros or whatever the input holds there, which changes only pixels nobody asked for.
    public func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule? {
        guard padding != .reflect else { return nil }
        let g = geometry(input: shapes.inputs[0], upsample: shapes.execution.inputUpsample)
        let step: Int, algorithm = algorithm(shapes.execution, g)
        switch algorithm {
        case .winograd: step = 4 * dilation[0]
        case .subpixel: step = 2
        case .im2col: step = 1
        }
        let out = output.aligned(step, height: g.outHeight, width: g.outWidth)
        let y0: Int, y1: Int, x0: Int, x1: Int
        if algorithm == .winograd {
            let asked = output.intersection(.whole(g.outHeight, g.outWidth))
            (y0, y1) = Winograd.inputRows(asked.y0, asked.y1, dilation: g.dilationH, size: g.inHeight)
            (x0, x1) = Winograd.inputRows(asked.x0, asked.x1, dilation: g.dilationW, size: g.inWidth)
        } else {
            (y0, y1) = Window.footprint(out.y0, out.y1, stride: g.strideH, pad: g.padTop, extent: g.dilationH * (g.kernelH - 1) + 1, size: g.inHeight)
            (x0, x1) = Window.footprint(out.x0, out.x1, stride: g.strideW, pad: g.padLeft, extent: g.dilationW * (g.kernelW - 1) + 1, size: g.inWidth)
        }
        var inputs = [WindowNeed](repeating: .whole, count: shapes.inputs.count)
        inputs[0] = .window(Window(y0: y0, y1: max(y0, y1), x0: x0, x1: max(x0, x1)))
        return WindowRule(output: out, inputs: inputs, readsWindows: true)
    }

    public func scratchBytes(_ s: KernelShapes) -> Int {
        let (g, algo) = runGeometry(s)
        switch algo {
        case .winograd: return Winograd.scratchBytes(g, threads: s.threads)
        case .subpixel: return SubpixelConvolution.scratchBytes(g, threads: s.threads)
        case .im2col: return Convolution.scratchBytes(g, epilogue: epilogue(s.execution, keep: false), threads: s.threads)
        }
    }

    func epilogue(_ e: NodeExecution, keep: Bool) -> ConvEpilogue {
        guard let f = e.epilogue, !keep else { return .none }
        switch f {
        case .activation(let a): return .activation(a.function)
        case .gate(let a): return .gate(a.function)
        }
    }

    /// The weights as the kernel reads them: divided by σ for sn_conv2d, then transformed for
    /// Winograd or sub-pixel. nil when the kernel reads the stored weight as it is.
    public func prepare(_ parameters: [UnsafePointer<Float>], _ s: KernelShapes) -> [Float]? {
        let (_, algo) = runGeometry(s)
        guard spectralNorm || algo != .im2col else { return nil }
        let count = Cost.product(s.inputs[1])
        var w = Array(UnsafeBufferPointer(start: parameters[1], count: count))
        if spectralNorm {
            let u = Array(UnsafeBufferPointer(start: parameters[bias ? 3 : 2], count: outChannels))
            w = SpectralNorm.normalize(weight: w, rows: outChannels, cols: count / outChannels, u: u).normalizedWeight
        }
        let cin = s.inputs[0][1]
        switch algo {
        case .winograd: return w.withUnsafeBufferPointer { Winograd.transformWeights($0.baseAddress!, outChannels: outChannels, inChannels: cin, threads: s.threads) }
        case .subpixel: return w.withUnsafeBufferPointer { SubpixelConvolution.transformWeights($0.baseAddress!, outChannels: outChannels, inChannels: cin, threads: s.threads) }
        case .im2col: return w
        }
    }

    public func eval(_ k: KernelContext) {
        let s = k.shapes
        let (g, algo) = runGeometry(s)
        let weight = k.prepared ?? UnsafePointer(k.input(1))
        let biasPointer = bias ? UnsafePointer(k.input(2)) : nil
        // A fused epilogue writes the absorbed consumer's output; when this node's own output is
        // read elsewhere too (backward needs the pre-activation), it is written plain and the
        // epilogue applied to it after.
        let keep = s.execution.epilogue != nil && k.outputs[0] != nil
        let target = s.execution.epilogue != nil && !keep ? k.epilogueOutput! : k.outputs[0]!
        let out = target.assumingMemoryBound(to: Float.self)
        let ep = epilogue(s.execution, keep: keep)
        let scratch = k.scratch?.assumingMemoryBound(to: Float.self)
        switch algo {
        case .winograd:
            Winograd.forward(g, input: k.input(0), transformedWeight: weight, bias: biasPointer, output: out, epilogue: ep,
                             scratch: scratch!, threads: k.threads)
        case .subpixel:
            SubpixelConvolution.forward(g, input: k.input(0), phaseWeights: weight, bias: biasPointer, output: out, epilogue: ep,
                                        scratch: scratch!, threads: k.threads)
        case .im2col:
            Convolution.forward(g, input: k.input(0), weight: weight, bias: biasPointer, output: out, epilogue: ep,
                                scratch: scratch, threads: k.threads)
        }
        if keep, let e = s.execution.epilogue, let y = k.epilogueOutput?.assumingMemoryBound(to: Float.self) {
            let o = s.outputs[0]
            switch e {
            case .activation(let a):
                Pointwise.activation(a.function, out, y, count: Cost.product(o), threads: k.threads)
            case .gate(let a):
                Pointwise.gate(a.function, out, y, batch: o[0], featureChannels: o[1] / 2, pixels: o[2] * o[3], threads: k.threads)
            }
        }
        if spectralNorm, let next = k.output(1) {
            let count = Cost.product(s.inputs[1])
            let w = Array(UnsafeBufferPointer(start: k.input(1), count: count))
            let u = Array(UnsafeBufferPointer(start: k.input(bias ? 3 : 2), count: outChannels))
            let r = SpectralNorm.normalize(weight: w, rows: outChannels, cols: count / outChannels, u: u)
            next.update(from: r.updatedU, count: outChannels)
        }
    }
}

extension Activation {
    /// The kernel's form of this activation.
    public var function: ActivationFunction {
        switch kind {
        case .elu: return .elu(alpha: alpha)
        case .relu: return .relu
        case .leakyRelu: return .leakyRelu(alpha: alpha)
        case .sigmoid: return .sigmoid
        case .tanh: return .tanh
        case .none: return .identity
        }
    }
}
