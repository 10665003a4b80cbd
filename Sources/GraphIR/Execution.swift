// The execution plan: how the runtime computes a node, kept apart from what the node computes.
// The IR stays logical (a gated convolution is a conv2d and a gate); the compile passes decide,
// one rule each, that a conv absorbs the gate after it (a fused epilogue), that it reads its
// input through a ×2 upsample that is never materialised, or that it runs as Winograd or as
// sub-pixel phases. model.bin stores the plan next to the graph.

/// A trained tensor (`parameter`) or one the forward pass updates (`state`: spectral-norm u).
public enum ParameterRole: String, Codable, Sendable {
    case parameter
    case state
}

/// A stored tensor the graph reads as a value: `<node>.weight`, `<node>.bias`, `<node>.u`.
public struct ParameterDecl: Hashable, Codable, Sendable {
    public var name: String
    public var role: ParameterRole
    /// Concrete; nil until the verifier infers it from the consuming op.
    public var shape: [Int]?
    public var location: SourceLocation?

    public init(name: String, role: ParameterRole = .parameter, shape: [Int]? = nil, location: SourceLocation? = nil) {
        self.name = name
        self.role = role
        self.shape = shape
        self.location = location
    }
}

/// How a convolution's arithmetic is done.
public enum ConvAlgorithm: String, Hashable, Codable, Sendable {
    case im2col
    case winograd
    case subpixel
}

/// An activation folded into a producer's epilogue: plain, or DeepFill's gate (act of the
/// first half of the channels times sigmoid of the second half).
public enum Epilogue: Hashable, Codable, Sendable, CustomStringConvertible {
    case activation(Activation)
    case gate(Activation)

    public var description: String {
        switch self {
        case .activation(let a): return a.description
        case .gate(let a): return "gate(\(a))"
        }
    }
}

public struct NodeExecution: Hashable, Codable, Sendable {
    /// The consumer whose work this node's kernel does after its own (it writes that consumer's output).
    public var absorbs: String?
    public var epilogue: Epilogue?
    /// Set on the absorbed consumer: its work is done by this producer's kernel.
    public var absorbedInto: String?
    /// Never computed (a ×2 nearest upsample): its consumers read its input, replicated.
    public var elided = false
    /// Input 0 is read through an elided ×2 upsample.
    public var inputUpsample = 1
    public var algorithm: ConvAlgorithm = .im2col

    public init() {}

    public var isDefault: Bool { self == NodeExecution() }

    public var summary: [String] {
        var s: [String] = []
        if let e = epilogue, let a = absorbs { s.append("epilogue=\(e) (absorbs \(a))") }
        if let a = absorbedInto { s.append("in \(a)") }
        if elided { s.append("elided") }
        if inputUpsample != 1 { s.append("input_upsample=\(inputUpsample)") }
        if algorithm != .im2col { s.append("algorithm=\(algorithm.rawValue)") }
        return s
    }

    enum CodingKeys: String, CodingKey { case absorbs, epilogue, absorbedInto, elided, inputUpsample, algorithm }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        absorbs = try c.decodeIfPresent(String.self, forKey: .absorbs)
        epilogue = try c.decodeIfPresent(Epilogue.self, forKey: .epilogue)
        absorbedInto = try c.decodeIfPresent(String.self, forKey: .absorbedInto)
        elided = try c.decodeIfPresent(Bool.self, forKey: .elided) ?? false
        inputUpsample = try c.decodeIfPresent(Int.self, forKey: .inputUpsample) ?? 1
        algorithm = try c.decodeIfPresent(ConvAlgorithm.self, forKey: .algorithm) ?? .im2col
    }
}
