// RUN/ckpt-<step>/: everything a run needs to go on exactly where it stopped.
//   generator.bin, discriminator.bin  model.bin (float32) with the source graph (not optimised,
//                                     so it can be differentiated again) and current values,
//                                     the discriminator's spectral-norm u included
//   optimizer.npz                     Adam moments: generator/m/<name>, generator/v/<name>, discriminator/…
//                                     (none before the first update)
//   state.json                        step, Adam step counts, seed and data cursor
// A checkpoint is written into RUN/.ckpt-<step>.tmp-<pid>, every file fsynced, then the folder
// renamed into place and RUN fsynced: a crash at any moment leaves either the whole checkpoint
// or none (a leftover temporary folder is removed by the next `fit`). state.json is written
// last, so a folder without it is never taken for a checkpoint.
import Foundation
import GraphIR
import ModelFormat
import NumpyIO
import SafeIO
#if canImport(Glibc)
import Glibc
#endif

public struct CheckpointState: Codable, Equatable, Sendable {
    public var format = 1
    /// Completed iterations (one D step and one G step each).
    public var step: Int
    public var generatorAdamStep: Int
    public var discriminatorAdamStep: Int
    /// Every random draw is SplitMix64(seed, step, stream, sample): the seed is the whole RNG state.
    public var seed: UInt64
    /// Photos drawn so far: the next iteration's first draw is sample number `dataCursor` of the
    /// seeded epoch order (2 · batch per iteration).
    public var dataCursor: Int
    public var losses: IterationLosses?

    public init(step: Int, generatorAdamStep: Int, discriminatorAdamStep: Int, seed: UInt64, dataCursor: Int, losses: IterationLosses?) {
        self.step = step
        self.generatorAdamStep = generatorAdamStep
        self.discriminatorAdamStep = discriminatorAdamStep
        self.seed = seed
        self.dataCursor = dataCursor
        self.losses = losses
    }
}

public struct Checkpoint {
    public var generator: Network
    public var discriminator: Network
    public var gAdam: Adam
    public var dAdam: Adam
    public var state: CheckpointState

    public init(generator: Network, discriminator: Network, gAdam: Adam, dAdam: Adam, state: CheckpointState) {
        self.generator = generator
        self.discriminator = discriminator
        self.gAdam = gAdam
        self.dAdam = dAdam
        self.state = state
    }

    public static func folderName(_ step: Int) -> String { "ckpt-\(step)" }

