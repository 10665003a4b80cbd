// One training step's gradients (no update): the generator's forward, the D step, the
// discriminator's part of the G step and the G step, each an executor over a step graph
// (StepGraphs.swift). Used by `graphtrain gradients` and by the training loop.
import Compiler
import Foundation
import GraphIR
import GraphPasses
import GraphYAML
import Kernels
import ModelFormat
import Runtime

public struct NetworkSpec {
    public var graphPath: String
    public var params: [(name: String, value: String)]
    /// A weight file, or nil for TF-default random initialisation from `seed`.
    public var weightsPath: String?
    public var seed: UInt64
    public init(graphPath: String, params: [(name: String, value: String)] = [], weightsPath: String?, seed: UInt64 = 1) {
        self.graphPath = graphPath
        self.params = params
        self.weightsPath = weightsPath
        self.seed = seed
    }
}

public struct StepResult {
    public var dLoss: Float
    public var gAdv: Float
    public var l1: Float
    public var gLoss: Float { gAdv + l1 }
    /// ∂g_loss/∂(generator parameters) and ∂d_loss/∂(discriminator parameters), by parameter name.
    public var generatorGradients: [Tensor]
    public var discriminatorGradients: [Tensor]
    /// Each spectral-norm u after the D step's discriminator call.
    public var updatedU: [Tensor]
    /// The generator's outputs: stage1, stage2, completed [N, 3, H, W].
    public var stage1: [Float]
    public var stage2: [Float]
    public var completed: [Float]
    /// Every node's time in the four runs (generator forward, D step, D for G, G step).
    public var timings: [NodeTiming] = []
}

/// A graph and its parameter values (weights and spectral-norm state).
public struct Network {
    public var typed: TypedGraph
    public var tensors: [Tensor]
    public init(typed: TypedGraph, tensors: [Tensor]) {
        self.typed = typed
        self.tensors = tensors
    }
}

/// The G step's results for one batch.
public struct GeneratorStepResult {
    public var gAdv: Float
    public var l1: Float
    public var gLoss: Float
    public var gradients: [Tensor]
    /// The discriminator's u after this step's call (the discriminator's own names, no d/ prefix).
    public var updatedU: [Tensor]
    public var stage1: [Float]
    public var stage2: [Float]
    public var completed: [Float]
    public var timings: [NodeTiming]
}

/// The D step's results for one batch.
public struct DiscriminatorStepResult {
    public var dLoss: Float
    public var gradients: [Tensor]
    public var updatedU: [Tensor]
    public var timings: [NodeTiming]
}

public final class GradientStep {
    /// The G step (generator and discriminator in one graph) and the D step.
    public let generator: Executor
    public let discriminator: Executor
    /// The arena the two steps (and any executor the caller adds) take turns with.
    public let arena = SharedArena()
    public let batch: Int

    /// Loads both graphs (with `--param` overrides) and weights and builds the step graphs for
    /// `batch`; `ganWeight` and `l1Weight` weigh the generator's loss terms (the recipe's 1 : 1).
    public convenience init(generator g: NetworkSpec, discriminator d: NetworkSpec, batch: Int, mode: SpectralNormGradientMode,
                            ganWeight: Float = 1, l1Weight: Float = 1) throws {
        try self.init(generator: try GradientStep.load(g), discriminator: try GradientStep.load(d), batch: batch, mode: mode,
                      ganWeight: ganWeight, l1Weight: l1Weight)
    }

    public init(generator g: Network, discriminator d: Network, batch: Int, mode: SpectralNormGradientMode,
                ganWeight: Float = 1, l1Weight: Float = 1) throws {
        self.batch = batch
        let prefixed = d.tensors.map { Tensor(name: StepGraphs.discriminatorPrefix + $0.name, shape: $0.shape, values: $0.values) }
        generator = Executor(model: GradientStep.model(try StepGraphs.generatorStep(g.typed, d.typed, batch: batch, ganWeight: ganWeight,
                                                                                     l1Weight: l1Weight), g.tensors + prefixed),
                             sharedArena: arena)
        discriminator = Executor(model: GradientStep.model(try StepGraphs.discriminatorStep(d.typed, batch: batch, mode: mode), d.tensors),
                                 sharedArena: arena)
    }

