// A run folder and the loop that trains it:
//   RUN/config.yaml    the resolved settings (TrainingConfig)
//   RUN/ckpt-<step>/   checkpoints (Checkpoint.swift); ckpt-0 holds the initial weights
//   RUN/losses.jsonl   one line per completed iteration
// `fit` goes on from the newest checkpoint to config.maxIters, checkpointing every
// config.checkpointEvery iterations (by default every one, so a kill loses at most the
// iteration in flight), after the last, and when cancelled. The loss log is cut back to the
// checkpoint it resumes from, so it always describes the weights on disk.
import Foundation
import GraphIR
import Kernels
import ModelFormat
import Runtime
import SafeIO
#if canImport(Glibc)
import Glibc
#endif

public struct StepReport: Sendable {
    public var step: Int
    public var steps: Int
    public var losses: IterationLosses
    public var seconds: Double
    /// Iterations per second over this session so far.
    public var rate: Double
    public var remaining: Double?
    public var peakBytes: Int
}

public enum FitOutcome: Equatable, Sendable {
    case finished(step: Int)
    case interrupted(step: Int)
}

public enum TrainingRun {
    public static func configPath(_ run: String) -> String { (run as NSString).appendingPathComponent("config.yaml") }
    public static func lossLogPath(_ run: String) -> String { (run as NSString).appendingPathComponent("losses.jsonl") }

    /// Creates RUN with its config and ckpt-0 (the initial weights, Adam at step 0).
    public static func initialise(run: String, config: TrainingConfig, generator: NetworkSpec, discriminator: NetworkSpec) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: run) {
            guard ((try? fm.contentsOfDirectory(atPath: run)) ?? ["?"]).isEmpty else {
                throw TrainingError("\(run) already exists and is not empty", hint: "choose a new run folder, or go on with: graphtrain fit \(run) --data DIR")
            }
        }
        let g = try GradientStep.load(generator), d = try GradientStep.load(discriminator)
        // Both step graphs must build (inputs, outputs, differentiable ops) before anything is written.
        _ = try StepGraphs.discriminatorStep(d.typed, batch: 1, mode: SpectralNormGradientMode(rawValue: config.snGrad) ?? .full)
        _ = try StepGraphs.generatorStep(g.typed, d.typed, batch: 1)
        try fm.createDirectory(atPath: run, withIntermediateDirectories: false)
        try AtomicWrite.write(Array(config.yaml.utf8), to: configPath(run))
        let state = CheckpointState(step: 0, generatorAdamStep: 0, discriminatorAdamStep: 0, seed: config.seed, dataCursor: 0, losses: nil)
        try Checkpoint(generator: g, discriminator: d, gAdam: Adam(), dAdam: Adam(), state: state).write(run: run, keep: config.keepCheckpoints)
    }

    public static func loadConfig(_ run: String) throws -> TrainingConfig {
        guard FileManager.default.fileExists(atPath: configPath(run)) else {
            throw TrainingError("\(run) is not a training run (no config.yaml)", hint: "create one with: graphtrain init \(run) --generator G.yaml --discriminator D.yaml --random-init --seed 1")
        }
        var config = TrainingConfig()
        try config.apply(yamlFile: configPath(run))
        return config
    }

    /// The newest checkpoint, or a given step's.
    public static func checkpoint(_ run: String, step: Int? = nil) throws -> (step: Int, path: String) {
        let all = Checkpoint.list(run: run)
        if let step {
            guard let c = all.first(where: { $0.step == step }) else {
                throw TrainingError("\(run) has no checkpoint of step \(step)", hint: "checkpoints: \(all.map { String($0.step) }.joined(separator: ", "))")
            }
            return c
        }
        guard let last = all.last else { throw TrainingError("\(run) holds no checkpoint", hint: "graphtrain init makes ckpt-0") }
        return last
    }

    /// A checkpoint (the newest by default) whose damage, if any, is named with the way out:
    /// remove it and the run goes on from the one before.
    public static func readCheckpoint(_ run: String, step: Int? = nil) throws -> Checkpoint {
        let (found, path) = try checkpoint(run, step: step)
        do { return try Checkpoint.read(path) } catch {
            let before = Checkpoint.list(run: run).last { $0.step < found }
            throw TrainingError("the checkpoint \(path) is damaged: \(error)".replacingOccurrences(of: "\n  hint: ", with: "; "),
                                hint: before.map { "remove \(path) and the run goes on from ckpt-\($0.step)" }
                                    ?? "it is the run's only checkpoint; create the run again with graphtrain init")
        }
    }

    /// Trains from the newest checkpoint to `config.maxIters` iterations.
    public static func fit(run: String, config: TrainingConfig, data: TrainingData, threads: Int,
                           isCancelled: @escaping @Sendable () -> Bool, report: (StepReport) -> Void,
                           pictures: ((Trainer, Int) throws -> Void)? = nil) throws -> FitOutcome {
        Checkpoint.removeLeftovers(run: run)
        let start = try readCheckpoint(run)
        try StepGraphs.checkPhotoSize(discriminator: start.discriminator.typed.graph, height: config.height, width: config.width)
        var gAdam = start.gAdam, dAdam = start.dAdam
        gAdam.learningRate = config.lr; gAdam.beta1 = config.beta1; gAdam.beta2 = config.beta2
        dAdam.learningRate = config.lr; dAdam.beta1 = config.beta1; dAdam.beta2 = config.beta2
        let settings = TrainerSettings(batch: config.batchSize, microBatch: config.resolvedMicroBatch,
                                       mode: SpectralNormGradientMode(rawValue: config.snGrad) ?? .full,
                                       ganWeight: Float(config.ganAlpha), l1Weight: Float(config.l1Alpha))
        let trainer = try Trainer(generator: start.generator, discriminator: start.discriminator, settings: settings, gAdam: gAdam, dAdam: dAdam)
        var log = try LossLog(path: lossLogPath(run), upTo: start.state.step)
        var options = RunOptions(threads: threads)
        options.isCancelled = isCancelled

        var step = start.state.step, saved = step, last = start.state.losses
        func save() throws {
            guard step > saved else { return }
            let state = CheckpointState(step: step, generatorAdamStep: trainer.gAdam.step, discriminatorAdamStep: trainer.dAdam.step,
                                        seed: config.seed, dataCursor: TrainingData.cursor(step: step, batch: config.batchSize), losses: last)
            try Checkpoint(generator: Network(typed: start.generator.typed, tensors: trainer.tensors(ofGenerator: true)),
                           discriminator: Network(typed: start.discriminator.typed, tensors: trainer.tensors(ofGenerator: false)),
                           gAdam: trainer.gAdam, dAdam: trainer.dAdam, state: state).write(run: run, keep: config.keepCheckpoints)
            saved = step
        }
        let began = Date()
        var lastPictures = Date.distantPast
        while step < config.maxIters {
            if isCancelled() { break }
            let t0 = Date()
            let losses: IterationLosses
            do {
                let d = try data.batch(step: step, kind: .discriminator, size: config.batchSize, height: config.height, width: config.width)
                let g = try data.batch(step: step, kind: .generator, size: config.batchSize, height: config.height, width: config.width)
                losses = try trainer.iterate(d: d, g: g, height: config.height, width: config.width, options: options)
            } catch is RunCancelled {
                break
            }
            step += 1
            last = losses
            let seconds = Date().timeIntervalSince(t0), done = step - start.state.step
            let rate = Double(done) / max(1e-9, Date().timeIntervalSince(began))
            try log.append(step: step, losses: losses, seconds: seconds)
            if step % config.checkpointEvery == 0 || step == config.maxIters { try save() }
            report(StepReport(step: step, steps: config.maxIters, losses: losses, seconds: seconds, rate: rate,
                              remaining: config.maxIters >= 100_000_000 ? nil : Double(config.maxIters - step) / rate, peakBytes: peakResidentBytes()))
            if let pictures, step == config.maxIters || Date().timeIntervalSince(lastPictures) >= 60 {
                try pictures(trainer, step)
                lastPictures = Date()
            }
        }
        try save()
        if let pictures, step > start.state.step { try pictures(trainer, step) }
        return step >= config.maxIters ? .finished(step: step) : .interrupted(step: step)
    }

    /// The process's peak resident memory (Linux reports ru_maxrss in KiB).
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}

