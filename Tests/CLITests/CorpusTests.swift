import Foundation
import ImageIO
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The hostile corpus (Tests/Fixtures/hostile, written by Tools/fixtures/make_hostile_corpus.py)
/// through the executables, each file as a child process under the limits a hostile file must
/// stay within: finished within 60 s, ended by exit and not by a signal, exit status 0 or 2 (2
/// with a message), peak RSS under 1 GiB (wait4's ru_maxrss), and every input file byte for
/// byte as it was. Files named `ok_*` must be accepted (exit 0), `either_*` may be accepted or
/// refused, every other file must be refused (2).
final class CorpusTests: XCTestCase {
    static let timeLimit = 60.0
    static let rssLimitKiB = 1 << 20
    static let corpus = Fixtures.directory.appendingPathComponent("hostile")

    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    // MARK: - One test per kind of file

    func testPickle() throws { try weightFiles("pickle", suffix: ".pth") }
    func testZip() throws { try weightFiles("zip", suffix: ".npz") }
    func testNpy() throws { try weightFiles("npy", suffix: ".npz") }
    func testTFIndex() throws { try weightFiles("tfindex", suffix: ".index") }

    func testModel() throws {
        let photo = try picture("photo.png", width: 64, height: 64, channels: 3)
        let mask = try picture("mask.png", width: 64, height: 64, channels: 1)
        let graph = Fixtures.fixture("import/graphs/deepfill_v2_cnum8.yaml")
        try runAll(files("model", suffix: ".bin").flatMap { file -> [Case] in
            let expect = expected(file)
            return [
                Case(file: file, tool: "graphc", args: ["inspect", file], expect: expect),
                Case(file: file, tool: "graphrun", args: [file, "-i", photo, "-m", mask, "-o", output(file, "png"), "-q"], expect: expect),
                Case(file: file, tool: "graphc", args: ["compile", graph, "--weights", file, "-o", output(file, "bin"), "-q"], expect: expect),
            ]
        })
    }

    func testYAML() throws {
        try runAll(files("yaml", suffix: ".yaml").flatMap { file in [
            Case(file: file, tool: "graphc", args: ["check", file], expect: expected(file)),
            Case(file: file, tool: "graphc", args: ["compile", file, "--random-init", "-o", output(file, "bin"), "-q"], expect: expected(file)),
        ] })
    }

    func testPNG() throws { try pictures("png", suffix: ".png") }
    func testJPEG() throws { try pictures("jpeg", suffix: ".jpg") }

