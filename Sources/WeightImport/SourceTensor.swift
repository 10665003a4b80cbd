// What every checkpoint reader produces: named tensors in the file's own naming and layout,
// grouped the way the file groups them (a PyTorch {'G': ..., 'D': ...} dict, TF's
// inpaint_net/ and discriminator/ scopes). Values are read only when a tensor is used, so the
// optimiser slots of a training checkpoint are never decoded.
public struct SourceTensor {
    public var name: String
    public var shape: [Int]
    /// The element type as the file names it ("float32", "int64", ...).
    public var dtype: String
    /// Reads, checks and converts the values to float32; throws for non-float dtypes.
    public var load: () throws -> [Float]

    public init(name: String, shape: [Int], dtype: String, load: @escaping () throws -> [Float]) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.load = load
    }
}

public struct TensorGroup {
    /// "G", "D", "inpaint_net", ... or "" for a flat file.
    public var name: String
    public var tensors: [SourceTensor]

    public init(name: String, tensors: [SourceTensor]) {
        self.name = name
        self.tensors = tensors
    }
}

/// Converting raw little-endian element bytes to float32.
enum ElementDecoding {
    static func floats(_ raw: ArraySlice<UInt8>, dtype: String, count: Int) -> [Float]? {
        // The callers check the length against the file's claims; reading past `raw` unchecked
        // would be memory-unsafe, so a mismatch that got through traps instead.
        let width = ["float32": 4, "float64": 8, "float16": 2, "bfloat16": 2][dtype] ?? 0
        precondition(count >= 0 && raw.count >= count * width, "\(count) \(dtype) elements from \(raw.count) bytes")
        var out = [Float](repeating: 0, count: count)
        raw.withUnsafeBytes { src in
            switch dtype {
            case "float32":
                for i in 0..<count { out[i] = Float(bitPattern: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
            case "float64":
                for i in 0..<count { out[i] = Float(Double(bitPattern: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)) }
            case "float16":
                for i in 0..<count { out[i] = Float(half: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
            case "bfloat16":
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16) }
            default:
                break
            }
        }
        return ["float32", "float64", "float16", "bfloat16"].contains(dtype) ? out : nil
    }
}

extension Float {
    /// IEEE binary16 → binary32, done by hand so it works where Float16 is unavailable.
    init(half h: UInt16) {
        let sign = UInt32(h >> 15) << 31
        let exp = Int((h >> 10) & 0x1F), mant = UInt32(h & 0x3FF)
        if exp == 0 {
            self = (sign != 0 ? -1 : 1) * Float(mant) * 0x1p-24
        } else if exp == 31 {
            self = Float(bitPattern: sign | 0x7F80_0000 | mant << 13)
        } else {
            self = Float(bitPattern: sign | UInt32(exp + 112) << 23 | mant << 13)
        }
    }
}

/// The number of elements of a shape, or nil if it overflows (a hostile file can claim anything).
func checkedCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        n = p
    }
    return n
}
