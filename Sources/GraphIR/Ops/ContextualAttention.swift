// contextual_attention: DeepFill's patch-matching attention (official inpaint_ops, spec §3).
// Foreground f and background b are matched on a 1/rate downscale with ksize×ksize patches;
// the softmax weights then paste (2·rate)×(2·rate) raw patches of b back at full resolution.
// Outputs: the pasted features (shape of f) and, per foreground position of the downscaled
// grid, the int32 index of its best background patch (argmax, row-major on b's patch grid).

import Kernels

public struct ContextualAttention: OpContract {
    public var ksize: Int
    public var stride: Int
    public var rate: Int
    public var fuseK: Int
    public var softmaxScale: Float
    public var fuse: Bool
    /// The 1/rate downscale of f, b and the mask: TF1's align-corners nearest rule (official), or
    /// floor(dst·in/out) as PyTorch's F.interpolate(nearest) does in the port's networks.py.
    public var alignCorners: Bool

    public init(ksize: Int = 3, stride: Int = 1, rate: Int = 2, fuseK: Int = 3, softmaxScale: Float = 10, fuse: Bool = true,
                alignCorners: Bool = true) {
        self.ksize = ksize
        self.stride = stride
        self.rate = rate
        self.fuseK = fuseK
        self.softmaxScale = softmaxScale
        self.fuse = fuse
        self.alignCorners = alignCorners
    }

    enum CodingKeys: String, CodingKey { case ksize, stride, rate, fuseK, softmaxScale, fuse, alignCorners }

