import GraphIR
import GraphPasses
import GraphYAML
import TestSupport
import XCTest

final class VariantAndShapeTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-variants-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ text: String) -> String {
        let url = dir.appendingPathComponent(name)
        try! text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func errorText(_ path: String) -> String {
        do { _ = try Verifier.verify(try GraphLoader.load(path: path).graph); return "" } catch { return "\(error)" }
    }

    static let base = """
        fillgraph: 1
        name: base
        params: {c: 4}
        inputs: {x: [3, H, W]}
        nodes:
          - {name: a, op: conv2d, in: x, out: 2*c, kernel: 3}
          - {name: b, op: conv2d, in: a, out: c, kernel: 3}
          - {name: y, op: tanh, in: b}
        outputs: {y: y, hidden: a}
        """

    func testVariantOverridesPatchesRemovesAndAdds() throws {
        _ = write("base.yaml", Self.base)
        let v = write("v.yaml", """
            fillgraph: 1
            extends: base.yaml
            params: {c: 6}
            remove: [b]
            patch:
              y: {in: z}
            nodes:
              - {name: z, op: conv2d, in: a, out: 3, kernel: 1}
            remove_outputs: [hidden]
            """)
        let loaded = try GraphLoader.load(path: v)
        let g = try Verifier.verify(loaded.graph)
        XCTAssertEqual(g.graph.name, "v")
        XCTAssertEqual(loaded.files.map { ($0.path as NSString).lastPathComponent }, ["base.yaml", "v.yaml"])
        XCTAssertEqual(g.graph.nodes.map(\.name), ["a", "y", "z"])
        XCTAssertEqual(g.type(of: ValueRef("a")).description, "float32[N, 12, H, W]")  // 2*c with c overridden
        XCTAssertEqual(g.graph.outputs.map(\.name), ["y"])
        XCTAssertEqual(g.graph.nodes[1].location?.line, 6)  // the patch, in v.yaml
    }

    func testVariantErrors() {
        _ = write("base.yaml", Self.base)
        XCTAssertTrue(errorText(write("v1.yaml", "fillgraph: 1\nextends: base.yaml\nremove: [q]\n")).contains("v1.yaml:3:10: error: the base graph has no node 'q'"))
        // Removing a node that is still used leaves a dangling reference, reported where it is used.
        let e2 = errorText(write("v2.yaml", "fillgraph: 1\nextends: base.yaml\nremove: [a]\n"))
        XCTAssertTrue(e2.contains("base.yaml:7:31: error: node 'b': in: unknown value 'a'\n  hint: 'a' was removed at \(dir.path)/v2.yaml:3:10; patch this node too"), e2)
        XCTAssertTrue(errorText(write("v3.yaml", "fillgraph: 1\nextends: missing.yaml\n")).contains("v3.yaml:2:10: error: cannot read \(dir.path)/missing.yaml: no such file"))
        _ = write("loop1.yaml", "fillgraph: 1\nextends: loop2.yaml\n")
        _ = write("loop2.yaml", "fillgraph: 1\nextends: loop1.yaml\n")
        XCTAssertTrue(errorText(dir.appendingPathComponent("loop1.yaml").path).contains("'extends' loops"))
        XCTAssertTrue(errorText(write("v4.yaml", "fillgraph: 1\nextends: base.yaml\nnodes:\n  - {name: a, op: relu, in: x}\n")).contains("node 'a' already exists"))
        XCTAssertTrue(errorText(write("v5.yaml", "fillgraph: 1\nremove: [a]\n")).contains("'remove' only makes sense in a file that extends another"))
    }

    func testShippedNoAttentionVariant() throws {
        let g = try Verifier.verify(try GraphLoader.load(path: Fixtures.graph("deepfill_v2_no_attention.yaml")).graph)
        XCTAssertFalse(g.graph.nodes.contains { $0.name.hasPrefix("pmconv") || $0.op.name == "contextual_attention" })
        XCTAssertEqual(g.type(of: ValueRef("allconv11")).description, "float32[N, 192, H/4, W/4]")
        XCTAssertEqual(g.parameters.first { $0.name == "allconv11.weight" }?.shape, [192, 96, 3, 3])
        XCTAssertEqual(g.graph.outputs.map(\.name), ["stage1", "stage2", "completed"])
        XCTAssertEqual(g.parameterCount, 4_052_478 - 782_352 - 165_888)  // minus the attention branch and half of allconv11
    }

