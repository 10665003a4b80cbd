// The pass pipeline. A pass rewrites a verified graph into an equivalent one and reports what
// it did; the pipeline re-verifies after each pass, so a faulty pass is caught at compile time
// instead of producing a model that fails at run time. Buffer planning is not a graph rewrite: it
// runs when a model is compiled (`--report`) and loaded, for the actual size; see Docs/architecture.md.
import GraphIR

public protocol GraphPass {
    /// The identifier users type (`--after gate-fusion`, `--disable gate-fusion`).
    var id: String { get }
    var name: String { get }
    /// Returns the rewritten graph and human-readable notes on what changed.
    func run(_ graph: TypedGraph) throws -> (Graph, [String])
}

public struct PassPipeline {
    public var passes: [any GraphPass]

    public init(_ passes: [any GraphPass]) { self.passes = passes }

    /// The passes every compile runs, in order.
    public static let standard = PassPipeline([DeadNodeElimination(), GateFusion(), ActivationFusion(), UpsampleFolding(),
                                               WinogradSelection(), DilationLowering()])

    public var ids: [String] { passes.map(\.id) }

    /// The pipeline without the named passes (`--disable`), or cut after one (`--after`).
    public func removing(_ ids: Set<String>) -> PassPipeline { PassPipeline(passes.filter { !ids.contains($0.id) }) }

    public func through(_ id: String) -> PassPipeline? {
        guard let i = passes.firstIndex(where: { $0.id == id }) else { return nil }
        return PassPipeline(Array(passes[...i]))
    }

    public func run(_ typed: TypedGraph) throws -> (TypedGraph, [String]) {
        var current = typed
        var notes: [String] = []
        for pass in passes {
            let (graph, passNotes) = try pass.run(current)
            notes += passNotes.map { "\(pass.name): \($0)" }
            current = try Verifier.verify(graph)
        }
        return (current, notes)
    }
}
