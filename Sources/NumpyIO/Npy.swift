// NumPy .npy arrays (format 1.0–3.0): the exchange format for weights (.npz) and for
// `graphrun --save-raw`. The reader accepts little- or big-endian float32/float64/int32/int64/
// uint8, C or Fortran order, and checks the header and every size before touching data, so a
// damaged file is an error that says what is wrong, never a crash. float16 arrays are widened.
import Foundation
import SafeIO

public struct NumpyError: Error, CustomStringConvertible {
    public var path: String
    public var detail: String
    public init(_ path: String, _ detail: String) {
        self.path = path
        self.detail = detail
    }
    public var description: String { "\(path): \(detail)" }
}

/// A float32 or int32 array in C order.
public struct NpyArray: Equatable, Sendable {
    public enum Elements: Equatable, Sendable {
        case float32([Float])
        case int32([Int32])
    }

    public var shape: [Int]
    public var elements: Elements

    public init(shape: [Int], floats: [Float]) {
        self.shape = shape
        elements = .float32(floats)
    }

    public init(shape: [Int], ints: [Int32]) {
        self.shape = shape
        elements = .int32(ints)
    }

    public var count: Int { shape.reduce(1, *) }

    /// The elements as Float (int arrays are converted).
    public var floats: [Float] {
        switch elements {
        case .float32(let f): return f
        case .int32(let i): return i.map { Float($0) }
        }
    }

    public var ints: [Int32]? {
        if case .int32(let i) = elements { return i }
        return nil
    }
}

public enum Npy {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    public static let maxElements = 1 << 31

    public static func read(path: String) throws -> NpyArray {
        let bytes: [UInt8]
        do { bytes = try SafeFile.read(path, limit: 1 << 34, what: "a .npy file") } catch let e as FileAccessError {
            throw NumpyError(path, e.detail + (e.hint.map { "; \($0)" } ?? ""))
        }
        return try decode(bytes, name: path)
    }

    public static func write(_ array: NpyArray, to path: String) throws {
        do { try AtomicWrite.write(encode(array), to: path) } catch let e as FileAccessError {
            throw NumpyError(path, e.detail + (e.hint.map { "; \($0)" } ?? ""))
        }
    }

    /// Version 1.0, little-endian, C order; the header is padded so data starts 64-byte aligned.
    public static func encode(_ array: NpyArray) -> [UInt8] {
        let descr: String
        switch array.elements {
        case .float32: descr = "<f4"
        case .int32: descr = "<i4"
        }
        let shape = array.shape.count == 1 ? "(\(array.shape[0]),)" : "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        let unpadded = magic.count + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = magic + [1, 0]
        let hl = UInt16(header.utf8.count)
        out += [UInt8(hl & 0xff), UInt8(hl >> 8)]
        out += Array(header.utf8)
        switch array.elements {
        case .float32(let f): f.withUnsafeBytes { out += $0 }
        case .int32(let i): i.withUnsafeBytes { out += $0 }
        }
        return out
    }

    /// What a .npy header says, checked: element type, order, shape, where the data starts.
    public struct Header: Sendable {
        public var descr: String
        public var fortran: Bool
        public var shape: [Int]
        public var dataOffset: Int
        public var count: Int
        public var itemSize: Int
        var code: String
        var littleEndian: Bool

        /// The element type as NumPy names it ("float32", ...).
        public var dtypeName: String {
            ["f2": "float16", "f4": "float32", "f8": "float64", "i4": "int32", "i8": "int64", "u1": "uint8", "b1": "bool", "i1": "int8"][code] ?? code
        }
        public var dataBytes: Int { count * itemSize }
    }

