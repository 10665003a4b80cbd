// The step graphs themselves: backward nodes named and located after their forward nodes,
// recomputed activations that change no bit of the gradients but shrink the arena, and the
// G step holding each network once.
import Compiler
import Foundation
import GraphIR
import GraphPasses
import GraphYAML
import ModelFormat
import Runtime
import Training
import XCTest

final class StepGraphTests: XCTestCase {
    static func typed(_ graph: String) throws -> TypedGraph {
        let path = OracleGradientTests.repository.appendingPathComponent("Graphs/\(graph)").path
        return try Verifier.verify(try GraphLoader.load(path: path, overrides: [("cnum", "8")]).graph)
    }

    func testBackwardNodesAreNamedAndLocatedAfterTheirForwardNodes() throws {
        let g = try Self.typed("deepfill_v2.yaml"), d = try Self.typed("sn_patchgan.yaml")
        let step = try StepGraphs.generatorStep(g, d, batch: 2, passes: PassPipeline([]))
        let forward = Dictionary(uniqueKeysWithValues: step.nodes.filter { !$0.name.contains("/vjp/") }.map { ($0.name, $0) })
        let backward = step.nodes.filter { $0.name.contains("/vjp/") }
        XCTAssertGreaterThan(backward.count, 100)
        for node in backward {
            let owner = String(node.name[..<node.name.range(of: "/vjp/")!.lowerBound])
            guard let f = forward[owner] else { continue }  // a parameter's or input's gradient sum
            XCTAssertEqual(node.location, f.location, node.name)
        }
        XCTAssertNotNil(backward.first { $0.name.hasPrefix("contextual_attention/vjp/") }?.location?.line)
        // One gradient output per generator parameter, none for the discriminator (frozen here).
        let grads = step.outputs.filter { $0.name.hasSuffix("@grad") }.map(\.name)
        XCTAssertEqual(Set(grads), Set(g.parameters.filter { $0.role == .parameter }.map { $0.name + "@grad" }))
        XCTAssertFalse(step.nodes.contains { $0.op.name == "conv2d_grad_weight" && $0.name.hasPrefix("d/") })
    }

    func testRecomputedActivationsChangeNoBitAndShrinkTheArena() throws {
        let g = try Self.typed("deepfill_v2.yaml"), d = try Self.typed("sn_patchgan.yaml")
        let without = PassPipeline(StepGraphs.passes.passes.filter { $0.id != "rematerialisation" })
        let graphs = [try StepGraphs.generatorStep(g, d, batch: 2), try StepGraphs.generatorStep(g, d, batch: 2, passes: without)]
        XCTAssertTrue(graphs[0].nodes.contains { $0.name.hasSuffix("/recompute") })
        XCTAssertFalse(graphs[1].nodes.contains { $0.name.hasSuffix("/recompute") })
        let arenas = try graphs.map { try MemoryPlanSummary(graph: $0, height: 64, width: 64, threads: 2, batch: 2).arenaBytes }
        XCTAssertLessThan(Double(arenas[0]), 0.8 * Double(arenas[1]), "arena \(arenas[0]) with recomputation vs \(arenas[1]) without")
        let b = try OracleGradientTests.batch()
        let gw = try GradientStep.load(NetworkSpec(graphPath: OracleGradientTests.repository.appendingPathComponent("Graphs/deepfill_v2.yaml").path,
                                                   params: [("cnum", "8")], weightsPath: OracleGradientTests.file("generator.npz"))).tensors
        let dw = try GradientStep.load(NetworkSpec(graphPath: OracleGradientTests.repository.appendingPathComponent("Graphs/sn_patchgan.yaml").path,
                                                   params: [("cnum", "8")], weightsPath: OracleGradientTests.file("discriminator.npz"))).tensors
        let tensors = gw + dw.map { Tensor(name: StepGraphs.discriminatorPrefix + $0.name, shape: $0.shape, values: $0.values) }
        let outputs = try graphs.map { graph -> [String: HostTensor] in
            let model = Model(graph: graph, metadata: ModelMetadata(compiler: "test", graphName: "g", sources: [], weights: "", parameterCount: 0),
                              tensors: tensors)
            return try Executor(model: model).run(["image": HostTensor(shape: [2, 3, 64, 64], floats: b.image),
                                                   "mask": HostTensor(shape: [2, 1, 64, 64], floats: b.mask + b.mask)]).outputs
        }
        XCTAssertEqual(Set(outputs[0].keys), Set(outputs[1].keys))
        for key in outputs[0].keys { XCTAssertEqual(outputs[0][key]!.floats, outputs[1][key]!.floats, key) }
    }
}
