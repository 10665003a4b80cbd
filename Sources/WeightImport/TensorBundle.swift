// TensorFlow's checkpoint format (the "tensor bundle" behind tf.train.Saver's V2 checkpoints):
// `<prefix>.index` is a LevelDB-style table (sorted key → value blocks, an index block, a
// 48-byte footer with a magic number) mapping each variable name to a BundleEntryProto
// (dtype, shape, shard, offset, size, crc32c); `<prefix>.data-NNNNN-of-MMMMM` holds the raw
// little-endian bytes. Everything is bounds-checked; block checksums and each tensor's CRC-32C
// are verified before a value is used.
import Foundation
import SafeIO

public enum TensorBundle {
    static let tableMagic: UInt64 = 0xDB47_7524_8B80_FB57
    static let footerSize = 48

    static func looksLikeIndex(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= footerSize else { return false }
        var r = ByteReader(bytes, from: bytes.count - 8)
        return (try? r.uint(8)) == tableMagic
    }

    struct Entry {
        var dtype = 0
        var shape: [Int] = []
        var shard = 0
        var offset = 0
        var size = 0
        var crc32c: UInt32?
        var sliced = false
    }

    /// `bytes`: the index's contents if the caller has already read them.
    static func read(indexPath: String, prefix: String, bytes given: [UInt8]? = nil) throws -> [TensorGroup] {
        let bytes: [UInt8]
        if let given { bytes = given } else {
            do { bytes = try SafeFile.read(indexPath, limit: 1 << 28, what: "a TensorFlow checkpoint index") } catch let e as FileAccessError {
                throw ImportError(indexPath, e.detail + (e.hint.map { "; \($0)" } ?? ""))
            }
        }
        let table = try readTable(bytes, path: indexPath)
        var shards = 1
        var entries: [(String, Entry)] = []
        for (key, value) in table {
            if key.isEmpty {
                shards = try header(value, path: indexPath)
                continue
            }
            do { entries.append((key, try entry(value))) } catch {
                throw ImportError(indexPath, "the entry for '\(key)' is not a valid BundleEntryProto")
            }
        }
        let files = ShardFiles(prefix: prefix, count: shards, indexPath: indexPath)
        // Every tensor's bytes are checked against its CRC-32C now, used or not: a damaged
        // checkpoint is reported as such even if the damage is in a part this graph skips. The
        // check streams through the shard, so an unused tensor costs time, never its size in memory.
        for (name, e) in entries { try files.verify(e, name: name) }
        var groups: [String: [SourceTensor]] = [:]
        var order: [String] = []
        for (name, e) in entries {
            let group = name.split(separator: "/").first.map(String.init) ?? ""
            if groups[group] == nil { order.append(group) }
            let dtype = dtypeName(e.dtype)
            groups[group, default: []].append(SourceTensor(name: name, shape: e.shape, dtype: dtype) {
                try files.floats(e, name: name, dtype: dtype)
            })
        }
        return order.map { TensorGroup(name: $0, tensors: groups[$0]!) }
    }

    static func dtypeName(_ code: Int) -> String {
        [1: "float32", 2: "float64", 3: "int32", 4: "uint8", 6: "int8", 7: "string", 9: "int64", 10: "bool",
         14: "bfloat16", 19: "float16"][code] ?? "dtype \(code)"
    }

    /// All key/value pairs of a LevelDB table, in order (public for tests and tools).
    public static func readTable(_ bytes: [UInt8], path: String) throws -> [(String, [UInt8])] {
        do { return try entries(bytes, path: path) } catch let e as ByteReader.Overrun {
            throw ImportError(path, "the table is truncated or corrupted: a read at byte \(e.offset) runs past its block")
        }
    }

    private static func entries(_ bytes: [UInt8], path: String) throws -> [(String, [UInt8])] {
        guard looksLikeIndex(bytes) else {
            throw ImportError(path, "not a TensorFlow checkpoint index (no table magic in the last 8 bytes)")
        }
        var footer = ByteReader(bytes, from: bytes.count - footerSize, to: bytes.count - 8)
        _ = try footer.varint()
        _ = try footer.varint() // metaindex handle: unused
        let indexOffset = try footer.count(limit: bytes.count), indexSize = try footer.count(limit: bytes.count)
        var out: [(String, [UInt8])] = []
        for (_, handle) in try block(bytes, offset: indexOffset, size: indexSize, path: path) {
            var h = ByteReader(handle)
            let offset = try h.count(limit: bytes.count), size = try h.count(limit: bytes.count)
            for (k, v) in try block(bytes, offset: offset, size: size, path: path) {
                guard let key = String(validating: k, as: UTF8.self) else { throw ImportError(path, "a tensor name is not UTF-8") }
                if let last = out.last, last.0 >= key { throw ImportError(path, "keys out of order at '\(key)': the index is corrupted") }
                out.append((key, v))
            }
            guard out.count <= 1_000_000 else { throw ImportError(path, "more than a million entries") }
        }
        return out
    }

