// One iteration of the official recipe (spec §5.2) on the gradient step: a D step on its own
// batch and mask (the generator's completions of that batch are constants), an Adam update of
// the discriminator and its u, then a G step on another batch and mask against the updated
// discriminator, whose call advances u again, and an Adam update of the generator.
//
// A batch larger than the step graphs' micro-batch runs as equal micro-batches whose losses
// and gradients are averaged: DeepFill has no batch statistics and every loss is a mean, so
// this is the same sum, only in another order. Micro-batches are summed in a fixed order, so
// an iteration is bit-identical for any thread count.
//
// An iteration either completes or leaves the trainer as it found it (a cancelled or
// non-finite G step restores the discriminator it had updated), so a checkpoint taken after
// an error is a checkpoint of the last completed step.
import Compiler
import GraphIR
import GraphPasses
import Kernels
import ModelFormat
import Runtime

public struct TrainerSettings: Sendable {
    public var batch: Int
    public var microBatch: Int
    public var mode: SpectralNormGradientMode
    public var ganWeight: Float
    public var l1Weight: Float
    public init(batch: Int, microBatch: Int, mode: SpectralNormGradientMode = .full, ganWeight: Float = 1, l1Weight: Float = 1) {
        precondition(batch > 0 && microBatch > 0 && batch % microBatch == 0)
        self.batch = batch
        self.microBatch = microBatch
        self.mode = mode
        self.ganWeight = ganWeight
        self.l1Weight = l1Weight
    }
}

public struct IterationLosses: Codable, Equatable, Sendable {
    public var dLoss: Float
    public var gLoss: Float
    public var gAdv: Float
    public var l1: Float

    public init(dLoss: Float, gLoss: Float, gAdv: Float, l1: Float) {
        self.dLoss = dLoss
        self.gLoss = gLoss
        self.gAdv = gAdv
        self.l1 = l1
    }
}

/// A loss or gradient went NaN or infinite; `detail` names the first node that produced one.
public struct NonFiniteLoss: Error, CustomStringConvertible {
    public var stepKind: String
    public var detail: String
    public var description: String { "the \(stepKind)'s loss went non-finite: \(detail)" }
}

/// Images [n, 3, H, W] in [-1, 1] and one mask [H, W] (1 = hole) for the whole batch.
public struct Batch: Sendable {
    public var image: [Float]
    public var mask: [Float]
    public init(image: [Float], mask: [Float]) {
        self.image = image
        self.mask = mask
    }
}

public final class Trainer {
    public let step: GradientStep
    /// The generator alone (inference passes), for the D step's completions and for samples.
    public let forward: Executor
    public var gAdam: Adam
    public var dAdam: Adam
    public let settings: TrainerSettings

    public init(generator: Network, discriminator: Network, settings: TrainerSettings, gAdam: Adam, dAdam: Adam) throws {
        self.settings = settings
        step = try GradientStep(generator: generator, discriminator: discriminator, batch: settings.microBatch, mode: settings.mode,
                                ganWeight: settings.ganWeight, l1Weight: settings.l1Weight)
        forward = try GradientStep.inference(generator, sharedArena: step.arena)
        self.gAdam = gAdam
        self.dAdam = dAdam
    }

    /// The generator's outputs for images [n, 3, H, W] (any n) and one mask [H, W].
    public func generate(image: [Float], mask: [Float], height h: Int, width w: Int, options: RunOptions) throws -> [String: HostTensor] {
        let n = image.count / (3 * h * w)
        return try forward.run(["image": HostTensor(shape: [n, 3, h, w], floats: image),
                                "mask": HostTensor(shape: [n, 1, h, w], floats: (0..<n).flatMap { _ in mask })], options: options).outputs
    }

