// A training run's settings: what `graphtrain init --config train.yaml` reads and what RUN/
// config.yaml keeps. Keys are the official `inpaint.yml` names where one exists (batch_size,
// img_shapes, max_iters, train_spe, l1_loss_alpha, gan_loss_alpha, random_seed) and plain
// names for the rest. Official keys that change nothing here (gan: sngan, padding: SAME, …)
// are accepted and reported as ignored, so an official yml can be given as it is; any other
// key is an error at its line, with the closest known key.
import Foundation
import GraphIR
import GraphYAML
import Kernels
import SafeIO

public struct TrainingConfig: Equatable, Sendable {
    public var generator = ""
    public var generatorParams: [String: String] = [:]
    public var discriminator = ""
    public var discriminatorParams: [String: String] = [:]
    /// How the weights were made (a description, kept for the record).
    public var initialWeights = ""
    public var batchSize = 16
    /// Micro-batch size; 0 picks min(batch, 4).
    public var microBatch = 0
    public var height = 256
    public var width = 256
    public var maxIters = 100_000_000
    public var checkpointEvery = 1
    public var keepCheckpoints = 3
    public var lr = 1e-4
    public var beta1 = 0.5
    public var beta2 = 0.999
    public var l1Alpha = 1.0
    public var ganAlpha = 1.0
    public var seed: UInt64 = 1
    public var snGrad = "full"
    public var masks = "rect+brush"
    public var cropScale = (min: 0.5, max: 1.0)
    public var flip = true

    public init() {}

    public static func == (a: TrainingConfig, b: TrainingConfig) -> Bool { a.yaml == b.yaml }

    public var resolvedMicroBatch: Int { microBatch > 0 ? microBatch : min(batchSize, 4) }

    /// Official keys accepted without effect (what they set is fixed here or does not apply).
    static let ignoredOfficial: Set<String> = [
        "gan", "gan_with_mask", "padding", "ae_loss", "l1_loss", "guided", "edge_threshold", "discounted_mask", "num_gpus_per_job",
        "gpu_id", "log_dir", "model_restore", "dataset", "data_flist", "val_psteps", "viz_max_out", "static_view_size", "val", "name",
        "height", "width", "max_delta_height", "max_delta_width", "vertical_margin", "horizontal_margin", "random_crop",
        "global_wgan_loss_alpha", "gan_loss_alpha_global", "pretrain_l1_loss_alpha", "mask_type", "spatial_discounting_gamma",
        "wgan_gp_lambda", "gpus", "log_every",
    ]
    static let keys = ["generator", "generator_params", "discriminator", "discriminator_params", "initial_weights", "batch_size",
                       "micro_batch", "img_shapes", "max_iters", "train_spe", "keep_checkpoints", "lr", "betas", "l1_loss_alpha",
                       "gan_loss_alpha", "random_seed", "sn_grad", "masks", "crop_scale", "flip"]

    /// Applies the keys of a YAML file over these settings; returns the notes (ignored keys).
    @discardableResult
    public mutating func apply(yamlFile path: String) throws -> [String] {
        let bytes = try SafeFile.read(path, limit: YAMLReader.maxFileBytes, what: "a training config")
        return try apply(try YAMLReader.parse(bytes, file: path))
    }