    func testDeadNodeEliminationReportsWhatItRemoves() throws {
        let g = try Verifier.verify(try GraphLoader.load(text: Self.base.replacingOccurrences(
            of: "  - {name: y, op: tanh, in: b}", with: "  - {name: y, op: tanh, in: b}\n  - {name: unused, op: relu, in: a}"), file: "d.yaml").graph)
        let (optimised, notes) = try PassPipeline([DeadNodeElimination()]).run(g)
        XCTAssertEqual(optimised.graph.nodes.map(\.name), ["a", "b", "y"])
        XCTAssertEqual(notes, ["dead-node elimination: removed 'unused' (relu): it feeds no output [d.yaml:9:5]"])
    }

    func testTFSamePaddingRule() {
        // Spec §2.1 / §4.2: 3x3 stride 2 on even input pads 0/1; 5x5 stride 2 pads 1/2 (even) and 2/2 (odd).
        XCTAssertTrue(Padding.tfSame(input: 256, kernel: 3, stride: 2, dilation: 1) == (0, 1))
        XCTAssertTrue(Padding.tfSame(input: 256, kernel: 5, stride: 2, dilation: 1) == (1, 2))
        XCTAssertTrue(Padding.tfSame(input: 255, kernel: 5, stride: 2, dilation: 1) == (2, 2))
        XCTAssertTrue(Padding.tfSame(input: 64, kernel: 3, stride: 1, dilation: 16) == (16, 16))
        XCTAssertTrue(Padding.tfSame(input: 1, kernel: 3, stride: 2, dilation: 1) == (1, 1))
    }

    func testDimAlgebra() throws {
        let symbols = SymbolTable(steps: ["H": 8, "N": 1, "W": 1])
        let h = Dim.symbol("H"), w = Dim.symbol("W")
        let q = try Dim.ceilDiv(try Dim.ceilDiv(h, 2, symbols), 2, symbols)
        XCTAssertEqual(q.description, "H/4")
        XCTAssertTrue(q.equals(try Dim.floorDiv(h, 4, symbols), symbols))
        XCTAssertEqual(try Dim.ceilDiv(try Dim.ceilDiv(w, 2, symbols), 2, symbols).description, "ceil(W/4)")
        XCTAssertEqual(try Dim.ceilDiv(try Dim.ceilDiv(w, 2, symbols), 2, symbols).evaluate(["W": 13]), 4)
        XCTAssertEqual(try Dim.floorDiv(w, 4, symbols).evaluate(["W": 13]), 3)
        XCTAssertEqual(Dim.isDivisible(try Dim.floorDiv(h, 4, symbols))(by: 2, symbols), true)
        XCTAssertEqual(Dim.isDivisible(try Dim.floorDiv(h, 8, symbols))(by: 2, symbols), false)
        XCTAssertEqual(Dim.isDivisible(w)(by: 2, symbols), false)
        XCTAssertFalse(try Dim.floorDiv(w, 2, symbols).equals(try Dim.ceilDiv(w, 2, symbols), symbols))
        XCTAssertEqual(try Dim.add(try Dim.mul(h, 3), -1).description, "3*H - 1")
        XCTAssertEqual(try Dim.mul(try Dim.ceilDiv(w, 3, symbols), h).evaluate(["W": 10, "H": 16]), 64)
    }

    /// Sizes that grow without bound are refused, never wrapped: W doubled 52 times is the last
    /// that fits, and an opaque size reused in a sum forty times over stops at 256 terms.
    func testDimGrowthIsRefusedNotWrapped() throws {
        let symbols = SymbolTable(steps: ["W": 1])
        var w = Dim.symbol("W")
        for _ in 0..<51 { w = try Dim.add(w, w) }
        XCTAssertEqual(w.description, "\(1 << 51)*W")
        XCTAssertThrowsError(try Dim.add(w, w)) { XCTAssertTrue("\($0)".contains("beyond 2^52"), "\($0)") }
        XCTAssertThrowsError(try Dim.mul(Dim.constant(1 << 40), Dim.constant(1 << 20)))
        var opaque = try Dim.ceilDiv(Dim.symbol("W"), 3, symbols)
        var doublings = 0
        do {
            while true { opaque = try Dim.add(opaque, opaque); doublings += 1 }
        } catch {
            XCTAssertTrue("\(error)".contains("beyond 256 terms"), "\(error)")
        }
        XCTAssertEqual(doublings, 6, "2 + 4 + ... nodes: the 7th doubling passes 256")
        XCTAssertEqual(opaque.evaluate(["W": 10]), 4 * 64)
    }
}
