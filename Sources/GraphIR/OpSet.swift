// The closed set of primitives. Codable, so model.bin stores the graph as written; `types` is
// what the YAML frontend and the printer look ops up in. A new op is a case here, its type in
// `types`, and its own file in Ops/.

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
    // Losses and the ops vjps emit.
    case conv2dGradInput(Conv2DGradInput)
    case conv2dGradWeight(Conv2DGradWeight)
    case spectralNormalize(SpectralNormalize)
    case spectralNormGrad(SpectralNormGrad)
    case activationGrad(ActivationGrad)
    case layoutGrad(LayoutGrad)
    case scale(Scale)
    case loss(Loss)
    case lossGrad(LossGrad)
    case contextualAttentionGrad(ContextualAttentionGrad)
    case concatGrad(ConcatGrad)

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
        case .conv2dGradInput(let o): return o
        case .conv2dGradWeight(let o): return o
        case .spectralNormalize(let o): return o
        case .spectralNormGrad(let o): return o
        case .activationGrad(let o): return o
        case .layoutGrad(let o): return o
        case .scale(let o): return o
        case .loss(let o): return o
        case .lossGrad(let o): return o
        case .contextualAttentionGrad(let o): return o
        case .concatGrad(let o): return o
        }
    }

    /// Every op type, for lookups by YAML name.
    public static let types: [any OpContract.Type] = [
        Conv2D.self, Gate.self, ResizeNearest.self, Binary.self, Unary.self, Concat.self, Slice.self, Fill.self,
        Composite.self, ContextualAttention.self, Flatten.self,
        Conv2DGradInput.self, Conv2DGradWeight.self, SpectralNormalize.self, SpectralNormGrad.self, ActivationGrad.self, LayoutGrad.self, Scale.self, Loss.self, LossGrad.self, ContextualAttentionGrad.self, ConcatGrad.self,
    ]

    public var name: String { contract.opName }

    /// The type that builds YAML op `name`.
    public static func type(named name: String) -> (any OpContract.Type)? { types.first { $0.yamlNames.contains(name) } }

    /// Every YAML op name, for "did you mean" hints.
    public static var yamlNames: [String] { types.flatMap { $0.yamlNames } }
}
