import Compiler
import Foundation
import TestSupport
import WeightImport
import XCTest
import ZIPFoundation

/// TensorFlow bundles and PyTorch zips: every corruption is caught with a message that names
/// the file and what is wrong, and nothing crashes.
final class CheckpointFileTests: XCTestCase {
    static let fixtures = Fixtures.directory.appendingPathComponent("import")
    static let graph = Fixtures.fixture("import/graphs/deepfill_v2_cnum8.yaml")
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-import-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("tf_cnum8"), to: dir)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func compileError(_ weights: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try Compiler.compile(graphPath: Self.graph, weights: .file(path: weights))
            XCTFail("compiled", file: file, line: line)
            return ""
        } catch let e as CompileError { return e.description } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return ""
        }
    }

    func testTheIndexLists84GeneratorTensorsWithTheirSlots() throws {
        let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent("snap-0.index")))
        let table = try TensorBundle.readTable(bytes, path: "snap-0.index")
        let names = table.map(\.0)
        XCTAssertEqual(names.first, "", "the header entry sorts first")
        XCTAssertEqual(names.filter { $0.hasPrefix("inpaint_net/") && ($0.hasSuffix("/kernel") || $0.hasSuffix("/bias")) }.count, 84)
        XCTAssertTrue(names.contains("inpaint_net/conv13_upsample/conv13_upsample_conv/kernel"))
        XCTAssertTrue(names.contains("discriminator/sn_patch_gan/conv6/kernel_sn/u"))
        XCTAssertEqual(names, names.sorted())
    }

    /// Every single-byte change of the index is refused or harmless (footer padding), never a crash.
    func testEveryByteFlipOfTheIndexIsCaught() throws {
        let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent("snap-0.index")))
        let good = try TensorBundle.readTable(bytes, path: "i")
        var refused = 0, unchanged = 0
        for i in bytes.indices {
            var b = bytes
            b[i] ^= 0x5A
            do {
                let t = try TensorBundle.readTable(b, path: "i")
                XCTAssertTrue(t.map(\.0) == good.map(\.0) && t.map(\.1) == good.map(\.1), "byte \(i) changed the table silently")
                unchanged += 1
            } catch is ImportError { refused += 1 }
        }
        XCTAssertGreaterThan(refused, bytes.count - 64, "only footer padding/unused handle bytes may pass (\(unchanged) passed)")
        for n in [0, 10, 47, bytes.count / 2, bytes.count - 1] {
            XCTAssertThrowsError(try TensorBundle.readTable(Array(bytes.prefix(n)), path: "i"))
        }
    }

    func testCorruptedDataIsRefusedByItsChecksum() throws {
        let data = dir.appendingPathComponent("snap-0.data-00000-of-00001")
        var bytes = try Data(contentsOf: data)
        bytes[100] ^= 1
        try bytes.write(to: data)
        let m = compileError(dir.path)
        XCTAssertTrue(m.contains("CRC-32C mismatch"), m)
        XCTAssertTrue(m.contains("snap-0.data-00000-of-00001"), m)
        XCTAssertTrue(m.contains("discriminator/sn_patch_gan/"), m) // checked although the generator does not use it
    }

    func testTruncatedOrMissingDataIsRefused() throws {
        let data = dir.appendingPathComponent("snap-0.data-00000-of-00001")
        let bytes = try Data(contentsOf: data)
        try bytes.prefix(bytes.count / 3).write(to: data)
        XCTAssertTrue(compileError(dir.path).contains("truncated"))
        try FileManager.default.removeItem(at: data)
        XCTAssertTrue(compileError(dir.path).contains("cannot open the checkpoint's data file"))
    }

    func testCorruptedIndexNamesTheBlock() throws {
        let index = dir.appendingPathComponent("snap-0.index")
        var bytes = try Data(contentsOf: index)
        bytes[200] ^= 0xFF
        try bytes.write(to: index)
        let m = compileError(index.path)
        XCTAssertTrue(m.contains("checksum mismatch") || m.contains("corrupted"), m)
    }

    func testNotAWeightFileAtAll() throws {
        let p = dir.appendingPathComponent("notes.txt")
        try Data("hello".utf8).write(to: p)
        XCTAssertTrue(compileError(p.path).contains("not a weight file Fillgraph reads"))
        let legacy = dir.appendingPathComponent("legacy.pth")
        try Data([0x80, 0x02, 0x8A, 0x0A] + [UInt8](repeating: 0, count: 20)).write(to: legacy)
        XCTAssertTrue(compileError(legacy.path).contains("legacy format before 1.6"))
        XCTAssertTrue(compileError(dir.appendingPathComponent("nothing.pth").path).contains("no such file"))
    }

    func testPyTorchCheckpointsThatMustBeRefused() throws {
        let bad = Self.fixtures.appendingPathComponent("bad")
        // Its pickle is {'G': {'conv1.conv.weight': posix.system('echo ... > /tmp/fillgraph_pwned')}}.
        let evilPath = bad.appendingPathComponent("evil_os_system.pth").path
        XCTAssertEqual(compileError(evilPath),
                       "\(evilPath): archive/data.pkl byte 40: GLOBAL 'posix system' is not allowed; a state dict needs only "
                       + "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and the "
                       + "torch.*Storage types. Refused; nothing in the file was run")
        // The same pickle, taken out of the zip by ZIPFoundation: refused before any callable was resolved.
        let archive = try Archive(url: URL(fileURLWithPath: evilPath), accessMode: .read)
        var pickle = Data()
        _ = try archive.extract(try XCTUnwrap(archive["archive/data.pkl"])) { pickle.append($0) }
        var resolved = ["sentinel"]
        XCTAssertThrowsError(try RestrictedUnpickler.load([UInt8](pickle), resolved: &resolved)) {
            XCTAssertEqual(($0 as? UnpickleError)?.offset, 40)
        }
        XCTAssertEqual(resolved, [], "nothing resolved")
        // These two have port-networks names: compiled into the port graph they fail on their own fault.
        let portGraph = Self.fixtures.appendingPathComponent("graphs/deepfill_v2_port_cnum8.yaml").path
        for (file, expected) in [("truncated_storage.pth", "holds 2000 bytes but the pickle says 1000 × 4 = 4000"),
                                 ("wrong_shape.pth", "(0 missing, 0 unexpected, 1 mis-shaped)"),
                                 ("wrong_shape.pth", "conv1.weight (from 'stage1.conv1.conv.weight'): expected [8, 5, 5, 5], found [8, 4, 5, 5]")] {
            do {
                _ = try Compiler.compile(graphPath: portGraph, weights: .file(path: bad.appendingPathComponent(file).path))
                XCTFail("compiled \(file)")
            } catch let e as CompileError {
                XCTAssertTrue(e.description.contains(expected), e.description)
            }
        }
    }

    /// A zip whose directory points an entry past the end of the file is refused. (ZIPFoundation's
    /// in-memory archives trap on this; the importer reads archives through the file.)
    func testEntryOffsetPastTheEndIsRefused() throws {
        var b = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("port_cnum8/generator_port_pt.pth")))
        let directory = try XCTUnwrap((0..<b.count - 4).first { b[$0] == 0x50 && b[$0 + 1] == 0x4B && b[$0 + 2] == 1 && b[$0 + 3] == 2 })
        b.replaceSubrange(directory + 42..<directory + 46, with: [0xFF, 0xFF, 0xFF, 0x7F])
        let target = dir.appendingPathComponent("pastend.pth")
        try Data(b).write(to: target)
        XCTAssertThrowsError(try WeightFile.open(target.path).groups.map { try $0.tensors.map { try $0.load() } }) { e in
            XCTAssertTrue(e is ImportError, "\(e)")
        }
    }

    /// Random damage anywhere in a real .pth never crashes the importer.
    func testSurvivesDamageToAPthFile() throws {
        let source = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("port_cnum8/generator_port_pt.pth")))
        let target = dir.appendingPathComponent("damaged.pth")
        var rng = SeededRandom(seed: 60)  // a failure here must reproduce
        var refused = 0
        for round in 0..<60 {
            var b = source
            if round % 3 == 0 {
                b.removeLast(1 + Int(rng.next() % UInt64(b.count - 1)))
            } else {
                for _ in 0..<(round % 5 + 1) { b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 + rng.next() % 255) }
            }
            try Data(b).write(to: target)
            do {
                _ = try WeightFile.open(target.path).groups.map { try $0.tensors.map { try $0.load() } }
            } catch is ImportError { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 45, "nearly every change lands in CRC-checked bytes (\(rng))")
    }
}
