// The graph: declared size symbols, typed inputs, nodes, named outputs. Plain data (Codable,
// so model.bin can carry it); checking is the verifier's job.

/// A reference to one output of a node or to a graph input: `name` or `name:output`.
public struct ValueRef: Hashable, Codable, Sendable, CustomStringConvertible {
    public var node: String
    public var output: Int

    public init(_ node: String, output: Int = 0) {
        self.node = node
        self.output = output
    }

    public var description: String { output == 0 ? node : "\(node):\(output)" }
}

/// A size symbol such as H, with the step its values must be a multiple of.
public struct SymbolDecl: Hashable, Codable, Sendable {
    public var name: String
    public var multipleOf: Int
    public init(name: String, multipleOf: Int = 1) {
        self.name = name
        self.multipleOf = multipleOf
    }
}

/// One dimension of a declared input: a number or a symbol.
public enum InputDim: Hashable, Codable, Sendable, CustomStringConvertible {
    case fixed(Int)
    case symbol(String)

    public var dim: Dim {
        switch self {
        case .fixed(let v): return .constant(v)
        case .symbol(let s): return .symbol(s)
        }
    }

    public var description: String {
        switch self {
        case .fixed(let v): return "\(v)"
        case .symbol(let s): return s
        }
    }
}

public struct GraphInput: Hashable, Codable, Sendable {
    public var name: String
    public var dtype: DType
    /// [C, H, W]; the batch N is implicit.
    public var dims: [InputDim]
    public var location: SourceLocation?

    public init(name: String, dtype: DType = .float32, dims: [InputDim], location: SourceLocation? = nil) {
        self.name = name
        self.dtype = dtype
        self.dims = dims
        self.location = location
    }

    public var type: TensorType { TensorType(dtype, [.symbol(Graph.batchSymbol)] + dims.map(\.dim)) }
}

public struct Node: Hashable, Codable, Sendable {
    public var name: String
    public var op: Op
    public var inputs: [ValueRef]
    public var location: SourceLocation?

    public init(name: String, op: Op, inputs: [ValueRef], location: SourceLocation? = nil) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.location = location
    }
}

public struct GraphOutput: Hashable, Codable, Sendable {
    public var name: String
    public var value: ValueRef
    public var location: SourceLocation?

    public init(name: String, value: ValueRef, location: SourceLocation? = nil) {
        self.name = name
        self.value = value
        self.location = location
    }
}

public struct Graph: Hashable, Codable, Sendable {
    public static let batchSymbol = "N"

    public var name: String
    public var symbols: [SymbolDecl]
    public var inputs: [GraphInput]
    /// Stored tensors read as values (weights, biases, spectral-norm u).
    public var parameters: [ParameterDecl]
    public var nodes: [Node]
    public var outputs: [GraphOutput]
    /// How the runtime computes nodes, by node name (absent: the plain way).
    public var execution: [String: NodeExecution]
    /// The start of the graph file, for problems of the graph as a whole.
    public var location: SourceLocation?

    public init(name: String, symbols: [SymbolDecl] = [], inputs: [GraphInput], parameters: [ParameterDecl] = [], nodes: [Node],
                outputs: [GraphOutput], execution: [String: NodeExecution] = [:], location: SourceLocation? = nil) {
        self.name = name
        self.symbols = symbols
        self.inputs = inputs
        self.parameters = parameters
        self.nodes = nodes
        self.outputs = outputs
        self.execution = execution
        self.location = location
    }

    enum CodingKeys: String, CodingKey { case name, symbols, inputs, parameters, nodes, outputs, execution, location }

    /// Files from format 1.0/1.1 have neither parameters nor an execution plan (ModelReader
    /// migrates them).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        symbols = try c.decode([SymbolDecl].self, forKey: .symbols)
        inputs = try c.decode([GraphInput].self, forKey: .inputs)
        parameters = try c.decodeIfPresent([ParameterDecl].self, forKey: .parameters) ?? []
        nodes = try c.decode([Node].self, forKey: .nodes)
        outputs = try c.decode([GraphOutput].self, forKey: .outputs)
        execution = try c.decodeIfPresent([String: NodeExecution].self, forKey: .execution) ?? [:]
        location = try c.decodeIfPresent(SourceLocation.self, forKey: .location)
    }

    /// The plan of a node (the plain one when none is recorded).
    public func execution(of node: String) -> NodeExecution { execution[node] ?? NodeExecution() }

    public var symbolTable: SymbolTable {
        var steps = [Graph.batchSymbol: 1]
        for s in symbols { steps[s.name] = s.multipleOf }
        for i in inputs { for case .symbol(let s) in i.dims where steps[s] == nil { steps[s] = 1 } }
        return SymbolTable(steps: steps)
    }

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }

    /// Symbol values for running the graph on one image of height × width (batch 1): every
    /// symbol in an input's height position gets `height`, in its width position `width`.
    public func bindings(height: Int, width: Int) -> [String: Int] {
        var b = [Graph.batchSymbol: 1]
        for input in inputs {
            for (axis, dim) in input.dims.enumerated() { if case .symbol(let s) = dim { b[s] = axis == 1 ? height : width } }
        }
        return b
    }

    /// Whether the inputs can take an image of height × width: a fixed number in an input's
    /// height or width position must equal it (a graph whose inputs are [3, 128, 128], like
    /// global_gan's, runs at 128×128 only). Symbols are checked when they are bound.
    public func takesSize(height: Int, width: Int) -> Bool {
        inputs.allSatisfy { input in
            input.dims.enumerated().allSatisfy { axis, dim in
                guard axis > 0, case .fixed(let v) = dim else { return true }
                return v == (axis == 1 ? height : width)
            }
        }
    }

    /// `bindings(height:width:)` for a size the inputs can take; a size that a fixed input
    /// dimension rules out is an error (binding it would silently leave the fixed size in place).
    public func checkedBindings(height: Int, width: Int) throws -> [String: Int] {
        guard takesSize(height: height, width: width) else {
            let declared = inputs.map { "\($0.name) [\($0.dims.map(\.description).joined(separator: ", "))]" }.joined(separator: ", ")
            throw Diagnostic("graph '\(name)' cannot take \(width)x\(height) (width x height): its inputs have a fixed size (\(declared))",
                             hint: "a parameter may set that size, e.g. --param size=N for global_gan")
        }
        return bindings(height: height, width: width)
    }
}