    /// The corpus is what the generator writes: every file listed in the README, under ~3 MB.
    func testCorpusIsSmallAndDocumented() throws {
        let readme = try String(contentsOf: Self.corpus.appendingPathComponent("README.md"), encoding: .utf8)
        var total = 0
        for kind in ["pickle", "zip", "npy", "tfindex", "model", "yaml", "png", "jpeg"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.appendingPathComponent(kind).path)
            XCTAssertFalse(names.isEmpty, kind)
            for name in names {
                XCTAssertTrue(readme.contains("`\(name)`"), "\(kind)/\(name) is not in the README")
                total += try Data(contentsOf: Self.corpus.appendingPathComponent(kind).appendingPathComponent(name)).count
            }
        }
        XCTAssertLessThan(total, 3_200_000, "the corpus should stay near 3 MB")
    }

    // MARK: - Cases

    struct Case {
        var file: String
        var tool: String
        var args: [String]
        /// Exit statuses that are right for this file (always a subset of {0, 2}).
        var expect: Set<Int32>
        /// Further files the command reads, which must be left intact too (a TF index's shards).
        var companions: [String] = []
    }

    /// The right exit statuses for a corpus file, by its name.
    func expected(_ file: String) -> Set<Int32> {
        let name = (file as NSString).lastPathComponent
        return name.hasPrefix("ok_") ? [0] : name.hasPrefix("either_") ? [0, 2] : [2]
    }

    func files(_ kind: String, suffix: String) throws -> [String] {
        let d = Self.corpus.appendingPathComponent(kind)
        let names = try FileManager.default.contentsOfDirectory(atPath: d.path).filter { $0.hasSuffix(suffix) }.sorted()
        XCTAssertFalse(names.isEmpty, "no \(suffix) files in \(d.path)")
        return names.map { d.appendingPathComponent($0).path }
    }

    func output(_ file: String, _ ext: String) -> String {
        dir.appendingPathComponent(((file as NSString).lastPathComponent as NSString).deletingPathExtension + "-\(UUID().uuidString).\(ext)").path
    }

    /// The graph a weight file is compiled with, by its name (Tests/Fixtures/hostile/README.md).
    func graph(for file: String) -> String {
        let name = (file as NSString).lastPathComponent
        return Fixtures.fixture(name.contains("tiny") ? "hostile/graphs/tiny.yaml" : "import/graphs/deepfill_v2_cnum8.yaml")
    }

    func weightFiles(_ kind: String, suffix: String) throws {
        try runAll(files(kind, suffix: suffix).map { file in
            var c = Case(file: file, tool: "graphc", args: ["compile", graph(for: file), "--weights", file, "-o", output(file, "bin"), "-q"],
                         expect: expected(file))
            if kind == "tfindex" {
                let prefix = (file as NSString).deletingPathExtension
                c.companions = ((try? FileManager.default.contentsOfDirectory(atPath: (file as NSString).deletingLastPathComponent)) ?? [])
                    .map { ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent($0) }
                    .filter { $0.hasPrefix(prefix + ".data-") }
            }
            return c
        })
    }

    /// Each picture as the photo (with a mask of its size when its header is sane) and as the mask.
    func pictures(_ kind: String, suffix: String) throws {
        let model = Fixtures.fixture("hostile/model/ok_deepfill_v2_cnum8_f16.bin")
        // A sane header of up to 2048² runs; the memory check must refuse what would pass the RSS limit.
        let limit = ["--max-memory", "800M"]
        var cases: [Case] = []
        for file in try files(kind, suffix: suffix) {
            let size = Self.declaredSize(file).flatMap { (1...2048).contains($0.width) && (1...2048).contains($0.height) ? $0 : nil }
            let (w, h) = size ?? (64, 64)
            let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            let mask = try picture("\(stem)-mask.png", width: w, height: h, channels: 1)
            let photo = try picture("\(stem)-photo.png", width: w, height: h, channels: 3)
            cases.append(Case(file: file, tool: "graphrun", args: [model, "-i", file, "-m", mask, "-o", output(file, "png"), "-q"] + limit,
                              expect: expected(file)))
            cases.append(Case(file: file, tool: "graphrun", args: [model, "-i", photo, "-m", file, "-o", output(file, "png"), "-q"] + limit,
                              expect: [0, 2]))
        }
        try runAll(cases)
    }

    /// A photo (a smooth gradient) or a mask (a hole in the middle third) of the given size.
    func picture(_ name: String, width: Int, height: Int, channels: Int) throws -> String {
        var samples: [UInt16] = []
        samples.reserveCapacity(width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                if channels == 1 {
                    samples.append(x >= width / 3 && x < 2 * width / 3 + 1 && y >= height / 3 && y < 2 * height / 3 + 1 ? 255 : 0)
                } else {
                    samples += [UInt16(x * 255 / max(1, width - 1)), UInt16(y * 255 / max(1, height - 1)), 128]
                }
            }
        }
        let path = dir.appendingPathComponent(name).path
        try PNG.write(Image(width: width, height: height, channels: channels, bitDepth: 8, samples: samples), to: path)
        return path
    }

    /// The size a PNG's IHDR or a JPEG's frame header declares (after EXIF orientation), read
    /// here rather than by the code under test.
    static func declaredSize(_ path: String) -> (width: Int, height: Int)? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let b = [UInt8](data)
        func be16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
        func be32(_ i: Int) -> Int { be16(i) << 16 | be16(i + 2) }
        if b.count >= 24, b.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return (be32(16), be32(20)) }
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else { return nil }
        var p = 2, swap = false
        while p + 4 <= b.count, b[p] == 0xFF {
            let marker = b[p + 1], length = be16(p + 2)
            if marker == 0xE1, p + 2 + length <= b.count, length >= 22, Array(b[(p + 4)..<(p + 10)]) == Array("Exif\0\0".utf8) {
                // TIFF (either byte order): IFD0's Orientation tag (0x0112), every offset bounds-checked.
                let t = p + 10, end = p + 2 + length, big = b[t] == 0x4D
                func u16(_ i: Int) -> Int { big ? be16(i) : Int(b[i]) | Int(b[i + 1]) << 8 }
                func u32(_ i: Int) -> Int { big ? be32(i) : u16(i) | u16(i + 2) << 16 }
                let ifd = t + u32(t + 4)
                if ifd + 2 <= end {
                    for i in 0..<u16(ifd) where ifd + 2 + 12 * i + 12 <= end {
                        let e = ifd + 2 + 12 * i
                        if u16(e) == 0x0112, u16(e + 2) == 3 { swap = u16(e + 8) >= 5; break }
                    }
                }
            }
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker), p + 9 <= b.count {
                let (h, w) = (be16(p + 5), be16(p + 7))
                return swap ? (h, w) : (w, h)
            }
            p += 2 + length
        }
        return nil
    }

    // MARK: - Running under limits

    struct Outcome {
        var status: Int32?
        var signal: Int32?
        var maxRSSKiB: Int
        var seconds: Double
        var timedOut: Bool
        var stderr: String
    }

    /// Runs every case (two at a time) and checks each against the limits.
    func runAll(_ cases: [Case], file: StaticString = #filePath, line: UInt = #line) throws {
        var outcomes = [Outcome?](repeating: nil, count: cases.count)
        var before: [[String: Data]] = []
        for c in cases {
            var contents: [String: Data] = [:]
            for f in [c.file] + c.companions { contents[f] = try Data(contentsOf: URL(fileURLWithPath: f)) }
            before.append(contents)
        }
        let listing = Set(try cases.map { ($0.file as NSString).deletingLastPathComponent }.flatMap { d in
            try FileManager.default.contentsOfDirectory(atPath: d).map { "\(d)/\($0)" }
        })
        let lock = NSLock()
        var next = 0
        let workers = min(2, max(1, cases.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                lock.lock()
                let i = next
                next += 1
                lock.unlock()
                guard i < cases.count else { return }
                let outcome = Self.spawn(Tool.products.appendingPathComponent(cases[i].tool).path, cases[i].args,
                                         stderrPath: dir.appendingPathComponent("stderr-\(i).txt").path, timeout: Self.timeLimit)
                lock.lock()
                outcomes[i] = outcome
                lock.unlock()
            }
        }
        for (i, c) in cases.enumerated() {
            let what = "\(c.tool) \(c.args.map { ($0 as NSString).lastPathComponent }.joined(separator: " "))"
            guard let o = outcomes[i] else { XCTFail("\(what): did not run", file: file, line: line); continue }
            let tail = o.stderr.count > 1500 ? String(o.stderr.prefix(1500)) + "…" : o.stderr
            XCTAssertFalse(o.timedOut, "\(what): still running after \(Int(Self.timeLimit)) s (killed)", file: file, line: line)
            if let s = o.signal, !o.timedOut {
                XCTFail("\(what): killed by signal \(s) after \(String(format: "%.2f", o.seconds)) s; stderr:\n\(tail)", file: file, line: line)
            }
            if let status = o.status {
                XCTAssertTrue([0, 2].contains(status), "\(what): exit status \(status); stderr:\n\(tail)", file: file, line: line)
                XCTAssertTrue(c.expect.contains(status), "\(what): exit status \(status), expected \(c.expect.sorted()); stderr:\n\(tail)",
                              file: file, line: line)
                if status == 2 {
                    XCTAssertFalse(o.stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(what): exit 2 with nothing on stderr",
                                   file: file, line: line)
                }
            }
            XCTAssertLessThan(o.maxRSSKiB, Self.rssLimitKiB, "\(what): peak RSS \(o.maxRSSKiB / 1024) MiB", file: file, line: line)
            XCTAssertFalse(o.stderr.contains("Fatal error"), "\(what): \(tail)", file: file, line: line)
            for (f, bytes) in before[i] {
                let now = FileManager.default.contents(atPath: f)
                XCTAssertEqual(now, bytes, "\(what): \((f as NSString).lastPathComponent) was changed", file: file, line: line)
            }
        }
        let after = Set(try Set(cases.map { ($0.file as NSString).deletingLastPathComponent }).flatMap { d in
            try FileManager.default.contentsOfDirectory(atPath: d).map { "\(d)/\($0)" }
        })
        XCTAssertEqual(after.subtracting(listing).sorted(), [], "files appeared next to the corpus", file: file, line: line)
        XCTAssertEqual(listing.subtracting(after).sorted(), [], "corpus files disappeared", file: file, line: line)
        let done = outcomes.enumerated().compactMap { i, o in o.map { (cases[i], $0) } }
        if let slowest = done.max(by: { $0.1.seconds < $1.1.seconds }), let largest = done.max(by: { $0.1.maxRSSKiB < $1.1.maxRSSKiB }) {
            print("CorpusTests: \(cases.count) runs; slowest \(String(format: "%.2f", slowest.1.seconds)) s "
                  + "(\(slowest.0.tool) on \((slowest.0.file as NSString).lastPathComponent)), largest peak RSS "
                  + "\(largest.1.maxRSSKiB / 1024) MiB (\(largest.0.tool) on \((largest.0.file as NSString).lastPathComponent))")
        }
    }

    /// posix_spawn with stdin from /dev/null, stdout discarded and stderr to a file; wait4 for
    /// the exit status and the child's peak RSS; SIGKILL after `timeout` seconds.
    static func spawn(_ executable: String, _ args: [String], stderrPath: String, timeout: Double) -> Outcome {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let start = Date()
        let spawned = argv.withUnsafeBufferPointer { a in
            posix_spawn(&pid, executable, &actions, nil, UnsafeMutablePointer(mutating: a.baseAddress!), environ)
        }
        guard spawned == 0 else {
            return Outcome(status: nil, signal: nil, maxRSSKiB: 0, seconds: 0, timedOut: false,
                           stderr: "posix_spawn \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        var usage = rusage()
        var timedOut = false
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date().timeIntervalSince(start) > timeout && !timedOut {
                timedOut = true
                kill(pid, SIGKILL)
                while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
                break
            }
            usleep(5_000)
        }
        let seconds = Date().timeIntervalSince(start)
        let low = status & 0x7F
        let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        return Outcome(status: low == 0 ? (status >> 8) & 0xFF : nil, signal: low != 0 && low != 0x7F ? low : nil,
                       maxRSSKiB: Int(usage.ru_maxrss), seconds: seconds, timedOut: timedOut, stderr: stderr)
    }
}
