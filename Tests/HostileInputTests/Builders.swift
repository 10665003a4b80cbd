import Foundation
import SystemZlib
import XCTest

/// Byte-level builders for hostile files: zip archives that lie about their entries, pickles,
/// PNG chunks, TensorFlow tables. Each writes exactly what it is told, checksums included, so a
/// test reaches the check it means to reach.
enum Bytes {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 255), UInt8((v >> 8) & 255)] }
    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 255) } }
    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * UInt64($0))) & 255) } }
    static func be32(_ v: Int) -> [UInt8] { (0..<4).reversed().map { UInt8((v >> (8 * $0)) & 255) } }

    static func crc32(_ b: [UInt8]) -> Int { Int(b.withUnsafeBufferPointer { SystemZlib.crc32(0, $0.baseAddress, uInt($0.count)) }) }

    /// zlib (with header) or raw deflate, level 9.
    static func deflate(_ data: [UInt8], raw: Bool = false) -> [UInt8] {
        var stream = z_stream()
        deflateInit2_(&stream, 9, Z_DEFLATED, raw ? -15 : 15, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))) + 64)
        var input = data
        let produced: Int = input.withUnsafeMutableBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in
                stream.next_in = i.baseAddress
                stream.avail_in = uInt(i.count)
                stream.next_out = o.baseAddress
                stream.avail_out = uInt(o.count)
                SystemZlib.deflate(&stream, Z_FINISH)
                return o.count - Int(stream.avail_out)
            }
        }
        return Array(out.prefix(produced))
    }

    /// A raw deflate stream of stored blocks; `final: false` leaves the stream unterminated.
    static func storedDeflate(_ data: [UInt8], final: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        var rest = data[...]
        repeat {
            let chunk = rest.prefix(65535)
            rest = rest.dropFirst(chunk.count)
            let last = final && rest.isEmpty
            out.append(last ? 1 : 0)
            out += le16(chunk.count) + le16(~chunk.count & 0xFFFF) + chunk
        } while !rest.isEmpty
        return out
    }
}

/// One zip entry as written: its stored bytes and what the headers claim.
struct ZipItem {
    var name: String
    var stored: [UInt8]
    var method = 0
    var uncompressedSize: Int
    var crc: Int
    var externalAttributes = 0
    var flags = 0

    /// A stored entry with true headers.
    static func stored(_ name: String, _ data: [UInt8]) -> ZipItem {
        ZipItem(name: name, stored: data, uncompressedSize: data.count, crc: Bytes.crc32(data))
    }

    /// A deflated entry with true headers.
    static func deflated(_ name: String, _ data: [UInt8]) -> ZipItem {
        ZipItem(name: name, stored: Bytes.deflate(data, raw: true), method: 8, uncompressedSize: data.count, crc: Bytes.crc32(data))
    }
}

enum ZipBuilder {
    /// Local headers, data, central directory, end record. `directoryOffsetLie` moves the
    /// directory's recorded offset.
    static func archive(_ items: [ZipItem], directoryOffsetLie: Int = 0) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        for item in items {
            let name = Array(item.name.utf8), offset = out.count
            out += Bytes.le32(0x0403_4B50) + Bytes.le16(20) + Bytes.le16(item.flags) + Bytes.le16(item.method) + [0, 0, 0, 0]
            out += Bytes.le32(item.crc) + Bytes.le32(item.stored.count) + Bytes.le32(item.uncompressedSize)
            out += Bytes.le16(name.count) + Bytes.le16(0) + name + item.stored
            central += Bytes.le32(0x0201_4B50) + Bytes.le16(0x031E) + Bytes.le16(20) + Bytes.le16(item.flags) + Bytes.le16(item.method)
            central += [0, 0, 0, 0] + Bytes.le32(item.crc) + Bytes.le32(item.stored.count) + Bytes.le32(item.uncompressedSize)
            central += Bytes.le16(name.count) + Bytes.le16(0) + Bytes.le16(0) + Bytes.le16(0) + Bytes.le16(0)
            central += Bytes.le32(item.externalAttributes) + Bytes.le32(offset) + name
        }
        let cdOffset = out.count
        out += central
        out += Bytes.le32(0x0605_4B50) + [0, 0, 0, 0] + Bytes.le16(items.count) + Bytes.le16(items.count)
        out += Bytes.le32(central.count) + Bytes.le32(cdOffset + directoryOffsetLie) + Bytes.le16(0)
        return out
    }
}

enum NpyBuilder {
    /// A version 1.0 .npy with the given header text (padded) and data.
    static func file(descr: String, shape: [Int], fortran: String = "False", data: [UInt8]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shapeText), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        return [0x93] + Array("NUMPY".utf8) + [1, 0] + Bytes.le16(header.utf8.count) + Array(header.utf8) + data
    }

    static func float32(_ values: [Float], shape: [Int]) -> [UInt8] {
        file(descr: "<f4", shape: shape, data: values.flatMap { Bytes.le32(Int($0.bitPattern)) })
    }
}

