// .npz archives (a zip of .npy files, stored or deflated). Read through SafeIO's hardened zip
// reader, lazily: opening parses each entry's .npy header from the first bytes only, and an
// array's data is inflated (never past its declared size) when it is loaded, so a file's unused
// or hostile entries cost nothing. Written with ZIPFoundation.
import Foundation
import SafeIO
import ZIPFoundation

/// One array of an .npz: its header now, its values on `load()`.
public struct NpzEntry: Sendable {
    public var name: String
    public var header: Npy.Header
    let archive: ZipArchive
    let entry: ZipEntry

    public var shape: [Int] { header.shape }

    public func load() throws -> NpyArray {
        let bytes: [UInt8]
        do { bytes = try archive.extract(entry, limit: header.dataOffset + header.dataBytes) } catch let e as ZipError {
            throw NumpyError(archive.path, e.detail)
        }
        return try Npy.decode(bytes, name: "\(Printable.path(archive.path))[\(Printable.text(entry.name))]")
    }
}

public enum Npz {
    /// Every array of the archive with its header, in archive order, keyed without ".npy".
    public static func entries(path: String) throws -> [NpzEntry] {
        let archive: ZipArchive
        do { archive = try ZipArchive(path: path) } catch let e as ZipError {
            throw NumpyError(path, "not a readable .npz (zip) archive: \(e.detail)")
        } catch let e as FileAccessError {
            throw NumpyError(path, e.detail + (e.hint.map { "; \($0)" } ?? ""))
        }
        return try entries(archive)
    }

    public static func entries(_ archive: ZipArchive) throws -> [NpzEntry] {
        let path = archive.path
        if archive.entries.contains(where: { $0.name.hasSuffix("data.pkl") }) {
            throw NumpyError(path, "this is a PyTorch checkpoint (torch.save zip), not an .npz of NumPy arrays; "
                             + "export the state dict with numpy.savez(file, **{key: tensor.numpy()}) under Fillgraph's key names")
        }
        var out: [NpzEntry] = []
        for entry in archive.entries {
            let name = "\(Printable.path(path))[\(Printable.text(entry.name))]"
            do {
                var head = try archive.prefix(entry, count: 4096)
                if head.count >= 10, head.count < entry.uncompressedSize {
                    // A header longer than the first read (NumPy's are under 200 bytes).
                    let length = head[6] == 1 ? Int(head[8]) | Int(head[9]) << 8 : head.count >= 12 ? (8..<12).reduce(0) { $0 | Int(head[$1]) << (8 * ($1 - 8)) } : 0
                    if length + 12 > head.count { head = try archive.prefix(entry, count: min(length, Npy.maxHeaderBytes) + 12) }
                }
                let header = try Npy.header(head, name: name)
                guard header.dataOffset + header.dataBytes <= entry.uncompressedSize else {
                    throw NumpyError(name, "truncated: shape \(header.shape) of \(header.descr) needs \(header.dataBytes) data bytes, "
                                     + "the entry has \(entry.uncompressedSize - header.dataOffset)")
                }
                let key = entry.name.hasSuffix(".npy") ? String(entry.name.dropLast(4)) : entry.name
                out.append(NpzEntry(name: key, header: header, archive: archive, entry: entry))
            } catch let e as ZipError {
                throw NumpyError(path, e.detail)
            }
        }
        if out.isEmpty { throw NumpyError(path, "the archive holds no arrays") }
        return out
    }

    /// Every array, loaded (for tools and tests; weight import loads lazily).
    public static func read(path: String) throws -> [(name: String, array: NpyArray)] {
        try entries(path: path).map { ($0.name, try $0.load()) }
    }

    /// Every entry's date (zip's earliest, 1980-01-01), so equal arrays give equal bytes: a
    /// checkpoint written twice is byte-identical.
    static let fixedDate = Date(timeIntervalSince1970: 315_532_800)

    public static func write(_ entries: [(name: String, array: NpyArray)], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try? FileManager.default.removeItem(at: tmp)
        do {
            let archive = try Archive(url: tmp, accessMode: .create)
            for (name, array) in entries {
                let bytes = Data(Npy.encode(array))
                try archive.addEntry(with: name + ".npy", type: .file, uncompressedSize: Int64(bytes.count), modificationDate: Npz.fixedDate) { pos, size in
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