    /// Complete checkpoints of a run, by step, oldest first.
    public static func list(run: String) -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("ckpt-"), let step = Int(name.dropFirst(5)), step >= 0 else { return nil }
            let path = (run as NSString).appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("state.json")) ? (step, path) : nil
        }.sorted { $0.0 < $1.0 }
    }

    /// Removes temporary folders a killed writer left behind.
    public static func removeLeftovers(run: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? [] where name.hasPrefix(".ckpt-") && name.contains(".tmp-") {
            try? FileManager.default.removeItem(atPath: (run as NSString).appendingPathComponent(name))
        }
    }

    /// Writes RUN/ckpt-<step>/ atomically and keeps only the newest `keep` checkpoints.
    public func write(run: String, keep: Int) throws {
        let fm = FileManager.default
        let final = (run as NSString).appendingPathComponent(Self.folderName(state.step))
        let temporary = (run as NSString).appendingPathComponent(".\(Self.folderName(state.step)).tmp-\(getpid())")
        try? fm.removeItem(atPath: temporary)
        do {
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            func file(_ name: String) -> String { (temporary as NSString).appendingPathComponent(name) }
            for (net, name) in [(generator, "generator.bin"), (discriminator, "discriminator.bin")] {
                let model = Model(graph: net.typed.graph, metadata: ModelMetadata(compiler: "graphtrain", graphName: net.typed.graph.name, sources: [],
                                                                                  weights: "graphtrain checkpoint, step \(state.step)",
                                                                                  parameterCount: net.typed.parameterCount),
                                  tensors: net.tensors)
                try AtomicWrite.write(try ModelWriter.encode(model), to: file(name))
            }
            var moments: [(name: String, array: NpyArray)] = []
            for (adam, prefix) in [(gAdam, "generator"), (dAdam, "discriminator")] {
                for name in adam.m.keys.sorted() {
                    moments.append(("\(prefix)/m/\(name)", NpyArray(shape: [adam.m[name]!.count], floats: adam.m[name]!)))
                    moments.append(("\(prefix)/v/\(name)", NpyArray(shape: [adam.v[name]!.count], floats: adam.v[name]!)))
                }
            }
            // Before the first update there are no moments (and an empty archive is not an .npz).
            if !moments.isEmpty {
                try Npz.write(moments, to: file("optimizer.npz"))
                try Self.sync(file("optimizer.npz"))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicWrite.write(Array(try encoder.encode(state)) + [10], to: file("state.json"))
            try Self.sync(temporary)
            if fm.fileExists(atPath: final) { try fm.removeItem(atPath: final) }
            guard rename(temporary, final) == 0 else { throw TrainingError("cannot rename \(temporary) to \(final): \(String(cString: strerror(errno)))") }
            try Self.sync(run)
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw error
        }
        for old in Self.list(run: run).dropLast(keep) { try? fm.removeItem(atPath: old.path) }
    }

    /// Flushes a file or directory to disk.
    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TrainingError("cannot open \(path) to flush it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL && errno != EROFS { throw TrainingError("cannot flush \(path) to disk: \(String(cString: strerror(errno)))") }
    }

    /// A JSON decoding error in a sentence.
    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "'\(c.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        case DecodingError.dataCorrupted: return "not JSON"
        default: return "\(error)"
        }
    }

    public static func read(_ path: String) throws -> Checkpoint {
        func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
        let stateBytes = try SafeFile.read(file("state.json"), limit: 1 << 20, what: "a checkpoint state")
        let state: CheckpointState
        do { state = try JSONDecoder().decode(CheckpointState.self, from: Data(stateBytes)) } catch {
            throw TrainingError("\(file("state.json")) is not a checkpoint state (\(Self.describe(error)))")
        }
        guard state.format == 1 else { throw TrainingError("\(file("state.json")) has format \(state.format); this graphtrain reads format 1") }
        func network(_ name: String) throws -> Network {
            let m = try ModelReader.read(path: file(name))
            return Network(typed: m.typed, tensors: m.model.tensors)
        }
        let g = try network("generator.bin"), d = try network("discriminator.bin")
        var moments: [String: [Float]] = [:]
        let started = state.generatorAdamStep > 0 || state.discriminatorAdamStep > 0
        for entry in started ? try Npz.entries(path: file("optimizer.npz")) : [] {
            guard case .float32(let values) = try entry.load().elements else {
                throw TrainingError("\(file("optimizer.npz")): \(entry.name) is not float32")
            }
            moments[entry.name] = values
        }
        func adam(_ prefix: String, _ step: Int, _ net: Network) throws -> Adam {
            var a = Adam()
            var m: [String: [Float]] = [:], v: [String: [Float]] = [:]
            let sizes = Dictionary(uniqueKeysWithValues: net.tensors.map { ($0.name, $0.values.count) })
            for (key, values) in moments where key.hasPrefix(prefix + "/") {
                let rest = key.dropFirst(prefix.count + 1), name = String(rest.dropFirst(2))
                guard sizes[name] == values.count else {
                    throw TrainingError("\(file("optimizer.npz")): \(key) has \(values.count) values, but \(name) has \(sizes[name].map(String.init) ?? "no tensor")")
                }
                if rest.hasPrefix("m/") { m[name] = values } else if rest.hasPrefix("v/") { v[name] = values }
            }
            a.restore(step: step, m: m, v: v)
            return a
        }
        return Checkpoint(generator: g, discriminator: d, gAdam: try adam("generator", state.generatorAdamStep, g),
                          dAdam: try adam("discriminator", state.discriminatorAdamStep, d), state: state)
    }
}
