// `graphtrain gradients`: one step of the official recipe (D step, then G step) computed and
// written without changing any weight: the check against the gradient oracle.
import ArgumentParser
import CLISupport
import Foundation
import Kernels
import ModelFormat
import NumpyIO
import Runtime
import SafeIO
import Training

struct Gradients: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute one training step's gradients (D step, then G step) without updating the weights.",
        discussion: """
            The step is the official DeepFill v2 recipe: the discriminator sees [real ; completed] \
            (completed held constant) with the hinge loss, the generator minimises \
            −mean D(completed) + mean|x − stage1| + mean|x − stage2|. One mask serves the whole batch.
            Writes DIR/grads_g.npz and DIR/grads_d.npz (keys and layouts of the weights: <node>.weight \
            OIHW, <node>.bias), DIR/u_after.npz (each spectral-norm u after the D step's call) and \
            DIR/losses.json (d_loss, g_loss, g_adv, l1).
            """)

    @Option(help: ArgumentHelp("The generator graph.", valueName: "G.yaml")) var generator: String
    @Option(help: ArgumentHelp("The discriminator graph.", valueName: "D.yaml")) var discriminator: String
    @Option(name: .customLong("param"), help: ArgumentHelp("Override a generator graph parameter (repeatable).", valueName: "NAME=V"))
    var params: [String] = []
    @Option(name: .customLong("dparam"), help: ArgumentHelp("Override a discriminator graph parameter (repeatable).", valueName: "NAME=V"))
    var dparams: [String] = []
    @Option(help: ArgumentHelp("Generator weights (.npz, .pth, TF checkpoint or model.bin).", valueName: "FILE")) var gWeights: String
    @Option(help: ArgumentHelp("Discriminator weights, with each layer's u.", valueName: "FILE")) var dWeights: String
    @Option(name: .customLong("image"), help: ArgumentHelp("A training photo (PNG or JPEG, RGB); repeat for a batch.", valueName: "FILE"))
    var images: [String] = []
    @Option(help: ArgumentHelp("The hole mask for the whole batch (white = hole), the photos' size.", valueName: "FILE")) var mask: String
    @Option(help: ArgumentHelp("Spectral-norm gradient: full (TensorFlow's) or sigma (PyTorch's spectral_norm).", valueName: "full|sigma"))
    var snGrad: String = "full"
    @Option(help: ArgumentHelp("Threads (default: one per core; results are bit-identical for any count).", valueName: "N")) var threads: Int?
    @Option(help: ArgumentHelp("The folder to write into (created if missing).", valueName: "DIR")) var out: String
    @Flag(help: "Print where the step's time went, by op.") var profile = false

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one --image") }
        guard images.count <= 64 else { throw ValidationError("at most 64 --image files, got \(images.count)") }
        guard SpectralNormGradientMode(rawValue: snGrad) != nil else { throw ValidationError("--sn-grad must be full or sigma, got '\(snGrad)'") }
        if let t = threads, !(1...256).contains(t) { throw ValidationError("--threads must be in 1...256, got \(t)") }
        _ = try parseParams(params, flag: "--param")
        _ = try parseParams(dparams, flag: "--dparam")
    }

    func run() throws {
        let batch = try TrainingImages.load(images: images, mask: mask)
        let step = try GradientStep(
            generator: NetworkSpec(graphPath: generator, params: try parseParams(params, flag: "--param"), weightsPath: gWeights),
            discriminator: NetworkSpec(graphPath: discriminator, params: try parseParams(dparams, flag: "--dparam"), weightsPath: dWeights),
            batch: images.count, mode: SpectralNormGradientMode(rawValue: snGrad)!)
        let start = Date()
        let r = try step.run(image: batch.image, mask: batch.mask, height: batch.height, width: batch.width,
                             options: RunOptions(threads: threads ?? RunOptions.defaultThreads))
        if profile {
            var byOp: [String: (Double, Int)] = [:]
            for t in r.timings { byOp[t.op, default: (0, 0)].0 += t.seconds; byOp[t.op, default: (0, 0)].1 += t.macs }
            let total = r.timings.reduce(0) { $0 + $1.seconds }
            for (op, (sec, macs)) in byOp.sorted(by: { $0.value.0 > $1.value.0 }) {
                print(op.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: " %8.1f ms %5.1f%% %7.1f GFLOP/s", sec * 1e3, 100 * sec / total,
                             sec > 0 ? 2 * Double(macs) / sec / 1e9 : 0))
            }
            print(String(format: "total node time %.1f ms", total * 1e3))
            let gGraph = step.generator.model.graph
            print("G step: \(gGraph.nodes.count) nodes, \(gGraph.execution.values.filter(\.elided).count) upsamples folded, "
                  + "\(gGraph.nodes.filter { $0.name.hasSuffix("/recompute") }.count) activations recomputed, "
                  + "\(gGraph.execution.values.filter { $0.algorithm == .winograd }.count) Winograd, \(gGraph.execution.values.filter { $0.algorithm == .subpixel }.count) sub-pixel")
            let plans = try step.memoryPlans(height: batch.height, width: batch.width, threads: threads ?? RunOptions.defaultThreads)
            print(String(format: "arenas: G step %.0f MiB (lower bound %.0f), D step %.0f MiB (lower bound %.0f); parameters G %.0f MiB, D %.0f MiB",
                         Double(plans.generator.arenaBytes) / 1048576, Double(plans.generator.lowerBoundBytes) / 1048576,
                         Double(plans.discriminator.arenaBytes) / 1048576, Double(plans.discriminator.lowerBoundBytes) / 1048576,
                         Double(step.generator.parameters.bytes) / 1048576, Double(step.discriminator.parameters.bytes) / 1048576))
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        func npz(_ tensors: [Tensor], _ name: String) throws {
            try Npz.write(tensors.map { ($0.name, NpyArray(shape: $0.shape, floats: $0.values)) }, to: (out as NSString).appendingPathComponent(name))
        }
        try npz(r.generatorGradients, "grads_g.npz")
        try npz(r.discriminatorGradients, "grads_d.npz")
        try npz(r.updatedU, "u_after.npz")
        let losses: [String: Double] = ["d_loss": Double(r.dLoss), "g_loss": Double(r.gLoss), "g_adv": Double(r.gAdv), "l1": Double(r.l1)]
        let json = try JSONSerialization.data(withJSONObject: losses, options: [.prettyPrinted, .sortedKeys])
        try AtomicWrite.write(Array(json) + [10], to: (out as NSString).appendingPathComponent("losses.json"))
        FileHandle.standardError.write(Data(String(format: "step of %d images at %dx%d: d_loss %.6f, g_loss %.6f (g_adv %.6f, l1 %.6f) in %.2f s; wrote %@\n",
                                                   images.count, batch.width, batch.height, r.dLoss, r.gLoss, r.gAdv, r.l1,
                                                   Date().timeIntervalSince(start), out).utf8))
    }
}

