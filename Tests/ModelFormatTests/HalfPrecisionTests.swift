import Compiler
import Foundation
import GraphIR
import ModelFormat
import XCTest

/// float16 tensors (format 1.1): stored at half the size, read back exactly as the rounded values,
/// refused when damaged, and float32 files unchanged (still written as format 1.0).
final class HalfPrecisionTests: XCTestCase {
    func halfModel() throws -> Model {
        var model = try ModelFileTests.tinyModel()
        _ = try Compiler.storeAsHalf(&model.tensors)
        return model
    }

    func testRoundTripIsTheRoundedValuesAtHalfTheSize() throws {
        let float = try ModelFileTests.tinyModel(), half = try halfModel()
        let fb = try ModelWriter.encode(float), hb = try ModelWriter.encode(half)
        XCTAssertEqual(Array(fb[8..<12]), [2, 0, 0, 0], "a float32 model is format 2.0")
        XCTAssertEqual(Array(hb[8..<12]), [2, 0, 1, 0], "a float16 model is format 2.1")
        let file = try ModelReader.decode(hb, path: "h.bin")
        XCTAssertEqual(file.model.tensors, half.tensors)
        XCTAssertEqual(Set(file.tensorInfo.map(\.storage)), [.float16])
        for (f, h) in zip(float.tensors, file.model.tensors) {
            XCTAssertEqual(h.values, f.values.map { Float(Float16($0)) }, f.name)
            // Rounded to nearest: within half a float16 ulp of the original.
            for (a, b) in zip(f.values, h.values) { XCTAssertLessThanOrEqual(abs(a - b), max(abs(a), 6.1e-5) * 0x1p-11, f.name) }
        }
        let dataBytes = { (b: [UInt8]) -> Int in self.sectionOffset(b, "TDAT").1 }
        XCTAssertLessThan(dataBytes(hb), dataBytes(fb) * 6 / 10)
    }

    func testEveryBitFlipOfAHalfModelIsDetected() throws {
        let bytes = try ModelWriter.encode(try halfModel())
        for i in stride(from: 0, to: bytes.count, by: 7) {
            var b = bytes
            b[i] ^= 0x04
            XCTAssertNotNil(decodeError(b), "flip at byte \(i) was accepted")
        }
    }

    func testDamageWithValidChecksums() throws {
        var bytes = try ModelWriter.encode(try halfModel())
        let (tidx, _) = sectionOffset(bytes, "TIDX"), (tdat, _) = sectionOffset(bytes, "TDAT")
        // The first tensor's dtype byte: u32 count, u16 name length, name.
        let nameLength = Int(bytes[tidx + 4]) | Int(bytes[tidx + 5]) << 8
        let dtypeAt = tidx + 6 + nameLength
        var unknown = bytes
        unknown[dtypeAt] = 7
        reseal(&unknown)
        XCTAssertTrue(decodeError(unknown)?.description.contains("unknown dtype code 7 (0 = float32, 1 = float16)") ?? false)
        var widened = bytes
        widened[dtypeAt] = 0  // float32 with a float16 length
        reseal(&widened)
        XCTAssertTrue(decodeError(widened)?.description.contains("as float32, the index says") ?? false, "\(String(describing: decodeError(widened)))")
        // An infinity stored as float16 (0x7C00), with the tensor's own checksum redone too, is
        // refused like a float32 one.
        bytes[tdat] = 0x00
        bytes[tdat + 1] = 0x7C
        let rank = Int(bytes[dtypeAt + 1]), fields = dtypeAt + 2 + 8 * rank
        let length = (0..<8).reduce(0) { $0 | Int(bytes[fields + 8 + $1]) << (8 * $1) }
        let sum = XXHash64.hash(Array(bytes[tdat..<tdat + length]))
        for i in 0..<8 { bytes[fields + 16 + i] = UInt8((sum >> (8 * UInt64(i))) & 0xff) }
        reseal(&bytes)
        XCTAssertTrue(decodeError(bytes)?.description.contains("holds a non-finite value (inf) at element 0") ?? false, "\(String(describing: decodeError(bytes)))")
    }

    func testValuesBeyondHalfRangeAreRefusedAtCompileTime() throws {
        var tensors = [Tensor(name: "w.weight", shape: [2], values: [1, 70000])]
        XCTAssertThrowsError(try Compiler.storeAsHalf(&tensors)) { error in
            XCTAssertTrue("\(error)".contains("w.weight holds 70000.0 at element 1, beyond float16's range (±65504)"), "\(error)")
        }
    }
}
