import Compiler
import Foundation
import ModelFormat
import NumpyIO
import TestSupport
import XCTest
import ZIPFoundation

/// Weight files: .npy/.npz parsing (robust to damage) and the compile-time fit check.
final class WeightsAndNumpyTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func npyHeader(_ dict: String) -> [UInt8] {
        var h = dict
        while (10 + h.utf8.count + 1) % 64 != 0 { h += " " }
        h += "\n"
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.utf8.count & 0xff), UInt8(h.utf8.count >> 8)] + Array(h.utf8)
    }

    func testNpyRoundTripAndVariants() throws {
        let a = NpyArray(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6.5])
        XCTAssertEqual(try Npy.decode(Npy.encode(a), name: "a"), a)
        let i = NpyArray(shape: [4], ints: [1, -2, 3, 2_000_000_000])
        XCTAssertEqual(try Npy.decode(Npy.encode(i), name: "i"), i)
        // Big-endian float32 and Fortran order are converted.
        let be = npyHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }") + [0x3F, 0x80, 0, 0, 0x40, 0, 0, 0]
        XCTAssertEqual(try Npy.decode(be, name: "be").floats, [1, 2])
        let fortran = npyHeader("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }")
            + [1, 4, 2, 5, 3, 6].flatMap { v -> [UInt8] in [UInt8(v), 0, 0, 0] }
        XCTAssertEqual(try Npy.decode(fortran, name: "f").ints, [1, 2, 3, 4, 5, 6])
        let f8 = npyHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }") + withUnsafeBytes(of: 0.25) { Array($0) }
        XCTAssertEqual(try Npy.decode(f8, name: "f8").floats, [0.25])
    }

    func testDamagedNpyIsAnError() {
        let good = Npy.encode(NpyArray(shape: [3, 5], floats: (0..<15).map(Float.init)))
        for n in 0..<good.count {
            XCTAssertThrowsError(try Npy.decode(Array(good[0..<n]), name: "x.npy"), "prefix \(n)")
        }
        let cases: [([UInt8], String)] = [
            (npyHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }") + [0, 0, 0, 0, 0, 0, 0, 0], "unsupported dtype '<c8'"),
            (npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }"), "is too large"),
            (npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }"), "bad dimension '-3'"),
            (npyHeader("{'fortran_order': False, 'shape': (1,), }"), "header has no 'descr'"),
            (Array("PK\u{3}\u{4}hello".utf8), "not a .npy file"),
        ]
        for (bytes, expected) in cases {
            XCTAssertThrowsError(try Npy.decode(bytes, name: "x.npy")) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
    }

    func testNpzRoundTripAndDamage() throws {
        let path = dir.appendingPathComponent("w.npz").path
        let entries = [("a.weight", NpyArray(shape: [2, 2], floats: [1, 2, 3, 4])), ("a.bias", NpyArray(shape: [2], floats: [0, 1]))]
        try Npz.write(entries, to: path)
        let back = try Npz.read(path: path)
        XCTAssertEqual(back.map(\.name), ["a.weight", "a.bias"])
        XCTAssertEqual(back.map(\.array), entries.map(\.1))
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try Data(bytes[0..<bytes.count / 2]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Npz.read(path: path)) { XCTAssertTrue("\($0)".hasPrefix(path), "\($0)") }
        bytes = Array("not a zip at all".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Npz.read(path: path)) { XCTAssertTrue("\($0)".contains("not a readable .npz (zip) archive"), "\($0)") }
        XCTAssertThrowsError(try Npz.read(path: dir.appendingPathComponent("none.npz").path)) { XCTAssertTrue("\($0)".contains("no such file")) }
        // A PyTorch checkpoint is a zip too; it gets its own explanation.
        let pth = dir.appendingPathComponent("g.pth")
        let archive = try Archive(url: pth, accessMode: .create)
        let pickle = Data([0x80, 0x02, 0x7D, 0x71, 0x00, 0x2E])
        try archive.addEntry(with: "archive/data.pkl", type: .file, uncompressedSize: Int64(pickle.count)) { pos, size in
            pickle.subdata(in: Int(pos)..<Int(pos) + size)
        }
        XCTAssertThrowsError(try Npz.read(path: pth.path)) { XCTAssertTrue("\($0)".contains("this is a PyTorch checkpoint"), "\($0)") }
    }

    func testMisfittingWeightsAreListedInFull() throws {
        // The generator's weights against the no-attention variant: pm* and the attention are gone,
        // allconv11 takes 96 channels instead of 192.
        let variant = Fixtures.graph("deepfill_v2_no_attention.yaml")
        XCTAssertThrowsError(try Compiler.compile(graphPath: variant, weights: .npz(path: Fixtures.fixture("oracle/generator.npz")))) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("(0 missing, 16 unexpected, 1 mis-shaped)"), text)
            XCTAssertTrue(text.contains("  unexpected  pmconv10.bias"), text)
            XCTAssertTrue(text.contains("  mis-shaped  allconv11.weight: expected [192, 96, 3, 3], found [192, 192, 3, 3]"), text)
        }
        // A weight set missing a key and with a stray one.
        let path = dir.appendingPathComponent("partial.npz").path
        var entries = try Npz.read(path: Fixtures.fixture("oracle/generator.npz")).filter { $0.name != "conv1.bias" }
        entries.append(("conv99.weight", NpyArray(shape: [1], floats: [0])))
        try Npz.write(entries, to: path)
        XCTAssertThrowsError(try Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"), weights: .npz(path: path))) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("(1 missing, 1 unexpected, 0 mis-shaped)"), text)
            XCTAssertTrue(text.contains("  missing     conv1.bias [48]"), text)
            XCTAssertTrue(text.contains("  unexpected  conv99.weight"), text)
        }
    }

    func testRandomInitIsSeededAndGlorotScaled() throws {
        let graph = Fixtures.graph("sn_patchgan.yaml")
        let (a, _) = try Compiler.compile(graphPath: graph, weights: .random(seed: 5))
        let (b, _) = try Compiler.compile(graphPath: graph, weights: .random(seed: 5))
        let (c, _) = try Compiler.compile(graphPath: graph, weights: .random(seed: 6))
        XCTAssertEqual(a.tensors, b.tensors)
        XCTAssertNotEqual(a.tensors, c.tensors)
        let w = a.tensor(named: "conv2.weight")!.values  // [128, 64, 5, 5]
        let limit = (6.0 / Double(25 * (128 + 64))).squareRoot()
        XCTAssertLessThanOrEqual(Double(w.map(abs).max()!), limit)
        let variance = w.reduce(0.0) { $0 + Double($1 * $1) } / Double(w.count)
        XCTAssertEqual(variance, limit * limit / 3, accuracy: 0.05 * limit * limit / 3)  // uniform(-l, l)
        XCTAssertTrue(a.tensor(named: "conv2.bias")!.values.allSatisfy { $0 == 0 })
        XCTAssertTrue(a.tensor(named: "conv6.u")!.values.allSatisfy { abs($0) <= 2 })
        XCTAssertTrue(a.metadata.weights.hasPrefix("random-init seed 5"))
    }
}
