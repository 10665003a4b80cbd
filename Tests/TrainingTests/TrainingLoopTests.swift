// The training loop's parts against hand-computed cases and invariants: micro-batches average
// to the whole batch, the data stream is a pure function of (seed, step, sample) and covers
// every photo once per epoch, resampling matches hand-computed means, the config survives a
// round trip and names unknown keys, checkpoints round-trip exactly, and a blown-up weight is
// reported as the node that first went non-finite.
import Foundation
import GraphIR
import ImageIO
import Masks
import ModelFormat
import Runtime
import TestSupport
import XCTest
import Training

final class TrainingLoopTests: XCTestCase {
    static let graphs = Fixtures.repository.appendingPathComponent("Graphs").path

    func networks(cnum: Int = 8) throws -> (Network, Network) {
        (try GradientStep.load(NetworkSpec(graphPath: Self.graphs + "/deepfill_v2.yaml", params: [("cnum", "\(cnum)")], weightsPath: nil, seed: 5)),
         try GradientStep.load(NetworkSpec(graphPath: Self.graphs + "/sn_patchgan.yaml", params: [("cnum", "8")], weightsPath: nil, seed: 6)))
    }

    /// Two smooth photos-as-tensors and a rectangular hole, 64×64.
    func batch(_ n: Int, phase: Float) -> Batch {
        var image: [Float] = []
        for b in 0..<n { for c in 0..<3 { for y in 0..<64 { for x in 0..<64 {
            image.append(sin(Float(x) * 0.1 + Float(c) + phase + Float(b)) * cos(Float(y) * 0.07 - Float(b)) * 0.9)
        } } } }
        let mask = (0..<64 * 64).map { i -> Float in (16..<40).contains(i / 64) && (20..<52).contains(i % 64) ? 1 : 0 }
        return Batch(image: image, mask: mask)
    }

