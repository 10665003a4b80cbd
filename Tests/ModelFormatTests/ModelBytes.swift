import ModelFormat
import XCTest

/// Byte-level helpers for the model.bin tests: decode expecting an error, find a section, and
/// recompute every checksum after a deliberate edit (to test the checks behind the checksums).
extension XCTestCase {
    func decodeError(_ bytes: [UInt8]) -> ModelFormatError? {
        do { _ = try ModelReader.decode(bytes, path: "m.bin"); return nil } catch let e as ModelFormatError { return e } catch {
            XCTFail("unexpected error type: \(error)")
            return nil
        }
    }

    /// Recomputes every section checksum and the header checksum after a deliberate edit.
    func reseal(_ b: inout [UInt8]) {
        func u64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }
        func put(_ v: UInt64, _ at: Int) { for i in 0..<8 { b[at + i] = UInt8((v >> (8 * UInt64(i))) & 0xff) } }
        let count = Int(b[24]) | Int(b[25]) << 8
        for i in 0..<count {
            let e = 64 + 48 * i, off = u64(e + 8), len = u64(e + 16)
            put(XXHash64.hash(Array(b[off..<off + len])), e + 24)
        }
        put(XXHash64.hash(Array(b[0..<40]) + Array(b[64..<64 + 48 * count])), 40)
    }

    func sectionOffset(_ b: [UInt8], _ kind: String) -> (Int, Int) {
        let count = Int(b[24])
        for i in 0..<count where String(decoding: b[64 + 48 * i..<68 + 48 * i], as: UTF8.self) == kind {
            let e = 64 + 48 * i
            return ((0..<8).reduce(0) { $0 | Int(b[e + 8 + $1]) << (8 * $1) }, (0..<8).reduce(0) { $0 | Int(b[e + 16 + $1]) << (8 * $1) })
        }
        fatalError("no section \(kind)")
    }
}
