// A bounds-checked cursor over untrusted bytes. Every read says how far it wanted to go, so a
// truncated or lying file becomes a message with a byte offset, never an out-of-range access.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = start
        self.end = min(end ?? bytes.count, bytes.count)
    }

    struct Overrun: Error {
        var offset: Int
        var wanted: Int
    }

    var remaining: Int { end - offset }
    var atEnd: Bool { offset >= end }

    mutating func byte() throws -> UInt8 {
        guard offset < end else { throw Overrun(offset: offset, wanted: 1) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw Overrun(offset: offset, wanted: count) }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// Little-endian unsigned integer of `size` bytes (1...8).
    mutating func uint(_ size: Int) throws -> UInt64 {
        let raw = try take(size)
        var value: UInt64 = 0
        for (i, b) in raw.enumerated() { value |= UInt64(b) << (8 * UInt64(i)) }
        return value
    }

    mutating func int32() throws -> Int32 { Int32(truncatingIfNeeded: try uint(4)) }

    /// Protobuf/LevelDB base-128 varint, at most 10 bytes.
    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: UInt64(0), through: 63, by: 7) {
            let b = try byte()
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
        }
        throw Overrun(offset: offset, wanted: 0)
    }

    /// A varint that must fit a non-negative Int no larger than `limit`.
    mutating func count(limit: Int) throws -> Int {
        let v = try varint()
        guard v <= UInt64(limit) else { throw Overrun(offset: offset, wanted: Int(clamping: v)) }
        return Int(v)
    }
}
