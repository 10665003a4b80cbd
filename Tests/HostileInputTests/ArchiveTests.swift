import Foundation
import NumpyIO
import SafeIO
import TestSupport
import WeightImport
import XCTest

/// Zip-based weight files (.npz, .pth) that lie: every class of the hostile-file report ends in
/// a clear error, in bounded time and memory.
final class ArchiveTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// The message of the error `body` throws (any type), or a failure.
    func failure(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { try body() } catch { return "\(error)" }
        XCTFail("accepted", file: file, line: line)
        return ""
    }

    func npzEntries(_ path: String) throws { for e in try Npz.entries(path: path) { _ = try e.load() } }

    let small = NpyBuilder.float32([1, 2, 3, 4], shape: [2, 2])

    func testTrueArchivesStillRead() throws {
        let p = try write("ok.npz", ZipBuilder.archive([.stored("a.npy", small), .deflated("b.npy", small)]))
        XCTAssertEqual(try Npz.read(path: p).map(\.array.floats), [[1, 2, 3, 4], [1, 2, 3, 4]])
    }

    /// A 116-byte .npz whose last entry is a deflate stream that never ends: ZIPFoundation
    /// spun forever asking for input.
    func testUnterminatedDeflateIsAnErrorNotASpin() throws {
        var item = ZipItem.stored("a.npy", small)
        item.method = 8
        item.stored = Bytes.storedDeflate(small, final: false)
        let p = try write("spin.npz", ZipBuilder.archive([item]))
        let start = Date()
        let m = failure { try npzEntries(p) }
        XCTAssertTrue(m.contains("unterminated"), m)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    /// Entries inflating far beyond their declared size stop at that size.
    func testDeflateBombsStopAtTheirDeclaredSize() throws {
        let big = [UInt8](repeating: 0, count: 64 << 20)
        var bomb = ZipItem.deflated("a.npy", small + big)  // 64 MiB of zeros after a 4-float array
        bomb.uncompressedSize = small.count
        bomb.crc = Bytes.crc32(small)
        XCTAssertLessThan(bomb.stored.count, 100_000)
        let p = try write("bomb.npz", ZipBuilder.archive([bomb]))
        var m = ""
        let peak = PeakMemory.measure { m = failure { try npzEntries(p) } }
        XCTAssertTrue(m.contains("inflates beyond its declared \(small.count) bytes"), m)
        XCTAssertLessThan(peak, 32 << 20, "peak \(peak)")
        // A size no deflate stream can reach from its compressed bytes is a lie, refused unread.
        var liar = ZipItem.deflated("a.npy", small)
        liar.uncompressedSize = 1 << 31
        let m2 = failure { _ = try ZipArchive(path: try write("liar.npz", ZipBuilder.archive([liar]))) }
        XCTAssertTrue(m2.contains("claims 2147483648 bytes from") && m2.contains("more than deflate can produce"), m2)
    }

    func testSymlinkEncryptedDuplicateAndMisplacedEntriesAreRefused() throws {
        var link = ZipItem.stored("a.npy", Array("/etc/passwd".utf8))
        link.externalAttributes = 0o120777 << 16
        XCTAssertTrue(failure { _ = try ZipArchive(path: try write("l.npz", ZipBuilder.archive([link]))) }.contains("entry a.npy is a symbolic link, not data"))
        var secret = ZipItem.stored("a.npy", small)
        secret.flags = 1
        XCTAssertTrue(failure { _ = try ZipArchive(path: try write("e.npz", ZipBuilder.archive([secret]))) }.contains("entry a.npy is encrypted"))
        let twice = ZipBuilder.archive([.stored("archive/data/0", small), .stored("archive/data/0", small)])
        XCTAssertTrue(failure { _ = try ZipArchive(path: try write("d.pth", twice)) }.contains("entry archive/data/0 appears twice"))
        // A central directory recorded past the end of the file (was: "the archive holds no arrays").
        let past = ZipBuilder.archive([.stored("a.npy", small)], directoryOffsetLie: 1 << 20)
        let m = failure { _ = try Npz.entries(path: try write("p.npz", past)) }
        XCTAssertTrue(m.contains("central directory") && m.contains("lies outside the file"), m)
        XCTAssertTrue(failure { _ = try Npz.entries(path: try write("t.npz", Array(past.prefix(40)))) }.contains("end-of-central-directory record is missing"))
    }

    /// Every single-byte change and every cut of a real archive: an error or the data, never a crash.
    func testEveryCutAndSeededDamageOfAnArchive() throws {
        let good = ZipBuilder.archive([.deflated("a.npy", small), .stored("b.npy", small)])
        for n in 0..<good.count { _ = try? npzEntries(try write("cut.npz", Array(good.prefix(n)))) }
        var rng = SeededRandom(seed: 7)
        for _ in 0..<500 {
            var b = good
            b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 + rng.next() % 255)
            _ = try? npzEntries(try write("damaged.npz", b))
        }
    }

    func testNpyHeadersThatLie() throws {
        let fortran = NpyBuilder.file(descr: "<f4", shape: [2, 2], fortran: "'yes'", data: Array(small.suffix(16)))
        XCTAssertTrue(failure { _ = try Npy.decode(fortran, name: "f.npy") }.contains("'fortran_order' is 'yes', not True or False"))
        let half = NpyBuilder.file(descr: "<f2", shape: [3], data: [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38])  // 1, -2, 0.5
        XCTAssertEqual(try Npy.decode(half, name: "h.npy").floats, [1, -2, 0.5])
        let escape = NpyBuilder.file(descr: "\u{1B}[31m<f4", shape: [1], data: [0, 0, 0, 0])
        let m = failure { _ = try Npy.decode(escape, name: "x.npy") }
        XCTAssertFalse(m.contains("\u{1B}"), "a terminal escape from the file reached the message")
        XCTAssertTrue(m.contains("\\u{1b}[31m<f4"), m)
    }

    // MARK: PyTorch checkpoints

    func pth(_ pickle: [UInt8], storage: [UInt8], pickleLast: Bool = false, storageItem: ZipItem? = nil) throws -> String {
        let pkl = ZipItem.stored("archive/data.pkl", pickle), data = storageItem ?? .stored("archive/data/0", storage)
        return try write("w.pth", ZipBuilder.archive(pickleLast ? [data, pkl] : [pkl, data]))
    }

    func load(_ path: String) throws { for g in try WeightFile.open(path).groups { for t in g.tensors { _ = try t.load() } } }

    func testStorageSizesThatOverflowAreRefused() throws {
        let p = try pth(PickleBuilder.stateDict(numel: 1 << 62, shape: [2]), storage: [UInt8](repeating: 0, count: 8))
        let m = failure { try load(p) }
        XCTAssertTrue(m.contains("storage 0 claims 4611686018427387904 elements of 4 bytes, beyond any weight tensor"), m)
        let ok = try pth(PickleBuilder.stateDict(numel: 2, shape: [2]), storage: Bytes.le32(Int(Float(1.5).bitPattern)) + Bytes.le32(Int(Float(-2).bitPattern)))
        XCTAssertEqual(try WeightFile.open(ok).groups[0].tensors[0].load(), [1.5, -2])
    }

    /// Two tensors naming one storage with different sizes or types: the bytes were checked
    /// against the first claim only, and the second was decoded past their end (found by
    /// libFuzzer: storage '0' as 4 and then as 5 floats, a heap overflow under AddressSanitizer).
    func testAStorageNamedWithTwoSizesIsRefused() throws {
        let floats = (0..<4).flatMap { Bytes.le32(Int(Float($0).bitPattern)) }
        func pair(_ type: String, _ numel: Int) throws -> String {
            try pth(PickleBuilder.stateDict([(name: "a", storage: "0", type: "FloatStorage", numel: 4, shape: [4]),
                                             (name: "b", storage: "0", type: type, numel: numel, shape: [numel])]), storage: floats)
        }
        // The same claim twice (tied weights) reads both.
        let tied = try WeightFile.open(pair("FloatStorage", 4)).groups[0].tensors
        XCTAssertEqual(try tied.map { try $0.load() }, [[0, 1, 2, 3], [0, 1, 2, 3]])
        for (type, numel, claim) in [("FloatStorage", 5, "5 float32"), ("FloatStorage", 3, "3 float32"), ("DoubleStorage", 4, "4 float64")] {
            let m = failure { try load(pair(type, numel)) }
            XCTAssertTrue(m.contains("storage 0 is named as 4 float32 elements and as \(claim) elements: the file is corrupted"), m)
        }
    }

    func testPickleAndStorageBombsAreBounded() throws {
        // data.pkl last and unterminated: an error at once.
        var spin = ZipItem.stored("archive/data.pkl", PickleBuilder.stateDict(numel: 2, shape: [2]))
        spin.method = 8
        spin.stored = Bytes.storedDeflate(spin.stored, final: false)
        let p1 = try write("spin.pth", ZipBuilder.archive([.stored("archive/data/0", [UInt8](repeating: 0, count: 8)), spin]))
        XCTAssertTrue(failure { try load(p1) }.contains("unterminated"))
        // A storage that declares 8 bytes and inflates to 64 MiB stops at 8.
        var bomb = ZipItem.deflated("archive/data/0", [UInt8](repeating: 0, count: 64 << 20))
        bomb.uncompressedSize = 8
        bomb.crc = Bytes.crc32([UInt8](repeating: 0, count: 8))
        let p2 = try pth(PickleBuilder.stateDict(numel: 2, shape: [2]), storage: [], storageItem: bomb)
        var m = ""
        let peak = PeakMemory.measure { m = failure { try load(p2) } }
        XCTAssertTrue(m.contains("inflates beyond its declared 8 bytes"), m)
        XCTAssertLessThan(peak, 32 << 20)
        // A data.pkl claiming more than a state dict's pickle could be is not inflated at all.
        var huge = ZipItem.deflated("archive/data.pkl", [UInt8](repeating: 0x4E, count: 80 << 20))
        huge.crc = 0
        let p3 = try write("huge.pth", ZipBuilder.archive([huge, .stored("archive/data/0", [UInt8](repeating: 0, count: 8))]))
        XCTAssertTrue(failure { try load(p3) }.contains("claims 83886080 bytes (limit 67108864)"))
    }

    /// Nesting that would overflow the stack when Swift releases it, and a list holding itself.
    func testDeepAndCyclicPicklesAreRefusedWithoutRecursion() {
        func refusal(_ p: [UInt8]) -> String {
            do { _ = try RestrictedUnpickler.load(p); return "accepted" } catch let e as UnpickleError { return e.message } catch { return "\(error)" }
        }
        let tuples: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 50_000) + [0x2E]          // TUPLE1 x 50,000
        let lists: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x28, count: 100_000) + [UInt8](repeating: 0x6C, count: 100_000) + [0x2E]
        var dicts: [UInt8] = [0x80, 0x02]
        for _ in 0..<200_000 { dicts += [0x28, 0x4B, 0x00] }
        dicts += [0x7D] + [UInt8](repeating: 0x64, count: 200_000) + [0x2E]
        for p in [tuples, lists, dicts] { XCTAssertTrue(refusal(p).contains("nested deeper than 64 levels"), refusal(p)) }
        let cycle: [UInt8] = [0x80, 0x02, 0x5D, 0x32, 0x61, 0x2E]  // EMPTY_LIST, DUP, APPEND: a list in itself
        XCTAssertTrue(refusal(cycle).contains("a container that holds itself"), refusal(cycle))
        // A deep chain left on the memo when the pickle fails is released without recursion too.
        let orphan: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 100_000) + [0x94, 0x30, 0x30]
        XCTAssertTrue(refusal(orphan).contains("underflow"), refusal(orphan))
        // Tuples sharing their children (t = (t, t), 40 times): 2^40 paths to 41 values, walked
        // once per value when checked and when released (found by the corpus; it hung).
        var dag: [UInt8] = [0x80, 0x02, 0x4E]
        for _ in 0..<40 { dag += [0x32, 0x86] }  // DUP, TUPLE2
        let start = Date()
        XCTAssertTrue(refusal(dag + [0x2E]) == "accepted", refusal(dag + [0x2E]))
        XCTAssertTrue(refusal(dag).contains("truncated") || refusal(dag).contains("ends"), refusal(dag))
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    /// Values taken off the pickle stack and never handed out (POP, an opcode that fails, BUILD's
    /// ignored state) are released like the rest: a list that holds itself is taken apart, not
    /// leaked, and a deep chain is freed without recursion. (libFuzzer's LeakSanitizer found the
    /// leak: `]2]a]0a]0a\x7f\x00]`, a self-holding list popped by an APPEND with nothing to
    /// append to.)
    func testPoppedCyclesAndChainsAreReleased() {
        func outcome(_ p: [UInt8]) -> String {
            do { return "accepted \(try RestrictedUnpickler.load(p).typeName)" } catch let e as UnpickleError { return e.message } catch { return "\(error)" }
        }
        // EMPTY_LIST, a 1 MiB BINBYTES, APPEND, DUP, APPEND: a list holding the bytes and itself.
        let cyclic: [UInt8] = [0x5D, 0x42] + Bytes.le32(1 << 20) + [UInt8](repeating: 7, count: 1 << 20) + [0x61, 0x32, 0x61]
        let cases: [(String, [UInt8], String)] = [
            ("found by libFuzzer", Array("]2]a]0a]0a\u{7f}\u{0}]".utf8), "APPEND to a nothing"),
            ("failed APPEND", [0x80, 0x02] + cyclic + [0x61], "APPEND to a nothing"),
            ("POP", [0x80, 0x02] + cyclic + [0x30, 0x4E, 0x2E], "accepted None"),
            ("BUILD state", [0x80, 0x02, 0x7D, 0x7D, 0x4E] + cyclic + [0x73, 0x62, 0x2E], "accepted dict"),
        ]
        for (what, pickle, expected) in cases {
            XCTAssertEqual(outcome(pickle), expected, what)
            let before = PeakMemory.status("VmRSS")
            for _ in 0..<64 { _ = outcome(pickle) }
            // Leaked, 64 loads would keep 64 MiB of bytes (those with the blob).
            XCTAssertLessThan(PeakMemory.status("VmRSS") - before, 16 << 20, "\(what): memory kept after 64 loads")
        }
        // A chain of 1,000,000 TUPLE1 dropped by POP: freed where it was popped, Swift's release
        // recursed once per level and overflowed the stack.
        let chain: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x30, 0x4E, 0x2E]
        XCTAssertEqual(outcome(chain), "accepted None")
        let failing: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x61]
        XCTAssertEqual(outcome(failing), "APPEND to a nothing")
    }
}