    public mutating func apply(_ root: YAMLNode) throws -> [String] {
        guard case .mapping(let entries) = root.kind else {
            throw Diagnostic("a training config is a mapping of keys to values, got \(root.kindName)", at: root.location)
        }
        var ignored: [String] = []
        for (keyNode, value) in entries {
            let key = keyNode.scalar ?? ""
            func fail(_ what: String) -> Diagnostic { Diagnostic("\(key): \(what)", at: value.location) }
            func scalar() throws -> String {
                guard let s = value.scalar else { throw fail("expected a single value, got \(value.kindName)") }
                return s
            }
            func int(_ range: ClosedRange<Int>) throws -> Int {
                guard let v = Int(try scalar()), range.contains(v) else { throw fail("expected a whole number in \(range), got '\(value.scalar ?? value.kindName)'") }
                return v
            }
            func real(_ range: ClosedRange<Double>) throws -> Double {
                guard let v = Double(try scalar()), v.isFinite, range.contains(v) else {
                    throw fail("expected a number in \(range.lowerBound)...\(range.upperBound), got '\(value.scalar ?? value.kindName)'")
                }
                return v
            }
            func list() throws -> [String] {
                guard case .sequence(let items) = value.kind, items.allSatisfy({ $0.scalar != nil }) else { throw fail("expected a list of values") }
                return items.map { $0.scalar! }
            }
            func map() throws -> [String: String] {
                guard case .mapping(let items) = value.kind else { throw fail("expected a mapping NAME: VALUE") }
                var out: [String: String] = [:]
                for (k, v) in items {
                    guard let k = k.scalar, let v = v.scalar else { throw fail("expected NAME: VALUE entries") }
                    out[k] = v
                }
                return out
            }
            func bool() throws -> Bool {
                switch try scalar().lowercased() {
                case "true", "yes", "on": return true
                case "false", "no", "off": return false
                default: throw fail("expected true or false")
                }
            }
            switch key {
            case "generator": generator = try scalar()
            case "generator_params": generatorParams = try map()
            case "discriminator": discriminator = try scalar()
            case "discriminator_params": discriminatorParams = try map()
            case "initial_weights": initialWeights = try scalar()
            case "batch_size": batchSize = try int(1...1024)
            case "micro_batch": microBatch = try int(0...1024)
            case "img_shapes":
                let items = try list()
                guard items.count >= 2, let h = Int(items[0]), let w = Int(items[1]), (8...4096).contains(h), (8...4096).contains(w),
                      h % 8 == 0, w % 8 == 0 else { throw fail("expected [height, width, 3] with sides multiples of 8 in 8...4096") }
                if items.count > 2 && items[2] != "3" { throw fail("only 3-channel images are trained, got \(items[2]) channels") }
                (height, width) = (h, w)
            case "max_iters": maxIters = try int(0...1_000_000_000)
            case "train_spe": checkpointEvery = try int(1...1_000_000_000)
            case "keep_checkpoints": keepCheckpoints = try int(1...1000)
            case "lr": lr = try real(0...1)
            case "betas":
                let items = try list()
                guard items.count == 2, let b1 = Double(items[0]), let b2 = Double(items[1]), (0..<1).contains(b1), (0..<1).contains(b2) else {
                    throw fail("expected [beta1, beta2], each in [0, 1)")
                }
                (beta1, beta2) = (b1, b2)
            case "l1_loss_alpha": l1Alpha = try real(0...1e6)
            case "gan_loss_alpha": ganAlpha = try real(0...1e6)
            case "random_seed": seed = UInt64(try int(0...Int(Int32.max)))
            case "sn_grad":
                snGrad = try scalar()
                guard SpectralNormGradientMode(rawValue: snGrad) != nil else { throw fail("expected full or sigma, got '\(snGrad)'") }
            case "masks": masks = try scalar()
            case "crop_scale":
                let items = try list()
                guard items.count == 2, let a = Double(items[0]), let b = Double(items[1]), 0 < a, a <= b, b <= 1 else {
                    throw fail("expected [min, max] with 0 < min ≤ max ≤ 1")
                }
                cropScale = (a, b)
            case "flip": flip = try bool()
            default:
                if Self.ignoredOfficial.contains(key) { ignored.append(key); continue }
                throw Diagnostic("unknown key '\(key)'", at: keyNode.location,
                                 hint: Verifier.closest(key, Self.keys).map { "did you mean '\($0)'?" } ?? "known keys: \(Self.keys.joined(separator: ", "))")
            }
        }
        guard ignored.isEmpty else { return ["ignored official keys (no effect in Fillgraph's trainer): \(ignored.joined(separator: ", "))"] }
        return []
    }

    /// The settings as YAML that `apply` reads back to the same values.
    public var yaml: String {
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        func params(_ p: [String: String]) -> String { "{" + p.keys.sorted().map { "\($0): \(quoted(p[$0]!))" }.joined(separator: ", ") + "}" }
        return """
            # Fillgraph training run (graphtrain). `graphtrain fit` reads this; its flags override it and are saved here.
            generator: \(quoted(generator))
            generator_params: \(params(generatorParams))
            discriminator: \(quoted(discriminator))
            discriminator_params: \(params(discriminatorParams))
            initial_weights: \(quoted(initialWeights))
            batch_size: \(batchSize)
            micro_batch: \(microBatch)          # 0: min(batch_size, 4)
            img_shapes: [\(height), \(width), 3]
            max_iters: \(maxIters)
            train_spe: \(checkpointEvery)             # checkpoint every this many steps
            keep_checkpoints: \(keepCheckpoints)
            lr: \(lr)
            betas: [\(beta1), \(beta2)]
            l1_loss_alpha: \(l1Alpha)
            gan_loss_alpha: \(ganAlpha)
            random_seed: \(seed)
            sn_grad: \(snGrad)
            masks: \(quoted(masks))
            crop_scale: [\(cropScale.min), \(cropScale.max)]
            flip: \(flip)

            """
    }
}
