// resize_nearest: nearest-neighbour resize with the TF1 align-corners rule used by DeepFill
// (neuralgym resize): source = min(round_half_away(dst·(in-1)/(out-1)) in float32, in-1).
// Without align_corners the source is floor(dst·in/out). The output size is either
// floor(in·scale) (TF's int(in*scale)) or the size of a second input ("like").

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
                out.shape[axis] = Dim.floorDiv(Dim.mul(x.shape[axis], s.num), s.den, symbols)
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
}
