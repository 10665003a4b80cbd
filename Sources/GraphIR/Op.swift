// One contract per primitive (after MLX's Primitive): every op states, in its own file, its
// arity and parameters, its attribute ranges, how output types follow from input types, what it
// costs, the YAML fields it is written with, how it runs (its kernel, its scratch, whether it may
// write over an input, how its weights are prepared) and its vector-Jacobian product. The
// verifier, the YAML frontend, the passes, the printer, graphc inspect, the planner, the runtime
// and the autodiff pass all go through this contract, so a new op is one file here (plus a line
// in `Op`) and its kernels.
import Kernels

/// An error raised by an op's type rule; the verifier adds the node's location.
public struct OpError: Error {
    public var message: String
    public var hint: String?
    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
}

/// An input slot that takes a trained parameter or a state tensor, stored as `<node>.<suffix>`.
public struct ParameterSlot: Hashable, Sendable {
    public var input: Int
    public var suffix: String
    public var role: ParameterRole
    public init(input: Int, suffix: String, role: ParameterRole = .parameter) {
        self.input = input
        self.suffix = suffix
        self.role = role
    }
}

/// What the planner and the kernel see of a node at run time: concrete shapes and its plan.
public struct KernelShapes: Sendable {
    public var inputs: [[Int]]
    public var outputs: [[Int]]
    public var execution: NodeExecution
    public var threads: Int
    /// Set when the node computes a window of its output from windows of its inputs (only for
    /// ops whose `windowRule` reads windows); `inputs`/`outputs` are then the windows' shapes.
    public var windows: NodeWindows?
    public init(inputs: [[Int]], outputs: [[Int]], execution: NodeExecution, threads: Int, windows: NodeWindows? = nil) {
        self.inputs = inputs
        self.outputs = outputs
        self.execution = execution
        self.threads = threads
        self.windows = windows
    }
}

/// One kernel call: the node's buffers (32-bit elements, float or int), its scratch from the
/// arena, the weights its `prepare` made, and, for a node that absorbs its consumer's work (a
/// fused gate or activation), that consumer's output buffer. An output buffer is nil when the
/// value is internal to a fused group and read by no one.
public struct KernelContext {
    public var shapes: KernelShapes
    public var inputs: [UnsafeMutableRawPointer]
    public var outputs: [UnsafeMutableRawPointer?]
    public var epilogueOutput: UnsafeMutableRawPointer?
    public var scratch: UnsafeMutableRawPointer?
    public var prepared: UnsafePointer<Float>?

    public init(shapes: KernelShapes, inputs: [UnsafeMutableRawPointer], outputs: [UnsafeMutableRawPointer?],
                epilogueOutput: UnsafeMutableRawPointer?, scratch: UnsafeMutableRawPointer?, prepared: UnsafePointer<Float>?) {
        self.shapes = shapes
        self.inputs = inputs
        self.outputs = outputs
        self.epilogueOutput = epilogueOutput
        self.scratch = scratch
        self.prepared = prepared
    }

    public var threads: Int { shapes.threads }
    public func input(_ i: Int) -> UnsafeMutablePointer<Float> { inputs[i].assumingMemoryBound(to: Float.self) }
    public func output(_ i: Int) -> UnsafeMutablePointer<Float>? { outputs[i]?.assumingMemoryBound(to: Float.self) }
    public func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }
}

/// Reads an op's attributes from where the graph is written (the YAML frontend implements it).
public protocol AttributeReader {
    mutating func int(_ key: String, _ fallback: Int?) throws -> Int
    mutating func pair(_ key: String, _ fallback: Int?) throws -> [Int]
    mutating func float(_ key: String, _ fallback: Float?) throws -> Float
    mutating func bool(_ key: String, _ fallback: Bool) throws -> Bool
    mutating func rational(_ key: String) throws -> Rational?
    /// One of `choices`, or `fallback` when the field is absent.
    mutating func word(_ key: String, _ choices: [String], _ fallback: String) throws -> String
    /// A number, a word or a list, as written, for fields with their own grammar (padding).
    mutating func raw(_ key: String) throws -> AttributeValue?
    mutating func has(_ key: String) -> Bool
    func failure(_ key: String, _ message: String) -> Error
}

