// graphc's pipeline: YAML → IR → verify → passes → bind weights → Model. The executables only
// parse arguments and print; everything they do is here, so tests can call it directly.
import Foundation
import SafeIO
import GraphIR
import GraphPasses
import GraphYAML
import ModelFormat
import NumpyIO
@_exported import enum WeightImport.ColourOrder
@_exported import struct Randomness.SplitMix64

public enum WeightSource: Sendable {
    /// Any weight file WeightImport reads; `colour` nil means the file's default order.
    case file(path: String, colour: ColourOrder? = nil)
    case random(seed: UInt64)

    public static func npz(path: String) -> WeightSource { .file(path: path) }
}

/// A compile-time problem in the user's inputs (graph, weights): exit code 2.
public struct CompileError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public struct CompiledGraph {
    public var loaded: LoadedGraph
    public var typed: TypedGraph
    /// What the passes did.
    public var notes: [String]
}

public enum Compiler {
    public static let version = "graphc 0.1.0"

    /// `NAME=VALUE` arguments of --param, split; nil for a malformed one.
    public static func parseParams(_ items: [String]) -> [(name: String, value: String)]? {
        var out: [(name: String, value: String)] = []
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex, item.index(after: eq) != item.endIndex else { return nil }
            out.append((String(item[..<eq]), String(item[item.index(after: eq)...])))
        }
        return out
    }

    /// Parses, verifies and optimises a graph file.
    public static func load(graphPath: String, runPasses: Bool = true) throws -> CompiledGraph {
        try load(graphPath: graphPath, passes: runPasses ? .standard : PassPipeline([]))
    }

    public static func load(graphPath: String, passes: PassPipeline, params: [(name: String, value: String)] = []) throws -> CompiledGraph {
        let loaded = try GraphLoader.load(path: graphPath, overrides: params)
        let typed = try Verifier.verify(loaded.graph)
        let (optimised, notes) = try passes.run(typed)
        return CompiledGraph(loaded: loaded, typed: optimised, notes: notes)
    }

    /// Input sizes whose buffer plan the model records (graphc compile --report prints them).
    public static let defaultPlanSizes = [(256, 256), (512, 512)]

    public static func compile(graphPath: String, weights: WeightSource, passes: PassPipeline = .standard,
                               planSizes: [(Int, Int)] = defaultPlanSizes, storage: StorageType = .float32,
                               params: [(name: String, value: String)] = []) throws -> (Model, [String]) {
        let compiled = try load(graphPath: graphPath, passes: passes, params: params)
        let typed = compiled.typed
        var tensors: [Tensor] = []
        var notes = compiled.notes
        let description: String
        switch weights {
        case .file(let path, let colour):
            let imported = try WeightImporting.tensors(path: path, colour: colour, typed: typed,
                                                       conventions: compiled.loaded.conventions, graphPath: graphPath)
            tensors = imported.tensors
            description = imported.description
            notes += imported.notes
        case .random(let seed):
            var rng = SplitMix64(seed: seed)
            for p in typed.parameters {
                tensors.append(Tensor(name: p.name, shape: p.shape!, values: RandomInit.values(for: p, rng: &rng)))
            }
            description = "random-init seed \(seed) (\(RandomInit.summary))"
        }
        if storage == .float16 { notes.append(try storeAsHalf(&tensors)) }
        let sources = compiled.loaded.files.map { SourceFileHash(path: $0.path, xxh64: XXHash64.hex(XXHash64.hash($0.bytes))) }
        var metadata = ModelMetadata(compiler: version, graphName: typed.graph.name, sources: sources,
                                     weights: description, parameterCount: typed.parameterCount)
        metadata.conventions = compiled.loaded.conventions
        metadata.colourOrder = "rgb"
        var model = Model(graph: typed.graph, metadata: metadata, tensors: tensors)
        metadata.memoryPlans = MemoryReport.plans(model, sizes: planSizes)
        model.metadata = metadata
        return (model, notes)
    }
}

extension Compiler {
    /// Refuses an output path that names an input file, however it is spelled (a symlinked
    /// directory, ./, /proc/self/cwd, a hard link): files are compared by (device, inode).
    public static func checkOutput(_ output: String, inputs: [String]) throws {
        guard let target = SafeFile.identity(of: output) else { return }
        if let same = inputs.first(where: { SafeFile.identity(of: $0).map { $0 == target } ?? false }) {
            throw CompileError("-o \(Printable.path(output)) is the input file \(Printable.path(same)); writing would destroy it. Choose another output path")
        }
    }

