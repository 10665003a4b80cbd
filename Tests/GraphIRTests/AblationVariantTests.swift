import GraphIR
import GraphYAML
import TestSupport
import XCTest

/// The ablation variants in Graphs/: each loads, verifies and has the parameters and shapes
/// worked out by hand from its change to the base graph.
final class AblationVariantTests: XCTestCase {
    func load(_ name: String, _ overrides: [(name: String, value: String)] = [], bindings: [String: Int] = [:]) throws -> TypedGraph {
        try Verifier.verify(try GraphLoader.load(path: Fixtures.graph(name), overrides: overrides).graph, bindings: bindings)
    }

    func shapes(_ g: TypedGraph) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: g.parameters.map { ($0.name, $0.shape!) })
    }

    // MARK: deepfill_v2_vanilla

    func testVanillaHalvesEveryGatedConvolution() throws {
        let base = try load("deepfill_v2.yaml"), v = try load("deepfill_v2_vanilla.yaml")
        XCTAssertEqual(v.graph.name, "deepfill_v2_vanilla")
        XCTAssertFalse(v.graph.nodes.contains { $0.op.name == "gate" })
        XCTAssertEqual(v.graph.nodes.filter { $0.op.name == "conv2d" }.count, 42)
        XCTAssertEqual(v.graph.nodes.filter { $0.op.name == "elu" }.count, 40)  // every conv but the two to_rgb ones
        // Each gated conv's weight [cout, in, k, k] becomes [cout/2, in, k, k]: same input channels,
        // since a vanilla layer outputs what the gate used to. to_rgb (conv17, allconv17) is unchanged.
        let b = shapes(base), s = shapes(v)
        XCTAssertEqual(Set(b.keys), Set(s.keys))
        for (name, shape) in b {
            let toRGB = name.hasPrefix("conv17.") || name.hasPrefix("allconv17.")
            var expected = shape
            if !toRGB { expected[0] /= 2 }
            XCTAssertEqual(s[name], expected, name)
        }
        XCTAssertEqual(s["conv1.weight"], [24, 5, 5, 5])      // cnum/2 outputs, 5 input channels (x_in, ones, mask), 5×5
        XCTAssertEqual(s["conv16.weight"], [12, 24, 3, 3])    // cout = cnum//2 = 24 → 12
        XCTAssertEqual(s["conv17.weight"], [3, 12, 3, 3])
        XCTAssertEqual(s["allconv11.weight"], [96, 192, 3, 3])
        // All but the two to_rgb layers (2 × (3·12·9 + 3) = 654) halve: (4_052_478 − 654) / 2 + 654.
        XCTAssertEqual(v.parameterCount, 2_026_566)
        // The attention branch wires up as in the base: pmconv6 still yields 4·cnum/2 = 96 channels.
        XCTAssertEqual(v.type(of: ValueRef("pmconv6/elu")).description, "float32[N, 96, H/4, W/4]")
        XCTAssertEqual(v.graph.nodes.first { $0.name == "contextual_attention" }?.inputs.first, ValueRef("pmconv6/elu"))
        XCTAssertEqual(v.type(of: ValueRef("contextual_attention")).description, "float32[N, 96, H/4, W/4]")
        XCTAssertEqual(v.type(of: ValueRef("merge")).description, "float32[N, 192, H/4, W/4]")
        XCTAssertEqual(Set(v.graph.outputs.map(\.name)), ["stage1", "stage2", "completed", "attention"])
        // pmconv6's act: relu is accepted and ignored (ELU everywhere).
        XCTAssertEqual(v.graph.nodes.first { $0.name == "pmconv6/elu" }?.op.name, "elu")
    }

    func testVanillaAtCnum8() throws {
        let v = try load("deepfill_v2_vanilla.yaml", [("cnum", "8")], bindings: ["N": 1, "H": 64, "W": 64])
        XCTAssertEqual(shapes(v)["conv1.weight"], [4, 5, 5, 5])
        XCTAssertEqual(shapes(v)["conv16.weight"], [2, 4, 3, 3])
        XCTAssertEqual(v.parameterCount, (115_258 - 114) / 2 + 114)  // base at cnum 8, to_rgb 2 × (3·2·9 + 3)
        XCTAssertEqual(v.type(of: ValueRef("completed")).concreteShape, [1, 3, 64, 64])
    }

    // MARK: sn_patchgan_no_sn

    func testNoSpectralNormHasPlainConvolutionsAndNoU() throws {
        let sn = try load("sn_patchgan.yaml"), d = try load("sn_patchgan_no_sn.yaml", bindings: ["N": 1, "H": 256, "W": 256])
        XCTAssertEqual(d.graph.name, "sn_patchgan_no_sn")
        XCTAssertEqual(d.graph.nodes.filter { $0.op.name == "conv2d" }.map(\.name), ["conv1", "conv2", "conv3", "conv4", "conv5", "conv6"])
        XCTAssertFalse(d.graph.nodes.contains { $0.op.name == "sn_conv2d" })
        XCTAssertFalse(d.parameters.contains { $0.name.hasSuffix(".u") || $0.role == .state })
        XCTAssertEqual(d.parameters.count, 12)
        // The same weights and biases as SN-PatchGAN (u is state, not a parameter): spec §4.2's 5,946,816.
        var expected = shapes(sn)
        expected = expected.filter { !$0.key.hasSuffix(".u") }
        XCTAssertEqual(shapes(d), expected)
        XCTAssertEqual(d.parameterCount, 5_946_816)
        XCTAssertEqual(sn.parameterCount, 5_946_816)
        XCTAssertEqual(shapes(d)["conv1.weight"], [64, 4, 5, 5])
        XCTAssertEqual(d.type(of: ValueRef("logits")).concreteShape, [1, 4096])
    }

    // MARK: global_gan

    func testGlobalGANEndsInOneScorePerImage() throws {
        let g = try load("global_gan.yaml")
        XCTAssertEqual(g.graph.name, "global_gan")
        XCTAssertEqual(g.graph.inputs.map { $0.type.description }, ["float32[N, 3, 256, 256]", "float32[N, 1, 256, 256]"])
        XCTAssertEqual(g.graph.inputs.map(\.name), ["image", "mask"])
        XCTAssertEqual(g.graph.outputs.map(\.name), ["logits"])
        let s = shapes(g)
        XCTAssertEqual(s["fc.weight"], [1, 256, 4, 4])  // [1, 4·cnum, size/64, size/64]
        XCTAssertEqual(s["fc.bias"], [1])
        XCTAssertEqual(s["fc.u"], [1])
        XCTAssertEqual(g.parameters.first { $0.name == "fc.u" }?.role, .state)
        guard case .conv2d(let fc)? = g.graph.nodes.first(where: { $0.name == "fc" })?.op else { return XCTFail("fc is a convolution") }
        XCTAssertTrue(fc.spectralNorm)
        XCTAssertEqual(fc.padding, .explicit(top: 0, bottom: 0, left: 0, right: 0))
        XCTAssertEqual(g.type(of: ValueRef("conv6/act")).description, "float32[N, 256, 4, 4]")
        XCTAssertEqual(g.type(of: ValueRef("fc")).description, "float32[N, 1, 1, 1]")
        XCTAssertEqual(g.type(of: ValueRef("logits")).description, "float32[N, 1]")
        // SN-PatchGAN's 5,946,816 plus the dense layer: 256·4·4 + 1.
        XCTAssertEqual(g.parameterCount, 5_946_816 + 4097)
    }

    func testGlobalGANSizeParameter() throws {
        let g = try load("global_gan.yaml", [("cnum", "8"), ("size", "128")], bindings: ["N": 2])
        XCTAssertEqual(g.graph.inputs[0].type.description, "float32[N, 3, 128, 128]")
        XCTAssertEqual(shapes(g)["fc.weight"], [1, 32, 2, 2])  // 4·cnum, 128/64
        XCTAssertEqual(g.type(of: ValueRef("conv6/act")).concreteShape, [2, 32, 2, 2])
        XCTAssertEqual(g.type(of: ValueRef("logits")).concreteShape, [2, 1])
        XCTAssertEqual(g.parameterCount, 93_752 + 32 * 4 + 1)  // sn_patchgan at cnum 8, plus the dense layer
        XCTAssertEqual(shapes(try load("global_gan.yaml", [("size", "512")]))["fc.weight"], [1, 256, 8, 8])
        // A size that is not a multiple of 64 leaves the kernel fractional: refused where it is computed.
        XCTAssertThrowsError(try load("global_gan.yaml", [("size", "100")])) {
            XCTAssertTrue("\($0)".contains("node 'fc' (sn_conv2d): kernel: expected a whole number, got fraction '25/16'"), "\($0)")
        }
        // Another image size is refused, not silently bound around the fixed inputs.
        XCTAssertNoThrow(try g.graph.checkedBindings(height: 128, width: 128))
        XCTAssertThrowsError(try g.graph.checkedBindings(height: 256, width: 256)) {
            XCTAssertTrue("\($0)".contains("graph 'global_gan' cannot take 256x256 (width x height): its inputs have a fixed size "
                                           + "(image [3, 128, 128], mask [1, 128, 128])"), "\($0)")
        }
        XCTAssertFalse(g.graph.takesSize(height: 128, width: 256))
        XCTAssertTrue(try load("sn_patchgan.yaml").graph.takesSize(height: 600, width: 400))
    }
}
