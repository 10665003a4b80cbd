import Compiler
import GraphIR
import ModelFormat
import NumpyIO
import Runtime
import TestSupport
import XCTest

/// The compiled DeepFill v2 generator reproduces the independent PyTorch reference
/// (Tests/Fixtures/oracle, copied from shared/oracle) within its README's tolerances.
final class OracleTests: XCTestCase {
    static let generator: Executor = {
        let (model, _) = try! Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"),
                                               weights: .npz(path: Fixtures.fixture("oracle/generator.npz")))
        // Through the file format, as graphrun would see it.
        let bytes = try! ModelWriter.encode(model)
        return Executor(model: try! ModelReader.decode(bytes, path: "generator model").model)
    }()

    func check(_ folder: String, threads: Int = 2) throws {
        let image = try Fixtures.npy("oracle/\(folder)/image.npy"), mask = try Fixtures.npy("oracle/\(folder)/mask.npy")
        let h = image.shape[1], w = image.shape[2]
        let tol = OracleTolerance.generator(height: h, width: w)
        let result = try Self.generator.run(["image": HostTensor(shape: [1, 3, h, w], floats: image.floats),
                                             "mask": HostTensor(shape: [1, 1, h, w], floats: mask.floats)],
                                            options: RunOptions(threads: threads))
        let stage1 = Difference(result.outputs["stage1"]!.floats!, try Fixtures.npy("oracle/\(folder)/stage1.npy").floats)
        XCTAssertLessThanOrEqual(stage1.max, tol.stage1Max, "stage1 \(stage1)")
        XCTAssertLessThanOrEqual(stage1.mean, tol.stage1Mean, "stage1 \(stage1)")
        for (ours, theirs) in [("stage2", "stage2"), ("completed", "output")] {
            let d = Difference(result.outputs[ours]!.floats!, try Fixtures.npy("oracle/\(folder)/\(theirs).npy").floats)
            XCTAssertLessThanOrEqual(d.max, tol.max, "\(ours) \(d)")
            XCTAssertLessThanOrEqual(d.p999, tol.p999, "\(ours) \(d)")
            XCTAssertLessThanOrEqual(d.mean, tol.mean, "\(ours) \(d)")
            print("\(folder) \(ours): \(d)")
        }
        print("\(folder) stage1: \(stage1)")
        // Known pixels are passed through exactly.
        let out = result.outputs["completed"]!.floats!, img = image.floats, m = mask.floats
        for c in 0..<3 { for i in 0..<h * w where m[i] == 0 { XCTAssertEqual(out[c * h * w + i], img[c * h * w + i]) } }
        let argmax = try Fixtures.npy("oracle/\(folder)/attention_argmax.npy")
        XCTAssertEqual(result.outputs["attention"]!.shape, [1, 1] + argmax.shape)
        XCTAssertEqual(result.outputs["attention"]!.ints!, argmax.ints!, "attention argmax must match exactly")
    }

    func testCase64x64() throws {
        try check("case_64x64")
    }

    func testCase128x96() throws {
        try check("case_128x96")
    }

    func testThreadCountDoesNotChangeResults() throws {
        let image = try Fixtures.npy("oracle/case_128x96/image.npy"), mask = try Fixtures.npy("oracle/case_128x96/mask.npy")
        let inputs = ["image": HostTensor(shape: [1, 3, 128, 96], floats: image.floats),
                      "mask": HostTensor(shape: [1, 1, 128, 96], floats: mask.floats)]
        let one = try Self.generator.run(inputs, options: RunOptions(threads: 1))
        let three = try Self.generator.run(inputs, options: RunOptions(threads: 3))
        for name in ["stage1", "stage2", "completed", "attention"] {
            XCTAssertEqual(one.outputs[name], three.outputs[name], "\(name) differs between 1 and 3 threads")
        }
    }

    /// With every optimisation off (no fusion) the outputs agree with the optimised model's, and
    /// two runs of one model with the same thread count are byte-identical.
    func testOptimisationsDoNotChangeResults() throws {
        let (plain, _) = try Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"),
                                              weights: .npz(path: Fixtures.fixture("oracle/generator.npz")),
                                              passes: try PassSelection.pipeline(noOpt: true))
        // Fusion leaves the logical graph alone and records in the plan that every gate runs inside
        // its producing convolution; without passes no node is absorbed.
        let isGate: (Node) -> Bool = { if case .gate = $0.op { return true }; return false }
        XCTAssertFalse(plain.graph.nodes.filter(isGate).isEmpty, "the plain graph has gates")
        XCTAssertTrue(plain.graph.execution.values.allSatisfy { $0.absorbedInto == nil })
        let fused = Self.generator.model.graph
        XCTAssertFalse(fused.nodes.filter(isGate).isEmpty)
        for gate in fused.nodes.filter(isGate) {
            XCTAssertNotNil(fused.execution[gate.name]?.absorbedInto, "\(gate.name) is not fused")
        }
        let image = try Fixtures.npy("oracle/case_128x96/image.npy"), mask = try Fixtures.npy("oracle/case_128x96/mask.npy")
        let inputs = ["image": HostTensor(shape: [1, 3, 128, 96], floats: image.floats),
                      "mask": HostTensor(shape: [1, 1, 128, 96], floats: mask.floats)]
        let optimised = try Self.generator.run(inputs, options: RunOptions(threads: 2))
        let again = try Self.generator.run(inputs, options: RunOptions(threads: 2))
        let unoptimised = try Executor(model: plain).run(inputs, options: RunOptions(threads: 2))
        for name in ["stage1", "stage2", "completed"] {
            XCTAssertEqual(optimised.outputs[name], again.outputs[name], "\(name): two runs differ")
            let d = Difference(optimised.outputs[name]!.floats!, unoptimised.outputs[name]!.floats!)
            // Only rounding differs: Winograd's transforms and the sub-pixel tap sums round
            // differently from im2col (measured 4e-5 at most; the oracle allows 1e-3).
            XCTAssertLessThanOrEqual(d.max, 1e-4, "\(name) optimised vs not: \(d)")
        }
        XCTAssertEqual(optimised.outputs["attention"], unoptimised.outputs["attention"])
        // Without Winograd (im2col everywhere): the same network within float rounding.
        let (im2col, _) = try Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"),
                                               weights: .npz(path: Fixtures.fixture("oracle/generator.npz")),
                                               passes: try PassSelection.pipeline(disabled: ["winograd-selection", "dilation-lowering"]))
        let w = try Executor(model: im2col).run(inputs, options: RunOptions(threads: 2))
        let d = Difference(w.outputs["stage2"]!.floats!, try Fixtures.npy("oracle/case_128x96/stage2.npy").floats)
        XCTAssertLessThanOrEqual(d.max, OracleTolerance.generator(height: 128, width: 96).max, "im2col stage2 vs oracle: \(d)")
        XCTAssertEqual(w.outputs["attention"], optimised.outputs["attention"])
    }
}
