import Foundation
import TestSupport
import XCTest

/// graphc end to end: help text, compile/check/dump/inspect, and exit code 2 with a precise
/// message for every kind of bad input.
final class GraphCTests: CLIBase {
    func testHelpText() throws {
        let r = try Tool.run("graphc", ["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, """
            OVERVIEW: Compile inpainting-network graphs (YAML) into model.bin files for
            graphrun.

            Exit status: 0 on success, 2 for bad input (graph, weights, model or arguments).

            USAGE: graphc <subcommand>

            OPTIONS:
              --version               Show the version.
              -h, --help              Show help information.

            SUBCOMMANDS:
              compile                 Compile a graph and its weights into a model file.
              check                   Parse and verify a graph; print a one-line summary.
              dump                    Print a graph's IR: one line per value with its
                                      inferred type.
              inspect                 Describe a model file: header, sections, tensors,
                                      checksums, parameters and MACs.

              See 'graphc help <subcommand>' for detailed help.

            """)
    }

    func testCompileInspectAndDump() throws {
        let model = path("g.bin")
        let c = try Tool.run("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--weights", Fixtures.fixture("oracle/generator.npz"), "-o", model])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.hasPrefix("wrote \(model): deepfill_v2, 97 nodes, 4052478 parameters"), c.stdout)
        XCTAssertTrue(c.stderr.contains("note: gate fusion: fused 40 gates into their convolutions"), c.stderr)
        let i = try Tool.run("graphc", ["inspect", model, "--size", "256x256"])
        XCTAssertEqual(i.status, 0, i.stderr)
        for fragment in ["Fillgraph model, format 2.0", "parameters 4,052,478", "sections (all checksums verified):",
                         "tensors (84, float32, 64-byte aligned):", "conv1.weight", "[48, 5, 5, 5]",
                         "contextual_attention", "total 27.73 GMAC (55.5 GFLOP)", "weights    generator.npz (NumPy .npz, fillgraph names, colour rgb, xxh64 "] {
            XCTAssertTrue(i.stdout.contains(fragment), "inspect lacks '\(fragment)'")
        }
        let d = try Tool.run("graphc", ["dump", Fixtures.graph("deepfill_v2.yaml"), "--size", "64x64", "--no-locations"])
        XCTAssertEqual(d.status, 0)
        XCTAssertTrue(d.stdout.contains("  (contextual_attention:y, contextual_attention:argmax) = contextual_attention(pmconv6/gate, pmconv6/gate, mask_s) "
                                        + "{ksize=3, stride=1, rate=2, fuse_k=3, softmax_scale=10.0, fuse=true} : float32[1, 96, 16, 16], int32[1, 1, 8, 8]"), d.stdout)
        let ck = try Tool.run("graphc", ["check", Fixtures.graph("deepfill_v2_no_attention.yaml")])
        XCTAssertEqual(ck.status, 0)
        XCTAssertTrue(ck.stdout.contains("graph deepfill_v2_no_attention, 78 nodes, 3104238 parameters"), ck.stdout)
    }

    /// Docs/graph-language.md shows `graphc dump tiny.yaml` of its example: the tool's real output.
    func testDocumentedDumpIsTheToolsOutput() throws {
        let doc = try String(contentsOfFile: Fixtures.file("Docs/graph-language.md"), encoding: .utf8)
        /// The text of the first fenced block that opens with `fence` after `marker`.
        func block(_ fence: String, after marker: String) throws -> String {
            let from = try XCTUnwrap(doc.range(of: marker)).upperBound
            let start = try XCTUnwrap(doc.range(of: fence, range: from..<doc.endIndex)).upperBound
            return String(doc[start..<(try XCTUnwrap(doc.range(of: "```", range: start..<doc.endIndex))).lowerBound])
        }
        try block("```yaml\n", after: "## A complete small example").write(toFile: path("tiny.yaml"), atomically: true, encoding: .utf8)
        let r = try Tool.run("graphc", ["dump", "tiny.yaml"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, try block("```\n", after: "`graphc dump tiny.yaml` prints"))
    }

    func testFloat16ModelsAndModelsAsWeights() throws {
        let half = path("half.bin"), full = path("full.bin")
        let c = try Tool.run("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--weights", Fixtures.fixture("oracle/generator.npz"), "--store", "float16", "-o", half])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stderr.contains("note: stored as float16 (computed in float32): largest rounding error "), c.stderr)
        let size = try FileManager.default.attributesOfItem(atPath: half)[.size] as! Int
        XCTAssertLessThan(size, 8_300_000, "4,052,478 parameters at 2 bytes")
        let i = try Tool.run("graphc", ["inspect", half])
        XCTAssertTrue(i.stdout.contains("Fillgraph model, format 2.1"), i.stdout)
        XCTAssertTrue(i.stdout.contains("tensors (84, float16, 64-byte aligned):"), i.stdout)
        // A model.bin is a weight source: recompiled as float32, its values are the float16 ones.
        let r = try Tool.run("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--weights", half, "-o", full])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("note: \(half): Fillgraph model with Fillgraph's own names"), r.stderr)
        let again = try Tool.run("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--weights", full, "--store", "float16", "-o", path("again.bin")])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("largest rounding error 0.00e+00"), "float16 values survive float32 unchanged: \(again.stderr)")
        try assertBadInput("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--random-init", "--store", "float8"], ["float8"])
        // A damaged model named as weights is refused with the model reader's message.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: half)))
        bytes[bytes.count - 100] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path("bad.bin")))
        try assertBadInput("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--weights", path("bad.bin"), "-o", path("x.bin")],
                           [path("bad.bin"), "checksum mismatch"])
    }

    func testBadArguments() throws {
        try assertBadInput("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml")], ["Error: give exactly one of --weights FILE or --random-init"])
        try assertBadInput("graphc", ["inspect", "m.bin", "--size", "big"], ["--size must be width x height, like 600x400, got 'big'"])
        try assertBadInput("graphc", ["frobnicate"], ["Error: Unexpected argument 'frobnicate'"])
    }

    func testBadGraphFiles() throws {
        try assertBadInput("graphc", ["check", path("none.yaml")], ["error: cannot read \(path("none.yaml")): no such file"])
        try assertBadInput("graphc", ["check", dir.path], ["error: cannot read \(dir.path): is a directory, not a graph file"])
        let broken = path("broken.yaml")
        try "fillgraph: 1\nnodes: [\n  {name: a, op: relu\n".write(toFile: broken, atomically: true, encoding: .utf8)
        try assertBadInput("graphc", ["compile", broken, "--random-init"], ["\(broken):4:1: error: invalid YAML"])
        let unknown = path("unknown.yaml")
        try "fillgraph: 1\nname: u\ninputs: {x: [3, H, W]}\nnodes:\n  - {name: y, op: blur, in: x}\noutputs: {y: y}\n".write(toFile: unknown, atomically: true, encoding: .utf8)
        try assertBadInput("graphc", ["check", unknown], ["\(unknown):5:19: error: node 'y' (blur): op: unknown op 'blur'"])
        let cycle = path("cycle.yaml")
        try "fillgraph: 1\nname: c\ninputs: {x: [3, H, W]}\nnodes:\n  - {name: a, op: add, in: [x, b]}\n  - {name: b, op: relu, in: a}\noutputs: {y: b}\n"
            .write(toFile: cycle, atomically: true, encoding: .utf8)
        try assertBadInput("graphc", ["dump", cycle], ["\(cycle):5:5: error: the graph has a cycle: a -> b -> a"])
        let shapes = path("shapes.yaml")
        try "fillgraph: 1\nname: s\ninputs: {x: [3, H, W]}\nnodes:\n  - {name: a, op: conv2d, in: x, out: 4, kernel: 3, stride: 2}\n  - {name: b, op: mul, in: [a, x]}\noutputs: {y: b}\n"
            .write(toFile: shapes, atomically: true, encoding: .utf8)
        try assertBadInput("graphc", ["check", shapes], ["\(shapes):6:5: error: node 'b' (mul): shapes float32[N, 4, ceil(H/2), ceil(W/2)] and float32[N, 3, H, W] do not agree in dimension 1"])
    }

    func testImportsCheckpointsAndSaysWhatItDid() throws {
        let graph = Fixtures.fixture("import/graphs/deepfill_v2_cnum8.yaml")
        let tf = try Tool.run("graphc", ["compile", graph, "--weights", Fixtures.fixture("import/tf_cnum8"), "-o", path("tf.bin")])
        XCTAssertEqual(tf.status, 0, tf.stderr)
        for fragment in ["TensorFlow checkpoint (scope 'inpaint_net/') with the official TensorFlow variable names",
                         "not used: 'discriminator'", "skipped 84 tensors that are not weights",
                         "colour order: bgr (the default for a TensorFlow checkpoint: the official networks were trained on BGR images); "
                         + "reversed the colour channels of conv1.weight, xconv1.weight, pmconv1.weight, conv17.weight, conv17.bias, allconv17.weight, allconv17.bias"] {
            XCTAssertTrue(tf.stderr.contains(fragment), "lacks '\(fragment)':\n\(tf.stderr)")
        }
        XCTAssertTrue(tf.stdout.contains("weights: tf_cnum8 (TensorFlow checkpoint, tensorflow names, colour bgr)"), tf.stdout)
        let pth = try Tool.run("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--weights", Fixtures.fixture("oracle/generator_port.pth"), "-o", path("p.bin")])
        XCTAssertEqual(pth.status, 0, pth.stderr)
        XCTAssertTrue(pth.stderr.contains("PyTorch checkpoint (entry 'G') with the PyTorch port's TF-compatible model (model/networks_tf.py"), pth.stderr)
        XCTAssertTrue(pth.stderr.contains("colour order: rgb (the default for a PyTorch checkpoint: used as stored)"), pth.stderr)
    }

    /// --channel-order (graphrun's name too) sets the colour order; --color-order, its old name,
    /// still works, says it is deprecated and is not shown in the help.
    func testChannelOrderAndItsDeprecatedName() throws {
        let graph = Fixtures.fixture("import/graphs/deepfill_v2_cnum8.yaml"), weights = Fixtures.fixture("import/tf_cnum8")
        let new = try Tool.run("graphc", ["compile", graph, "--weights", weights, "--channel-order", "rgb", "-o", path("new.bin")])
        XCTAssertEqual(new.status, 0, new.stderr)
        XCTAssertTrue(new.stderr.contains("colour order: rgb (as given); pass --channel-order bgr for weights trained on BGR images"), new.stderr)
        XCTAssertFalse(new.stderr.contains("deprecated"), new.stderr)
        let old = try Tool.run("graphc", ["compile", graph, "--weights", weights, "--color-order", "rgb", "-o", path("old.bin")])
        XCTAssertEqual(old.status, 0, old.stderr)
        XCTAssertTrue(old.stderr.contains("note: --color-order is deprecated; it is now --channel-order"), old.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: path("new.bin")), FileManager.default.contents(atPath: path("old.bin")))
        // Not the default (bgr for a TensorFlow checkpoint), so the flag really took effect.
        XCTAssertEqual(try Tool.run("graphc", ["compile", graph, "--weights", weights, "-o", path("default.bin")]).status, 0)
        XCTAssertNotEqual(FileManager.default.contents(atPath: path("new.bin")), FileManager.default.contents(atPath: path("default.bin")))
        let help = try Tool.run("graphc", ["compile", "--help"]).stdout
        XCTAssertTrue(help.contains("--channel-order <bgr|rgb>"), help)
        XCTAssertFalse(help.contains("--color-order"), help)
    }

    func testRefusesUnsafeOrDamagedCheckpoints() throws {
        let graph = Fixtures.fixture("import/graphs/deepfill_v2_port_cnum8.yaml")
        try assertBadInput("graphc", ["compile", graph, "--weights", Fixtures.fixture("import/bad/evil_os_system.pth"), "-o", path("e.bin")],
                           ["evil_os_system.pth: archive/data.pkl byte 40: GLOBAL 'posix system' is not allowed", "nothing in the file was run"])
        try assertBadInput("graphc", ["compile", graph, "--weights", Fixtures.fixture("import/bad/truncated_storage.pth")],
                           ["storage generator_port_pt/data/0 holds 2000 bytes but the pickle says 1000 × 4 = 4000"])
        try assertBadInput("graphc", ["compile", graph, "--weights", Fixtures.fixture("import/bad/wrong_shape.pth")],
                           ["mis-shaped  conv1.weight (from 'stage1.conv1.conv.weight'): expected [8, 5, 5, 5], found [8, 4, 5, 5]"])
        try assertBadInput("graphc", ["compile", Fixtures.fixture("import/graphs/deepfill_v2_cnum8.yaml"), "--weights", Fixtures.fixture("import/port_cnum8/generator_port_pt.pth")],
                           ["model/networks.py", "hint: compile Graphs/deepfill_v2_port.yaml instead"])
        try assertBadInput("graphc", ["compile", graph, "--weights", Fixtures.fixture("import/tf_cnum8"), "--channel-order", "grb"],
                           ["Error: The value 'grb' is invalid for '--channel-order <bgr|rgb>'"])
        try assertBadInput("graphc", ["compile", graph, "--random-init", "--channel-order", "bgr"], ["--channel-order applies to --weights"])
        try assertBadInput("graphc", ["compile", graph, "--random-init", "--color-order", "bgr"], ["--channel-order applies to --weights"])
        try assertBadInput("graphc", ["compile", graph, "--weights", Fixtures.fixture("import/tf_cnum8"), "--channel-order", "rgb", "--color-order", "rgb"],
                           ["--color-order is the old name of --channel-order; give --channel-order only"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("e.bin")))
    }

    func testBadWeightsAndModels() throws {
        try assertBadInput("graphc", ["compile", Fixtures.graph("deepfill_v2_no_attention.yaml"), "--weights", Fixtures.fixture("oracle/generator.npz"), "-o", path("m.bin")],
                           ["(0 missing, 16 unexpected, 1 mis-shaped)", "mis-shaped  allconv11.weight: expected [192, 96, 3, 3], found [192, 192, 3, 3]"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("m.bin")), "no model may be written on error")
        try assertBadInput("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--weights", Fixtures.fixture("oracle/case_64x64/mask.png")],
                           ["mask.png: not a weight file Fillgraph reads: expected an .npz, a PyTorch .pth (zip) or a TensorFlow checkpoint"])
        try assertBadInput("graphc", ["inspect", Fixtures.fixture("oracle/case_64x64/mask.png")], ["not a Fillgraph model", "(this is a PNG image)"])
        try assertBadInput("graphc", ["inspect", path("missing.bin")], ["no such file"])
        // A truncated model.
        let model = path("t.bin")
        XCTAssertEqual(try Tool.run("graphc", ["compile", Fixtures.graph("sn_patchgan.yaml"), "--random-init", "-o", model]).status, 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        try bytes.prefix(bytes.count - 1000).write(to: URL(fileURLWithPath: model))
        try assertBadInput("graphc", ["inspect", model], ["section header, byte offset 16: truncated: the header says the file is \(bytes.count) bytes, it has \(bytes.count - 1000)"])
    }
}
