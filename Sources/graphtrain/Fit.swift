// `graphtrain fit RUN --data DIR`: trains from the run's newest checkpoint. Flags override
// RUN/config.yaml and are saved into it, so the next `fit` goes on the same way.
import ArgumentParser
import CLISupport
import Foundation
import Kernels
import Runtime
import SafeIO
import Training

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a run from its newest checkpoint (the official DeepFill v2 recipe).",
        discussion: """
            Each iteration is a D step and then a G step, each on its own batch and its own mask (one mask per \
            batch), with Adam per network. Photos are random crops at a random scale (crop_scale, default 0.5–1) \
            resized to --size and flipped left-right at random; every draw is seeded by (seed, step, sample), so \
            resuming and the thread count do not change what a step sees, and results are bit-identical for a \
            given thread count.
            A checkpoint RUN/ckpt-<step>/ is written every --checkpoint-every iterations (default 1: a kill loses \
            at most the iteration in flight), after the last and on Ctrl-C. RUN/losses.jsonl logs every \
            iteration; RUN/losses.png and RUN/samples.png are redrawn about once a minute.
            Progress: one line on a terminal; JSON lines on stdout otherwise.
            Exit status 3: a loss went NaN or infinite (the message names the first node that did; the last \
            good checkpoint is kept). 130: interrupted, after saving a checkpoint.
            """)

    @Argument(help: ArgumentHelp("The run folder (graphtrain init makes one).", valueName: "RUN")) var folder: String
    @Option(help: ArgumentHelp("A folder of PNG or JPEG training photos.", valueName: "DIR")) var data: String
    @Option(help: ArgumentHelp("The iteration count to reach (total, not more).", valueName: "N")) var steps: Int?
    @Option(help: ArgumentHelp("Photos per step.", valueName: "N")) var batch: Int?
    @Option(help: ArgumentHelp("Photos per pass through the network; the batch is their exact average (default min(batch, 4)).",
                               valueName: "B")) var microBatch: Int?
    @Option(help: ArgumentHelp("Training size, WIDTHxHEIGHT, multiples of 8.", valueName: "WxH")) var size: String?
    @Option(help: ArgumentHelp("Seed of the data, crops and masks.", valueName: "S")) var seed: UInt64?
    @Option(help: ArgumentHelp("Threads (default: one per core).", valueName: "T")) var threads: Int?
    @Option(help: ArgumentHelp("Adam's learning rate, both networks.", valueName: "RATE")) var lr: Double?
    @Option(help: ArgumentHelp("Adam's β1,β2.", valueName: "B1,B2")) var betas: String?
    @Option(help: ArgumentHelp("Weight of the two ℓ1 terms.", valueName: "A")) var l1Alpha: Double?
    @Option(help: ArgumentHelp("Weight of the adversarial term.", valueName: "A")) var ganAlpha: Double?
    @Option(help: ArgumentHelp("Spectral-norm gradient: full (TensorFlow's) or sigma (PyTorch's).", valueName: "full|sigma")) var snGrad: String?
    @Option(help: ArgumentHelp("Write a checkpoint every K iterations.", valueName: "K")) var checkpointEvery: Int?
    @Option(help: ArgumentHelp("Checkpoints to keep (the newest).", valueName: "N")) var keep: Int?
    @Option(help: ArgumentHelp("Masks: rect+brush (official), brush, rect, or a folder of mask pictures (white = hole).",
                               valueName: "KIND|DIR")) var masks: String?

    func validate() throws {
        if let t = threads, !(1...256).contains(t) { throw ValidationError("--threads must be in 1...256, got \(t)") }
        if let s = steps, s < 0 || s > 1_000_000_000 { throw ValidationError("--steps must be in 0...1000000000, got \(s)") }
        if let b = batch, !(1...1024).contains(b) { throw ValidationError("--batch must be in 1...1024, got \(b)") }
        if let b = microBatch, !(1...1024).contains(b) { throw ValidationError("--micro-batch must be in 1...1024, got \(b)") }
        if let s = size {
            guard let (h, w) = CLI.parseSize(s, limit: 4096), h % 8 == 0, w % 8 == 0, h >= 8, w >= 8 else {
                throw ValidationError("--size takes WIDTHxHEIGHT with both multiples of 8 in 8...4096, e.g. 256x256; got '\(s)'")
            }
        }
        if let r = lr, !(r > 0 && r <= 1) { throw ValidationError("--lr must be in (0, 1], got \(r)") }
        if let b = betas, parseBetas(b) == nil { throw ValidationError("--betas takes B1,B2 with each in [0, 1), e.g. 0.5,0.999; got '\(b)'") }
        if let a = l1Alpha, !(a >= 0 && a <= 1e6) { throw ValidationError("--l1-alpha must be in 0...1e6, got \(a)") }
        if let a = ganAlpha, !(a >= 0 && a <= 1e6) { throw ValidationError("--gan-alpha must be in 0...1e6, got \(a)") }
        if let m = snGrad, SpectralNormGradientMode(rawValue: m) == nil { throw ValidationError("--sn-grad must be full or sigma, got '\(m)'") }
        if let k = checkpointEvery, k < 1 { throw ValidationError("--checkpoint-every must be at least 1, got \(k)") }
        if let k = keep, !(1...1000).contains(k) { throw ValidationError("--keep must be in 1...1000, got \(k)") }
    }

    func parseBetas(_ text: String) -> (Double, Double)? {
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let a = parts[0], let b = parts[1], (0..<1).contains(a), (0..<1).contains(b) else { return nil }
        return (a, b)
    }

    /// The saved config with this invocation's flags applied.
    func resolved(_ saved: TrainingConfig) -> TrainingConfig {
        var c = saved
        if let steps { c.maxIters = steps }
        if let batch { c.batchSize = batch }
        if let microBatch { c.microBatch = microBatch }
        if let size, let (h, w) = CLI.parseSize(size, limit: 4096) { (c.height, c.width) = (h, w) }
        if let seed { c.seed = seed }
        if let lr { c.lr = lr }
        if let betas, let (a, b) = parseBetas(betas) { (c.beta1, c.beta2) = (a, b) }
        if let l1Alpha { c.l1Alpha = l1Alpha }
        if let ganAlpha { c.ganAlpha = ganAlpha }
        if let snGrad { c.snGrad = snGrad }
        if let checkpointEvery { c.checkpointEvery = checkpointEvery }
        if let keep { c.keepCheckpoints = keep }
        if let masks { c.masks = masks }
        return c
    }

    func run() throws {
        let saved = try TrainingRun.loadConfig(folder)
        let config = resolved(saved)
        guard config.batchSize % config.resolvedMicroBatch == 0 else {
            throw ValidationError("--batch \(config.batchSize) is not a multiple of the micro-batch \(config.resolvedMicroBatch); "
                                  + "choose a --micro-batch that divides it")
        }
        let photos = try PhotoSet(folder: data)
        let maskSource = try MaskSource.parse(config.masks)
        let start = try TrainingRun.checkpoint(folder).step
        if config != saved { try AtomicWrite.write(Array(config.yaml.utf8), to: TrainingRun.configPath(folder)) }
        guard start < config.maxIters else {
            CLI.note("graphtrain: \(folder) is at step \(start), which reaches --steps \(config.maxIters); nothing to do")
            return
        }
        let threadCount = threads ?? RunOptions.defaultThreads
        CLI.note("graphtrain: \(folder) from step \(start) to \(config.maxIters): batch \(config.batchSize) (micro-batch \(config.resolvedMicroBatch)) "
                 + "at \(config.width)x\(config.height), \(photos.paths.count) photos, masks \(config.masks), lr \(config.lr), "
                 + "betas \(config.beta1),\(config.beta2), sn-grad \(config.snGrad), \(threadCount) threads")
        signal(SIGINT) { _ in interrupted = true }
        let data = TrainingData(photos: photos, masks: maskSource, seed: config.seed, cropScale: config.cropScale, flip: config.flip)
        let progress = FitProgress()
        let outcome: FitOutcome
        do {
            outcome = try TrainingRun.fit(run: folder, config: config, data: data, threads: threadCount, isCancelled: { interrupted },
                                          report: progress.report, pictures: { trainer, step in
                                              try RunPictures.write(run: self.folder, trainer: trainer, photos: photos, config: config, step: step)
                                          })
        } catch let e as NonFiniteLoss {
            progress.finish()
            let last = (try? TrainingRun.checkpoint(folder).step).map { "ckpt-\($0)" } ?? "none"
            CLI.note("error: \(e.description)\n  the last good checkpoint is \(last) (kept); try a lower --lr, or check the photos and weights")
            throw ExitCode(3)
        }
        progress.finish()
        switch outcome {
        case .finished(let step):
            CLI.note("graphtrain: \(folder) reached step \(step); export the generator with: graphtrain export \(folder) -o model.bin")
        case .interrupted(let step):
            CLI.note("graphtrain: interrupted; \(folder) saved at step \(step) (ckpt-\(step)); run the same command to go on")
            throw ExitCode(130)
        }
    }
}

