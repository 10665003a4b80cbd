// Checksum repair, so that mutations reach the code behind a format's integrity checks: a
// harness parses each input as given and, when repairing changes it, once more with its
// checksums made right (PNG chunk CRC-32s, LevelDB block CRC-32Cs, model.bin xxh64s).
import ModelFormat

public enum CRC {
    static func table(_ polynomial: UInt32) -> [UInt32] {
        (0..<256).map { i -> UInt32 in
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? polynomial ^ (c >> 1) : c >> 1 }
            return c
        }
    }
    static let ieee = table(0xEDB8_8320)
    static let castagnoli = table(0x82F6_3B78)

    static func run<C: Collection>(_ t: [UInt32], _ data: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    /// CRC-32 as zip and PNG use it.
    public static func crc32<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 { run(ieee, data) }
    /// CRC-32C as LevelDB and TensorFlow use it.
    public static func crc32c<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 { run(castagnoli, data) }
    /// LevelDB's masked form of a stored CRC-32C.
    public static func masked(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8 }
}

@inline(__always) func get(_ b: [UInt8], _ at: Int, _ n: Int) -> UInt64 {
    (0..<n).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) }
}
@inline(__always) func put(_ b: inout [UInt8], _ at: Int, _ n: Int, _ v: UInt64) {
    for i in 0..<n { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
}

public enum Repair {
    /// PNG: every chunk's CRC-32 recomputed (walking the chunks while their lengths fit).
    public static func png(_ input: [UInt8]) -> [UInt8]? {
        guard input.count >= 8 + 12, input.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { return nil }
        var b = input, p = 8
        while p + 12 <= b.count {
            let length = Int(b[p]) << 24 | Int(b[p + 1]) << 16 | Int(b[p + 2]) << 8 | Int(b[p + 3])
            guard length <= b.count - p - 12 else { break }
            let crc = CRC.crc32(b[(p + 4)..<(p + 8 + length)])
            for i in 0..<4 { b[p + 8 + length + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(i))) }
            p += 12 + length
        }
        return b == input ? nil : b
    }

    /// A LevelDB table (TF bundle index): the footer's index block and every data block it
    /// points at get a true masked CRC-32C trailer. Parsing stops quietly at anything malformed.
    public static func levelDB(_ input: [UInt8]) -> [UInt8]? {
        let footer = 48
        guard input.count >= footer else { return nil }
        var b = input
        func varint(_ p: inout Int, _ end: Int) -> Int? {
            var v = 0, shift = 0
            while p < end, shift < 63 {
                let x = Int(b[p]); p += 1
                v |= (x & 0x7F) << shift
                if x < 0x80 { return v }
                shift += 7
            }
            return nil
        }
        let limit = b.count - footer
        func fix(_ offset: Int, _ size: Int) -> Bool {
            guard offset >= 0, size >= 0, offset <= limit, size <= limit - offset, size + 5 <= limit - offset else { return false }
            put(&b, offset + size + 1, 4, UInt64(CRC.masked(CRC.crc32c(b[offset..<(offset + size + 1)]))))
            return true
        }
        var p = b.count - footer
        guard varint(&p, b.count - 8) != nil, varint(&p, b.count - 8) != nil,
              let io = varint(&p, b.count - 8), let isz = varint(&p, b.count - 8), fix(io, isz), isz >= 4 else {
            return b == input ? nil : b
        }
        // The index block's entries: shared, unshared, value length, key delta, value = handle.
        let restarts = Int(get(b, io + isz - 4, 4))
        if restarts >= 1, restarts <= (isz - 4) / 4 {
            var q = io
            let end = io + isz - 4 - restarts * 4
            var handled = 0
            while q < end, handled < 10_000 {
                guard varint(&q, end) != nil, let unshared = varint(&q, end), let vlen = varint(&q, end),
                      unshared <= end - q else { break }
                q += unshared
                guard vlen <= end - q else { break }
                var h = q
                if let o = varint(&h, q + vlen), let s = varint(&h, q + vlen) { _ = fix(o, s) }
                q += vlen
                handled += 1
            }
        }
        // The index block may share bytes with a data block: settle its own checksum last.
        _ = fix(io, isz)
        return b == input ? nil : b
    }

    /// model.bin: the file length field, every tensor's checksum in TIDX (where TDAT holds
    /// it), every section's checksum and the header checksum.
    public static func model(_ input: [UInt8]) -> [UInt8]? {
        guard input.count >= 64, input.starts(with: Array("FILLGRPH".utf8)) else { return nil }
        var b = input
        put(&b, 16, 8, UInt64(b.count))
        let count = Int(get(b, 24, 4))
        guard (1...16).contains(count), 64 + count * 48 <= b.count else { return b == input ? nil : b }
        var sections: [String: (Int, Int, Int)] = [:]  // kind -> (table entry, offset, length)
        for i in 0..<count {
            let e = 64 + i * 48
            let kind = String(decoding: b[e..<(e + 4)], as: UTF8.self)
            let o = get(b, e + 8, 8), l = get(b, e + 16, 8)
            guard o <= UInt64(b.count), l <= UInt64(b.count) - o else { continue }
            sections[kind] = (e, Int(o), Int(l))
        }
        if let (_, io, il) = sections["TIDX"], let (_, dOff, dLen) = sections["TDAT"], il >= 4 {
            var p = io + 4
            let end = io + il
            var n = Int(get(b, io, 4))
            while n > 0, p + 2 <= end {
                n -= 1
                let nameLength = Int(get(b, p, 2))
                p += 2 + nameLength
                guard p + 2 <= end else { break }
                let rank = Int(b[p + 1])
                p += 2 + 8 * rank
                guard p + 24 <= end else { break }
                let o = get(b, p, 8), l = get(b, p + 8, 8)
                if o <= UInt64(dLen), l <= UInt64(dLen) - o {
                    let start = dOff + Int(o)
                    let h = b.withUnsafeBytes { XXHash64.hash(UnsafeRawBufferPointer(rebasing: $0[start..<(start + Int(l))])) }
                    put(&b, p + 16, 8, h)
                }
                p += 24
            }
        }
        for (_, (e, o, l)) in sections {
            let h = b.withUnsafeBytes { XXHash64.hash(UnsafeRawBufferPointer(rebasing: $0[o..<(o + l)])) }
            put(&b, e + 24, 8, h)
        }
        put(&b, 40, 8, XXHash64.hash(Array(b[0..<40]) + Array(b[64..<(64 + count * 48)])))
        return b == input ? nil : b
    }
}

