// PyTorch checkpoints as torch.save writes them since 1.6: a zip archive holding
// `<prefix>/data.pkl` (the object, pickled) and `<prefix>/data/<key>` (raw little-endian
// storages). The pickle goes through RestrictedUnpickler, so nothing in the file is executed;
// storages are sized and bounds-checked against every tensor view before a value is read.
import Foundation
import SafeIO

enum TorchCheckpoint {
    /// Largest storage extracted (a 2 GiB storage is far beyond any inpainting net).
    static let maxEntryBytes = 1 << 31
    /// Largest data.pkl: a state dict's pickle is kilobytes; the tensors live in the storages.
    static let maxPickleBytes = 1 << 26

    static func isTorchZip(_ archive: ZipArchive) -> Bool {
        archive.entries.contains { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }
    }

    static func read(_ archive: ZipArchive, path: String) throws -> [TensorGroup] {
        let pkls = archive.entries.filter { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }
        guard pkls.count == 1, let pklEntry = pkls.first else {
            throw ImportError(path, "a PyTorch checkpoint holds exactly one data.pkl; this archive has \(pkls.count)")
        }
        let prefix = String(pklEntry.name.dropLast("data.pkl".count))
        if let order = archive[prefix + "byteorder"], let text = try? String(decoding: extract(archive, order, path, limit: 64), as: UTF8.self),
           text.trimmingCharacters(in: .whitespacesAndNewlines) != "little" {
            throw ImportError(path, "the storages are stored \(Printable.text(text)) endian; re-save the checkpoint on a little-endian machine")
        }
        let pickle = try extract(archive, pklEntry, path, limit: maxPickleBytes)
        let root: PickleValue
        do { root = try RestrictedUnpickler.load(pickle) } catch let e as UnpickleError {
            throw ImportError(path, "\(Printable.text(pklEntry.name)) byte \(e.offset): \(e.message). Refused; nothing in the file was run")
        }
        let storages = StorageReader(archive: archive, prefix: prefix, path: path)
        return try groups(root, path: path).map { name, dict in
            TensorGroup(name: name, tensors: try tensors(dict, storages: storages, path: path))
        }
    }

    static func extract(_ archive: ZipArchive, _ entry: ZipEntry, _ path: String, limit: Int = maxEntryBytes) throws -> [UInt8] {
        do { return try archive.extract(entry, limit: limit) } catch let e as ZipError {
            throw ImportError(path, e.detail)
        } catch let e as FileAccessError {
            throw ImportError(path, e.detail)
        }
    }

    /// The state dicts in a checkpoint: the root itself when its values are tensors, otherwise
    /// each top-level entry that is a dict of tensors ('G', 'D', 'state_dict', ...).
    private static func groups(_ root: PickleValue, path: String) throws -> [(String, PickleDict)] {
        guard case .dict(let top) = root else {
            throw ImportError(path, "the pickled object is a \(root.typeName), not a state dict")
        }
        if top.items.contains(where: { if case .tensor = $0.value { return true }; return false }) { return [("", top)] }
        var out: [(String, PickleDict)] = []
        for (key, value) in top.items {
            if case .string(let k) = key, case .dict(let d) = value,
               d.items.contains(where: { if case .tensor = $0.value { return true }; return false }) {
                out.append((k, d))
            }
        }
        guard !out.isEmpty else { throw ImportError(path, "the checkpoint holds no tensors") }
        return out
    }

    private static func tensors(_ dict: PickleDict, storages: StorageReader, path: String) throws -> [SourceTensor] {
        var out: [SourceTensor] = []
        for (key, value) in dict.items {
            guard case .string(let name) = key, case .tensor(let t) = value else { continue }
            guard let count = checkedCount(t.shape), count <= 1 << 31 else {
                throw ImportError(path, "tensor \(name) has an absurd shape \(t.shape)")
            }
            // The furthest element the view touches must lie inside the storage. No overflow:
            // the offset is below 2^40, strides below 2^31, and Σ(size − 1) ≤ count ≤ 2^31.
            if count > 0 {
                var last = t.offset
                for (n, s) in zip(t.shape, t.strides) { last += (n - 1) * s }
                guard last >= 0, last < t.storage.numel else {
                    throw ImportError(path, "tensor \(name) \(t.shape) reaches element \(last) of storage \(t.storage.key), which has \(t.storage.numel)")
                }
            }
            let dtype = dtypeName(t.storage.dtype)
            out.append(SourceTensor(name: name, shape: t.shape, dtype: dtype) {
                let raw = try storages.bytes(t.storage)
                return try gather(raw, t, dtype: dtype, count: count, name: name, path: path)
            })
        }
        return out
    }

