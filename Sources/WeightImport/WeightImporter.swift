// Opens any supported weight file by its content (never its name), finds its naming, and
// presents its tensors under Fillgraph's names in Fillgraph's layout (OIHW), with the colour
// permutation applied when asked. Formats: NumPy .npz, PyTorch zip checkpoints (.pth, read
// without executing the pickle), TensorFlow V2 checkpoints (tensor bundles).
import Foundation
import NumpyIO
import SafeIO

public enum SourceFormat: String, Sendable {
    case npz = "NumPy .npz"
    case torch = "PyTorch checkpoint"
    case tensorflow = "TensorFlow checkpoint"
    case model = "Fillgraph model"
}

/// The colour order a set of weights expects at its image inputs and produces at its RGB outputs.
public enum ColourOrder: String, Sendable, CaseIterable {
    case rgb, bgr
}

/// One weight file, opened: its groups of tensors, not yet matched to a graph.
public struct WeightFile {
    public var path: String
    public var format: SourceFormat
    public var groups: [TensorGroup]
    /// The given file's bytes when it is a regular file, read once (the model's provenance hash
    /// is taken from them).
    public var contents: Data?

    public init(path: String, format: SourceFormat, groups: [TensorGroup], contents: Data?) {
        self.path = path
        self.format = format
        self.groups = groups
        self.contents = contents
    }

    /// The first few bytes decide: "PK\x03\x04" is a zip (.npz or torch.save), a LevelDB
    /// table magic at the end is a TF index; a directory or the `checkpoint` text file
    /// points at a TF prefix; a bare prefix has a `.index` next to it.
    public static func open(_ path: String) throws -> WeightFile {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        if exists && isDir.boolValue { return try openTensorFlow(prefix: try checkpointPrefix(inDirectory: path), given: path) }
        if !exists {
            if FileManager.default.fileExists(atPath: path + ".index") { return try openTensorFlow(prefix: path, given: path) }
            throw ImportError(path, "no such file")
        }
        func fileError(_ e: FileAccessError) -> ImportError { ImportError(path, e.detail + (e.hint.map { "; \($0)" } ?? "")) }
        let file: SafeFile, head: [UInt8], tail: [UInt8]
        do {
            file = try SafeFile(path, what: "a weight file")
            head = try file.read(at: 0, count: min(file.size, 4096))
            tail = try file.read(at: max(0, file.size - TensorBundle.footerSize), count: min(file.size, TensorBundle.footerSize))
        } catch let e as FileAccessError { throw fileError(e) }
        // A data shard named directly stands for its checkpoint; it is read only where tensors are used.
        if let range = path.range(of: ".data-", options: .backwards), FileManager.default.fileExists(atPath: String(path[..<range.lowerBound]) + ".index") {
            return try openTensorFlow(prefix: String(path[..<range.lowerBound]), given: path)
        }
        func all() throws -> [UInt8] {
            do { return try file.readAll(limit: maxFileBytes, what: "weight file") } catch let e as FileAccessError { throw fileError(e) }
        }
        if ZipArchive.looksLikeZip(head) { return try openZip(file, Data(try all()), path: path) }
        if TensorBundle.looksLikeIndex(tail) {
            let bytes = try all()
            let prefix = path.hasSuffix(".index") ? String(path.dropLast(6)) : path
            return try openTensorFlow(prefix: prefix, given: path, contents: Data(bytes), index: bytes)
        }
        if let text = String(validating: head, as: UTF8.self), text.hasPrefix("model_checkpoint_path") {
            let dir = (path as NSString).deletingLastPathComponent
            return try openTensorFlow(prefix: try prefix(fromCheckpointText: text, directory: dir, path: path), given: path, contents: Data(head))
        }
        if head.first == 0x80, head.count > 1, head[1] <= 5 {
            throw ImportError(path, "a bare pickle (PyTorch's legacy format before 1.6, or a plain pickle); "
                              + "re-save it with torch.save(obj, file) from PyTorch 1.6 or newer")
        }
        throw ImportError(path, "not a weight file Fillgraph reads: expected an .npz, a PyTorch .pth (zip) "
                          + "or a TensorFlow checkpoint (.index + .data-*)")
    }

    /// The largest weight file read (its bytes are hashed for the model's provenance).
    static let maxFileBytes = 1 << 32

    /// Entries are inflated only when a tensor is used, never past their declared size.
    private static func openZip(_ file: SafeFile, _ data: Data, path: String) throws -> WeightFile {
        let archive: ZipArchive
        do { archive = try ZipArchive(file: file) } catch let e as ZipError {
            throw ImportError(path, "a damaged zip archive (\(e.detail))")
        }
        if TorchCheckpoint.isTorchZip(archive) {
            return WeightFile(path: path, format: .torch, groups: try TorchCheckpoint.read(archive, path: path), contents: data)
        }
        let arrays: [NpzEntry]
        do { arrays = try Npz.entries(archive) } catch let e as NumpyError { throw ImportError(path, e.detail) }
        let tensors = arrays.map { entry in
            SourceTensor(name: entry.name, shape: entry.shape, dtype: entry.header.dtypeName) {
                guard entry.header.dtypeName.hasPrefix("float") else {
                    throw ImportError(path, "\(Printable.text(entry.name)) holds \(entry.header.dtypeName) values; weights must be floating point")
                }
                do { return try entry.load().floats } catch let e as NumpyError { throw ImportError(path, e.detail) }
            }
        }
        return WeightFile(path: path, format: .npz, groups: [TensorGroup(name: "", tensors: tensors)], contents: data)
    }

    /// `index`: the index's bytes when the given file is the index itself (already read).
    private static func openTensorFlow(prefix: String, given: String, contents: Data? = nil, index bytes: [UInt8]? = nil) throws -> WeightFile {
        let index = prefix + ".index"
        guard bytes != nil || FileManager.default.fileExists(atPath: index) else {
            throw ImportError(given, "TensorFlow checkpoint prefix \(prefix) has no \(index)")
        }
        return WeightFile(path: given, format: .tensorflow,
                          groups: try TensorBundle.read(indexPath: index, prefix: prefix, bytes: bytes), contents: contents)
    }

    private static func checkpointPrefix(inDirectory dir: String) throws -> String {
        let state = (dir as NSString).appendingPathComponent("checkpoint")
        if let text = try? String(contentsOfFile: state, encoding: .utf8) {
            return try prefix(fromCheckpointText: text, directory: dir, path: state)
        }
        let indexes = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".index") }.sorted()
        guard indexes.count == 1 else {
            throw ImportError(dir, indexes.isEmpty ? "a directory without a TensorFlow checkpoint (no *.index)"
                              : "a directory with \(indexes.count) checkpoints (\(indexes.joined(separator: ", "))); name one prefix")
        }
        return (dir as NSString).appendingPathComponent(String(indexes[0].dropLast(6)))
    }

    /// TF's `checkpoint` state file: `model_checkpoint_path: "snap-0"`, relative to its directory.
    private static func prefix(fromCheckpointText text: String, directory: String, path: String) throws -> String {
        for line in text.split(separator: "\n") where line.hasPrefix("model_checkpoint_path:") {
            let value = line.dropFirst("model_checkpoint_path:".count).trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return value.hasPrefix("/") ? value : (directory as NSString).appendingPathComponent(value)
        }
        throw ImportError(path, "a TensorFlow 'checkpoint' file without model_checkpoint_path")
    }
}