/// Lays out a model.bin from section contents (64-byte aligned, zero padded, every checksum
/// and the length right), as Docs/model-format.md describes.
public enum ModelBuilder {
    public static func build(_ sections: [(kind: String, bytes: [UInt8])], version: (major: UInt16, minor: UInt16)) -> [UInt8] {
        func align(_ n: Int) -> Int { (n + 63) / 64 * 64 }
        var out = [UInt8](repeating: 0, count: 64 + 48 * sections.count)
        out.replaceSubrange(0..<8, with: Array("FILLGRPH".utf8))
        put(&out, 8, 2, UInt64(version.major))
        put(&out, 10, 2, UInt64(version.minor))
        put(&out, 12, 4, 0x0A0B_0C0D)
        put(&out, 24, 4, UInt64(sections.count))
        put(&out, 32, 8, 64)
        for (i, s) in sections.enumerated() {
            out += [UInt8](repeating: 0, count: align(out.count) - out.count)
            let e = 64 + 48 * i
            out.replaceSubrange(e..<(e + 4), with: Array(s.kind.utf8.prefix(4)))
            put(&out, e + 8, 8, UInt64(out.count))
            put(&out, e + 16, 8, UInt64(s.bytes.count))
            put(&out, e + 24, 8, XXHash64.hash(s.bytes))
            out += s.bytes
        }
        put(&out, 16, 8, UInt64(out.count))
        put(&out, 40, 8, XXHash64.hash(Array(out[0..<40]) + Array(out[64..<(64 + 48 * sections.count)])))
        return out
    }
}