    /// A model of `graph` holding those of `tensors` it declares.
    public static func model(_ graph: Graph, _ tensors: [Tensor]) -> Model {
        let names = Set(graph.parameters.map(\.name))
        return Model(graph: graph, metadata: ModelMetadata(compiler: Compiler.version, graphName: graph.name, sources: [],
                                                           weights: "training step", parameterCount: 0),
                     tensors: tensors.filter { names.contains($0.name) })
    }

    /// The network alone, compiled with the inference passes (graphc's), as an executor.
    public static func inference(_ network: Network, sharedArena: SharedArena? = nil) throws -> Executor {
        Executor(model: model(try PassPipeline.standard.run(network.typed).0.graph, network.tensors), sharedArena: sharedArena)
    }

    public static func load(_ spec: NetworkSpec) throws -> Network {
        let loaded = try GraphLoader.load(path: spec.graphPath, overrides: spec.params)
        let typed = try Verifier.verify(loaded.graph)
        guard let path = spec.weightsPath else {
            var rng = SplitMix64(seed: spec.seed)
            return Network(typed: typed, tensors: typed.parameters.map { Tensor(name: $0.name, shape: $0.shape!, values: RandomInit.values(for: $0, rng: &rng)) })
        }
        let tensors = try WeightImporting.tensors(path: path, colour: nil, typed: typed, conventions: loaded.conventions,
                                                  graphPath: spec.graphPath).tensors
        return Network(typed: typed, tensors: tensors.map { Tensor(name: $0.name, shape: $0.shape, values: $0.values) })
    }

    static func gradients(_ e: Executor, _ r: RunResult) -> [Tensor] {
        e.parameters.names.filter { e.parameters.entries[$0]!.role == .parameter && r.outputs[Autodiff.gradientName($0)] != nil }.map { name in
            Tensor(name: name, shape: e.parameters.entries[name]!.shape, values: r.outputs[Autodiff.gradientName(name)]!.floats!)
        }
    }

    /// Each state update of a run (spectral-norm u), under the discriminator's own names.
    static func stateUpdates(_ r: RunResult) -> [Tensor] {
        let p = StepGraphs.discriminatorPrefix
        return r.stateUpdates.keys.sorted().map { key in
            Tensor(name: key.hasPrefix(p) ? String(key.dropFirst(p.count)) : key, shape: [r.stateUpdates[key]!.count], values: r.stateUpdates[key]!)
        }
    }

    /// The G step on image [N, 3, H, W] in [-1, 1] and mask [1, 1, H, W] (1 = hole; one mask for the batch).
    public func runGenerator(image: [Float], mask: [Float], height h: Int, width w: Int, options: RunOptions) throws -> GeneratorStepResult {
        let n = batch, plane = h * w
        precondition(image.count == n * 3 * plane && mask.count == plane)
        try StepGraphs.checkPhotoSize(discriminator: discriminator.model.graph, height: h, width: w)
        let masks = (0..<n).flatMap { _ in mask }
        let r = try generator.run(["image": HostTensor(shape: [n, 3, h, w], floats: image), "mask": HostTensor(shape: [n, 1, h, w], floats: masks)],
                                  options: options)
        let gAdv = r.outputs["g_adv"]!.floats![0], l1 = r.outputs["l1"]!.floats![0]
        return GeneratorStepResult(gAdv: gAdv, l1: l1, gLoss: r.outputs["g_loss"]!.floats![0], gradients: GradientStep.gradients(generator, r),
                                   updatedU: GradientStep.stateUpdates(r), stage1: r.outputs["stage1"]!.floats!,
                                   stage2: r.outputs["stage2"]!.floats!, completed: r.outputs["completed"]!.floats!, timings: r.nodeSeconds)
    }

    /// The D step: the discriminator on [image ; completed] (completed a constant) with the mask beside each.
    public func runDiscriminator(image: [Float], completed: [Float], mask: [Float], height h: Int, width w: Int,
                                 options: RunOptions) throws -> DiscriminatorStepResult {
        let n = batch, plane = h * w
        precondition(image.count == n * 3 * plane && completed.count == image.count && mask.count == plane)
        let masks = (0..<2 * n).flatMap { _ in mask }
        let d = try discriminator.run(["image": HostTensor(shape: [2 * n, 3, h, w], floats: image + completed),
                                       "mask": HostTensor(shape: [2 * n, 1, h, w], floats: masks)], options: options)
        return DiscriminatorStepResult(dLoss: d.outputs["d_loss"]!.floats![0], gradients: GradientStep.gradients(discriminator, d),
                                       updatedU: GradientStep.stateUpdates(d), timings: d.nodeSeconds)
    }

