import GraphIR
import GraphYAML
import TestSupport
import XCTest

/// The shipped graphs parse, verify and match the spec's layer tables and totals.
final class ShippedGraphTests: XCTestCase {
    func load(_ name: String, bindings: [String: Int] = [:]) throws -> TypedGraph {
        let loaded = try GraphLoader.load(path: Fixtures.graph(name))
        return try Verifier.verify(loaded.graph, bindings: bindings)
    }

    func testDeepFillParameterCountAndConvNames() throws {
        let g = try load("deepfill_v2.yaml")
        XCTAssertEqual(g.parameterCount, 4_052_478)  // spec §2.3
        let convs = g.graph.nodes.filter { $0.op.name == "conv2d" }.map(\.name)
        XCTAssertEqual(convs.count, 42)
        XCTAssertEqual(convs.first, "conv1")
        for name in ["conv2_downsample", "conv13_upsample", "xconv10_atrous", "pmconv6", "pmconv9", "pmconv10", "allconv11", "allconv17"] {
            XCTAssertTrue(convs.contains(name), name)
        }
        XCTAssertEqual(Set(g.graph.outputs.map(\.name)), ["stage1", "stage2", "completed", "attention"])
    }

    func testDeepFillShapesAt256() throws {
        let g = try load("deepfill_v2.yaml", bindings: ["N": 1, "H": 256, "W": 256])
        let shape = { (n: String) in g.type(of: ValueRef(n)).concreteShape! }
        XCTAssertEqual(shape("conv1/gate"), [1, 24, 256, 256])
        XCTAssertEqual(shape("conv4_downsample/gate"), [1, 96, 64, 64])
        XCTAssertEqual(shape("allconv16/gate"), [1, 12, 256, 256])
        XCTAssertEqual(g.type(of: ValueRef("contextual_attention", output: 1)).concreteShape!, [1, 1, 32, 32])
        let macs = g.costs().reduce(0) { $0 + $1.macs }
        XCTAssertEqual(Double(macs) / 1e9, 27.73, accuracy: 0.01)  // spec §2.3: 27.73 GMAC at 256²
    }

    func testCostsMatchTheSpecTotals() throws {
        // Spec §2.3: 141.36 GMAC at 512², 205.4 at 512x680; the discriminator 2.333 GMAC at 256².
        let gmac = { (g: TypedGraph) in Double(g.costs().reduce(0) { $0 + $1.macs }) / 1e9 }
        XCTAssertEqual(gmac(try load("deepfill_v2.yaml", bindings: ["N": 1, "H": 512, "W": 512])), 141.36, accuracy: 0.005)
        XCTAssertEqual(gmac(try load("deepfill_v2.yaml", bindings: ["N": 1, "H": 512, "W": 680])), 205.4, accuracy: 0.05)
        let disc = try load("sn_patchgan.yaml", bindings: ["N": 1, "H": 256, "W": 256])
        XCTAssertEqual(gmac(disc), 2.333, accuracy: 0.0005)
        XCTAssertEqual(disc.parameterCount, 5_946_816)
        XCTAssertEqual(disc.type(of: ValueRef("logits")).concreteShape, [1, 4096])
    }

    func testSymbolicShapesStayExact() throws {
        let g = try load("deepfill_v2.yaml")
        XCTAssertEqual(g.type(of: ValueRef("conv6/gate")).description, "float32[N, 96, H/4, W/4]")
        XCTAssertEqual(g.type(of: ValueRef("contextual_attention", output: 1)).description, "int32[N, 1, H/8, W/8]")
    }

    /// The complete example in Docs/graph-language.md stays valid.
    func testDocumentedExampleVerifies() throws {
        let doc = try String(contentsOfFile: Fixtures.file("Docs/graph-language.md"), encoding: .utf8)
        let start = doc.range(of: "```yaml\n")!.upperBound
        let yaml = String(doc[start..<doc.range(of: "```", range: start..<doc.endIndex)!.lowerBound])
        let g = try Verifier.verify(try GraphLoader.load(text: yaml, file: "graph-language.md").graph)
        XCTAssertEqual(g.graph.name, "tiny_inpainter")
        XCTAssertEqual(g.type(of: ValueRef("enc")).description, "float32[N, 32, H/2, W/2]")
        XCTAssertEqual(g.graph.outputs.map(\.name), ["raw", "completed"])
    }
}
