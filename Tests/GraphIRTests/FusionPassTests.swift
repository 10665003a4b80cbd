import GraphIR
import GraphPasses
import GraphYAML
import XCTest

/// Gate and activation fusion: what they fold, what they must leave alone.
final class FusionPassTests: XCTestCase {
    func optimise(_ text: String) throws -> (TypedGraph, [String]) {
        try PassPipeline([DeadNodeElimination(), GateFusion(), ActivationFusion()])
            .run(try Verifier.verify(try GraphLoader.load(text: text, file: "f.yaml").graph))
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

/// Upsample folding: a ×2 nearest resize read only by a zero-padded convolution disappears into it.
final class UpsampleFoldingTests: XCTestCase {
    func testFoldsIntoTheSoleConvolution() throws {
        let g = try Verifier.verify(try GraphLoader.load(text: """
            fillgraph: 1
            name: u
            inputs: {x: [4, H, W]}
            nodes:
              - {name: up, op: resize_nearest, in: x, scale: 2}
              - {name: c, op: conv2d, in: up, out: 6, kernel: 3}
              - {name: up2, op: resize_nearest, in: c, scale: 2}
              - {name: r, op: conv2d, in: up2, out: 2, kernel: 3, padding: reflect}
            outputs: {y: r, z: c}
            """, file: "u.yaml").graph)
        let (out, notes) = try PassPipeline([UpsampleFolding()]).run(g)
        XCTAssertEqual(out.graph.nodes.map(\.name), ["c", "up2", "r"], "reflect padding is not folded")
        XCTAssertEqual(out.graph.nodes[0].inputs, [ValueRef("x")])
        XCTAssertEqual(out.type(of: ValueRef("c")).description, "float32[N, 6, 2*H, 2*W]")
        XCTAssertEqual(notes, ["upsample folding: folded 1 ×2 upsamples into c"])
    }
}

/// Winograd selection and dilation lowering: which convolutions they mark, which they leave to im2col.
final class WinogradPassTests: XCTestCase {
    func testMarksDense3x3AndAtrousLayersOnly() throws {  // any channel count; not strided, 5×5 or reflect-padded
        let g = try Verifier.verify(try GraphLoader.load(text: """
            fillgraph: 1
            name: w
            inputs: {x: [32, H, W]}
            nodes:
              - {name: dense, op: conv2d, in: x, out: 32, kernel: 3}
              - {name: atrous, op: conv2d, in: dense, out: 32, kernel: 3, dilation: 4}
              - {name: few, op: conv2d, in: x, out: 16, kernel: 3}
              - {name: thin, op: conv2d, in: few, out: 32, kernel: 3}
              - {name: reflected, op: conv2d, in: x, out: 32, kernel: 3, dilation: 2, padding: reflect}
              - {name: strided, op: conv2d, in: x, out: 32, kernel: 3, stride: 2}
              - {name: wide, op: conv2d, in: x, out: 32, kernel: 5}
            outputs: {a: atrous, b: thin, c: reflected, d: strided, e: wide}
            """, file: "w.yaml").graph)
        let (out, notes) = try PassPipeline([WinogradSelection(), DilationLowering()]).run(g)
        var algorithms: [String: ConvAlgorithm] = [:]
        for node in out.graph.nodes { if case .conv2d(let c) = node.op { algorithms[node.name] = c.algorithm } }
        XCTAssertEqual(algorithms, ["dense": .winograd, "atrous": .winograd, "few": .winograd, "thin": .winograd,
                                    "reflected": .im2col, "strided": .im2col, "wide": .im2col])
        XCTAssertEqual(notes, ["winograd selection: 3 convolutions will run as Winograd F(4x4,3x3)",
                               "dilation lowering: 1 atrous convolutions will run as dense phases (Winograd F(4x4,3x3))"])
        // Each pass alone marks only its own kind.
        let (lowered, _) = try PassPipeline([DilationLowering()]).run(g)
        let marked = lowered.graph.nodes.filter { if case .conv2d(let c) = $0.op { return c.algorithm == .winograd }; return false }
        XCTAssertEqual(marked.map(\.name), ["atrous"])
    }
}
