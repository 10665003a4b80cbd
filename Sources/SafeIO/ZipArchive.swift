// A zip reader for untrusted archives (.npz, PyTorch .pth), after safetensors' and GGUF's
// hardening: the central directory is parsed with every offset and length bounds-checked, an
// entry is inflated only when asked for, never past its declared size (a deflate bomb stops at
// the size it claims), never from more than its declared compressed bytes (an unterminated
// stream is an error, not a spin), and its CRC-32 is compared. Encrypted entries, symbolic
// links, duplicate names and methods other than stored and deflate are refused.
import SystemZlib

public struct ZipError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var detail: String
    public init(_ path: String, _ detail: String) {
        self.path = path
        self.detail = detail
    }
    public var description: String { "\(Printable.path(path)): \(detail)" }
}

public struct ZipEntry: Sendable {
    public var name: String
    public var method: UInt16
    public var crc32: UInt32
    public var compressedSize: Int
    public var uncompressedSize: Int
    /// Absolute offset of the entry's local header.
    var localHeader: Int
}

public final class ZipArchive: @unchecked Sendable {
    public let file: SafeFile
    public let entries: [ZipEntry]
    private let byName: [String: Int]

    /// Deflate cannot expand data by more than about 1032:1; a larger claim is a lie.
    static let maxDeflateRatio = 1032
    static let maxEntries = 100_000

    public var path: String { file.path }

