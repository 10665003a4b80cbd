// One training step with each ablation variant (Graphs/deepfill_v2_vanilla.yaml,
// sn_patchgan_no_sn.yaml, global_gan.yaml) paired with a network it trains against, from seeded
// random weights: the step builds, runs, and gives finite gradients of the right shapes. The
// global discriminator's dense layer (an even kernel spanning the last map, valid padding,
// spectral-normalised) is also checked against a finite difference of the D step's loss.
import Foundation
import GraphPasses
import Kernels
import ModelFormat
import Runtime
import TestSupport
import Training
import XCTest

final class AblationStepTests: XCTestCase {
    static func spec(_ graph: String, _ params: [(name: String, value: String)], seed: UInt64) -> NetworkSpec {
        NetworkSpec(graphPath: Fixtures.graph(graph), params: params, weightsPath: nil, seed: seed)
    }

    /// A seeded batch in [-1, 1] and one rectangular hole.
    static func batch(_ n: Int, _ size: Int) -> (image: [Float], mask: [Float]) {
        var rng = SeededRandom(seed: UInt64(size))
        let image = (0..<n * 3 * size * size).map { _ in Float(rng.uniform()) }
        let mask = (0..<size * size).map { i -> Float in (size / 4..<size / 2).contains(i / size) && (size / 3..<3 * size / 4).contains(i % size) ? 1 : 0 }
        return (image, mask)
    }

    func assertFinite(_ tensors: [Tensor], file: StaticString = #filePath, line: UInt = #line) {
        for t in tensors {
            XCTAssertEqual(t.values.count, t.shape.reduce(1, *), t.name, file: file, line: line)
            XCTAssertTrue(t.values.allSatisfy(\.isFinite), t.name, file: file, line: line)
        }
        XCTAssertTrue(tensors.contains { $0.values.contains { $0 != 0 } }, "some gradient is non-zero", file: file, line: line)
    }

    func run(_ step: GradientStep, n: Int, size: Int) throws -> StepResult {
        let b = Self.batch(n, size)
        return try step.run(image: b.image, mask: b.mask, height: size, width: size, options: RunOptions(threads: 2))
    }

    func testVanillaGeneratorWithSNPatchGAN() throws {
        let cnum = [(name: "cnum", value: "8")]
        let step = try GradientStep(generator: Self.spec("deepfill_v2_vanilla.yaml", cnum, seed: 1),
                                    discriminator: Self.spec("sn_patchgan.yaml", cnum, seed: 2), batch: 2, mode: .full)
        let r = try run(step, n: 2, size: 64)
        XCTAssertEqual(r.generatorGradients.count, 84)
        XCTAssertEqual(r.generatorGradients.first { $0.name == "conv1.weight" }?.shape, [4, 5, 5, 5])
        XCTAssertEqual(r.generatorGradients.first { $0.name == "allconv17.weight" }?.shape, [3, 2, 3, 3])
        assertFinite(r.generatorGradients)
        assertFinite(r.discriminatorGradients)
        XCTAssertEqual(r.updatedU.count, 6)
        XCTAssertTrue([r.dLoss, r.gAdv, r.l1].allSatisfy(\.isFinite))
    }

    func testDeepFillWithDiscriminatorWithoutSpectralNorm() throws {
        let cnum = [(name: "cnum", value: "8")]
        let step = try GradientStep(generator: Self.spec("deepfill_v2.yaml", cnum, seed: 1),
                                    discriminator: Self.spec("sn_patchgan_no_sn.yaml", cnum, seed: 2), batch: 2, mode: .full)
        let r = try run(step, n: 2, size: 64)
        XCTAssertEqual(r.discriminatorGradients.map(\.name).sorted(),
                       (1...6).flatMap { ["conv\($0).bias", "conv\($0).weight"] }.sorted())
        XCTAssertTrue(r.updatedU.isEmpty, "no spectral norm, no u")
        assertFinite(r.discriminatorGradients)
        assertFinite(r.generatorGradients)
    }

    func testDeepFillWithGlobalGANAt128() throws {
        let step = try GradientStep(generator: Self.spec("deepfill_v2.yaml", [("cnum", "8")], seed: 1),
                                    discriminator: Self.spec("global_gan.yaml", [("cnum", "8"), ("size", "128")], seed: 2),
                                    batch: 2, mode: .full)
        let r = try run(step, n: 2, size: 128)
        XCTAssertEqual(r.discriminatorGradients.first { $0.name == "fc.weight" }?.shape, [1, 32, 2, 2])
        assertFinite(r.discriminatorGradients)
        assertFinite(r.generatorGradients)
        let u = try XCTUnwrap(r.updatedU.first { $0.name == "fc.u" })
        XCTAssertEqual(abs(u.values[0]), 1, accuracy: 1e-6)  // one output: u' is a unit scalar
        XCTAssertEqual(r.updatedU.count, 7)

        // The D step's fc.weight gradient against a central difference of d_loss along it.
        let d = step.discriminator, b = Self.batch(4, 128)
        let feed = ["image": HostTensor(shape: [4, 3, 128, 128], floats: b.image),
                    "mask": HostTensor(shape: [4, 1, 128, 128], floats: b.mask + b.mask + b.mask + b.mask)]
        let w0 = d.parameters.values("fc.weight")
        let out = try d.run(feed, options: RunOptions(threads: 2)).outputs
        let g = out[Autodiff.gradientName("fc.weight")]!.floats!
        let norm = g.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertGreaterThan(norm, 0)
        let eps = 0.05
        func loss(_ s: Double) throws -> Double {
            d.parameters.set("fc.weight", zip(w0, g).map { Float(Double($0) + s * eps * Double($1) / norm) })
            defer { d.parameters.set("fc.weight", w0) }
            return Double(try d.run(feed, options: RunOptions(threads: 2)).outputs["d_loss"]!.floats![0])
        }
        let numeric = (try loss(1) - loss(-1)) / (2 * eps)
        XCTAssertEqual(numeric, norm, accuracy: 0.02 * norm, "directional derivative of d_loss along its fc.weight gradient")
    }

    func testGlobalGANRefusesPhotosOfAnotherSize() throws {
        let step = try GradientStep(generator: Self.spec("deepfill_v2.yaml", [("cnum", "8")], seed: 1),
                                    discriminator: Self.spec("global_gan.yaml", [("cnum", "8"), ("size", "128")], seed: 2),
                                    batch: 1, mode: .full)
        XCTAssertThrowsError(try run(step, n: 1, size: 64)) {
            XCTAssertEqual("\($0)", "the discriminator 'global_gan' takes one image size only (inputs image [3, 128, 128], mask [1, 128, 128]), "
                           + "but the photos are 64x64\n  hint: use photos of that size, or set the size its graph fixes "
                           + "(global_gan: --dparam size=N, N a multiple of 64)")
        }
    }
}
