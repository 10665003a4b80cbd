// One training step of the official recipe against the independent PyTorch gradient oracle
// (Tests/Fixtures/oracle/gradients_64x64_cnum8, its README gives the definitions and the
// tolerance: every tensor within 1e-3 of its largest magnitude, losses within 1e-5 relative),
// in both spectral-norm conventions; determinism across thread counts; and learning.
import Foundation
import Kernels
import ModelFormat
import NumpyIO
import Runtime
import TestSupport
import Training
import XCTest

final class OracleGradientTests: XCTestCase {
    static let repository = Fixtures.repository
    static let oracle = Fixtures.fixture("oracle/gradients_64x64_cnum8")
    static func file(_ name: String) -> String { (oracle as NSString).appendingPathComponent(name) }
    /// The oracle README's tolerances.
    static let gradientTolerance = Float(OracleTolerance.gradientOfLargest)
    static let lossTolerance = OracleTolerance.lossRelative

    static func step(_ mode: SpectralNormGradientMode) throws -> GradientStep {
        let cnum = [(name: "cnum", value: "8")]
        return try GradientStep(
            generator: NetworkSpec(graphPath: repository.appendingPathComponent("Graphs/deepfill_v2.yaml").path, params: cnum,
                                   weightsPath: file("generator.npz")),
            discriminator: NetworkSpec(graphPath: repository.appendingPathComponent("Graphs/sn_patchgan.yaml").path, params: cnum,
                                       weightsPath: file("discriminator.npz")),
            batch: 2, mode: mode)
    }

    static func batch() throws -> TrainingBatch {
        try TrainingImages.load(images: [file("image_0.png"), file("image_1.png")], mask: file("mask.png"))
    }

    static func npz(_ name: String) throws -> [String: (shape: [Int], values: [Float])] {
        var out: [String: (shape: [Int], values: [Float])] = [:]
        for (key, array) in try Npz.read(path: file(name)) {
            guard case .float32(let v) = array.elements else { continue }
            out[key] = (array.shape, v)
        }
        return out
    }

    func assertMatches(_ tensors: [Tensor], _ oracleFile: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try Self.npz(oracleFile)
        XCTAssertEqual(Set(tensors.map(\.name)), Set(expected.keys), oracleFile, file: file, line: line)
        for t in tensors {
            guard let e = expected[t.name] else { continue }
            XCTAssertEqual(t.shape, e.shape, t.name, file: file, line: line)
            let scale = e.values.map(abs).max()!, worst = zip(t.values, e.values).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, Self.gradientTolerance * scale, "\(oracleFile) \(t.name): \(worst) vs max \(scale)", file: file, line: line)
        }
    }

    func testInputsAreTheOraclesTensors() throws {
        let b = try Self.batch()
        let npy = try Npy.read(path: Self.file("image.npy")), mask = try Npy.read(path: Self.file("mask.npy"))
        guard case .float32(let x) = npy.elements, case .float32(let m) = mask.elements else { return XCTFail("float32 fixtures") }
        XCTAssertEqual(npy.shape, [2, 3, 64, 64])
        XCTAssertLessThanOrEqual(zip(b.image, x).map { abs($0 - $1) }.max()!, 1e-6)
        XCTAssertEqual(b.mask, m)
    }

    func testStepMatchesTheOracleInBothConventions() throws {
        let b = try Self.batch()
        let values = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.file("values.json")))) as! [String: Any]
        for mode in SpectralNormGradientMode.allCases {
            let r = try Self.step(mode).run(image: b.image, mask: b.mask, height: 64, width: 64, options: RunOptions(threads: 2))
            for (name, got) in [("d_loss", r.dLoss), ("g_loss", r.gLoss), ("g_adv", r.gAdv), ("l1", r.l1)] {
                let want = values[name] as! Double
                XCTAssertLessThanOrEqual(abs(Double(got) - want), Self.lossTolerance * abs(want), "\(mode) \(name): \(got) vs \(want)")
            }
            try assertMatches(r.generatorGradients, "grads_g.npz")
            try assertMatches(r.discriminatorGradients, mode == .full ? "grads_d_full.npz" : "grads_d_sigma.npz")
            try assertMatches(r.updatedU, "u_after.npz")
            let stage1 = try Npy.read(path: Self.file("stage1.npy"))
            guard case .float32(let s1) = stage1.elements else { return XCTFail("float32 stage1") }
            XCTAssertLessThanOrEqual(zip(r.stage1, s1).map { abs($0 - $1) }.max()!, 1e-4)
        }
    }

    /// The two conventions must be told apart: their discriminator gradients differ by more than the tolerance.
    func testConventionsDiffer() throws {
        let b = try Self.batch()
        let full = try Self.step(.full).run(image: b.image, mask: b.mask, height: 64, width: 64, options: RunOptions(threads: 2))
        let sigma = try Self.step(.sigma).run(image: b.image, mask: b.mask, height: 64, width: 64, options: RunOptions(threads: 2))
        let f = full.discriminatorGradients.first { $0.name == "conv3.weight" }!, s = sigma.discriminatorGradients.first { $0.name == "conv3.weight" }!
        let scale = f.values.map(abs).max()!
        XCTAssertGreaterThan(zip(f.values, s.values).map { abs($0 - $1) }.max()!, 5 * Self.gradientTolerance * scale)
    }

    func testGradientsAreBitIdenticalForOneTwoAndThreeThreads() throws {
        let b = try Self.batch(), step = try Self.step(.full)
        let runs = try [1, 2, 3].map { try step.run(image: b.image, mask: b.mask, height: 64, width: 64, options: RunOptions(threads: $0)) }
        for r in runs.dropFirst() {
            XCTAssertEqual(r.generatorGradients.map(\.values), runs[0].generatorGradients.map(\.values))
            XCTAssertEqual(r.discriminatorGradients.map(\.values), runs[0].discriminatorGradients.map(\.values))
            XCTAssertEqual([r.dLoss, r.l1, r.gAdv], [runs[0].dLoss, runs[0].l1, runs[0].gAdv])
        }
    }
}
