// The pass pipeline. A pass rewrites a verified graph into an equivalent one and reports what
// it did; the pipeline re-verifies after each pass, so a faulty pass is caught at compile time
// instead of producing a model that fails at run time. The optimising passes (gate fusion,
// dilation lowering, buffer planning) plug in here; see Docs/architecture.md.
import GraphIR

public protocol GraphPass {
    var name: String { get }
    /// Returns the rewritten graph and human-readable notes on what changed.
    func run(_ graph: TypedGraph) throws -> (Graph, [String])
}

public struct PassPipeline {
    public var passes: [any GraphPass]

    public init(_ passes: [any GraphPass]) { self.passes = passes }

    /// The passes every compile runs.
    public static let standard = PassPipeline([DeadNodeElimination()])

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
