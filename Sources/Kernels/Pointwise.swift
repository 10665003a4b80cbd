// Elementwise kernels: activations, the DeepFill gate, broadcasting add/sub/mul, the mask
// composite and constant fill. Large tensors are cut into fixed chunks spread over threads.
import CKernels
import Foundation

public enum ActivationFunction: Sendable, Equatable {
    case elu(alpha: Float)
    case relu
    case leakyRelu(alpha: Float)
    case sigmoid
    case tanh
    case identity

    /// The C kernels' code and parameter for this function.
    var code: (Int32, Float) {
        switch self {
        case .elu(let a): return (Int32(FG_ELU.rawValue), a)
        case .relu: return (Int32(FG_RELU.rawValue), 0)
        case .leakyRelu(let a): return (Int32(FG_LEAKY_RELU.rawValue), a)
        case .sigmoid: return (Int32(FG_SIGMOID.rawValue), 0)
        case .tanh: return (Int32(FG_TANH.rawValue), 0)
        case .identity: return (Int32(FG_IDENTITY.rawValue), 0)
        }
    }

    /// y[i] = f(x[i] + bias) (x and y may be the same buffer).
    @inline(__always) public func apply(_ x: UnsafePointer<Float>, bias: Float = 0, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let (c, a) = code
        fg_activate(c, a, x, bias, y, count)
    }

    /// out[i] = f(feature[i] + fb) · sigmoid(gate[i] + gb) (out may be the feature buffer).
    @inline(__always) public func gate(feature: UnsafePointer<Float>, bias fb: Float = 0, gate: UnsafePointer<Float>, bias gb: Float = 0,
                                       _ out: UnsafeMutablePointer<Float>, count: Int) {
        let (c, a) = code
        fg_gate(c, a, feature, fb, gate, gb, out, count)
    }
}

public enum Pointwise {
    static let chunk = 1 << 16

    /// Equal chunks of at most 64 Ki elements, at least 32 of them when each still has 4 Ki.
    public static func chunked(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let pieces = max((count + chunk - 1) / chunk, min(32, count / 4096), 1)
        let size = (count + pieces - 1) / pieces
        Parallel.forEach(pieces: pieces, threads: threads) { p, _ in
            let lo = p * size
            if lo < count { body(lo..<min(count, lo + size)) }
        }
    }

    /// `chunked` over `rows` rows of `length` elements laid end to end, each chunk handed over
    /// row by row: body(row, first element in the row, elements, flat index of the first).
    public static func chunkedRows(_ rows: Int, length: Int, threads: Int, _ body: (_ row: Int, _ at: Int, _ count: Int, _ flat: Int) -> Void) {
        chunked(rows * length, threads: threads) { r in
            var i = r.lowerBound
            while i < r.upperBound {
                let at = i % length, n = min(length - at, r.upperBound - i)
                body(i / length, at, n, i)
                i += n
            }
        }
    }

    public static func activation(_ f: ActivationFunction, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                  count: Int, threads: Int) {
        chunked(count, threads: threads) { r in f.apply(x + r.lowerBound, y + r.lowerBound, count: r.count) }
    }

    /// y[n, c] = act(x[n, c]) · sigmoid(x[n, c + C]) for C = channels/2 feature channels.
    public static func gate(_ f: ActivationFunction, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                            batch: Int, featureChannels C: Int, pixels P: Int, threads: Int) {
        Parallel.forEach(pieces: batch * C, threads: threads) { piece, _ in
            let n = piece / C, c = piece % C
            let feat = x + (n * 2 * C + c) * P, gates = feat + C * P, out = y + (n * C + c) * P
            f.gate(feature: feat, gate: gates, out, count: P)
        }
    }

    public enum BinaryOp: Sendable { case add, sub, mul }

    /// out = a ∘ b over 4-D shapes with numpy broadcasting of size-1 dimensions.
    public static func binary(_ op: BinaryOp, _ a: UnsafePointer<Float>, shapeA: [Int], _ b: UnsafePointer<Float>, shapeB: [Int],
                              _ out: UnsafeMutablePointer<Float>, shape: [Int], threads: Int) {
        func strides(_ s: [Int]) -> [Int] {
            var st = [Int](repeating: 0, count: s.count), acc = 1
            for i in stride(from: s.count - 1, through: 0, by: -1) { st[i] = s[i] == 1 ? 0 : acc; acc *= s[i] }
            return st
        }
        let sa = strides(shapeA), sb = strides(shapeB)
        let inner = shape.last ?? 1, rows = shape.dropLast().reduce(1, *)
        let ia = sa.last ?? 0, ib = sb.last ?? 0
        Parallel.forEach(pieces: rows, threads: rows * inner >= chunk ? threads : 1) { r, _ in
            var rem = r, offA = 0, offB = 0
            for d in stride(from: shape.count - 2, through: 0, by: -1) {
                let i = rem % shape[d]
                rem /= shape[d]
                offA += i * sa[d]
                offB += i * sb[d]
            }
            let pa = a + offA, pb = b + offB, po = out + r * inner
            switch op {
            case .add: for i in 0..<inner { po[i] = pa[i * ia] + pb[i * ib] }
            case .sub: for i in 0..<inner { po[i] = pa[i * ia] - pb[i * ib] }
            case .mul: for i in 0..<inner { po[i] = pa[i * ia] * pb[i * ib] }
            }
        }
    }

    /// out[n, c] = fill·m + known·(1 − m), with the mask [N or 1, 1, H, W].
    public static func composite(fill: UnsafePointer<Float>, known: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                 maskBatch: Int, out: UnsafeMutablePointer<Float>, batch: Int, channels: Int, pixels P: Int, threads: Int) {
        chunkedRows(batch * channels, length: P, threads: threads) { plane, j, count, i in
            let m = mask + (maskBatch == 1 ? 0 : plane / channels * P) + j, f = fill + i, k = known + i, o = out + i
            for t in 0..<count { o[t] = f[t] * m[t] + k[t] * (1 - m[t]) }
        }
    }

    public static func fill(_ out: UnsafeMutablePointer<Float>, count: Int, value: Float, threads: Int) {
        chunked(count, threads: threads) { r in (out + r.lowerBound).update(repeating: value, count: r.count) }
    }
}