enum PNGBuilder {
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return Bytes.be32(data.count) + body + Bytes.be32(Bytes.crc32(body))
    }

    /// A valid PNG of `width`×`height` (gray 8-bit, all zero) with extra chunks before IDAT.
    static func file(width: Int, height: Int, colorType: Int = 0, bitDepth: Int = 8, extra: [[UInt8]] = []) -> [UInt8] {
        let channels = [0: 1, 2: 3, 4: 2, 6: 4][colorType]!
        let row = 1 + width * channels * bitDepth / 8
        var raw = [UInt8](repeating: 0, count: row * height)
        raw.withUnsafeMutableBufferPointer { _ in }
        let ihdr = Bytes.be32(width) + Bytes.be32(height) + [UInt8(bitDepth), UInt8(colorType), 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + extra.joined()
            + chunk("IDAT", Bytes.deflate(raw)) + chunk("IEND", [])
    }
}

/// A PyTorch state dict pickle, protocol 2, as torch.save writes it: one tensor 'w' over
/// storage '0' of `numel` float32 elements, viewed as `shape`.
enum PickleBuilder {
    static func unicode(_ s: String) -> [UInt8] { [0x58] + Bytes.le32(s.utf8.count) + Array(s.utf8) }

    static func int(_ v: Int) -> [UInt8] {
        if (0..<256).contains(v) { return [0x4B, UInt8(v)] }
        return [0x8A, 8] + Bytes.le64(UInt64(bitPattern: Int64(v)))  // LONG1, 8 bytes
    }

    static func stateDict(numel: Int, shape: [Int]) -> [UInt8] {
        stateDict([(name: "w", storage: "0", type: "FloatStorage", numel: numel, shape: shape)])
    }

    /// Several tensors, each a contiguous view from element 0 of the storage it names.
    static func stateDict(_ tensors: [(name: String, storage: String, type: String, numel: Int, shape: [Int])]) -> [UInt8] {
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x28]
        for t in tensors {
            p += unicode(t.name) + Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28, 0x28]
            p += unicode("storage") + Array("ctorch\n\(t.type)\n".utf8) + unicode(t.storage) + unicode("cpu") + int(t.numel) + [0x74, 0x51]
            p += int(0) + [0x28] + t.shape.flatMap(int) + [0x74]
            var strides: [Int] = [], s = 1
            for d in t.shape.reversed() { strides.insert(s, at: 0); s *= max(d, 1) }
            p += [0x28] + strides.flatMap(int) + [0x74] + [0x89]
            p += Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52, 0x74, 0x52]
        }
        return p + [0x75, 0x2E]
    }
}

/// A LevelDB-style table as TensorFlow writes bundle indexes: one data block, one index block,
/// the footer; block checksums are masked CRC-32C.
enum TableBuilder {
    static func crc32c(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = ~0
        for b in data {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0x82F6_3B78 ^ (crc >> 1) : crc >> 1 }
        }
        return ~crc
    }

    static func mask(_ c: UInt32) -> UInt32 { ((c >> 15) | (c << 17)) &+ 0xA282_EAD8 }

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        return out + [UInt8(v)]
    }

    static func block(_ entries: [(String, [UInt8])]) -> [UInt8] {
        var b: [UInt8] = []
        for (k, v) in entries { b += varint(0) + varint(UInt64(k.utf8.count)) + varint(UInt64(v.count)) + Array(k.utf8) + v }
        b += Bytes.le32(0) + Bytes.le32(1)
        return b
    }

    static func withTrailer(_ b: [UInt8]) -> [UInt8] { b + [0] + Bytes.le32(Int(mask(crc32c(b + [0])))) }

    static func table(_ entries: [(String, [UInt8])]) -> [UInt8] {
        let data = block(entries.sorted { $0.0 < $1.0 })
        var out = withTrailer(data)
        let index = block([(entries.map(\.0).max()! + "~", varint(0) + varint(UInt64(data.count)))])
        let indexOffset = out.count
        out += withTrailer(index)
        var footer = varint(0) + varint(0) + varint(UInt64(indexOffset)) + varint(UInt64(index.count))
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        return out + footer + Bytes.le64(0xDB47_7524_8B80_FB57)
    }

    /// BundleEntryProto: dtype, shape, shard 0, offset, size, no checksum.
    static func entry(dtype: Int = 1, shape: [Int], offset: Int, size: Int) -> [UInt8] {
        var dims: [UInt8] = []
        for d in shape { let dim = [0x08] + varint(UInt64(d)); dims += [0x12] + varint(UInt64(dim.count)) + dim }
        return [0x08] + varint(UInt64(dtype)) + [0x12] + varint(UInt64(dims.count)) + dims
            + [0x20] + varint(UInt64(offset)) + [0x28] + varint(UInt64(size))
    }

    static let header: [UInt8] = [0x08, 0x01]  // num_shards 1
}

/// Peak resident memory of this process during `body`, from Linux's high-water mark (reset
/// through /proc/self/clear_refs), in bytes above the level before.
enum PeakMemory {
    static func status(_ key: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) else { return 0 }
        return kb * 1024
    }

    static func measure(_ body: () throws -> Void) rethrows -> Int {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let before = status("VmRSS")
        try body()
        return max(0, status("VmHWM") - before)
    }
}
