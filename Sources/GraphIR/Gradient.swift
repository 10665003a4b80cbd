// What an op's vector-Jacobian product writes into: new nodes, named `<node>/vjp/<k>` and placed
// at the forward node's YAML location, so diagnostics about backward nodes still point at the
// line that caused them. A vjp only emits nodes; it computes nothing.
import Kernels

public struct GradientBuilder {
    public private(set) var nodes: [Node] = []
    /// Types of every value known so far (the forward graph's and the emitted nodes').
    var types: [ValueRef: TensorType]
    let symbols: SymbolTable
    var counters: [String: Int] = [:]
    var forward: Node?
    /// Values a gradient must reach (those that depend on a differentiated parameter or input);
    /// a vjp skips the cotangents of the others.
    let needed: Set<ValueRef>
    /// How sn_conv2d's gradient treats the power iteration.
    public let spectralNormMode: SpectralNormGradientMode

    public init(types: [ValueRef: TensorType], symbols: SymbolTable, needed: Set<ValueRef> = [],
                spectralNormMode: SpectralNormGradientMode = .full) {
        self.types = types
        self.symbols = symbols
        self.needed = needed
        self.spectralNormMode = spectralNormMode
    }

    /// The node whose vjp is being written (names and locations come from it).
    public mutating func begin(_ node: Node) { forward = node }

    public func type(of r: ValueRef) -> TensorType { types[r]! }

    /// Whether a gradient must flow into this value.
    public func needs(_ r: ValueRef) -> Bool { needed.contains(r) }

    /// Emits `op` on `inputs` as the next `<forward>/vjp/<k>` node; returns its outputs.
    @discardableResult
    public mutating func emit(_ op: Op, _ inputs: [ValueRef], tag: String? = nil) throws -> [ValueRef] {
        let base = forward?.name ?? "grad"
        let k = counters[base, default: 0]
        counters[base] = k + 1
        let name = "\(base)/vjp/\(k)" + (tag.map { "_\($0)" } ?? "")
        let node = Node(name: name, op: op, inputs: inputs, location: forward?.location)
        let outs: [TensorType]
        do { outs = try op.contract.inferTypes(inputs.map { types[$0]! }, symbols) } catch let e as OpError {
            throw Diagnostic("vjp of node '\(base)' emitted \(op.name) with inconsistent types: \(e.message)", at: forward?.location)
        }
        nodes.append(node)
        return outs.enumerated().map { k, t in
            let r = ValueRef(name, output: k)
            types[r] = t
            return r
        }
    }

    /// `emit` for ops with one output.
    public mutating func emit1(_ op: Op, _ inputs: [ValueRef], tag: String? = nil) throws -> ValueRef {
        try emit(op, inputs, tag: tag)[0]
    }
}
