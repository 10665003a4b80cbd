// conv2d and sn_conv2d: 2-D convolution with bias over NCHW, weights OIHW.
// Padding follows the DeepFill code: TF 'SAME' (asymmetric on stride 2: floor(total/2) before),
// explicit per-side zeros, or reflect (pre-pad dilation·(k-1)/2 by mirroring, then VALID).
// sn_conv2d divides the kernel by its spectral norm, estimated with one power iteration from
// the stored vector u (DeepFill's neuralgym kernel_spectral_norm).

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

/// What a compile pass folded into a convolution's output (GateFusion, ActivationFusion): an
/// activation, or DeepFill's gate — then the convolution writes act(first half)·sigmoid(second
/// half) of its outChannels, i.e. outChannels/2 channels. Never written in YAML.
public enum ConvFusion: Hashable, Codable, Sendable, CustomStringConvertible {
    case none
    case activation(Activation)
    case gate(Activation)

    public var description: String {
        switch self {
        case .none: return "none"
        case .activation(let a): return a.description
        case .gate(let a): return "gate(\(a))"
        }
    }
}

/// How the runtime computes a convolution: tiled im2col + SGEMM, or Winograd F(4×4,3×3)
/// (chosen by the WinogradSelection pass for 3×3 stride-1 convolutions). Never written in YAML.
public enum ConvAlgorithm: String, Hashable, Codable, Sendable {
    case im2col
    case winograd
}

public struct Conv2D: OpContract {
    public var outChannels: Int
    public var kernel: [Int]    // [kh, kw]
    public var stride: [Int]    // [sh, sw]
    public var dilation: [Int]  // [dh, dw]
    public var padding: Padding
    public var bias: Bool
    public var spectralNorm: Bool
    public var fused: ConvFusion = .none
    public var algorithm: ConvAlgorithm = .im2col
    /// 2 when UpsampleFolding folded a ×2 nearest upsample of the input into this conv: it reads
    /// the half-size input as if every pixel were repeated 2×2. Never written in YAML.
    public var inputUpsample = 1

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

    enum CodingKeys: String, CodingKey { case outChannels, kernel, stride, dilation, padding, bias, spectralNorm, fused, algorithm, inputUpsample }

    /// Model files written before fusion existed decode unfused.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(outChannels: try c.decode(Int.self, forKey: .outChannels), kernel: try c.decode([Int].self, forKey: .kernel),
                  stride: try c.decode([Int].self, forKey: .stride), dilation: try c.decode([Int].self, forKey: .dilation),
                  padding: try c.decode(Padding.self, forKey: .padding), bias: try c.decode(Bool.self, forKey: .bias),
                  spectralNorm: try c.decode(Bool.self, forKey: .spectralNorm))
        fused = try c.decodeIfPresent(ConvFusion.self, forKey: .fused) ?? .none
        algorithm = try c.decodeIfPresent(ConvAlgorithm.self, forKey: .algorithm) ?? .im2col
        inputUpsample = try c.decodeIfPresent(Int.self, forKey: .inputUpsample) ?? 1
    }

    /// Channels of the output value: outChannels, or half of them with a fused gate.
    public var producedChannels: Int {
        if case .gate = fused { return outChannels / 2 }
        return outChannels
    }

    public var opName: String { spectralNorm ? "sn_conv2d" : "conv2d" }
    public var inputNames: [String] { ["x"] }

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
        if case .gate = fused, outChannels % 2 != 0 { errors.append("a fused gate needs an even out, got \(outChannels)") }
        if inputUpsample != 1 && inputUpsample != 2 { errors.append("inputUpsample must be 1 or 2, got \(inputUpsample)") }
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

    func outDim(_ d: Dim, axis: Int, _ symbols: SymbolTable) -> Dim {
        let span = dilation[axis] * (kernel[axis] - 1)
        switch padding {
        case .tfSame: return Dim.ceilDiv(d, stride[axis], symbols)
        case .reflect: return Dim.add(Dim.floorDiv(Dim.add(d, -1), stride[axis], symbols), 1)
        case .explicit(let t, let b, let l, let r):
            let total = axis == 0 ? t + b : l + r
            return Dim.add(Dim.floorDiv(Dim.add(d, total - span - 1), stride[axis], symbols), 1)
        }
    }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        var x = inputs[0]
        try Check.image(x, "input")
        if inputUpsample > 1 {
            // The folded upsample: TF1's nearest ×2 is pixel replication for every side up to
            // 32768 (checked exhaustively), the largest image graphrun reads.
            for axis in 2...3 {
                if let v = x.shape[axis].constantValue, v > 32768 {
                    throw OpError("a folded ×2 upsample is exact only up to 32768 pixels, got \(v)", hint: "compile with --disable upsample-folding")
                }
                x.shape[axis] = Dim.mul(x.shape[axis], inputUpsample)
            }
        }
        let cin = try Check.channels(x, "input")
        let weights = outChannels.multipliedReportingOverflow(by: cin * kernel[0] * kernel[1])
        guard !weights.overflow, weights.partialValue <= 1 << 31 else {
            throw OpError("the weight [\(outChannels), \(cin), \(kernel[0]), \(kernel[1])] would hold more than 2^31 values",
                          hint: "check the channel counts and kernel size")
        }
        let oh = outDim(x.shape[2], axis: 0, symbols), ow = outDim(x.shape[3], axis: 1, symbols)
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
        return [TensorType(.float32, [x.shape[0], .constant(producedChannels), oh, ow])]
    }

    public func weightSpecs(_ inputs: [TensorType]) -> [WeightSpec] {
        guard inputs.count == 1, inputs[0].rank == 4, let cin = inputs[0].shape[1].constantValue else { return [] }
        var specs = [WeightSpec("weight", [outChannels, cin, kernel[0], kernel[1]])]
        if bias { specs.append(WeightSpec("bias", [outChannels])) }
        if spectralNorm { specs.append(WeightSpec("u", [outChannels], role: .state)) }
        return specs
    }

    public func macs(inputs: [[Int]], outputs: [[Int]]) -> Int {
        let o = outputs[0]  // a fused gate halves the output, not the work: count outChannels
        return Cost.product([o[0], outChannels, o[2], o[3], inputs[0][1], kernel[0], kernel[1]])
    }

    public var attributeSummary: [String] {
        var a = ["out=\(outChannels)", "kernel=\(Conv2D.pair(kernel))", "stride=\(Conv2D.pair(stride))",
                 "dilation=\(Conv2D.pair(dilation))", "padding=\(padding)"]
        if !bias { a.append("bias=false") }
        if fused != .none { a.append("fused=\(fused)") }
        if algorithm != .im2col { a.append("algorithm=\(algorithm.rawValue)") }
        if inputUpsample != 1 { a.append("input_upsample=\(inputUpsample)") }
        return a
    }

    static func pair(_ v: [Int]) -> String { v.count == 2 && v[0] == v[1] ? "\(v[0])" : "\(v)" }
}
