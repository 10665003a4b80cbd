// Tensors handed to and returned by the executor (NCHW, C order).
import GraphIR

public struct HostTensor: Sendable, Equatable {
    public enum Storage: Sendable, Equatable {
        case float32([Float])
        case int32([Int32])
    }

    public var shape: [Int]
    public var storage: Storage

    public init(shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count, "shape \(shape) does not match \(floats.count) values")
        self.shape = shape
        storage = .float32(floats)
    }

    public init(shape: [Int], ints: [Int32]) {
        precondition(shape.reduce(1, *) == ints.count, "shape \(shape) does not match \(ints.count) values")
        self.shape = shape
        storage = .int32(ints)
    }

    public var floats: [Float]? {
        if case .float32(let f) = storage { return f }
        return nil
    }

    public var ints: [Int32]? {
        if case .int32(let i) = storage { return i }
        return nil
    }

    /// Rows and columns `to` of an [N, C, H, W] tensor that holds window `from` of its grid
    /// (`to` inside `from`).
    func cropped(from: Window, to: Window) -> HostTensor {
        guard from != to, shape.count == 4 else { return self }
        let planes = shape[0] * shape[1]
        func crop<T>(_ v: [T]) -> [T] {
            var out: [T] = []
            out.reserveCapacity(planes * to.height * to.width)
            for p in 0..<planes {
                for y in to.y0..<to.y1 {
                    let row = (p * from.height + y - from.y0) * from.width - from.x0
                    out += v[(row + to.x0)..<(row + to.x1)]
                }
            }
            return out
        }
        let s = [shape[0], shape[1], to.height, to.width]
        switch storage {
        case .float32(let f): return HostTensor(shape: s, floats: crop(f))
        case .int32(let i): return HostTensor(shape: s, ints: crop(i))
        }
    }
}

/// A bad input to a run (wrong shape, size, memory need): the caller's fault, exit code 2.
public struct RunError: Error, CustomStringConvertible {
    public var message: String
    public var hint: String?
    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
    public var description: String { message + (hint.map { "\n  hint: \($0)" } ?? "") }
}