    /// Runs one iteration and updates both networks; returns the batch-mean losses.
    public func iterate(d: Batch, g: Batch, height h: Int, width w: Int, options: RunOptions) throws -> IterationLosses {
        let micro = settings.microBatch, parts = settings.batch / micro, size = micro * 3 * h * w
        precondition(d.image.count == parts * size && g.image.count == parts * size)
        func part(_ b: Batch, _ j: Int) -> [Float] { Array(b.image[j * size..<(j + 1) * size]) }

        var dLoss: Float = 0, dGradients = Accumulator(), dU: [Tensor] = []
        for j in 0..<parts {
            let x = part(d, j)
            let completed = try generate(image: x, mask: d.mask, height: h, width: w, options: options)["completed"]!.floats!
            let r = try step.runDiscriminator(image: x, completed: completed, mask: d.mask, height: h, width: w, options: options)
            if !r.dLoss.isFinite || !Accumulator.finite(r.gradients) {
                throw NonFiniteLoss(stepKind: "D step", detail: diagnose {
                    _ = try self.step.runDiscriminator(image: x, completed: completed, mask: d.mask, height: h, width: w, options: $0)
                } ?? "the completions fed to it were non-finite")
            }
            dLoss += r.dLoss
            dGradients.add(r.gradients)
            dU = r.updatedU
        }
        // What the G step must restore if it does not complete.
        let savedD = step.values(ofGenerator: false), savedU = stateValues(), savedAdam = dAdam
        step.updateDiscriminator(dGradients.mean(parts), u: dU, adam: &dAdam)

        var gLoss: Float = 0, gAdv: Float = 0, l1: Float = 0, gGradients = Accumulator(), gU: [Tensor] = []
        do {
            for j in 0..<parts {
                let x = part(g, j)
                let r = try step.runGenerator(image: x, mask: g.mask, height: h, width: w, options: options)
                if !r.gLoss.isFinite || !Accumulator.finite(r.gradients) {
                    throw NonFiniteLoss(stepKind: "G step", detail: diagnose {
                        _ = try self.step.runGenerator(image: x, mask: g.mask, height: h, width: w, options: $0)
                    } ?? "no node produced a non-finite value on a second run")
                }
                gLoss += r.gLoss
                gAdv += r.gAdv
                l1 += r.l1
                gGradients.add(r.gradients)
                gU = r.updatedU
            }
        } catch {
            step.apply(generator: [:], discriminator: savedD, u: savedU)
            dAdam = savedAdam
            throw error
        }
        step.updateGenerator(gGradients.mean(parts), u: gU, adam: &gAdam, mirrors: [forward])
        let k = Float(parts)
        return IterationLosses(dLoss: dLoss / k, gLoss: gLoss / k, gAdv: gAdv / k, l1: l1 / k)
    }

    /// Re-runs a failed step with every node's output checked; the first non-finite node.
    func diagnose(_ run: (RunOptions) throws -> Void) -> String? {
        var options = RunOptions(threads: RunOptions.defaultThreads)
        options.checkFinite = true
        do { try run(options) } catch let e as NonFiniteValue { return e.description } catch { return "\(error)" }
        return nil
    }

    /// The discriminator's state tensors (spectral-norm u).
    func stateValues() -> [Tensor] {
        let e = step.discriminator
        return e.parameters.names.filter { e.parameters.entries[$0]!.role == .state }
            .map { Tensor(name: $0, shape: e.parameters.entries[$0]!.shape, values: e.parameters.values($0)) }
    }

    /// Every parameter and state tensor of a network, in its graph's order, at current values.
    public func tensors(ofGenerator: Bool) -> [Tensor] {
        let e = ofGenerator ? step.generator : step.discriminator
        return e.parameters.names.filter { !ofGenerator || !$0.hasPrefix(StepGraphs.discriminatorPrefix) }.map {
            Tensor(name: $0, shape: e.parameters.entries[$0]!.shape, values: e.parameters.values($0))
        }
    }
}

/// Gradients summed over micro-batches in arrival order, then averaged.
struct Accumulator {
    var sums: [Tensor] = []
    var count = 0

    mutating func add(_ gradients: [Tensor]) {
        defer { count += 1 }
        guard count > 0 else { sums = gradients; return }
        for i in sums.indices {
            precondition(sums[i].name == gradients[i].name)
            sums[i].values.withUnsafeMutableBufferPointer { s in
                gradients[i].values.withUnsafeBufferPointer { g in for k in 0..<s.count { s[k] += g[k] } }
            }
        }
    }

    func mean(_ parts: Int) -> [Tensor] {
        guard parts > 1 else { return sums }
        let scale = 1 / Float(parts)
        return sums.map { t in var t = t; t.values = t.values.map { $0 * scale }; return t }
    }

    static func finite(_ gradients: [Tensor]) -> Bool { gradients.allSatisfy { $0.values.allSatisfy(\.isFinite) } }
}
