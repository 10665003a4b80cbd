import Compiler
import GraphIR
import GraphYAML
import ModelFormat
import NumpyIO
import Runtime
import TestSupport
import XCTest

/// The SN-PatchGAN graph and the standalone contextual-attention fixtures against the oracle.
final class DiscriminatorAndAttentionTests: XCTestCase {
    func testDiscriminatorLogitsAndSpectralNormState() throws {
        let (model, _) = try Compiler.compile(graphPath: Fixtures.graph("sn_patchgan.yaml"),
                                              weights: .npz(path: Fixtures.fixture("oracle/discriminator.npz")))
        let input = try Fixtures.npy("oracle/case_128x96/disc_input.npy").floats  // [4, 128, 96] = cat(output, mask)
        let plane = 128 * 96
        let result = try Executor(model: model).run([
            "image": HostTensor(shape: [1, 3, 128, 96], floats: Array(input[0..<3 * plane])),
            "mask": HostTensor(shape: [1, 1, 128, 96], floats: Array(input[3 * plane..<4 * plane])),
        ])
        let logits = result.outputs["logits"]!
        XCTAssertEqual(logits.shape, [1, 1024])
        let d = Difference(logits.floats!, try Fixtures.npy("oracle/case_128x96/disc_logits.npy").floats)
        print("discriminator logits: \(d)")
        XCTAssertLessThanOrEqual(d.max, OracleTolerance.discriminatorLogits, "\(d)")
        let expected = try Npz.read(path: Fixtures.fixture("oracle/case_128x96/disc_u_after.npz"))
        XCTAssertEqual(expected.count, 6)
        for (name, array) in expected {
            let u = Difference(result.stateUpdates[name]!, array.floats)
            XCTAssertLessThanOrEqual(u.max, OracleTolerance.discriminatorU, "\(name): \(u)")
        }
    }

    static let attentionGraph = """
        fillgraph: 1
        name: attention_only
        symbols: {H: {multiple_of: 2}, W: {multiple_of: 2}}
        inputs:
          f: [16, H, W]
          mask: [1, H, W]
        params: {fuse: true}
        nodes:
          - {name: ca, op: contextual_attention, in: [f, f, mask], ksize: 3, stride: 1, rate: 2, fuse_k: 3, softmax_scale: 10, fuse: fuse}
        outputs: {y: ca, argmax: "ca:argmax"}
        """

    func runAttention(fuse: Bool) throws -> [Float] {
        let text = Self.attentionGraph.replacingOccurrences(of: "fuse: true}", with: "fuse: \(fuse)}")
        let graph = try GraphLoader.load(text: text, file: "attention_only.yaml").graph
        let model = Model(graph: graph, metadata: ModelMetadata(compiler: "test", graphName: "attention_only", sources: [],
                                                               weights: "none", parameterCount: 0), tensors: [])
        let f = try Fixtures.npy("oracle/contextual_attention/f.npy"), m = try Fixtures.npy("oracle/contextual_attention/mask.npy")
        let r = try Executor(model: model).run(["f": HostTensor(shape: f.shape, floats: f.floats),
                                                "mask": HostTensor(shape: m.shape, floats: m.floats)])
        return r.outputs["y"]!.floats!
    }

    func testContextualAttentionFixtureWithFuse() throws {
        let d = Difference(try runAttention(fuse: true), try Fixtures.npy("oracle/contextual_attention/y.npy").floats)
        print("contextual attention (fuse): \(d)")
        XCTAssertLessThanOrEqual(d.max, OracleTolerance.attention, "\(d)")
    }

    func testContextualAttentionFixtureWithoutFuse() throws {
        let ours = try runAttention(fuse: false)
        let d = Difference(ours, try Fixtures.npy("oracle/contextual_attention/y_nofuse.npy").floats)
        print("contextual attention (no fuse): \(d)")
        XCTAssertLessThanOrEqual(d.max, OracleTolerance.attention, "\(d)")
        // And the two settings really differ, so the comparison above can fail.
        XCTAssertGreaterThan(Difference(ours, try Fixtures.npy("oracle/contextual_attention/y.npy").floats).max, 1e-3)
    }
}