    /// Model files written before align_corners existed decode with the official rule.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(ksize: try c.decode(Int.self, forKey: .ksize), stride: try c.decode(Int.self, forKey: .stride),
                  rate: try c.decode(Int.self, forKey: .rate), fuseK: try c.decode(Int.self, forKey: .fuseK),
                  softmaxScale: try c.decode(Float.self, forKey: .softmaxScale), fuse: try c.decode(Bool.self, forKey: .fuse),
                  alignCorners: try c.decodeIfPresent(Bool.self, forKey: .alignCorners) ?? true)
    }

    public var opName: String { "contextual_attention" }
    public var inputNames: [String] { ["f", "b", "mask"] }
    public var minArity: Int { 2 }
    public var outputNames: [String] { ["y", "argmax"] }

    public func validate() -> [String] {
        var e: [String] = []
        if ksize < 1 || ksize > 15 { e.append("ksize must be in 1...15, got \(ksize)") }
        if stride < 1 || stride > 8 { e.append("stride must be in 1...8, got \(stride)") }
        if rate < 1 || rate > 8 { e.append("rate must be in 1...8, got \(rate)") }
        if fuseK < 1 || fuseK > 15 { e.append("fuse_k must be in 1...15, got \(fuseK)") }
        if !(softmaxScale > 0 && softmaxScale.isFinite) { e.append("softmax_scale must be positive, got \(softmaxScale)") }
        if fuse && stride != 1 {
            e.append("fuse needs stride 1 (the official fuse reshapes the scores onto the background grid)")
        }
        return e
    }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let f = inputs[0], b = inputs[1]
        try Check.image(f, "f")
        try Check.image(b, "b")
        try Check.sameDim(f.shape[1], b.shape[1], symbols, "f has \(f.shape[1]) channels but b has \(b.shape[1])")
        try Check.sameDim(f.shape[0], b.shape[0], symbols, "f and b must have the same batch, got \(f.shape[0]) and \(b.shape[0])")
        for (what, t) in [("f", f), ("b", b)] {
            for axis in 2...3 where t.shape[axis].isDivisible(by: rate, symbols) == false {
                throw OpError("\(what) size \(t.shape[axis]) is not a multiple of rate \(rate)",
                              hint: "DeepFill needs H and W multiples of 8 so that the H/4 features split evenly")
            }
        }
        if inputs.count == 3 {
            let m = inputs[2]
            try Check.image(m, "mask")
            guard m.shape[1].constantValue == 1 else { throw OpError("mask must have 1 channel, got \(m)") }
            try Check.sameDim(m.shape[2], b.shape[2], symbols, "mask height \(m.shape[2]) differs from b's \(b.shape[2])")
            try Check.sameDim(m.shape[3], b.shape[3], symbols, "mask width \(m.shape[3]) differs from b's \(b.shape[3])")
        }
        let gh = try Dim.floorDiv(f.shape[2], rate, symbols), gw = try Dim.floorDiv(f.shape[3], rate, symbols)
        return [f, TensorType(.int32, [f.shape[0], .constant(1), gh, gw])]
    }

    public func macs(inputs: [[Int]], outputs: [[Int]]) -> Int {
        let f = inputs[0], b = inputs[1]
        let c = f[1]
        let positions = (f[2] / rate) * (f[3] / rate)
        let gh = ((b[2] / rate) + stride - 1) / stride, gw = ((b[3] / rate) + stride - 1) / stride
        let patches = gh * gw
        let match = Cost.product([positions, patches, ksize, ksize, c])
        let paste = Cost.product([positions, patches, c, 2 * rate, 2 * rate])
        let fuseCost = fuse ? Cost.product([2, positions, patches, fuseK, fuseK]) : 0  // as the official k×k conv counts it
        return Cost.product([f[0], Cost.sum([match, paste, fuseCost])])
    }

    public var attributeSummary: [String] {
        ["ksize=\(ksize)", "stride=\(stride)", "rate=\(rate)", "fuse_k=\(fuseK)", "softmax_scale=\(softmaxScale)", "fuse=\(fuse)"]
            + (alignCorners ? [] : ["align_corners=false"])
    }

    public static var yamlNames: [String] { ["contextual_attention"] }
    public static func yamlFields(_ name: String) -> [String] { ["ksize", "stride", "rate", "fuse_k", "softmax_scale", "fuse", "align_corners"] }
    public static func yamlOutputs(_ name: String) -> [String] { ["y", "argmax"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        .contextualAttention(ContextualAttention(
            ksize: try r.int("ksize", 3), stride: try r.int("stride", 1), rate: try r.int("rate", 2),
            fuseK: try r.int("fuse_k", 3), softmaxScale: try r.float("softmax_scale", 10), fuse: try r.bool("fuse", true),
            alignCorners: try r.bool("align_corners", true)))
    }

    var parameters: AttentionParameters {
        AttentionParameters(ksize: ksize, stride: stride, rate: rate, fuseK: fuseK, softmaxScale: softmaxScale, fuse: fuse,
                            alignCorners: alignCorners)
    }

    public func scratchBytes(_ s: KernelShapes) -> Int {
        let f = s.inputs[0], b = s.inputs[1]
        let window = s.windows.map { w in (w.outputs[0].y0, w.outputs[0].y1, w.outputs[0].x0, w.outputs[0].x1) }
        return ContextualAttentionKernel.scratchBytes(parameters, channels: f[1], fh: f[2], fw: f[3], bh: b[2], bw: b[3], window: window)
    }

    public func eval(_ k: KernelContext) {
        let f = k.shapes.inputs[0], b = k.shapes.inputs[1]
        let argmax = k.outputs[1]!.assumingMemoryBound(to: Int32.self)
        let window = k.shapes.windows.map { w in (w.outputs[0].y0, w.outputs[0].y1, w.outputs[0].x0, w.outputs[0].x1) }
        ContextualAttentionKernel.forward(parameters, f: k.input(0), b: k.input(1), mask: k.inputs.count > 2 ? UnsafePointer(k.input(2)) : nil,
                                          batch: f[0], channels: f[1], fh: f[2], fw: f[3], bh: b[2], bw: b[3],
                                          y: k.output(0)!, argmax: argmax, window: window, scratch: k.scratch, threads: k.threads)
    }

    /// A window of y matches only the foreground positions that paste into it; f, b and the
    /// mask are read whole (every background patch takes part). argmax stays whole-sized.
    public func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule? {
        WindowRule(output: output, inputs: Array(repeating: .whole, count: shapes.inputs.count), readsWindows: true)
    }
}
