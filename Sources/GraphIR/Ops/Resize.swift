// resize_nearest: nearest-neighbour resize with the TF1 align-corners rule used by DeepFill
// (neuralgym resize): source = min(round_half_away(dst·(in-1)/(out-1)) in float32, in-1).
// Without align_corners the source is floor(dst·in/out). The output size is either
// floor(in·scale) (TF's int(in*scale)) or the size of a second input ("like").

import Kernels

public struct ResizeNearest: OpContract {
    /// Scale as a fraction; nil when the size comes from the second input.
    public var scaleNum: Int?
    public var scaleDen: Int?
    public var alignCorners: Bool

    public init(scale: Rational?, alignCorners: Bool = true) {
        scaleNum = scale?.num
        scaleDen = scale?.den
        self.alignCorners = alignCorners
    }

    public var scale: Rational? { scaleNum.map { Rational($0, scaleDen ?? 1) } }
    public var opName: String { "resize_nearest" }
    public var inputNames: [String] { scale == nil ? ["x", "like"] : ["x"] }

    public func validate() -> [String] {
        guard let n = scaleNum else { return scaleDen == nil ? [] : ["a scale denominator without a numerator"] }
        let d = scaleDen ?? 1
        // The raw fields first: a hand-made model.bin may hold anything, even a zero denominator.
        guard (1...4096).contains(n), (1...4096).contains(d), n <= 64 * d, 64 * n >= d else {
            return ["scale must be in 1/64...64, got \(n)/\(d)"]
        }
        return []
    }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let x = inputs[0]
        try Check.image(x, "input", dtype: x.dtype)
        var out = x
        if let s = scale {
            for axis in 2...3 {
                out.shape[axis] = try Dim.floorDiv(try Dim.mul(x.shape[axis], s.num), s.den, symbols)
                if let v = out.shape[axis].constantValue, v < 1 {
                    throw OpError("scale \(s.num)/\(s.den) makes an empty output from \(x)")
                }
            }
        } else {
            let like = inputs[1]
            guard like.rank == 4 else { throw OpError("'like' must be an image tensor, got \(like)") }
            out.shape[2] = like.shape[2]
            out.shape[3] = like.shape[3]
        }
        return [out]
    }

    public var attributeSummary: [String] {
        var a: [String] = []
        if let s = scale { a.append(s.den == 1 ? "scale=\(s.num)" : "scale=\(s.num)/\(s.den)") }
        if !alignCorners { a.append("align_corners=false") }
        return a
    }

    /// A ×2 nearest upsample is pixel replication under both rules (TF1 align-corners: checked
    /// exhaustively for every side up to 32768), so a convolution can read its input instead.
    public var isPixelReplication: Bool { scaleNum == 2 && (scaleDen ?? 1) == 1 }

    public static var yamlNames: [String] { ["resize_nearest"] }
    public static func yamlFields(_ name: String) -> [String] { ["scale", "like", "align_corners"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        let scale = try r.rational("scale")
        if (scale == nil) == !r.has("like") {
            throw r.failure("scale", "give either scale (2, 0.5, ...) or like: <tensor>, not both or neither")
        }
        return .resizeNearest(ResizeNearest(scale: scale, alignCorners: try r.bool("align_corners", true)))
    }

    public func eval(_ k: KernelContext) {
        let x = k.shapes.inputs[0], y = k.shapes.outputs[0]
        Layout.resizeNearest(k.inputs[0].assumingMemoryBound(to: UInt32.self), k.outputs[0]!.assumingMemoryBound(to: UInt32.self),
                             planes: x[0] * x[1], inHeight: x[2], inWidth: x[3], outHeight: y[2], outWidth: y[3],
                             alignCorners: alignCorners, threads: k.threads)
    }
}

extension ResizeNearest {
    /// Computed whole (a mask's downscale: cheap), but a `like` input only lends its shape, so
    /// it does not make its producer whole.
    public func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule? {
        let y = shapes.outputs[0]
        return WindowRule(output: .whole(y[2], y[3]), inputs: scale == nil ? [.whole, .none] : [.whole], readsWindows: false)
    }

    /// Scatter-add back to the input; a `like` input carries no gradient.
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        var grads = [ValueRef?](repeating: nil, count: node.inputs.count)
        if let dy = cotangents[0] { grads[0] = try g.emit1(.layoutGrad(LayoutGrad(.resize(alignCorners: alignCorners))), [dy, node.inputs[0]]) }
        return grads
    }
}