/// The progress of `fit`: a line rewritten in place on a terminal, JSON lines on stdout otherwise.
final class FitProgress {
    let terminal = isatty(2) == 1

    func report(_ r: StepReport) {
        let l = r.losses
        if terminal {
            var s = "step \(r.step)"
            if r.steps < 100_000_000 { s += "/\(r.steps)" }
            s += String(format: " · %.3g it/s", r.rate)
            if let left = r.remaining { s += " · ETA \(CLI.duration(left))" }
            s += String(format: " · d %.4f g %.4f (adv %.4f, ℓ1 %.4f) · peak %.0f MB", l.dLoss, l.gLoss, l.gAdv, l.l1, Double(r.peakBytes) / 1e6)
            FileHandle.standardError.write(Data("\r\u{1B}[K\(s)".utf8))
            return
        }
        var fields: [String: Any] = ["step": r.step, "d_loss": Double(l.dLoss), "g_loss": Double(l.gLoss), "g_adv": Double(l.gAdv),
                                     "l1": Double(l.l1), "seconds": r.seconds, "it_per_s": r.rate, "peak_mb": Double(r.peakBytes) / 1e6]
        if r.steps < 100_000_000 { fields["steps"] = r.steps }
        if let left = r.remaining { fields["eta_s"] = left }
        if let json = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) {
            FileHandle.standardOutput.write(json + Data([10]))
        }
    }

    func finish() { if terminal { FileHandle.standardError.write(Data("\n".utf8)) } }
}
