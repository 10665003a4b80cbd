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

    func testConvolutionsAbsorbTheirGateOrActivation() throws {
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
        // The graph stays logical; the plan says who runs what.
        XCTAssertEqual(g.graph.nodes.map(\.name), ["a", "ag", "b", "t"])
        XCTAssertEqual(g.graph.outputs[0].value, ValueRef("t"))
        XCTAssertEqual(g.graph.execution["a"]?.epilogue, .gate(Activation(.relu)))
        XCTAssertEqual(g.graph.execution["a"]?.absorbs, "ag")
        XCTAssertEqual(g.graph.execution["ag"]?.absorbedInto, "a")
        XCTAssertEqual(g.graph.execution["b"]?.epilogue, .activation(Activation(.tanh)))
        XCTAssertEqual(g.graph.execution["t"]?.absorbedInto, "b")
        XCTAssertEqual(g.type(of: ValueRef("a")).description, "float32[N, 8, H, W]")
        XCTAssertEqual(g.type(of: ValueRef("ag")).description, "float32[N, 4, H, W]")
        XCTAssertEqual(g.parameters.first { $0.name == "a.weight" }?.shape, [8, 3, 3, 3])
        XCTAssertEqual(notes, ["gate fusion: fused 1 gates into their convolutions",
                               "activation fusion: fused 1 activations into their convolutions (b+t)"])
    }

    /// A convolution read elsewhere too (a second consumer, a graph output) still absorbs its
    /// gate or activation; the runtime then writes its own output as well (tested in
    /// RuntimeTests by comparing optimised and plain runs).
    func testSharedOrExposedConvolutionsKeepTheirOutput() throws {
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
        XCTAssertEqual(notes, ["gate fusion: fused 1 gates into their convolutions",
                               "activation fusion: fused 1 activations into their convolutions (b+bt)"], "\(notes)")
        XCTAssertEqual(g.graph.execution["a"]?.absorbs, "ag", "the gate, not the relu")
        XCTAssertNil(g.graph.execution["other"]?.absorbedInto)
        XCTAssertEqual(g.graph.nodes.count, 6)
    }
}

/// Upsample folding: a ×2 nearest resize read only by zero-padded convolutions is elided; they read its input.
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
        XCTAssertEqual(out.graph.nodes.map(\.name), ["up", "c", "up2", "r"])
        XCTAssertEqual(out.graph.execution["up"]?.elided, true)
        XCTAssertNil(out.graph.execution["up2"], "reflect padding is not folded")
        XCTAssertEqual(out.graph.execution["c"]?.inputUpsample, 2)
        XCTAssertEqual(out.graph.execution["c"]?.algorithm, .subpixel)
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
        for node in out.graph.nodes { if case .conv2d = node.op { algorithms[node.name] = out.graph.execution(of: node.name).algorithm } }
        XCTAssertEqual(algorithms, ["dense": .winograd, "atrous": .winograd, "few": .winograd, "thin": .winograd,
                                    "reflected": .im2col, "strided": .im2col, "wide": .im2col])
        XCTAssertEqual(notes, ["winograd selection: 3 convolutions will run as Winograd F(4x4,3x3)",
                               "dilation lowering: 1 atrous convolutions will run as dense phases (Winograd F(4x4,3x3))"])
        // Each pass alone marks only its own kind.
        let (lowered, _) = try PassPipeline([DilationLowering()]).run(g)
        let marked = lowered.graph.nodes.filter { lowered.graph.execution(of: $0.name).algorithm == .winograd }
        XCTAssertEqual(marked.map(\.name), ["atrous"])
    }
}