    /// One block: prefix-compressed entries, a restart array, then a 5-byte trailer
    /// (compression type, masked CRC-32C of contents + type).
    private static func block(_ bytes: [UInt8], offset: Int, size: Int, path: String) throws -> [([UInt8], [UInt8])] {
        guard offset >= 0, size >= 4, offset <= bytes.count - footerSize, size + 5 <= bytes.count - footerSize - offset else {
            throw ImportError(path, "a block at byte \(offset) of \(size) bytes lies outside the file")
        }
        var trailer = ByteReader(bytes, from: offset + size, to: offset + size + 5)
        let type = try trailer.byte()
        let stored = UInt32(try trailer.uint(4))
        let actual = CRC32C.checksum(bytes[offset..<offset + size + 1])
        guard CRC32C.unmask(stored) == actual else {
            throw ImportError(path, "block at byte \(offset): checksum mismatch (stored \(hex(CRC32C.unmask(stored))), computed \(hex(actual))); the index is corrupted")
        }
        guard type == 0 else {
            throw ImportError(path, "block at byte \(offset) is compressed (type \(type)); TensorFlow writes bundle indexes uncompressed")
        }
        var tail = ByteReader(bytes, from: offset + size - 4, to: offset + size)
        let restarts = Int(try tail.uint(4))
        guard restarts >= 1, restarts * 4 + 4 <= size else { throw ImportError(path, "block at byte \(offset) has a bad restart count \(restarts)") }
        let dataEnd = offset + size - 4 - restarts * 4
        var r = ByteReader(bytes, from: offset, to: dataEnd)
        var out: [([UInt8], [UInt8])] = []
        var key: [UInt8] = []
        while !r.atEnd {
            let shared = try r.count(limit: key.count), unshared = try r.count(limit: r.remaining)
            let valueLength = try r.count(limit: r.remaining)
            key = Array(key[0..<shared]) + Array(try r.take(unshared))
            out.append((key, Array(try r.take(valueLength))))
        }
        return out
    }

    private static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

    /// BundleHeaderProto: num_shards (1), endianness (2: 0 = little), version (3).
    private static func header(_ value: [UInt8], path: String) throws -> Int {
        var shards = 1
        var little = true
        do {
            try Protobuf.fields(value) { field, r, wire in
                switch (field, wire) {
                case (1, 0): shards = try r.count(limit: 100_000)
                case (2, 0): little = try r.varint() == 0
                default: try Protobuf.skip(&r, wire)
                }
            }
        } catch { throw ImportError(path, "the bundle header is not a valid BundleHeaderProto") }
        guard little else { throw ImportError(path, "the checkpoint was written big-endian; re-save it on a little-endian machine") }
        guard shards >= 1 else { throw ImportError(path, "the header claims \(shards) shards") }
        return shards
    }

    private static func entry(_ value: [UInt8]) throws -> Entry {
        var e = Entry()
        try Protobuf.fields(value) { field, r, wire in
            switch (field, wire) {
            case (1, 0): e.dtype = try r.count(limit: 1000)
            case (2, 2):
                let sub = try r.take(try r.count(limit: r.remaining))
                try Protobuf.fields(Array(sub)) { f, sr, w in
                    if f == 2, w == 2 { // Dim { size = 1 }
                        var size = 0
                        try Protobuf.fields(Array(try sr.take(try sr.count(limit: sr.remaining)))) { df, dr, dw in
                            if df == 1, dw == 0 { size = try dr.count(limit: Int(Int32.max)) } else { try Protobuf.skip(&dr, dw) }
                        }
                        e.shape.append(size)
                    } else { try Protobuf.skip(&sr, w) }
                }
            case (3, 0): e.shard = try r.count(limit: 100_000)
            case (4, 0): e.offset = try r.count(limit: Int(Int64.max / 2))
            case (5, 0): e.size = try r.count(limit: Int(Int64.max / 2))
            case (6, 5): e.crc32c = UInt32(try r.uint(4))
            case (7, 2): e.sliced = true; try Protobuf.skip(&r, wire)
            default: try Protobuf.skip(&r, wire)
            }
        }
        return e
    }
}

/// The minimum of the protobuf wire format the bundle protos use.
enum Protobuf {
    struct Malformed: Error {}

