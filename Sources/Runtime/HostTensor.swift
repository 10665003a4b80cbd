// Tensors handed to and returned by the executor (NCHW, C order).

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
