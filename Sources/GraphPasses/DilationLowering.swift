// Dilation lowering: DeepFill's atrous layers (rates 2, 4, 8, 16) become dense 3×3 convolutions
// that run as Winograd F(4×4,3×3). Why: a 3×3 conv with dilation d is d² independent dense 3×3
// convs, one per phase (py, px) — the pixels at rows ≡ py and columns ≡ px (mod d) — each with
// padding 1 on its own sub-image (space-to-batch). Dense, they qualify for Winograd's 4× fewer
// multiplications; through im2col the dilation saves nothing.
// How: the plan gives the atrous conv `algorithm: winograd` (it keeps its dilation); the Winograd kernel
// gathers each phase's tiles with stride d and scatters them back with stride d, so the
// space-to-batch and batch-to-space layout changes are never materialised — there is nothing left
// to cancel between consecutive atrous layers (an explicit version would need a transpose per
// layer anyway: the rates differ, so no pair cancels). Measured against explicit phases and against
// im2col in Docs/performance.md. Phase sub-images under 4 pixels a side (one tile) would be mostly
// padding; the runtime keeps im2col there (Winograd.pays).
import GraphIR

public struct DilationLowering: GraphPass {
    public init() {}
    public var id: String { "dilation-lowering" }
    public var name: String { "dilation lowering" }

    public func run(_ typed: TypedGraph) throws -> (Graph, [String]) {
        var graph = typed.graph
        let chosen = WinogradSelection.select(&graph) { $0 > 1 }
        return (graph, chosen.isEmpty ? [] : ["\(chosen.count) atrous convolutions will run as dense phases (Winograd F(4x4,3x3))"])
    }
}