    private static func gather(_ raw: [UInt8], _ t: TensorRef, dtype: String, count: Int, name: String, path: String) throws -> [Float] {
        guard let all = ElementDecoding.floats(raw[...], dtype: dtype, count: t.storage.numel) else {
            throw ImportError(path, "tensor \(name) is \(dtype); weights must be floating point")
        }
        // Contiguous views (every state dict tensor in practice) are one slice.
        var contiguous = true, expect = 1
        for (n, s) in zip(t.shape, t.strides).reversed() where n > 1 {
            if s != expect { contiguous = false }
            expect *= n
        }
        if contiguous { return Array(all[t.offset..<t.offset + count]) }
        var out = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: t.shape.count)
        for i in 0..<count {
            var at = t.offset
            for d in 0..<index.count { at += index[d] * t.strides[d] }
            out[i] = all[at]
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < t.shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    static func dtypeName(_ t: StorageType) -> String {
        switch t {
        case .float: return "float32"
        case .double: return "float64"
        case .half: return "float16"
        case .bfloat16: return "bfloat16"
        case .long: return "int64"
        case .int: return "int32"
        case .short: return "int16"
        case .char: return "int8"
        case .byte: return "uint8"
        case .bool: return "bool"
        }
    }
}

/// Reads `<prefix>/data/<key>` once per storage and checks its length against the pickle.
/// Every reference to a storage must claim the type and size of the first: the bytes are
/// checked against that claim once, and a later reference claiming more elements (or wider
/// ones) would have the decoder read past them (found by libFuzzer).
final class StorageReader {
    let archive: ZipArchive
    let prefix: String
    let path: String
    private var cache: [String: (dtype: StorageType, numel: Int, bytes: [UInt8])] = [:]

    init(archive: ZipArchive, prefix: String, path: String) {
        self.archive = archive
        self.prefix = prefix
        self.path = path
    }

    func bytes(_ s: StorageRef) throws -> [UInt8] {
        if let hit = cache[s.key] {
            guard hit.dtype == s.dtype, hit.numel == s.numel else {
                throw ImportError(path, "storage \(s.key) is named as \(hit.numel) \(TorchCheckpoint.dtypeName(hit.dtype)) elements and as "
                                  + "\(s.numel) \(TorchCheckpoint.dtypeName(s.dtype)) elements: the file is corrupted")
            }
            return hit.bytes
        }
        let entryPath = prefix + "data/" + s.key
        guard let entry = archive[entryPath] else {
            throw ImportError(path, "storage \(s.key) is missing from the archive (no entry \(entryPath))")
        }
        let (expected, overflow) = s.numel.multipliedReportingOverflow(by: s.dtype.elementSize)
        guard !overflow, expected <= TorchCheckpoint.maxEntryBytes else {
            throw ImportError(path, "storage \(Printable.text(s.key)) claims \(s.numel) elements of \(s.dtype.elementSize) bytes, beyond any weight tensor")
        }
        guard entry.uncompressedSize == expected else {
            throw ImportError(path, "storage \(Printable.text(entryPath)) holds \(entry.uncompressedSize) bytes but the pickle says "
                              + "\(s.numel) × \(s.dtype.elementSize) = \(expected): the file is truncated or corrupted")
        }
        let raw = try TorchCheckpoint.extract(archive, entry, path)
        guard raw.count == expected else {
            throw ImportError(path, "storage \(entryPath) yielded \(raw.count) of \(expected) bytes: truncated")
        }
        cache[s.key] = (s.dtype, s.numel, raw)
        return raw
    }
}
