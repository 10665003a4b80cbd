import Compiler
import ModelFormat
import NumpyIO
import Runtime
import TestSupport
import XCTest

/// Weights imported from PyTorch and TensorFlow checkpoints give the same model tensors as the
/// .npz they were made from, and the same outputs as the references (Tests/Fixtures/import,
/// written by Tools/fixtures/*.py).
final class ImportedWeightsTests: XCTestCase {
    static func tensors(_ graph: String, _ weights: String, colour: ColourOrder? = nil) throws -> [String: Tensor] {
        let (model, _) = try Compiler.compile(graphPath: graph, weights: .file(path: Fixtures.fixture(weights), colour: colour))
        return Dictionary(uniqueKeysWithValues: model.tensors.map { ($0.name, $0) })
    }

    static let cnum8 = Fixtures.fixture("import/graphs/deepfill_v2_cnum8.yaml")
    static let disc8 = Fixtures.fixture("import/graphs/sn_patchgan_cnum8.yaml")
    static let port8 = Fixtures.fixture("import/graphs/deepfill_v2_port_cnum8.yaml")

    func testPortCheckpointOfTheOracleWeightsEqualsTheNpzAndReproducesTheOracle() throws {
        let graph = Fixtures.graph("deepfill_v2.yaml")
        let fromPth = try Self.tensors(graph, "oracle/generator_port.pth", colour: .rgb)
        let fromNpz = try Self.tensors(graph, "oracle/generator.npz")
        XCTAssertEqual(fromPth.count, 84)
        XCTAssertEqual(fromPth, fromNpz, "every tensor bit-identical")
        // and end to end against the oracle, within its 64x64 tolerance
        let (model, _) = try Compiler.compile(graphPath: graph, weights: .file(path: Fixtures.fixture("oracle/generator_port.pth"), colour: .rgb))
        let image = try Fixtures.npy("oracle/case_64x64/image.npy"), mask = try Fixtures.npy("oracle/case_64x64/mask.npy")
        let out = try Executor(model: model).run(["image": HostTensor(shape: [1, 3, 64, 64], floats: image.floats),
                                                  "mask": HostTensor(shape: [1, 1, 64, 64], floats: mask.floats)])
        let d = Difference(out.outputs["stage2"]!.floats!, try Fixtures.npy("oracle/case_64x64/stage2.npy").floats)
        XCTAssertLessThanOrEqual(d.max, OracleTolerance.generator(height: 64, width: 64).max, "\(d)")
    }

    func testTensorFlowCheckpointEqualsItsNpz() throws {
        for (graph, npz) in [(Self.cnum8, "import/tf_cnum8/generator_cnum8.npz"), (Self.disc8, "import/tf_cnum8/discriminator_cnum8.npz")] {
            let fromTF = try Self.tensors(graph, "import/tf_cnum8/snap-0.index", colour: .rgb)
            let fromNpz = try Self.tensors(graph, npz)
            XCTAssertEqual(fromTF.count, fromNpz.count)
            XCTAssertEqual(fromTF, fromNpz, graph)
        }
        // every way of naming the checkpoint: prefix, directory, the 'checkpoint' file, a data shard
        let reference = try Self.tensors(Self.cnum8, "import/tf_cnum8/snap-0.index")
        for name in ["import/tf_cnum8/snap-0", "import/tf_cnum8", "import/tf_cnum8/checkpoint", "import/tf_cnum8/snap-0.data-00000-of-00001"] {
            XCTAssertEqual(try Self.tensors(Self.cnum8, name), reference, name)
        }
    }

    /// The default for a TF checkpoint is BGR: exactly the colour layers' channels 0 and 2 swap.
    func testTensorFlowDefaultSwapsExactlyTheColourLayers() throws {
        let bgr = try Self.tensors(Self.cnum8, "import/tf_cnum8/snap-0.index")
        let raw = try Self.tensors(Self.cnum8, "import/tf_cnum8/snap-0.index", colour: .rgb)
        var changed: [String] = []
        for (name, t) in raw where bgr[name] != t { changed.append(name) }
        XCTAssertEqual(Set(changed), ["conv1.weight", "xconv1.weight", "pmconv1.weight", "conv17.weight", "conv17.bias",
                                      "allconv17.weight", "allconv17.bias"])
        let w = raw["conv1.weight"]!, s = bgr["conv1.weight"]!  // [out, in, kh, kw]: input channels 0 and 2 swap, 1, 3, 4 stay
        let plane = w.shape[2] * w.shape[3], perOut = w.shape[1] * plane
        for o in 0..<w.shape[0] {
            for (from, to) in [(0, 2), (1, 1), (2, 0), (3, 3), (4, 4)] {
                XCTAssertEqual(Array(s.values[(o * perOut + to * plane)..<(o * perOut + (to + 1) * plane)]),
                               Array(w.values[(o * perOut + from * plane)..<(o * perOut + (from + 1) * plane)]))
            }
        }
        XCTAssertEqual(bgr["conv17.bias"]!.values, raw["conv17.bias"]!.values.reversed())
    }