    static func fields(_ bytes: [UInt8], _ visit: (Int, inout ByteReader, Int) throws -> Void) throws {
        var r = ByteReader(bytes)
        while !r.atEnd {
            let tag = try r.varint()
            guard tag >> 3 >= 1, tag >> 3 <= 1 << 29 else { throw Malformed() }
            try visit(Int(tag >> 3), &r, Int(tag & 7))
        }
    }

    static func skip(_ r: inout ByteReader, _ wire: Int) throws {
        switch wire {
        case 0: _ = try r.varint()
        case 1: _ = try r.take(8)
        case 2: _ = try r.take(try r.count(limit: r.remaining))
        case 5: _ = try r.take(4)
        default: throw Malformed()
        }
    }
}

/// The data shards, opened on first use; each tensor's byte range and CRC-32C are checked.
final class ShardFiles {
    let prefix: String
    let count: Int
    let indexPath: String
    private var files: [Int: SafeFile] = [:]
    /// Tensors above this are not weights of an inpainting network.
    static let maxTensorBytes = 1 << 33

    init(prefix: String, count: Int, indexPath: String) {
        self.prefix = prefix
        self.count = count
        self.indexPath = indexPath
    }

    func shardPath(_ i: Int) -> String { prefix + ".data-" + String(format: "%05d-of-%05d", i, count) }

    /// The tensor's CRC-32C, computed a megabyte at a time.
    func verify(_ e: TensorBundle.Entry, name: String) throws {
        guard !e.sliced, e.size > 0 else { return }
        let file = try shard(e, name: name)
        var crc: UInt32 = 0, done = 0
        while done < e.size {
            let n = min(1 << 20, e.size - done)
            crc = CRC32C.checksum(try read(file, at: e.offset + done, count: n), seed: crc)
            done += n
        }
        try check(crc, e, name: name, path: file.path)
    }

    func floats(_ e: TensorBundle.Entry, name: String, dtype: String) throws -> [Float] {
        guard !e.sliced else { throw ImportError(indexPath, "\(name) is stored as slices (a partitioned variable); re-save it unpartitioned") }
        let width = ["float32": 4, "float64": 8, "float16": 2, "bfloat16": 2][dtype]
        guard let width else { throw ImportError(indexPath, "\(name) is \(dtype); weights must be floating point") }
        guard let elements = checkedCount(e.shape), elements <= 1 << 31 else {
            throw ImportError(indexPath, "\(name) has an absurd shape \(e.shape)")
        }
        guard e.size == elements * width else {
            throw ImportError(indexPath, "\(name): shape \(e.shape) of \(dtype) needs \(elements * width) bytes, the index says \(e.size)")
        }
        let file = try shard(e, name: name)
        let raw = try read(file, at: e.offset, count: e.size)
        try check(CRC32C.checksum(raw[...]), e, name: name, path: file.path)
        return ElementDecoding.floats(raw[...], dtype: dtype, count: elements)!
    }

    /// The shard holding `e`, with the tensor's byte range checked against its size.
    private func shard(_ e: TensorBundle.Entry, name: String) throws -> SafeFile {
        guard e.shard < count else { throw ImportError(indexPath, "\(name) lives in shard \(e.shard) of \(count)") }
        guard e.size <= Self.maxTensorBytes else { throw ImportError(indexPath, "\(name) claims \(e.size) bytes, beyond any weight tensor") }
        let path = shardPath(e.shard)
        if files[e.shard] == nil {
            do { files[e.shard] = try SafeFile(path, what: "a checkpoint data file") } catch let error as FileAccessError {
                throw ImportError(path, "cannot open the checkpoint's data file (it must sit next to the .index): \(error.detail)")
            }
        }
        let file = files[e.shard]!
        guard e.offset <= file.size, e.size <= file.size - e.offset else {
            throw ImportError(path, "\(name) occupies bytes \(e.offset)..<\(e.offset + e.size) but the file has \(file.size): truncated")
        }
        return file
    }

    private func read(_ file: SafeFile, at offset: Int, count: Int) throws -> [UInt8] {
        do { return try file.read(at: offset, count: count) } catch let error as FileAccessError { throw ImportError(file.path, error.detail) }
    }

    private func check(_ actual: UInt32, _ e: TensorBundle.Entry, name: String, path: String) throws {
        guard let stored = e.crc32c, CRC32C.unmask(stored) != actual else { return }
        throw ImportError(path, "\(name): CRC-32C mismatch (the index says 0x\(String(CRC32C.unmask(stored), radix: 16)), "
                          + "the data gives 0x\(String(actual, radix: 16))); the checkpoint is corrupted")
    }
}