/// RUN/losses.jsonl: {"step", "d_loss", "g_loss", "g_adv", "l1", "seconds"} per iteration.
public struct LossLog {
    public struct Entry: Codable, Equatable, Sendable {
        public var step: Int
        public var d_loss: Float
        public var g_loss: Float
        public var g_adv: Float
        public var l1: Float
        public var seconds: Double
    }

    let path: String
    let handle: FileHandle

    /// Opens the log for appending, first dropping entries after `step` (a killed run's lost steps).
    init(path: String, upTo step: Int) throws {
        self.path = path
        let kept = Self.read(path).filter { $0.step <= step }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = try kept.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
        try AtomicWrite.write(Array(text.utf8), to: path)
        guard let h = FileHandle(forWritingAtPath: path) else { throw TrainingError("cannot open \(path) for writing") }
        handle = h
        handle.seekToEndOfFile()
    }

    mutating func append(step: Int, losses l: IterationLosses, seconds: Double) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let entry = Entry(step: step, d_loss: l.dLoss, g_loss: l.gLoss, g_adv: l.gAdv, l1: l.l1, seconds: seconds)
        handle.write(try encoder.encode(entry) + Data([10]))
    }

    /// The entries of a log; unreadable lines (a line cut by a crash) are skipped.
    public static func read(_ path: String) -> [Entry] {
        guard let bytes = try? SafeFile.read(path, limit: 1 << 30, what: "a loss log") else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONDecoder().decode(Entry.self, from: Data($0.utf8))
        }
    }
}