    /// Parses the header at the start of `bytes` (which may be just a prefix of the file).
    public static func header(_ bytes: [UInt8], name: String) throws -> Header {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NumpyError(name, bytes.isEmpty ? "the file is empty" : "not a .npy file (no \\x93NUMPY magic at byte 0)")
        }
        let major = bytes[6]
        var offset: Int, headerLength: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; offset = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NumpyError(name, "truncated in the header length") }
            headerLength = (8..<12).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 8)) }
            offset = 12
        default: throw NumpyError(name, "unsupported .npy format version \(major).\(bytes[7])")
        }
        guard headerLength <= maxHeaderBytes, offset + headerLength <= bytes.count else {
            throw NumpyError(name, "header of \(headerLength) bytes runs past the end of the file (\(bytes.count) bytes)")
        }
        let text = String(decoding: bytes[offset..<offset + headerLength], as: UTF8.self)
        let (descr, fortran, shape) = try parseHeader(text, name)
        let (count, overflow) = shape.reduce((1, false)) { acc, d in
            let r = acc.0.multipliedReportingOverflow(by: d)
            return (r.partialValue, acc.1 || r.overflow)
        }
        guard !overflow, count <= maxElements else { throw NumpyError(name, "shape \(shape) is too large") }
        let code = String(descr.drop { "<>|=".contains($0) })
        let itemSize: Int
        switch code {
        case "f2": itemSize = 2
        case "f4", "i4": itemSize = 4
        case "f8", "i8": itemSize = 8
        case "u1", "b1", "i1": itemSize = 1
        default: throw NumpyError(name, "unsupported dtype '\(Printable.text(descr))' (supported: float16, float32, float64, int32, int64, uint8)")
        }
        return Header(descr: descr, fortran: fortran, shape: shape, dataOffset: offset + headerLength, count: count,
                      itemSize: itemSize, code: code, littleEndian: descr.first != ">")
    }

    /// The longest header accepted (NumPy writes under 200 bytes).
    public static let maxHeaderBytes = 1 << 16

    public static func decode(_ bytes: [UInt8], name: String) throws -> NpyArray {
        let h = try header(bytes, name: name)
        let (shape, count, itemSize, code, littleEndian, offset) = (h.shape, h.count, h.itemSize, h.code, h.littleEndian, h.dataOffset)
        let need = h.dataBytes
        guard bytes.count - offset >= need else {
            throw NumpyError(name, "truncated: shape \(shape) of \(h.descr) needs \(need) data bytes, the file has \(bytes.count - offset)")
        }
        func raw(_ i: Int) -> UInt64 {
            var v: UInt64 = 0
            let base = offset + i * itemSize
            for k in 0..<itemSize {
                let byte = UInt64(bytes[base + (littleEndian ? k : itemSize - 1 - k)])
                v |= byte << (8 * UInt64(k))
            }
            return v
        }
        var array: NpyArray
        switch code {
        case "f4" where littleEndian:  // the common case: copy the bytes as they are
            var f = [Float](repeating: 0, count: count)
            f.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + need])) } }
            array = NpyArray(shape: shape, floats: f)
        case "f4": array = NpyArray(shape: shape, floats: (0..<count).map { Float(bitPattern: UInt32(truncatingIfNeeded: raw($0))) })
        case "f8": array = NpyArray(shape: shape, floats: (0..<count).map { Float(Double(bitPattern: raw($0))) })
        case "f2": array = NpyArray(shape: shape, floats: (0..<count).map { Float(Float16(bitPattern: UInt16(truncatingIfNeeded: raw($0)))) })
        case "i4": array = NpyArray(shape: shape, ints: (0..<count).map { Int32(bitPattern: UInt32(truncatingIfNeeded: raw($0))) })
        case "i8":
            var ints: [Int32] = []
            ints.reserveCapacity(count)
            for i in 0..<count {
                let v = Int64(bitPattern: raw(i))
                guard let narrow = Int32(exactly: v) else { throw NumpyError(name, "int64 value \(v) at index \(i) does not fit int32") }
                ints.append(narrow)
            }
            array = NpyArray(shape: shape, ints: ints)
        default: array = NpyArray(shape: shape, ints: (0..<count).map { Int32(raw($0)) })
        }
        if h.fortran && shape.count > 1 { array = toCOrder(array) }
        return array
    }

    static func parseHeader(_ header: String, _ name: String) throws -> (String, Bool, [Int]) {
        func field(_ key: String) -> Substring? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return header[r.upperBound...].drop { $0 == " " }
        }
        guard let d = field("descr"), d.first == "'", let end = d.dropFirst().firstIndex(of: "'") else {
            throw NumpyError(name, "header has no 'descr': \(Printable.text(String(header.prefix(80))))")
        }
        let descr = String(d[d.index(after: d.startIndex)..<end])
        guard let f = field("fortran_order") else { throw NumpyError(name, "header has no 'fortran_order'") }
        // Only the two booleans NumPy writes: anything else would silently transpose or not.
        let fortran: Bool
        if f.hasPrefix("True") { fortran = true } else if f.hasPrefix("False") { fortran = false } else {
            let value = f.prefix(while: { $0 != "," && $0 != "}" }).prefix(32)
            throw NumpyError(name, "'fortran_order' is \(Printable.text(String(value))), not True or False")
        }
        guard let s = field("shape"), s.first == "(", let close = s.firstIndex(of: ")") else {
            throw NumpyError(name, "header has no 'shape' tuple")
        }
        var shape: [Int] = []
        for part in s[s.index(after: s.startIndex)..<close].split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let v = Int(t), v >= 0 else { throw NumpyError(name, "bad dimension '\(Printable.text(t))' in shape") }
            shape.append(v)
        }
        guard shape.count <= 8 else { throw NumpyError(name, "rank \(shape.count) is above the limit of 8") }
        return (descr, fortran, shape)
    }

    static func toCOrder(_ a: NpyArray) -> NpyArray {
        let rank = a.shape.count
        var fStrides = [Int](repeating: 1, count: rank)
        for i in 1..<rank { fStrides[i] = fStrides[i - 1] * a.shape[i - 1] }
        func source(_ flat: Int) -> Int {
            var rem = flat, src = 0
            for i in stride(from: rank - 1, through: 0, by: -1) {
                src += (rem % a.shape[i]) * fStrides[i]
                rem /= a.shape[i]
            }
            return src
        }
        switch a.elements {
        case .float32(let f): return NpyArray(shape: a.shape, floats: (0..<a.count).map { f[source($0)] })
        case .int32(let v): return NpyArray(shape: a.shape, ints: (0..<a.count).map { v[source($0)] })
        }
    }
}