    func testMicroBatchesAverageToTheWholeBatch() throws {
        let (g, d) = try networks()
        let options = RunOptions(threads: 2)
        var results: [(IterationLosses, [Tensor], [Tensor])] = []
        for micro in [2, 1] {
            let t = try Trainer(generator: g, discriminator: d, settings: TrainerSettings(batch: 2, microBatch: micro), gAdam: Adam(), dAdam: Adam())
            let losses = try t.iterate(d: batch(2, phase: 0), g: batch(2, phase: 1), height: 64, width: 64, options: options)
            results.append((losses, t.tensors(ofGenerator: true), t.tensors(ofGenerator: false)))
        }
        let (a, b) = (results[0].0, results[1].0)
        for (x, y, name) in [(a.dLoss, b.dLoss, "d_loss"), (a.gLoss, b.gLoss, "g_loss"), (a.gAdv, b.gAdv, "g_adv"), (a.l1, b.l1, "l1")] {
            XCTAssertEqual(Double(x), Double(y), accuracy: 1e-5 * max(1, Double(abs(x))), name)
        }
        // One Adam step moves a weight by about lr; the two orders of summation must agree far below that.
        for (whole, parts) in zip(results[0].1 + results[0].2, results[1].1 + results[1].2) {
            XCTAssertEqual(whole.name, parts.name)
            let worst = zip(whole.values, parts.values).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 2e-6, whole.name)
        }
        // And the update did happen: the last bias (its gradient about 2e-3, far above Adam's ε; the
        // kernels' are about 1e-8 at this random init, whose gated layers shrink the signal) moved by about lr.
        let before = g.tensors.first { $0.name == "allconv17.bias" }!.values, after = results[0].1.first { $0.name == "allconv17.bias" }!.values
        let moved = zip(before, after).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(moved, 5e-5)
        XCTAssertLessThan(moved, 2e-4)
    }

    func testABlownUpWeightNamesTheNodeThatWentNonFinite() throws {
        var (g, d) = try networks()
        let i = g.tensors.firstIndex { $0.name == "conv2_downsample.weight" }!
        g.tensors[i].values = g.tensors[i].values.map { $0 * 1e37 }
        let t = try Trainer(generator: g, discriminator: d, settings: TrainerSettings(batch: 1, microBatch: 1), gAdam: Adam(), dAdam: Adam())
        let dBefore = t.tensors(ofGenerator: false)
        XCTAssertThrowsError(try t.iterate(d: batch(1, phase: 0), g: batch(1, phase: 1), height: 64, width: 64, options: RunOptions(threads: 2))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("loss went non-finite"), text)
            // The first node in schedule order whose output is NaN or infinite (here a weight gradient of
            // the G step, where the huge activations meet: the forward itself stays finite).
            XCTAssertNotNil(text.range(of: #"node '[^']+' \([a-z0-9_+]+\) (produced|read non-finite)"#, options: .regularExpression), text)
        }
        // Nothing was updated.
        XCTAssertEqual(t.tensors(ofGenerator: false), dBefore)
        XCTAssertEqual(t.dAdam.step, 0)
    }

    func photoFolder(_ count: Int, width: Int = 40, height: Int = 30) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-photos-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for k in 0..<count {
            var img = Image(width: width, height: height, channels: 3, bitDepth: 8)
            for p in 0..<width * height { for c in 0..<3 { img.samples[p * 3 + c] = UInt16((p * (k + 1) + 40 * c) % 256) } }
            _ = try ImageFile.write(img, to: dir + "/p\(k).png")
        }
        return dir
    }

    func testTheDataStreamIsAPureFunctionOfSeedStepAndSampleAndCoversEachEpoch() throws {
        let dir = try photoFolder(5)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func data() throws -> TrainingData { TrainingData(photos: try PhotoSet(folder: dir), masks: .generated(.rectBrush), seed: 7) }
        let a = try data(), b = try data()
        _ = try a.batch(step: 0, kind: .generator, size: 2, height: 16, width: 24)
        let late = try a.batch(step: 9, kind: .discriminator, size: 2, height: 16, width: 24)
        let direct = try b.batch(step: 9, kind: .discriminator, size: 2, height: 16, width: 24)
        XCTAssertEqual(late.image, direct.image)
        XCTAssertEqual(late.mask, direct.mask)
        XCTAssertEqual(late.image.count, 2 * 3 * 16 * 24)
        XCTAssertTrue(late.image.allSatisfy { $0 >= -1 && $0 <= 1 })
        XCTAssertNotEqual(try a.batch(step: 9, kind: .generator, size: 2, height: 16, width: 24).image, late.image)
        // Each epoch of 5 draws is a permutation of the 5 photos.
        for epoch in 0..<3 { XCTAssertEqual(Set((0..<5).map { a.photoIndex(draw: epoch * 5 + $0) }), Set(0..<5)) }
        XCTAssertNotEqual((0..<5).map { a.photoIndex(draw: $0) }, (5..<10).map { a.photoIndex(draw: $0) })
    }

    func testAreaAndBilinearResamplingMatchHandComputedValues() {
        // A 4×2 grey ramp 0, 60, 120, 180 (both rows): halving the width averages pairs.
        var img = Image(width: 4, height: 2, channels: 1, bitDepth: 8)
        for y in 0..<2 { for x in 0..<4 { img.samples[y * 4 + x] = UInt16(60 * x) } }
        let half = Resize.region(img, x: 0, y: 0, width: 4, height: 2, to: 2, 1, mirrored: false)
        XCTAssertEqual(half.count, 6)
        for c in 0..<3 {
            XCTAssertEqual(half[c * 2], 30 / 127.5 - 1, accuracy: 1e-6)
            XCTAssertEqual(half[c * 2 + 1], 150 / 127.5 - 1, accuracy: 1e-6)
        }
        let mirrored = Resize.region(img, x: 0, y: 0, width: 4, height: 2, to: 2, 1, mirrored: true)
        XCTAssertEqual(mirrored[0], half[1])
        // A fractional region: x from 0.5 to 2.5 → means of [30·… ] = (0.5·0 + 0.5·60) and (0.5·120 + 0.5·180)? No:
        // output pixel 0 covers [0.5, 1.5): half of pixel 0 (0) and half of pixel 1 (60) → 30; pixel 1 covers [1.5, 2.5) → 90.
        let shifted = Resize.region(img, x: 0.5, y: 0, width: 2, height: 2, to: 2, 1, mirrored: false)
        XCTAssertEqual(shifted[0], 30 / 127.5 - 1, accuracy: 1e-6)
        XCTAssertEqual(shifted[1], 90 / 127.5 - 1, accuracy: 1e-6)
        // Doubling 2 pixels (0, 60) bilinearly: centres at −0.25, 0.25, 0.75, 1.25 → 0, 15, 45, 60 (clamped at the edges).
        var two = Image(width: 2, height: 1, channels: 1, bitDepth: 8)
        two.samples = [0, 60]
        let doubled = Resize.region(two, x: 0, y: 0, width: 2, height: 1, to: 4, 1, mirrored: false)
        for (got, want) in zip(doubled.prefix(4), [0, 15, 45, 60] as [Float]) { XCTAssertEqual(got, want / 127.5 - 1, accuracy: 1e-6) }
    }

    func testConfigRoundTripsAndNamesUnknownKeys() throws {
        var c = TrainingConfig()
        c.generator = "/g \"quoted\".yaml"
        c.generatorParams = ["cnum": "24"]
        c.batchSize = 8
        c.microBatch = 2
        (c.height, c.width) = (128, 192)
        c.lr = 3e-4
        (c.beta1, c.beta2) = (0.9, 0.99)
        c.snGrad = "sigma"
        c.cropScale = (0.25, 0.75)
        c.flip = false
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-config-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try c.yaml.write(toFile: file, atomically: true, encoding: .utf8)
        var back = TrainingConfig()
        XCTAssertEqual(try back.apply(yamlFile: file), [])
        XCTAssertEqual(back, c)
        XCTAssertEqual(back.generator, c.generator)
        XCTAssertEqual(back.resolvedMicroBatch, 2)

        try "batch_size: 4\ngan: sngan\npadding: SAME\nlearning_rate: 3\n".write(toFile: file, atomically: true, encoding: .utf8)
        var bad = TrainingConfig()
        XCTAssertThrowsError(try bad.apply(yamlFile: file)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(file):4:1: error: unknown key 'learning_rate'\n  hint: "), "\(error)")
        }
        try "batch_size: 4\ngan: sngan\nimg_shapes: [100, 128, 3]\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try bad.apply(yamlFile: file)) { XCTAssertTrue("\($0)".contains(":3:13: error: img_shapes: expected [height, width, 3]"), "\($0)") }
        try "batch_size: 4\ngan: sngan\n".write(toFile: file, atomically: true, encoding: .utf8)
        var ok = TrainingConfig()
        XCTAssertEqual(try ok.apply(yamlFile: file), ["ignored official keys (no effect in Fillgraph's trainer): gan"])
        XCTAssertEqual(ok.batchSize, 4)
    }

    func testCheckpointsRoundTripExactlyAndKeepTheNewest() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-run-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: run) }
        let (g, d) = try networks()
        var gAdam = Adam(), dAdam = Adam()
        _ = gAdam.update(Dictionary(uniqueKeysWithValues: g.tensors.map { ($0.name, $0.values) }),
                         gradients: Dictionary(uniqueKeysWithValues: g.tensors.map { ($0.name, $0.values.map { $0 * 0.5 + 0.25 }) }))
        let params = d.tensors.filter { !$0.name.hasSuffix(".u") }
        _ = dAdam.update(Dictionary(uniqueKeysWithValues: params.map { ($0.name, $0.values) }),
                         gradients: Dictionary(uniqueKeysWithValues: params.map { ($0.name, $0.values.map { -$0 }) }))
        try FileManager.default.createDirectory(atPath: run + "/.ckpt-9.tmp-1", withIntermediateDirectories: true)
        for step in [3, 4, 5, 6] {
            let state = CheckpointState(step: step, generatorAdamStep: 1, discriminatorAdamStep: 1, seed: 11, dataCursor: 32 * step,
                                        losses: IterationLosses(dLoss: 1, gLoss: 2, gAdv: 3, l1: 4))
            try Checkpoint(generator: g, discriminator: d, gAdam: gAdam, dAdam: dAdam, state: state).write(run: run, keep: 3)
        }
        XCTAssertEqual(Checkpoint.list(run: run).map(\.step), [4, 5, 6])
        Checkpoint.removeLeftovers(run: run)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/.ckpt-9.tmp-1"))
        let back = try Checkpoint.read(run + "/ckpt-6")
        XCTAssertEqual(back.state.dataCursor, 192)
        XCTAssertEqual(back.generator.tensors, g.tensors)
        XCTAssertEqual(back.discriminator.tensors, d.tensors)
        XCTAssertEqual(back.gAdam.m, gAdam.m)
        XCTAssertEqual(back.gAdam.v, gAdam.v)
        XCTAssertEqual(back.dAdam.m, dAdam.m)
        XCTAssertEqual(back.dAdam.step, 1)
        // A folder without state.json (a crash before the last file) is not a checkpoint.
        try FileManager.default.removeItem(atPath: run + "/ckpt-6/state.json")
        XCTAssertEqual(Checkpoint.list(run: run).map(\.step), [4, 5])
    }

    func testEveryDiscriminatorCallAdvancesU() throws {
        let (g, d) = try networks()
        let t = try Trainer(generator: g, discriminator: d, settings: TrainerSettings(batch: 1, microBatch: 1), gAdam: Adam(), dAdam: Adam())
        let options = RunOptions(threads: 2)
        // The D step alone, from the initial weights: its u'.
        let x = batch(1, phase: 0)
        let completed = try t.generate(image: x.image, mask: x.mask, height: 64, width: 64, options: options)["completed"]!.floats!
        let dStep = try t.step.runDiscriminator(image: x.image, completed: completed, mask: x.mask, height: 64, width: 64, options: options)
        _ = try t.iterate(d: x, g: batch(1, phase: 1), height: 64, width: 64, options: options)
        let after = t.tensors(ofGenerator: false).filter { $0.name.hasSuffix(".u") }
        XCTAssertEqual(after.map(\.name), dStep.updatedU.map(\.name))
        XCTAssertEqual(after.count, 6)
        for (final, first) in zip(after, dStep.updatedU) {
            let initial = d.tensors.first { $0.name == final.name }!.values
            // The iteration's u is not the D step's u': the G step's discriminator call advanced it again.
            XCTAssertNotEqual(final.values, first.values, final.name)
            XCTAssertNotEqual(final.values, initial, final.name)
            let norm = final.values.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-5, final.name)
        }
        // And the G step's copy of the discriminator holds the same u.
        for u in after { XCTAssertEqual(t.step.generator.parameters.values("d/" + u.name), u.values, u.name) }
    }
}