    /// Swapping the colour layers is exact: the BGR-imported model on an RGB image equals the
    /// unswapped model on the BGR image, read back as RGB.
    func testColourSwapCommutesWithTheNetwork() throws {
        let swapped = Executor(model: try Compiler.compile(graphPath: Self.cnum8, weights: .file(path: Fixtures.fixture("import/tf_cnum8"))).0)
        let plain = Executor(model: try Compiler.compile(graphPath: Self.cnum8, weights: .file(path: Fixtures.fixture("import/tf_cnum8"), colour: .rgb)).0)
        let image = try Fixtures.npy("oracle/case_64x64/image.npy").floats, mask = try Fixtures.npy("oracle/case_64x64/mask.npy").floats
        let plane = 64 * 64
        func reversed(_ x: [Float]) -> [Float] { Array(x[(2 * plane)...]) + Array(x[plane..<(2 * plane)]) + Array(x[..<plane]) }
        let m = HostTensor(shape: [1, 1, 64, 64], floats: mask)
        let a = try swapped.run(["image": HostTensor(shape: [1, 3, 64, 64], floats: image), "mask": m])
        let b = try plain.run(["image": HostTensor(shape: [1, 3, 64, 64], floats: reversed(image)), "mask": m])
        for output in ["stage1", "stage2"] {
            let d = Difference(a.outputs[output]!.floats!, reversed(b.outputs[output]!.floats!))
            XCTAssertLessThanOrEqual(d.max, 1e-5, "\(output) \(d)")
        }
        XCTAssertEqual(a.outputs["attention"]!.ints!, b.outputs["attention"]!.ints!)
    }

    /// networks.py weights in the port-conventions graph reproduce an independent PyTorch
    /// implementation of those conventions; the official graph would not.
    func testPortOwnModelMatchesItsReferenceOnlyUnderItsConventions() throws {
        let image = try Fixtures.npy("oracle/case_128x96/image.npy"), mask = try Fixtures.npy("oracle/case_128x96/mask.npy")
        let inputs = ["image": HostTensor(shape: [1, 3, 128, 96], floats: image.floats), "mask": HostTensor(shape: [1, 1, 128, 96], floats: mask.floats)]
        let port = try Executor(model: Compiler.compile(graphPath: Self.port8, weights: .file(path: Fixtures.fixture("import/port_cnum8/generator_port_pt.pth"))).0).run(inputs)
        let s1 = Difference(port.outputs["stage1"]!.floats!, try Fixtures.npy("import/port_cnum8/stage1.npy").floats)
        let s2 = Difference(port.outputs["stage2"]!.floats!, try Fixtures.npy("import/port_cnum8/stage2.npy").floats)
        print("port case: stage1 \(s1), stage2 \(s2)")
        XCTAssertLessThanOrEqual(s1.max, 1e-4, "stage1 \(s1)")
        XCTAssertLessThanOrEqual(s2.max, 5e-4, "stage2 \(s2)")
        XCTAssertEqual(port.outputs["attention"]!.ints!, try Fixtures.npy("import/port_cnum8/attention_argmax.npy").ints!)

        let official = try Executor(model: Compiler.compile(graphPath: Self.cnum8, weights: .file(path: Fixtures.fixture("import/port_cnum8/generator_port_pt.npz"))).0).run(inputs)
        let off = Difference(official.outputs["stage2"]!.floats!, try Fixtures.npy("import/port_cnum8/stage2.npy").floats)
        XCTAssertGreaterThan(off.max, 0.1, "the conventions must matter for this case: \(off)")
    }

    func testWeightsAreRefusedUnderTheOtherConventions() throws {
        XCTAssertThrowsError(try Self.tensors(Self.cnum8, "import/port_cnum8/generator_port_pt.pth")) { e in
            XCTAssertTrue("\(e)".contains("compile Graphs/deepfill_v2_port.yaml instead"), "\(e)")
        }
        XCTAssertThrowsError(try Self.tensors(Self.port8, "import/tf_cnum8")) { e in
            XCTAssertTrue("\(e)".contains("hint: compile Graphs/deepfill_v2.yaml"), "\(e)")
        }
    }

    /// A port training snapshot {'G', 'D', 'G_optim', 'D_optim', 'n_iter'}: each graph takes its network.
    func testTrainingSnapshotSuppliesGeneratorOrDiscriminator() throws {
        let snapshot = "import/port_cnum8/training_snapshot.pth"
        XCTAssertEqual(try Self.tensors(Self.port8, snapshot), try Self.tensors(Self.port8, "import/port_cnum8/generator_port_pt.pth"))
        XCTAssertEqual(try Self.tensors(Self.disc8, snapshot), try Self.tensors(Self.disc8, "import/tf_cnum8/discriminator_cnum8.npz"))
    }

    /// An .npz under the port's networks_tf.py names is recognised like the .pth.
    func testNpzWithPortNames() throws {
        let source = try Npz.read(path: Fixtures.fixture("oracle/generator.npz"))
        let renamed = source.map { entry -> (name: String, array: NpyArray) in
            let scope = entry.name.split(separator: ".")[0], role = entry.name.split(separator: ".")[1]
            return ("\(scope)\(scope.hasSuffix("_upsample") ? ".conv.conv" : ".conv").\(role)", entry.array)
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-portnames-\(UUID().uuidString).npz").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Npz.write(renamed, to: path)
        let graph = Fixtures.graph("deepfill_v2.yaml")
        let (model, notes) = try Compiler.compile(graphPath: graph, weights: .file(path: path))
        XCTAssertTrue(notes.contains { $0.contains("NumPy .npz with the PyTorch port's TF-compatible model") }, "\(notes)")
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: model.tensors.map { ($0.name, $0) }), try Self.tensors(graph, "oracle/generator.npz"))
    }
}