    public static func looksLikeZip(_ head: [UInt8]) -> Bool {
        head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06])
    }

    public convenience init(path: String) throws {
        try self.init(file: try SafeFile(path, what: "a zip archive"))
    }

    public init(file: SafeFile) throws {
        self.file = file
        let path = file.path
        func fail(_ d: String) -> ZipError { ZipError(path, d) }
        // The end-of-central-directory record is in the last 22 + 65535 bytes.
        let tailLength = min(file.size, 22 + 65535)
        let tail = try file.read(at: file.size - tailLength, count: tailLength)
        guard tail.count >= 22, let eocd = stride(from: tail.count - 22, through: 0, by: -1).first(where: {
            tail[$0] == 0x50 && tail[$0 + 1] == 0x4B && tail[$0 + 2] == 0x05 && tail[$0 + 3] == 0x06
        }) else { throw fail("not a complete zip archive: its end-of-central-directory record is missing (truncated?)") }
        var count = Int(le16(tail, eocd + 10)), cdSize = Int(le32(tail, eocd + 12)), cdOffset = Int(le32(tail, eocd + 16))
        let eocdAbsolute = file.size - tailLength + eocd
        // ZIP64: the locator just before the record points at the 64-bit record.
        if (count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF), eocdAbsolute >= 20 {
            let locator = try file.read(at: eocdAbsolute - 20, count: 20)
            if le32(locator, 0) == 0x0706_4B50 {
                let recordAt = le64(locator, 8)
                guard recordAt <= UInt64(eocdAbsolute), UInt64(eocdAbsolute) - recordAt >= 56 else { throw fail("its ZIP64 end record lies outside the file") }
                let record = try file.read(at: Int(recordAt), count: 56)
                guard le32(record, 0) == 0x0606_4B50 else { throw fail("its ZIP64 end record is damaged") }
                let (n, s, o) = (le64(record, 32), le64(record, 40), le64(record, 48))
                guard n <= UInt64(Self.maxEntries), s <= UInt64(file.size), o <= UInt64(file.size) else { throw fail("its ZIP64 end record declares impossible sizes") }
                (count, cdSize, cdOffset) = (Int(n), Int(s), Int(o))
            }
        }
        guard count <= Self.maxEntries else { throw fail("it declares \(count) entries (limit \(Self.maxEntries))") }
        guard cdOffset <= file.size, cdSize <= file.size - cdOffset, cdOffset + cdSize <= eocdAbsolute else {
            throw fail("its central directory (\(cdSize) bytes at offset \(cdOffset)) lies outside the file's \(file.size) bytes: "
                       + "the archive is truncated or damaged")
        }
        let cd = try file.read(at: cdOffset, count: cdSize)
        var entries: [ZipEntry] = [], byName: [String: Int] = [:]
        var p = 0
        for i in 0..<count {
            guard p + 46 <= cd.count, le32(cd, p) == 0x0201_4B50 else { throw fail("central directory entry \(i) is damaged") }
            let flags = le16(cd, p + 8), method = le16(cd, p + 10)
            let nameLength = Int(le16(cd, p + 28)), extraLength = Int(le16(cd, p + 30)), commentLength = Int(le16(cd, p + 32))
            let external = le32(cd, p + 38), crc = le32(cd, p + 16)
            guard p + 46 + nameLength + extraLength + commentLength <= cd.count else { throw fail("central directory entry \(i) runs past the directory") }
            let name = String(decoding: cd[p + 46..<p + 46 + nameLength], as: UTF8.self)
            var csize = UInt64(le32(cd, p + 20)), usize = UInt64(le32(cd, p + 24)), local = UInt64(le32(cd, p + 42))
            // The ZIP64 extra field holds, in order, whichever of the three fields are 0xFFFFFFFF.
            var q = p + 46 + nameLength
            let extraEnd = q + extraLength
            while q + 4 <= extraEnd {
                let id = le16(cd, q), size = Int(le16(cd, q + 2))
                guard q + 4 + size <= extraEnd else { break }
                if id == 0x0001 {
                    var f = q + 4
                    let end = f + size
                    if usize == 0xFFFF_FFFF, f + 8 <= end { usize = le64(cd, f); f += 8 }
                    if csize == 0xFFFF_FFFF, f + 8 <= end { csize = le64(cd, f); f += 8 }
                    if local == 0xFFFF_FFFF, f + 8 <= end { local = le64(cd, f); f += 8 }
                }
                q += 4 + size
            }
            p = extraEnd + commentLength
            let shown = Printable.text(name)
            if flags & 1 != 0 { throw fail("entry \(shown) is encrypted") }
            if (external >> 16) & 0o170000 == 0o120000 { throw fail("entry \(shown) is a symbolic link, not data") }
            if name.hasSuffix("/") { continue }  // a directory
            guard method == 0 || method == 8 else { throw fail("entry \(shown) uses compression method \(method); only stored (0) and deflate (8) are read") }
            guard csize <= UInt64(file.size), local < UInt64(file.size) else { throw fail("entry \(shown) lies outside the file") }
            let ratioLimit = method == 0 ? csize : csize * UInt64(Self.maxDeflateRatio) + 1024
            guard usize <= ratioLimit else {
                throw fail("entry \(shown) claims \(usize) bytes from \(csize) compressed bytes, more than "
                           + (method == 0 ? "a stored entry holds" : "deflate can produce"))
            }
            guard byName[name] == nil else { throw fail("entry \(shown) appears twice") }
            byName[name] = entries.count
            entries.append(ZipEntry(name: name, method: method, crc32: crc,
                                    compressedSize: Int(csize), uncompressedSize: Int(usize), localHeader: Int(local)))
        }
        self.entries = entries
        self.byName = byName
    }

    public subscript(name: String) -> ZipEntry? { byName[name].map { entries[$0] } }

    /// Where the entry's bytes start, from its local header (whose name must match).
    private func dataStart(_ e: ZipEntry) throws -> Int {
        let header = try file.read(at: e.localHeader, count: min(30, file.size - e.localHeader))
        guard header.count == 30, le32(header, 0) == 0x0403_4B50 else {
            throw ZipError(path, "entry \(Printable.text(e.name)): its local header at offset \(e.localHeader) is missing or damaged")
        }
        let start = e.localHeader + 30 + Int(le16(header, 26)) + Int(le16(header, 28))
        guard start <= file.size, e.compressedSize <= file.size - start else {
            throw ZipError(path, "entry \(Printable.text(e.name)): its \(e.compressedSize) bytes at offset \(start) run past the end of the file (truncated)")
        }
        return start
    }

    /// The entry's bytes, refused above `limit`; CRC-checked.
    public func extract(_ e: ZipEntry, limit: Int) throws -> [UInt8] {
        guard e.uncompressedSize <= limit else {
            throw ZipError(path, "entry \(Printable.text(e.name)) claims \(e.uncompressedSize) bytes (limit \(limit))")
        }
        let out = try inflate(e, upTo: e.uncompressedSize)
        let crc = out.withUnsafeBufferPointer { b in UInt32(crc32(0, b.baseAddress, uInt(b.count))) }
        guard crc == e.crc32 else {
            throw ZipError(path, "entry \(Printable.text(e.name)) fails its CRC-32 check (stored 0x\(String(e.crc32, radix: 16)), "
                           + "computed 0x\(String(crc, radix: 16))): the archive is corrupted")
        }
        return out
    }

    /// The first `count` bytes of an entry (fewer if it is shorter), e.g. a header; not CRC-checked.
    public func prefix(_ e: ZipEntry, count: Int) throws -> [UInt8] {
        try inflate(e, upTo: min(count, e.uncompressedSize))
    }

    private func inflate(_ e: ZipEntry, upTo wanted: Int) throws -> [UInt8] {
        let start = try dataStart(e)
        let name = Printable.text(e.name)
        if e.method == 0 { return try file.read(at: start, count: wanted) }
        // Feed at most the declared compressed bytes, in chunks; stop at `wanted` bytes out.
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ZipError(path, "cannot start zlib")
        }
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: wanted)
        var consumed = 0, produced = 0, ended = false
        let chunk = 1 << 20
        while produced < wanted && !ended {
            guard consumed < e.compressedSize else {
                throw ZipError(path, "entry \(name): its deflate stream ends before its declared \(e.uncompressedSize) bytes (truncated or damaged)")
            }
            var input = try file.read(at: start + consumed, count: min(chunk, e.compressedSize - consumed))
            let status: Int32 = input.withUnsafeMutableBufferPointer { inBuf in
                out.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_in = inBuf.baseAddress
                    stream.avail_in = uInt(inBuf.count)
                    stream.next_out = outBuf.baseAddress! + produced
                    stream.avail_out = uInt(wanted - produced)
                    let s = SystemZlib.inflate(&stream, Z_NO_FLUSH)
                    produced = wanted - Int(stream.avail_out)
                    consumed += inBuf.count - Int(stream.avail_in)
                    return s
                }
            }
            switch status {
            case Z_STREAM_END: ended = true
            case Z_OK: break
            case Z_BUF_ERROR where produced == wanted: break
            case Z_BUF_ERROR:
                // No progress possible with the bytes given: only more input could help.
                if consumed >= e.compressedSize {
                    throw ZipError(path, "entry \(name): its deflate stream is unterminated (it wants more than its \(e.compressedSize) compressed bytes)")
                }
            default:
                let why = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw ZipError(path, "entry \(name): damaged deflate data (\(why))")
            }
        }
        if wanted == e.uncompressedSize {
            guard produced == wanted else { throw ZipError(path, "entry \(name) inflates to \(produced) bytes, not its declared \(wanted)") }
            if !ended {
                // Exactly the declared size came out: the stream must end here. One byte more
                // means it goes on; no end with all the input used means it never ends.
                var probe = [UInt8](repeating: 0, count: 1)
                var input = consumed < e.compressedSize ? try file.read(at: start + consumed, count: min(chunk, e.compressedSize - consumed)) : []
                let status: Int32 = input.withUnsafeMutableBufferPointer { inBuf in
                    probe.withUnsafeMutableBufferPointer { p in
                        stream.next_in = inBuf.baseAddress
                        stream.avail_in = uInt(inBuf.count)
                        stream.next_out = p.baseAddress
                        stream.avail_out = 1
                        return SystemZlib.inflate(&stream, Z_NO_FLUSH)
                    }
                }
                if stream.avail_out == 0 {
                    throw ZipError(path, "entry \(name) inflates beyond its declared \(e.uncompressedSize) bytes")
                }
                guard status == Z_STREAM_END else {
                    throw ZipError(path, "entry \(name): its deflate stream is unterminated (it wants more than its \(e.compressedSize) compressed bytes)")
                }
            }
        }
        return out
    }
}

@inline(__always) func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
@inline(__always) func le32(_ b: [UInt8], _ i: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[i + $1]) << (8 * UInt32($1)) } }
@inline(__always) func le64(_ b: [UInt8], _ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[i + $1]) << (8 * UInt64($1)) } }
