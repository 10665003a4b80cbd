import GraphIR
import GraphYAML
import XCTest

/// Bad graphs get one clear diagnostic per problem, positioned at the YAML at fault.
final class DiagnosticTests: XCTestCase {
    /// The error text for a graph given as text (nil if it loads and verifies).
    func errors(_ yaml: String, file: String = "g.yaml") -> String? {
        do {
            let loaded = try GraphLoader.load(text: yaml, file: file)
            _ = try Verifier.verify(loaded.graph)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func assertError(_ yaml: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let e = errors(yaml) else { return XCTFail("expected an error containing: \(expected)", file: file, line: line) }
        XCTAssertTrue(e.contains(expected), "got:\n\(e)\nexpected to contain:\n\(expected)", file: file, line: line)
    }

    static let header = """
        fillgraph: 1
        name: t
        symbols: {H: {multiple_of: 8}, W: {multiple_of: 8}}
        inputs:
          x: [4, H, W]

        """

    func graph(_ nodes: String, outputs: String = "outputs: {y: y}") -> String { Self.header + "nodes:\n" + nodes + "\n" + outputs + "\n" }

    func testValidSmallGraph() {
        XCTAssertNil(errors(graph("  - {name: y, op: conv2d, in: x, out: 6, kernel: 3}")))
    }

    func testMalformedYAMLNamesLineAndColumn() {
        assertError("fillgraph: 1\nnodes: [\n  {name: a\n", "g.yaml:4:1: error: invalid YAML")
        assertError("fillgraph: 1\nnodes:\n\t- a\n", "g.yaml:3:1: error: a tab character: YAML indents with spaces only\n  hint: replace the tab with spaces")
        assertError("", "g.yaml:1:1: error: g.yaml is empty")
        assertError("- a\n- b\n", "g.yaml:1:1: error: a graph file must be a mapping, found a list")
        assertError("fillgraph: 1\nname: a\nname: b\n", "g.yaml:3:1: error: duplicate key 'name' (first at line 2)")
        assertError("a: 1\n---\nb: 2\n", "holds more than one YAML document")
    }

    func testVersionAndTopLevelKeys() {
        assertError("name: t\n", "does not start with 'fillgraph: 1'")
        assertError("fillgraph: 2\n", "g.yaml:1:12: error: unsupported language version '2'")
        assertError("fillgraph: 1\nnodez: []\n", "g.yaml:2:1: error: unknown key 'nodez' in the graph file\n  hint: did you mean 'nodes'?")
    }

    func testUnknownOpFieldAndValue() {
        assertError(graph("  - {name: y, op: conv2, in: x, out: 6, kernel: 3}"), "unknown op 'conv2'\n  hint: did you mean 'conv2d'?")
        assertError(graph("  - {name: y, op: conv2d, in: x, out: 6, kernal: 3}"), "g.yaml:7:42: error: node 'y' (conv2d): unknown field 'kernal'\n  hint: did you mean 'kernel'?")
        assertError(graph("  - {name: y, op: conv2d, in: x, out: 6, kernel: 3, dilaton: 2}"), "unknown field 'dilaton'\n  hint: did you mean 'dilation'?")
        assertError(graph("  - {name: y, op: conv2d, in: xx, out: 6, kernel: 3}"), "g.yaml:7:31: error: node 'y': in: unknown value 'xx'\n  hint: did you mean 'x'?")
        assertError(graph("  - {name: y, op: relu, in: x}", outputs: "outputs: {y: z}"), "unknown value 'z'")
        assertError(graph("  - {name: y, op: relu, in: x}", outputs: "outputs: {}"), "g.yaml:1:1: error: the graph declares no outputs")
    }

    func testAttributeRangesAndTypes() {
        assertError(graph("  - {name: y, op: conv2d, in: x, out: 6, kernel: 3, dilation: 0}"), "g.yaml:7:5: error: node 'y' (conv2d): dilation must be in 1...256, got [0, 0]")
        assertError(graph("  - {name: y, op: conv2d, in: x, out: 0, kernel: 3}"), "out must be in 1...65536, got 0")
        assertError(graph("  - {name: y, op: conv2d, in: x, out: 6.5, kernel: 3}"), "out: expected a whole number, got fraction '13/2'")
        assertError(graph("  - {name: y, op: conv2d, in: x, out: 6, kernel: 3, padding: same}"), "padding: expected tf_same, reflect, valid")
        assertError(graph("  - {name: y, op: gate, in: x, act: swish}"), "act: expected one of elu, relu, leaky_relu, sigmoid, tanh, none, got 'swish'")
        assertError(graph("  - {name: y, op: conv2d, in: x, out: 6, kernel: 3, bias: yes}"), "bias: expected true or false, got 'yes'")
    }

    func testShapeErrorsNameNodeAndInputs() {
        assertError(graph("  - {name: c, op: conv2d, in: x, out: 5, kernel: 3}\n  - {name: y, op: gate, in: c}"),
                    "g.yaml:8:5: error: node 'y' (gate): gate needs an even channel count (features, then gates), got 5")
        assertError(graph("  - {name: d, op: conv2d, in: x, out: 4, kernel: 3, stride: 2}\n  - {name: y, op: add, in: [x, d]}"),
                    "node 'y' (add): shapes float32[N, 4, H, W] and float32[N, 4, H/2, W/2] do not agree in dimension 2 (H vs H/2)")
        assertError(graph("  - {name: d, op: conv2d, in: x, out: 4, kernel: 3, stride: 2}\n  - {name: y, op: concat, in: [x, d]}"),
                    "does not match input 0 float32[N, 4, H, W] outside the channel axis")
        assertError(graph("  - {name: y, op: slice, in: x, start: 2, end: 9}"), "slice end 9 is past the channel size 4")
        assertError(graph("  - {name: y, op: add, in: [x]}"), "expects 2 input(s) (a, b), got 1")
    }

    func testCyclesAndDuplicates() {
        assertError(graph("  - {name: a, op: relu, in: y}\n  - {name: y, op: relu, in: a}"),
                    "g.yaml:7:5: error: the graph has a cycle: a -> y -> a")
        assertError(graph("  - {name: y, op: relu, in: x}\n  - {name: y, op: tanh, in: x}"), "node name 'y' is used twice")
        assertError(graph("  - {name: x, op: relu, in: x}\n  - {name: y, op: tanh, in: x}"), "name 'x' is used twice")
    }

    func testExpressionsAndParameters() {
        let p = Self.header.replacingOccurrences(of: "name: t\n", with: "name: t\nparams: {cnum: 6}\n")
        XCTAssertNil(errors(p + "nodes:\n  - {name: y, op: conv2d, in: x, out: (cnum + 2) * 3 // 4, kernel: 3}\noutputs: {y: y}\n"))
        let unknown = errors(p + "nodes:\n  - {name: y, op: conv2d, in: x, out: 2*cnn, kernel: 3}\noutputs: {y: y}\n")
        XCTAssertTrue(unknown?.contains("cannot evaluate '2*cnn': unknown name 'cnn'") == true, unknown ?? "")
        let notWhole = errors(p + "nodes:\n  - {name: y, op: conv2d, in: x, out: cnum/4, kernel: 3}\noutputs: {y: y}\n")
        XCTAssertTrue(notWhole?.contains("expected a whole number, got fraction '3/2'") == true, notWhole ?? "")
        let zero = errors(p + "nodes:\n  - {name: y, op: conv2d, in: x, out: cnum/0, kernel: 3}\noutputs: {y: y}\n")
        XCTAssertTrue(zero?.contains("division by zero") == true, zero ?? "")
        let huge = errors(p + "nodes:\n  - {name: y, op: conv2d, in: x, out: 99999*99999*99999, kernel: 3}\noutputs: {y: y}\n")
        XCTAssertTrue(huge?.contains("number too large") == true, huge ?? "")
        let deep = errors(p + "nodes:\n  - {name: y, op: conv2d, in: x, out: " + String(repeating: "(", count: 5000) + "1"
                          + String(repeating: ")", count: 5000) + ", kernel: 3}\noutputs: {y: y}\n")
        XCTAssertTrue(deep?.contains("expression nested more than 64 deep") == true, deep ?? "")
    }

    static let blocks = """
        blocks:
          g:
            args: {cout: ~, act: elu}
            in: x
            main: conv
            nodes:
              - {name: conv, op: conv2d, in: x, out: cout, kernel: 3}
              - {name: gate, op: gate, in: conv, act: act}
            out: gate

        """

    func testBlocksExpandWithMainNodeNamedAfterTheInstance() throws {
        let text = Self.header + Self.blocks + "nodes:\n  - {name: b1, use: g, in: x, cout: 8}\n  - {name: y, use: g, in: b1, cout: 4, act: relu}\noutputs: {y: y}\n"
        let g = try GraphLoader.load(text: text, file: "g.yaml").graph
        XCTAssertEqual(g.nodes.map(\.name), ["b1", "b1/gate", "y", "y/gate"])
        XCTAssertEqual(g.nodes[2].inputs, [ValueRef("b1/gate"), ValueRef("y.weight"), ValueRef("y.bias")])  // data, then parameters
        XCTAssertEqual(g.outputs[0].value, ValueRef("y/gate"))
        if case .gate(let gate) = g.nodes[3].op { XCTAssertEqual(gate.activation.kind, .relu) } else { XCTFail() }
        XCTAssertEqual(g.nodes[1].location, SourceLocation(file: "g.yaml", line: 16, column: 5))  // the call site
    }

    func testBlockArgumentErrors() {
        let h = Self.header + Self.blocks
        assertError(h + "nodes:\n  - {name: y, use: g, in: x}\noutputs: {y: y}\n", "block 'g' needs argument 'cout'")
        assertError(h + "nodes:\n  - {name: y, use: g, in: x, cout: 4, kout: 3}\noutputs: {y: y}\n",
                    "block 'g' has no argument 'kout'\n  hint: did you mean 'cout'?")
        assertError(h + "nodes:\n  - {name: y, use: gg, in: x, cout: 4}\noutputs: {y: y}\n", "unknown block 'gg'\n  hint: did you mean 'g'?")
        assertError(h + "nodes:\n  - {name: y, use: g, in: [x, x], cout: 4}\noutputs: {y: y}\n", "block 'g' takes 1 input(s) (x), got 2")
        assertError(h + "nodes:\n  - {name: y, use: g, in: x, cout: 4, act: swish}\noutputs: {y: y}\n", "act: expected one of")
        let recursive = Self.header + "blocks:\n  r:\n    in: x\n    nodes:\n      - {name: a, use: r, in: x}\n    out: a\nnodes:\n  - {name: y, use: r, in: x}\noutputs: {y: y}\n"
        assertError(recursive, "block 'r' uses itself: r -> r")
    }

    func testSymbolicDivisibilityIsProvedOrRefuted() {
        let attention = { (step: Int) in
            "fillgraph: 1\nname: t\nsymbols: {H: {multiple_of: \(step)}, W: {multiple_of: \(step)}}\ninputs: {f: [4, H, W], m: [1, H, W]}\n"
                + "nodes:\n  - {name: ca, op: contextual_attention, in: [f, f, m]}\noutputs: {y: ca}\n"
        }
        XCTAssertNil(errors(attention(2)))
        assertError(attention(1), "f size H is not a multiple of rate 2")
    }

    func testAliasBombIsRefused() {
        var text = "fillgraph: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<8 { text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        assertError(text, "YAML nested or aliased too deeply")
    }

    func testLargeGraphsLoadAndVerify() throws {
        // 20,000 nodes: a long chain and a wide fan-in, so no step of loading or verifying may be
        // quadratic or recursive in the node count.
        var text = Self.header + "nodes:\n"
        for i in 0..<10_000 { text += "  - {name: c\(i), op: relu, in: \(i == 0 ? "x" : "c\(i - 1)")}\n" }
        for i in 0..<10_000 { text += "  - {name: w\(i), op: sigmoid, in: x}\n" }
        text += "  - {name: y, op: concat, in: [" + (0..<10_000).map { "w\($0)" }.joined(separator: ", ") + ", c9999]}\n"
        text += "outputs: {y: y}\n"
        let g = try Verifier.verify(try GraphLoader.load(text: text, file: "big.yaml").graph)
        XCTAssertEqual(g.order.count, 20_001)
        XCTAssertEqual(g.type(of: ValueRef("y")).description, "float32[N, 40004, H, W]")
        XCTAssertEqual(g.order.last, 20_000)
    }
}
