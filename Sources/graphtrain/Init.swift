// `graphtrain init RUN`: a new run folder with its resolved config and ckpt-0, from trained
// weights (fine-tuning; a float16 discriminator is converted on import) or from TF-default
// random initialisation.
import ArgumentParser
import CLISupport
import Foundation
import Training

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a training run: its config and its initial weights (ckpt-0).",
        discussion: """
            Start from trained weights with --g-weights and --d-weights (.npz, .pth, TensorFlow checkpoint or \
            model.bin; float16 is converted), or from TensorFlow's default initialisation (Glorot-uniform kernels, \
            zero biases) with --random-init --seed N.
            --config reads a YAML file of settings with the official inpaint.yml key names (batch_size, img_shapes, \
            max_iters, train_spe, l1_loss_alpha, gan_loss_alpha, random_seed) and lr, betas, micro_batch, \
            keep_checkpoints, sn_grad, masks, crop_scale, flip. RUN/config.yaml keeps the result; graphtrain fit's \
            flags override it.
            Example: graphtrain init runs/a --generator Graphs/deepfill_v2.yaml --discriminator Graphs/sn_patchgan.yaml \
            --param cnum=24 --random-init --seed 1
            """)

    @Argument(help: ArgumentHelp("The run folder to create (must not exist, or be empty).", valueName: "RUN")) var folder: String
    @Option(help: ArgumentHelp("The generator graph.", valueName: "G.yaml")) var generator: String
    @Option(help: ArgumentHelp("The discriminator graph.", valueName: "D.yaml")) var discriminator: String
    @Option(name: .customLong("param"), help: ArgumentHelp("Override a generator graph parameter (repeatable).", valueName: "NAME=V"))
    var params: [String] = []
    @Option(name: .customLong("dparam"), help: ArgumentHelp("Override a discriminator graph parameter (repeatable).", valueName: "NAME=V"))
    var dparams: [String] = []
    @Option(help: ArgumentHelp("Generator weights to start from.", valueName: "FILE")) var gWeights: String?
    @Option(help: ArgumentHelp("Discriminator weights to start from, with each layer's u.", valueName: "FILE")) var dWeights: String?
    @Flag(help: "Start from TensorFlow's default initialisation instead of weights.") var randomInit = false
    @Option(help: ArgumentHelp("Seed of the random initialisation and of the run's data and masks (default 1).", valueName: "N"))
    var seed: UInt64?
    @Option(help: ArgumentHelp("Training settings (YAML, official inpaint.yml key names).", valueName: "train.yaml")) var config: String?

    func validate() throws {
        if randomInit {
            guard gWeights == nil && dWeights == nil else { throw ValidationError("give either --random-init or --g-weights and --d-weights, not both") }
        } else {
            guard gWeights != nil && dWeights != nil else {
                throw ValidationError("give --g-weights and --d-weights (to fine-tune), or --random-init --seed N (to train from scratch)")
            }
        }
        _ = try parseParams(params, flag: "--param")
        _ = try parseParams(dparams, flag: "--dparam")
    }

    func run() throws {
        var settings = TrainingConfig()
        if let config { for note in try settings.apply(yamlFile: config) { CLI.note("graphtrain: \(config): \(note)") } }
        func absolute(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }
        let gParams = try parseParams(self.params, flag: "--param"), dParams = try parseParams(dparams, flag: "--dparam")
        if !generator.isEmpty { settings.generator = absolute(generator) }
        if !discriminator.isEmpty { settings.discriminator = absolute(discriminator) }
        for (k, v) in gParams { settings.generatorParams[k] = v }
        for (k, v) in dParams { settings.discriminatorParams[k] = v }
        if let seed { settings.seed = seed }
        let initSeed = settings.seed
        settings.initialWeights = randomInit ? "random-init seed \(initSeed) (Glorot-uniform kernels, zero biases, truncated-normal u)"
            : "generator \(absolute(gWeights!)), discriminator \(absolute(dWeights!))"
        try TrainingRun.initialise(
            run: folder, config: settings,
            generator: NetworkSpec(graphPath: settings.generator, params: sortedParams(settings.generatorParams), weightsPath: gWeights, seed: initSeed),
            // A different stream for the discriminator, so its u are not the generator's numbers.
            discriminator: NetworkSpec(graphPath: settings.discriminator, params: sortedParams(settings.discriminatorParams), weightsPath: dWeights,
                                       seed: initSeed &+ 0x9E37_79B9))
        CLI.note("graphtrain: created \(folder): \(settings.initialWeights); batch \(settings.batchSize) at \(settings.width)x\(settings.height); "
                 + "next: graphtrain fit \(folder) --data DIR --steps N")
    }
}

func sortedParams(_ p: [String: String]) -> [(name: String, value: String)] { p.keys.sorted().map { ($0, p[$0]!) } }
