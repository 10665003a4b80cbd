import GraphIR
import GraphPasses
import GraphYAML
import XCTest

/// Gate and activation fusion: what they fold, what they must leave alone.
final class FusionPassTests: XCTestCase {
    func optimise(_ text: String) throws -> (TypedGraph, [String]) {
        try PassPipeline.standard.run(try Verifier.verify(try GraphLoader.load(text: text, file: "f.yaml").graph))
    }

    func testFoldsSoleConsumersAndRenamesReferences() throws {
        let (g, notes) = try optimise("""
            fillgraph: 1
            name: f
            inputs: {x: [3, H, W]}
            nodes:
              - {name: a, op: conv2d, in: x, out: 8, kernel: 3}
              - {name: ag, op: gate, in: a, act: relu}
              - {name: b, op: conv2d, in: ag, out: 3, kernel: 3}
              - {name: t, op: tanh, in: b}
            outputs: {y: t}
            """)
        XCTAssertEqual(g.graph.nodes.map(\.name), ["a", "b"])
        XCTAssertEqual(g.graph.nodes[1].inputs, [ValueRef("a")])
        XCTAssertEqual(g.graph.outputs[0].value, ValueRef("b"))
        guard case .conv2d(let a) = g.graph.nodes[0].op, case .conv2d(let b) = g.graph.nodes[1].op else { return XCTFail("not convs") }
        XCTAssertEqual(a.fused, .gate(Activation(.relu)))
        XCTAssertEqual(b.fused, .activation(Activation(.tanh)))
        XCTAssertEqual(g.type(of: ValueRef("a")).description, "float32[N, 4, H, W]")
        XCTAssertEqual(g.weightSpecs.first { $0.name == "a.weight" }?.spec.shape, [8, 3, 3, 3], "weights keep 2C rows")
        XCTAssertEqual(notes, ["gate fusion: fused 1 gates into their convolutions",
                               "activation fusion: fused 1 activations into their convolutions (b+t)"])
    }

    func testLeavesSharedOrExposedConvolutionsAlone() throws {
        let (g, notes) = try optimise("""
            fillgraph: 1
            name: f
            inputs: {x: [3, H, W]}
            nodes:
              - {name: a, op: conv2d, in: x, out: 8, kernel: 3}
              - {name: ag, op: gate, in: a}
              - {name: other, op: relu, in: a}
              - {name: b, op: conv2d, in: ag, out: 8, kernel: 1}
              - {name: bt, op: elu, in: b}
              - {name: s, op: add, in: [bt, other]}
            outputs: {y: s, raw: b}
            """)
        XCTAssertTrue(notes.isEmpty, "\\(notes)")  // a has two consumers; b is a graph output
        XCTAssertEqual(g.graph.nodes.count, 6)
    }
}