public indirect enum AttributeValue: Sendable, Equatable {
    case integer(Int)
    case word(String)
    case list([AttributeValue])
}

public protocol OpContract: Hashable, Codable, Sendable {
    /// Name used in YAML and in printed IR.
    var opName: String { get }
    /// Names of the inputs in order, parameter slots included; trailing ones may be optional.
    var inputNames: [String] { get }
    var minArity: Int { get }
    /// Names of the outputs; `node:name` selects one, a bare `node` means the first.
    var outputNames: [String] { get }
    /// The inputs that take stored parameters or state, created for the node by the frontend.
    var parameterSlots: [ParameterSlot] { get }
    /// Outputs that are the next value of a state input (output index → the slot's input index):
    /// spectral norm's u. A training step writes them back.
    var stateOutputs: [Int: Int] { get }
    /// Attribute range problems, as messages (checked before anything else reads the op).
    func validate() -> [String]
    func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType]
    /// The shape a parameter slot must have, given the types of the node's inputs (nil where
    /// not known yet); the verifier gives a parameter its shape from its consumer.
    func parameterShape(slot: ParameterSlot, inputs: [TensorType?]) -> [Int]?
    /// Multiply-accumulates for one run with concrete shapes.
    func macs(inputs: [[Int]], outputs: [[Int]]) -> Int
    /// Attributes as `key=value` pairs for the printer.
    var attributeSummary: [String] { get }

    // MARK: Running

    /// Bytes of scratch the kernel takes from the run's arena.
    func scratchBytes(_ shapes: KernelShapes) -> Int
    /// An elementwise op may write its output over an input of the same size read for the last time.
    var mayRunInPlace: Bool { get }
    /// Weights prepared once per parameter version (e.g. Winograd-transformed), given the
    /// parameter inputs' buffers by slot.
    func prepare(_ parameters: [UnsafePointer<Float>], _ shapes: KernelShapes) -> [Float]?
    func eval(_ k: KernelContext)
    /// Hole-aware execution (Window.swift): what the node reads to compute `output`, a window
    /// of its first output, given its whole shapes and the hole's box at the graph inputs' size.
    /// nil: the op runs on whole tensors only.
    func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule?

    // MARK: Differentiation

    /// Emits the nodes computing the cotangents of the inputs from those of the outputs (nil:
    /// no cotangent flows). Computes nothing. An input without gradient gets nil.
    func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?]

    // MARK: Writing it down

    /// The YAML op names this type builds, and the fields each accepts (besides op, in, name).
    static var yamlNames: [String] { get }
    static func yamlFields(_ name: String) -> [String]
    /// Output names of YAML op `name` (before its attributes are read, for `node:output` references).
    static func yamlOutputs(_ name: String) -> [String]
    static func build(_ name: String, _ attributes: inout any AttributeReader, inputCount: Int) throws -> Op
}

extension OpContract {
    public var minArity: Int { inputNames.count }
    public var outputNames: [String] { ["out"] }
    public var parameterSlots: [ParameterSlot] { [] }
    public var stateOutputs: [Int: Int] { [:] }
    public func validate() -> [String] { [] }
    public func parameterShape(slot: ParameterSlot, inputs: [TensorType?]) -> [Int]? { nil }
    public func macs(inputs: [[Int]], outputs: [[Int]]) -> Int { 0 }
    public var attributeSummary: [String] { [] }
    public func scratchBytes(_ shapes: KernelShapes) -> Int { 0 }
    public var mayRunInPlace: Bool { false }
    public func prepare(_ parameters: [UnsafePointer<Float>], _ shapes: KernelShapes) -> [Float]? { nil }
    public func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule? { nil }
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        throw OpError("\(opName) has no gradient")
    }
    public static func yamlFields(_ name: String) -> [String] { [] }
    public static func yamlOutputs(_ name: String) -> [String] { ["out"] }
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

    /// A parameter input's type against the shape the op needs.
    static func parameter(_ t: TensorType, _ shape: [Int], _ what: String) throws {
        guard t.dtype == .float32, t.concreteShape == shape else {
            throw OpError("\(what) must be float32\(shape), got \(t)")
        }
    }
}
