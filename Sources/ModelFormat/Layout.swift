// The fixed parts of model.bin (Docs/model-format.md has the byte-by-byte specification) and
// the bounds-checked little-endian reader every parse goes through: a read past the end of a
// section is an error naming the section and the offset, never an out-of-bounds access.

public enum ModelLayout {
    public static let magic: [UInt8] = Array("FILLGRPH".utf8)
    /// 2.0: weights are graph parameters and the execution plan is kept apart from the graph
    /// (1.x files are read and migrated, Migration.swift).
    public static let majorVersion: UInt16 = 2
    /// 2.1 has float16 tensors (dtype 1); files without them are written as 2.0.
    public static let minorVersion: UInt16 = 1
    /// Written little-endian, so a reader sees 0D 0C 0B 0A at offset 12.
    public static let byteOrderMark: UInt32 = 0x0A0B_0C0D
    public static let headerSize = 64
    public static let sectionEntrySize = 48
    public static let maxSections = 16
    public static let alignment = 64
    public static let maxTensors = 100_000
    public static let maxRank = 8
    public static let maxNameLength = 1024
}

/// Section kinds (four ASCII bytes).
public enum SectionKind: String, CaseIterable, Sendable {
    case graph = "GRPH"     // the graph, UTF-8 JSON
    case tensorIndex = "TIDX"
    case tensorData = "TDAT"
    case metadata = "META"  // UTF-8 JSON
}

public struct ModelFormatError: Error, CustomStringConvertible {
    public var path: String
    public var section: String?
    public var offset: Int?
    public var detail: String
    public var hint: String?

    public init(path: String, section: String? = nil, offset: Int? = nil, _ detail: String, hint: String? = nil) {
        self.path = path
        self.section = section
        self.offset = offset
        self.detail = detail
        self.hint = hint
    }

    public var description: String {
        var where_ = path
        if let section { where_ += ", section \(section)" }
        if let offset { where_ += ", byte offset \(offset)" }
        return "\(where_): \(detail)" + (hint.map { "\n  hint: \($0)" } ?? "")
    }
}

/// A bounds-checked cursor over one region of the file.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let base: Int        // absolute file offset of bytes[0], for messages
    let section: String
    let path: String
    var position = 0

    func fail(_ detail: String, at: Int? = nil) -> ModelFormatError {
        ModelFormatError(path: path, section: section, offset: base + (at ?? position), detail)
    }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, position <= bytes.count - n else {
            throw fail("\(what) needs \(n) bytes but only \(bytes.count - position) remain in the section")
        }
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try need(1, what)
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16(_ what: String) throws -> UInt16 {
        try need(2, what)
        defer { position += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        try need(4, what)
        defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func u64(_ what: String) throws -> UInt64 {
        try need(8, what)
        defer { position += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// A u64 that must fit a non-negative Int no larger than `limit`.
    mutating func size(_ what: String, limit: Int) throws -> Int {
        let at = position
        let v = try u64(what)
        guard v <= UInt64(limit) else { throw fail("\(what) is \(v), above the limit of \(limit)", at: at) }
        return Int(v)
    }

    mutating func bytes(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        try need(n, what)
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + n])
    }
}

/// Little-endian appends, with zero padding to an alignment.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func pad(to alignment: Int) {
        let r = bytes.count % alignment
        if r != 0 { bytes += [UInt8](repeating: 0, count: alignment - r) }
    }
}
