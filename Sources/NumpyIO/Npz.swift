// .npz archives (a zip of .npy files, stored or deflated), read and written with ZIPFoundation.
import Foundation
import ZIPFoundation

public enum Npz {
    /// Entries in archive order, keyed without the ".npy" suffix.
    public static func read(path: String) throws -> [(name: String, array: NpyArray)] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw NumpyError(path, isDir.boolValue ? "is a directory" : "no such file")
        }
        return try decode(try open(path: path), name: path)
    }

    /// A zip archive read through the file, never from memory: ZIPFoundation's in-memory
    /// archives trap when a damaged header points past the end, its file-backed ones just
    /// get a short read and report an error.
    public static func open(path: String) throws -> Archive {
        do { return try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw NumpyError(path, "not a readable .npz (zip) archive: \(error)")
        }
    }

    public static func decode(_ archive: Archive, name path: String) throws -> [(name: String, array: NpyArray)] {
        var out: [(name: String, array: NpyArray)] = []
        if archive.contains(where: { $0.path.hasSuffix("data.pkl") }) {
            throw NumpyError(path, "this is a PyTorch checkpoint (torch.save zip), not an .npz of NumPy arrays; "
                             + "export the state dict with numpy.savez(file, **{key: tensor.numpy()}) under Fillgraph's key names")
        }
        for entry in archive where entry.type == .file {
            guard entry.uncompressedSize <= UInt64(Npy.maxElements) * 8 else {
                throw NumpyError(path, "entry \(entry.path) claims \(entry.uncompressedSize) bytes")
            }
            var data = Data()
            let crc: CRC32
            do { crc = try archive.extract(entry) { data.append($0) } } catch {
                throw NumpyError(path, "entry \(entry.path) is damaged: \(error)")
            }
            // extract(_:consumer:) returns the checksum without comparing it.
            guard crc == entry.checksum else { throw NumpyError(path, "entry \(entry.path) fails its CRC-32 check: the archive is corrupted") }
            let key = entry.path.hasSuffix(".npy") ? String(entry.path.dropLast(4)) : entry.path
            out.append((key, try Npy.decode([UInt8](data), name: "\(path)[\(entry.path)]")))
        }
        if out.isEmpty { throw NumpyError(path, "the archive holds no arrays") }
        return out
    }

    public static func write(_ entries: [(name: String, array: NpyArray)], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try? FileManager.default.removeItem(at: tmp)
        do {
            let archive = try Archive(url: tmp, accessMode: .create)
            for (name, array) in entries {
                let bytes = Data(Npy.encode(array))
                try archive.addEntry(with: name + ".npy", type: .file, uncompressedSize: Int64(bytes.count)) { pos, size in
                    bytes.subdata(in: Int(pos)..<Int(pos) + size)
                }
            }
            guard rename(tmp.path, url.path) == 0 else { throw NumpyError(path, String(cString: strerror(errno))) }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw NumpyError(path, "cannot write: \(error)")
        }
    }
}
