// One contract per primitive (after MLX's Primitive): every op states its arity, its attribute
// ranges, how output types follow from input types, which weights it owns and what it costs.
// The verifier, the printer, graphc inspect and the runtime all go through this contract, so a
// new op is one file here plus one kernel.

/// A weight tensor an op owns, stored as `<node>.<suffix>`.
public struct WeightSpec: Hashable, Sendable {
    public enum Role: String, Codable, Sendable {
        case parameter  // trained
        case state      // not trained, updated by the forward pass (spectral-norm u)
    }

    public var suffix: String
    public var shape: [Int]
    public var role: Role

    public init(_ suffix: String, _ shape: [Int], role: Role = .parameter) {
        self.suffix = suffix
        self.shape = shape
        self.role = role
    }
}

/// An error raised by an op's type rule; the verifier adds the node's location.
public struct OpError: Error {
    public var message: String
    public var hint: String?
    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
}

public protocol OpContract: Hashable, Codable, Sendable {
    /// Name used in YAML and in printed IR.
    var opName: String { get }
    /// Names of the tensor inputs, in order; trailing ones may be optional (see `minArity`).
    var inputNames: [String] { get }
    var minArity: Int { get }
    /// Names of the outputs; `node:name` selects one, a bare `node` means the first.
    var outputNames: [String] { get }
    /// Attribute range problems, as messages.
    func validate() -> [String]
    func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType]
    func weightSpecs(_ inputs: [TensorType]) -> [WeightSpec]
    /// Multiply-accumulates for one run with concrete shapes.
    func macs(inputs: [[Int]], outputs: [[Int]]) -> Int
    /// Attributes as `key=value` pairs for the printer.
    var attributeSummary: [String] { get }
}

extension OpContract {
    public var minArity: Int { inputNames.count }
    public var outputNames: [String] { ["out"] }
    public func validate() -> [String] { [] }
    public func weightSpecs(_ inputs: [TensorType]) -> [WeightSpec] { [] }
    public func macs(inputs: [[Int]], outputs: [[Int]]) -> Int { 0 }
    public var attributeSummary: [String] { [] }
}

/// The closed set of primitives. Codable, so model.bin stores the graph as written.
public enum Op: Hashable, Codable, Sendable {
    case conv2d(Conv2D)
    case gate(Gate)
    case resizeNearest(ResizeNearest)
    case binary(Binary)
    case unary(Unary)
    case concat(Concat)
    case slice(Slice)
    case fill(Fill)
    case composite(Composite)
    case contextualAttention(ContextualAttention)
    case flatten(Flatten)

    public var contract: any OpContract {
        switch self {
        case .conv2d(let o): return o
        case .gate(let o): return o
        case .resizeNearest(let o): return o
        case .binary(let o): return o
        case .unary(let o): return o
        case .concat(let o): return o
        case .slice(let o): return o
        case .fill(let o): return o
        case .composite(let o): return o
        case .contextualAttention(let o): return o
        case .flatten(let o): return o
        }
    }

    public var name: String { contract.opName }
}

/// Shared checks for NCHW activations.
enum Check {
    static func image(_ t: TensorType, _ what: String, dtype: DType = .float32) throws {
        guard t.rank == 4 else {
            throw OpError("\(what) must be an image tensor [N, C, H, W], got \(t)")
        }
        guard t.dtype == dtype else { throw OpError("\(what) must be \(dtype), got \(t.dtype)") }
    }

    static func channels(_ t: TensorType, _ what: String) throws -> Int {
        guard let c = t.shape[1].constantValue else {
            throw OpError("\(what) has a symbolic channel count \(t.shape[1])")
        }
        return c
    }

    static func sameDim(_ a: Dim, _ b: Dim, _ symbols: SymbolTable, _ message: @autoclosure () -> String) throws {
        guard a.equals(b, symbols) else { throw OpError(message()) }
    }
}