    /// The files a weights argument stands for: the path itself, a directory's files, and a
    /// TensorFlow prefix's index and data shards.
    public static func weightFiles(_ path: String) -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            return ((try? fm.contentsOfDirectory(atPath: path)) ?? []).map { (path as NSString).appendingPathComponent($0) }
        }
        let dir = (path as NSString).deletingLastPathComponent, base = (path as NSString).lastPathComponent
        let prefix = base.hasSuffix(".index") ? String(base.dropLast(6)) : base.components(separatedBy: ".data-")[0]
        let siblings = ((try? fm.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []).filter { $0.hasPrefix(prefix + ".") }
        return [path] + siblings.map { (dir as NSString).appendingPathComponent($0) }
    }

    /// Rounds every tensor to float16 (what the model will compute with) and says how much that
    /// changed; a value float16 cannot hold is an error, not an infinity.
    public static func storeAsHalf(_ tensors: inout [Tensor]) throws -> String {
        var worst: (error: Float, name: String) = (0, "")
        for i in tensors.indices {
            if let bad = HalfPrecision.firstOutOfRange(tensors[i].values) {
                throw CompileError("\(tensors[i].name) holds \(tensors[i].values[bad]) at element \(bad), beyond float16's range "
                                   + "(±\(Int(HalfPrecision.largest))); store this model as float32")
            }
            let error = HalfPrecision.relativeError(tensors[i].values)
            if error > worst.error { worst = (error, tensors[i].name) }
            tensors[i].values = HalfPrecision.rounded(tensors[i].values)
            tensors[i].storage = .float16
        }
        return "stored as float16 (computed in float32): largest rounding error " + String(format: "%.2e", worst.error)
            + " of a tensor's largest magnitude" + (worst.name.isEmpty ? "" : " (\(worst.name))")
    }
}

/// TensorFlow's defaults, which the official DeepFill code trains from: Glorot-uniform kernels
/// (limit √(6 / (fan_in + fan_out)), fans = k_h·k_w·C_in and k_h·k_w·C_out), zero biases, and a
/// spectral-norm u drawn from a normal(0, 1) truncated at ±2.
public enum RandomInit {
    public static let summary = "Glorot-uniform kernels, zero biases, truncated-normal u"

    public static func values(for p: ParameterDecl, rng: inout SplitMix64) -> [Float] {
        let shape = p.shape ?? []
        let count = shape.reduce(1, *)
        switch p.name.split(separator: ".").last.map(String.init) ?? "" {
        case "weight" where shape.count == 4:
            let receptive = shape[2] * shape[3]
            let limit = (6 / Float(receptive * (shape[0] + shape[1]))).squareRoot()
            return (0..<count).map { _ in (rng.unit() * 2 - 1) * limit }
        case "u":
            return (0..<count).map { _ in
                while true {
                    // Box–Muller; redraw outside ±2 as TF's truncated_normal does.
                    let u1 = max(rng.unit(), 1e-7), u2 = rng.unit()
                    let z = (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
                    if abs(z) <= 2 { return z }
                }
            }
        default:
            return [Float](repeating: 0, count: count)
        }
    }
}

/// Which compile passes run: all by default; `--no-opt` keeps only the clean-up pass (dead-node
/// elimination), `--disable ID` drops single passes, `--after ID` stops after one.
public enum PassSelection {
    public static var ids: [String] { PassPipeline.standard.ids }
    static let cleanup: Set<String> = ["dead-node-elimination"]

    public static func pipeline(noOpt: Bool = false, disabled: [String] = [], after: String? = nil) throws -> PassPipeline {
        for id in disabled + (after.map { [$0] } ?? []) where !ids.contains(id) {
            throw CompileError("unknown pass '\(id)'; the passes are \(ids.joined(separator: ", "))")
        }
        var pipeline = PassPipeline.standard
        if let after, let cut = pipeline.through(after) { pipeline = cut }
        if noOpt { pipeline = PassPipeline(pipeline.passes.filter { cleanup.contains($0.id) }) }
        return pipeline.removing(Set(disabled))
    }
}