    /// Both steps on one batch and mask, from the same weights (what `graphtrain gradients` and
    /// the gradient oracle check): the G step, then the D step on its completed images.
    public func run(image: [Float], mask: [Float], height h: Int, width w: Int, options: RunOptions) throws -> StepResult {
        let g = try runGenerator(image: image, mask: mask, height: h, width: w, options: options)
        let d = try runDiscriminator(image: image, completed: g.completed, mask: mask, height: h, width: w, options: options)
        return StepResult(dLoss: d.dLoss, gAdv: g.gAdv, l1: g.l1, generatorGradients: g.gradients, discriminatorGradients: d.gradients,
                          updatedU: d.updatedU, stage1: g.stage1, stage2: g.stage2, completed: g.completed, timings: g.timings + d.timings)
    }
}

extension GradientStep {
    /// The arena plans of the two step graphs at this size (the D step runs on twice the batch).
    public func memoryPlans(height: Int, width: Int, threads: Int) throws -> (generator: MemoryPlanSummary, discriminator: MemoryPlanSummary) {
        (try MemoryPlanSummary(graph: generator.model.graph, height: height, width: width, threads: threads, batch: batch),
         try MemoryPlanSummary(graph: discriminator.model.graph, height: height, width: width, threads: threads, batch: 2 * batch))
    }

    /// Writes new generator values, discriminator values and spectral-norm vectors into both
    /// step graphs' parameter stores (the G step holds the discriminator as d/…).
    public func apply(generator g: [String: [Float]], discriminator d: [String: [Float]], u: [Tensor]) {
        for (name, values) in g { generator.parameters.set(name, values) }
        for (name, values) in d.map({ ($0.key, $0.value) }) + u.map({ ($0.name, $0.values) }) {
            discriminator.parameters.set(name, values)
            generator.parameters.set(StepGraphs.discriminatorPrefix + name, values)
        }
    }

    /// One Adam step of the discriminator in place (its own store and the G step's d/ copy, no
    /// copies of the weights), then its u written back to both.
    public func updateDiscriminator(_ gradients: [Tensor], u: [Tensor], adam: inout Adam) {
        adam.beginStep()
        let p = StepGraphs.discriminatorPrefix
        for t in gradients {
            let w = discriminator.parameters.pointer(t.name)
            adam.apply(t.name, values: w, gradient: t.values)
            discriminator.parameters.touch(t.name)
            generator.parameters.pointer(p + t.name).update(from: w, count: t.values.count)
            generator.parameters.touch(p + t.name)
        }
        apply(generator: [:], discriminator: [:], u: u)
    }

    /// One Adam step of the generator in place, copied into `mirrors` (executors holding the same
    /// generator, e.g. its inference graph), then the discriminator's u written back.
    public func updateGenerator(_ gradients: [Tensor], u: [Tensor], adam: inout Adam, mirrors: [Executor] = []) {
        adam.beginStep()
        for t in gradients {
            let w = generator.parameters.pointer(t.name)
            adam.apply(t.name, values: w, gradient: t.values)
            generator.parameters.touch(t.name)
            for m in mirrors {
                m.parameters.pointer(t.name).update(from: w, count: t.values.count)
                m.parameters.touch(t.name)
            }
        }
        apply(generator: [:], discriminator: [:], u: u)
    }

    /// The current values of a network's trained parameters.
    public func values(ofGenerator: Bool) -> [String: [Float]] {
        if ofGenerator {
            let e = generator
            return Dictionary(uniqueKeysWithValues: e.parameters.names
                .filter { e.parameters.entries[$0]!.role == .parameter && !$0.hasPrefix(StepGraphs.discriminatorPrefix) }
                .map { ($0, e.parameters.values($0)) })
        }
        let e = discriminator
        return Dictionary(uniqueKeysWithValues: e.parameters.names.filter { e.parameters.entries[$0]!.role == .parameter }
            .map { ($0, e.parameters.values($0)) })
    }
}
