// graphtrain gradients through the executable: the oracle case end to end (files, keys,
// losses), and bad input (exit 2, the message naming what is wrong). graphc compile --param.
import Foundation
import NumpyIO
import TestSupport
import XCTest

final class GraphTrainTests: CLIBase {
    static let oracle = "oracle/gradients_64x64_cnum8"
    func o(_ name: String) -> String { Fixtures.fixture("\(Self.oracle)/\(name)") }

    func arguments(out: String, extra: [String] = []) -> [String] {
        ["gradients", "--generator", Fixtures.graph("deepfill_v2.yaml"), "--discriminator", Fixtures.graph("sn_patchgan.yaml"),
         "--param", "cnum=8", "--dparam", "cnum=8", "--g-weights", o("generator.npz"), "--d-weights", o("discriminator.npz"),
         "--image", o("image_0.png"), "--image", o("image_1.png"), "--mask", o("mask.png"), "--out", out] + extra
    }

    func testHelp() throws {
        let r = try Tool.run("graphtrain", ["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, """
            OVERVIEW: Train inpainting networks compiled by Fillgraph.

            Exit status: 0 on success, 2 for bad input (graphs, weights, photos, masks, run
            folders or arguments), 3 when a loss goes NaN or infinite (the last good
            checkpoint is kept), 130 when interrupted (after saving a checkpoint).

            USAGE: graphtrain <subcommand>

            OPTIONS:
              --version               Show the version.
              -h, --help              Show help information.

            SUBCOMMANDS:
              init                    Create a training run: its config and its initial
                                      weights (ckpt-0).
              fit                     Train a run from its newest checkpoint (the official
                                      DeepFill v2 recipe).
              export                  Write a checkpoint's generator as a model.bin for
                                      graphrun.
              samples                 Draw a grid of a checkpoint's fills: input, stage 1,
                                      completed, original (and the attention flow).
              masks                   Draw the official training masks and print their
                                      coverage statistics.
              gradients               Compute one training step's gradients (D step, then G
                                      step) without updating the weights.

              See 'graphtrain help <subcommand>' for detailed help.

            """)
        let g = try Tool.run("graphtrain", ["gradients", "--help"])
        XCTAssertEqual(g.status, 0)
        XCTAssertTrue(g.stdout.contains("--sn-grad <full|sigma>  Spectral-norm gradient: full (TensorFlow's) or sigma"), g.stdout)
        XCTAssertTrue(g.stdout.contains("--threads <N>           Threads (default: one per core; results are"), g.stdout)
    }

    func testOracleStepWritesGradientsULossesAndIsThreadIndependent() throws {
        let out1 = dir.appendingPathComponent("t1").path, out3 = dir.appendingPathComponent("t3").path
        let r1 = try Tool.run("graphtrain", arguments(out: out1, extra: ["--threads", "1"]))
        XCTAssertEqual(r1.status, 0, r1.stderr)
        XCTAssertTrue(r1.stderr.hasPrefix("step of 2 images at 64x64: d_loss 1.000248, g_loss 0.585982 (g_adv -0.012558, l1 0.598540)"), r1.stderr)
        let r3 = try Tool.run("graphtrain", arguments(out: out3, extra: ["--threads", "3"]))
        XCTAssertEqual(r3.status, 0, r3.stderr)
        // The same values to the bit (the archives' zip headers carry the time of writing).
        for name in ["grads_g.npz", "grads_d.npz", "u_after.npz"] {
            XCTAssertEqual(try Npz.read(path: out1 + "/" + name).map(\.array), try Npz.read(path: out3 + "/" + name).map(\.array), name)
        }
        XCTAssertEqual(FileManager.default.contents(atPath: out1 + "/losses.json"), FileManager.default.contents(atPath: out3 + "/losses.json"))
        XCTAssertEqual(Set(try Npz.read(path: out1 + "/grads_g.npz").map(\.name)), Set(try Npz.read(path: o("grads_g.npz")).map(\.name)))
        XCTAssertEqual(Set(try Npz.read(path: out1 + "/grads_d.npz").map(\.name)), Set(try Npz.read(path: o("grads_d_full.npz")).map(\.name)))
        XCTAssertEqual(Set(try Npz.read(path: out1 + "/u_after.npz").map(\.name)), Set((1...6).map { "conv\($0).u" }))
        let losses = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out1 + "/losses.json"))) as! [String: Double]
        XCTAssertEqual(Set(losses.keys), ["d_loss", "g_loss", "g_adv", "l1"])
        XCTAssertEqual(losses["g_loss"]!, losses["g_adv"]! + losses["l1"]!, accuracy: 1e-6)
        // The values themselves against the gradient oracle, within its README's tolerances.
        for (ours, theirs) in [("grads_g.npz", "grads_g.npz"), ("grads_d.npz", "grads_d_full.npz")] {
            let reference = Dictionary(uniqueKeysWithValues: try Npz.read(path: o(theirs)).map { ($0.name, $0.array.floats) })
            for (name, array) in try Npz.read(path: out1 + "/" + ours) {
                let expected = try XCTUnwrap(reference[name], "\(ours): \(name) is not in the oracle")
                let largest = Double(expected.map(abs).max()!), d = Difference(array.floats, expected)
                XCTAssertLessThanOrEqual(Double(d.max), OracleTolerance.gradientOfLargest * largest, "\(ours) \(name): \(d), oracle max \(largest)")
            }
        }
        let values = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: o("values.json")))) as! [String: Any]
        for key in ["d_loss", "g_loss", "g_adv", "l1"] {
            let expected = values[key] as! Double
            XCTAssertEqual(losses[key]!, expected, accuracy: OracleTolerance.lossRelative * abs(expected), key)
        }
    }

    func testBadInput() throws {
        let out = dir.appendingPathComponent("bad").path
        func run(_ extra: [String], replacing: [String: String] = [:]) throws -> Command {
            var args = arguments(out: out)
            for (flag, value) in replacing { args[args.firstIndex(of: flag)! + 1] = value }
            return try Tool.run("graphtrain", args + extra)
        }
        let cases: [([String], [String: String], String)] = [
            ([], ["--mask": Fixtures.fixture("oracle/case_128x96/mask.png")], "error: the mask \(Fixtures.fixture("oracle/case_128x96/mask.png")) is 96x128, but the photos are 64x64"),
            ([], ["--g-weights": dir.appendingPathComponent("none.npz").path], "no such file"),
            ([], ["--g-weights": o("discriminator.npz")], "do not fit the graph"),
            ([], ["--param": "cnum=16"], "error: the weights in \(o("generator.npz")) do not fit the graph"),
            ([], ["--param": "width=8"], "error: --param width=8: the graph has no parameter 'width'\n  hint: its params are: cnum"),
            ([], ["--param": "cnum"], "--param takes NAME=VALUE (e.g. --param cnum=8), got 'cnum'"),
            (["--sn-grad", "pytorch"], [:], "--sn-grad must be full or sigma, got 'pytorch'"),
            (["--threads", "0"], [:], "--threads must be in 1...256, got 0"),
            ([], ["--image": Fixtures.fixture("oracle/case_128x96/image.png")], "\(o("image_1.png")) is 64x64, but \(Fixtures.fixture("oracle/case_128x96/image.png")) is 96x128\n  hint: every photo of a batch must have the same size"),
        ]
        for (extra, replacing, expected) in cases {
            let r = try run(extra, replacing: replacing)
            XCTAssertEqual(r.status, 2, "\(extra) \(replacing): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(extra) \(replacing): expected '\(expected)' in\n\(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/grads_g.npz"), "no output on bad input")
        }
        let none = try Tool.run("graphtrain", ["gradients", "--generator", "g.yaml", "--discriminator", "d.yaml", "--g-weights", "g", "--d-weights", "d",
                                               "--mask", "m.png", "--out", out])
        XCTAssertEqual(none.status, 2)
        XCTAssertTrue(none.stderr.contains("give at least one --image"), none.stderr)
    }

    func testCompileWithParam() throws {
        let model = dir.appendingPathComponent("m.bin").path
        let r = try Tool.run("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--param", "cnum=8", "--random-init", "-o", model, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("deepfill_v2, 97 nodes, 115258 parameters"), r.stdout)
        let bad = try Tool.run("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--param", "cnum=abc", "--random-init", "-o", model, "-q"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "error: --param cnum=abc: 'cnum' is a number in the graph (48); give a number\n")
    }
}
