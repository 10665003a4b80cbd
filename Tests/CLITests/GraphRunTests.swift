import Foundation
import ImageIO
import ModelFormat
import NumpyIO
import TestSupport
import XCTest

/// graphrun end to end on the oracle's weights: PNG in, PNG and .npy out, every photo format,
/// any size, and exit code 2 for bad photos, masks, models and arguments.
final class GraphRunTests: CLIBase {
    func testASlowBLASCoreIsReplacedByRunningAgain() throws {
        let plain = try Tool.run("graphrun", ["--version"], environment: ["OPENBLAS_CORETYPE": ""])
        XCTAssertEqual(plain.status, 0)
        XCTAssertTrue(plain.stdout.hasPrefix("graphrun 0.2.0\nBLAS: OpenBLAS "), plain.stdout)
        XCTAssertTrue(plain.stdout.contains("\nC kernels: ") && plain.stdout.contains("\nCPU: "), plain.stdout)
        guard plain.stdout.contains(" AVX2 FMA") else { throw XCTSkip("the re-run targets AVX2 machines; this CPU: \(plain.stdout)") }
        // Pretend OpenBLAS chose its Prescott kernels: the program must run itself again, once, with Haswell's.
        let r = try Tool.run("graphrun", ["--version"], environment: ["FILLGRAPH_ASSUME_BLAS_CORE": "Prescott", "OPENBLAS_CORETYPE": ""])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("graphrun: OpenBLAS chose its 'Prescott' kernels on a CPU with "), r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "; running again with OPENBLAS_CORETYPE=").count, 2, r.stderr)
        XCTAssertTrue(r.stdout.contains(", core Haswell\n") || r.stdout.contains(", core SkylakeX\n"), r.stdout)
        // The user's own choice is never second-guessed.
        let own = try Tool.run("graphrun", ["--version"], environment: ["FILLGRAPH_ASSUME_BLAS_CORE": "Prescott", "OPENBLAS_CORETYPE": "Haswell"])
        XCTAssertEqual(own.stderr, "")
        XCTAssertTrue(own.stdout.contains(", core Haswell\n"), own.stdout)
    }

    /// The DeepFill model compiled once for the whole class.
    static let model: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-cli-model-\(getpid())")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("deepfill.bin").path
        let r = try! Tool.run("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--weights", Fixtures.fixture("oracle/generator.npz"), "-o", path])
        precondition(r.status == 0, r.stderr)
        return path
    }()

    func testOracleCaseThroughPNGs() throws {
        let raw = path("raw"), out = path("out.png")
        let r = try Tool.run("graphrun", [Self.model, "--input", Fixtures.fixture("oracle/case_128x96/image.png"),
                                          "--mask", Fixtures.fixture("oracle/case_128x96/mask.png"), "--output", out, "--save-raw", raw])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("filled 3526 hole pixels (28.7 %) of 96x128 in "), r.stdout)
        // The PNG within one level of the reference's (README: rounding differences), known pixels exact.
        let ours = try PNG.read(path: out), theirs = try PNG.read(path: Fixtures.fixture("oracle/case_128x96/output.png"))
        let photo = try PNG.read(path: Fixtures.fixture("oracle/case_128x96/image.png")), mask = try PNG.read(path: Fixtures.fixture("oracle/case_128x96/mask.png"))
        XCTAssertEqual(ours.width, 96)
        XCTAssertEqual(ours.height, 128)
        XCTAssertLessThanOrEqual(zip(ours.samples, theirs.samples).map { abs(Int($0) - Int($1)) }.max()!, OracleTolerance.pngLevels(height: 128, width: 96))
        for i in 0..<ours.samples.count where mask.samples[i / 3] <= 127 { XCTAssertEqual(ours.samples[i], photo.samples[i]) }
        // --save-raw: every output as [C, H, W]; attention as int32 on the 1/8 grid.
        let stage2 = try Npy.read(path: raw + "/stage2.npy")
        XCTAssertEqual(stage2.shape, [3, 128, 96])
        let reference = try Npy.read(path: Fixtures.fixture("oracle/case_128x96/stage2.npy")).floats
        let d = Difference(stage2.floats, reference)
        XCTAssertLessThanOrEqual(d.max, OracleTolerance.generator(height: 128, width: 96).max, "\(d)")
        let attention = try Npy.read(path: raw + "/attention.npy")
        XCTAssertEqual(attention.shape, [1, 16, 12])
        XCTAssertEqual(attention.ints, try Npy.read(path: Fixtures.fixture("oracle/case_128x96/attention_argmax.npy")).ints)
        XCTAssertEqual(try Npy.read(path: raw + "/completed.npy").shape, [3, 128, 96])
    }

    func testThreadCountsGiveIdenticalFiles() throws {
        var outputs: [Data] = []
        for threads in ["1", "3"] {
            let out = path("t\(threads).png")
            let r = try Tool.run("graphrun", [Self.model, "--input", Fixtures.fixture("oracle/case_64x64/image.png"),
                                              "--mask", Fixtures.fixture("oracle/case_64x64/mask.png"), "--output", out, "--threads", threads, "-q"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, "")
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: out)))
        }
        XCTAssertEqual(outputs[0], outputs[1])
    }

    /// The default run computes only what the hole needs; --compute-all and --save-raw compute
    /// every pixel of every node. The files are the same, byte for byte.
    func testHoleAwareComputeAllAndSaveRawWriteIdenticalFiles() throws {
        var outputs: [Data] = []
        for extra in [[], ["--compute-all"], ["--save-raw", path("raw-all")]] {
            let out = path("h\(outputs.count).png")
            let r = try Tool.run("graphrun", [Self.model, "--input", Fixtures.fixture("oracle/case_128x96/image.png"),
                                              "--mask", Fixtures.fixture("oracle/case_128x96/mask.png"), "--output", out, "-q"] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            outputs.append(try Data(contentsOf: URL(fileURLWithPath: out)))
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(outputs[0], outputs[2])
    }

    func testAnySizeAndEveryPhotoFormatKeepsKnownPixelsExactly() throws {
        // 37x21 is not a multiple of 8: mirror-padded to 40x24 and cropped back.
        for (channels, depth) in [(1, 8), (3, 8), (4, 8), (3, 16), (2, 16)] {
            let maxValue = depth == 16 ? 65535 : 255
            let photo = try writePNG("p\(channels)_\(depth).png", width: 37, height: 21, channels: channels, bitDepth: depth) { x, y, c in
                (x * 37 + y * 11 + c * 101) * maxValue / 2000 % (maxValue + 1)
            }
            let mask = try writePNG("m.png", width: 37, height: 21, channels: 1) { x, y, _ in (x > 10 && x < 20 && y > 5 && y < 15) ? 255 : 0 }
            let out = path("o\(channels)_\(depth).png")
            let r = try Tool.run("graphrun", [Self.model, "--input", photo, "--mask", mask, "--output", out, "--save-raw", path("raw\(channels)")])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("note: 37x21 is not a multiple of 8x8: mirror-padded to 40x24 for the run and cropped back"), r.stderr)
            if channels == 4 || channels == 2 { XCTAssertTrue(r.stderr.contains("has an alpha channel: known pixels keep theirs, filled pixels become opaque"), r.stderr) }
            let a = try PNG.read(path: photo), b = try PNG.read(path: out), m = try PNG.read(path: mask)
            XCTAssertEqual([b.width, b.height, b.channels, b.bitDepth], [37, 21, channels, depth])
            var changed = 0
            for p in 0..<37 * 21 {
                for c in 0..<channels {
                    let i = p * channels + c
                    let isAlpha = (channels == 2 || channels == 4) && c == channels - 1
                    if m.samples[p] == 0 { XCTAssertEqual(a.samples[i], b.samples[i]) } else if isAlpha {
                        XCTAssertEqual(Int(b.samples[i]), maxValue, "filled pixels are opaque")
                    } else if a.samples[i] != b.samples[i] { changed += 1 }
                }
            }
            XCTAssertGreaterThan(changed, 0, "the hole must be filled")
            XCTAssertEqual(try Npy.read(path: path("raw\(channels)") + "/stage1.npy").shape, [3, 21, 37])
            XCTAssertEqual(try Npy.read(path: path("raw\(channels)") + "/attention.npy").shape, [1, 3, 5])
        }
    }

    func testBadPhotosAndMasks() throws {
        let photo = Fixtures.fixture("oracle/case_64x64/image.png"), mask = Fixtures.fixture("oracle/case_64x64/mask.png")
        let m = Self.model
        try assertBadInput("graphrun", [m, "--input", photo, "--mask", Fixtures.fixture("oracle/case_128x96/mask.png"), "--output", path("o.png")],
                           ["is 96x128 but", "is 64x64 (width x height); the mask must have the photo's size"])
        let empty = try writePNG("empty.png", width: 64, height: 64, channels: 1) { _, _, _ in 0 }
        try assertBadInput("graphrun", [m, "--input", photo, "--mask", empty, "--output", path("o.png")], ["\(empty) marks no pixel as a hole"])
        try assertBadInput("graphrun", [m, "--input", Fixtures.fixture("oracle/case_64x64/image.npy"), "--mask", mask, "--output", path("o.png")],
                           [Fixtures.fixture("oracle/case_64x64/image.npy")])
        try assertBadInput("graphrun", [m, "--input", path("nothere.png"), "--mask", mask, "--output", path("o.png")], [path("nothere.png")])
        try assertBadInput("graphrun", [m, "--input", photo, "--mask", mask, "--output", photo], ["would overwrite an input file"])
        try assertBadInput("graphrun", [m, "--input", photo, "--mask", mask, "--output", path("no/such/dir/o.png")], [path("no/such/dir/o.png")])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.png")), "nothing may be written after an error")
    }

    func testBadModelsArgumentsAndSizes() throws {
        let photo = Fixtures.fixture("oracle/case_64x64/image.png"), mask = Fixtures.fixture("oracle/case_64x64/mask.png")
        try assertBadInput("graphrun", [Self.model, "--input", photo, "--mask", mask], ["give --output FILE (.png or .jpg) and/or --save-raw DIR"])
        try assertBadInput("graphrun", [Self.model, "--input", photo, "--mask", mask, "--output", path("o.png"), "--threads", "0"], ["--threads must be in 1...256"])
        try assertBadInput("graphrun", [Self.model, "--input", photo, "--mask", mask, "--output", path("o.png"), "--channel-order", "grb"], ["grb"])
        try assertBadInput("graphrun", [photo, "--input", photo, "--mask", mask, "--output", path("o.png")], ["not a Fillgraph model"])
        // A flipped bit in the copy of the model.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.model)))
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path("bad.bin")))
        try assertBadInput("graphrun", [path("bad.bin"), "--input", photo, "--mask", mask, "--output", path("o.png")], ["section TDAT", "checksum mismatch"])
        // A size whose attention would not fit the memory limit is refused before allocating.
        try assertBadInput("graphrun", [Self.model, "--input", photo, "--mask", mask, "--output", path("o.png"), "--max-memory", "2M"],
                           ["this run needs about", "the limit is 2 MiB", "raise the limit with --max-memory"])
        // A model without a 'completed' output cannot write a photo, but can save raw outputs.
        let disc = path("d.bin")
        XCTAssertEqual(try Tool.run("graphc", ["compile", Fixtures.graph("sn_patchgan.yaml"), "--random-init", "-o", disc]).status, 0)
        try assertBadInput("graphrun", [disc, "--input", photo, "--mask", mask, "--output", path("o.png")], ["has no 'completed' output"])
        let r = try Tool.run("graphrun", [disc, "--input", photo, "--mask", mask, "--save-raw", path("draw")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Npy.read(path: path("draw") + "/logits.npy").shape, [256])
    }

    func testTinyPhotosRunAndHugeOnesAreRefusedBeforeAllocating() throws {
        for side in [1, 8] {
            let photo = try writePNG("tiny\(side).png", width: side, height: side, channels: 3) { x, y, c in (x * 50 + y * 30 + c * 70) % 256 }
            let mask = try writePNG("tinymask\(side).png", width: side, height: side, channels: 1) { x, _, _ in x == 0 ? 255 : 0 }
            let r = try Tool.run("graphrun", [Self.model, "--input", photo, "--mask", mask, "--output", path("tiny\(side)_out.png")])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try PNG.read(path: path("tiny\(side)_out.png")).width, side)
        }
        // 4096x4096 against a 2 GiB limit: refused before anything is allocated. (Attention works
        // in bounded chunks, so without a limit this size would run, for a long time.)
        let photo = try writePNG("huge.png", width: 4096, height: 4096, channels: 1) { _, _, _ in 0 }
        let mask = try writePNG("hugemask.png", width: 4096, height: 4096, channels: 1) { x, y, _ in x < 8 && y < 8 ? 255 : 0 }
        try assertBadInput("graphrun", [Self.model, "--input", photo, "--mask", mask, "--output", path("huge_out.png"), "--max-memory", "2G"],
                           ["this run needs about", "GiB of memory (largest: ", "the limit is 2.0 GiB"])
    }

    func testBGROrderIsRefusedForRGBModelsAndIsTheRGBRunOnSwappedChannelsForOldOnes() throws {
        let photo = Fixtures.fixture("oracle/case_64x64/image.png"), mask = Fixtures.fixture("oracle/case_64x64/mask.png")
        // graphc records that the model takes RGB: asking for BGR would swap twice.
        try assertBadInput("graphrun", [Self.model, "--input", photo, "--mask", mask, "--output", path("x.png"), "--channel-order", "bgr"],
                           ["takes RGB images: graphc converted its weights' colour order", "--channel-order bgr would swap the colours a second time"])
        // A model from before the record: the flag is taken at its word. Running with
        // --channel-order bgr equals running rgb on the photo with R and B swapped, swapped back.
        var file = try ModelReader.read(path: Self.model).model
        file.metadata.colourOrder = nil
        try ModelWriter.write(file, to: path("old.bin"))
        let original = try PNG.read(path: photo)
        var swapped = original
        for p in 0..<original.width * original.height { swapped.samples.swapAt(3 * p, 3 * p + 2) }
        try PNG.write(swapped, to: path("swapped.png"))
        XCTAssertEqual(try Tool.run("graphrun", [path("old.bin"), "--input", photo, "--mask", mask, "--output", path("bgr.png"), "--channel-order", "bgr"]).status, 0)
        XCTAssertEqual(try Tool.run("graphrun", [path("old.bin"), "--input", path("swapped.png"), "--mask", mask, "--output", path("rgb.png")]).status, 0)
        var a = try PNG.read(path: path("bgr.png"))
        let b = try PNG.read(path: path("rgb.png"))
        for p in 0..<a.width * a.height { a.samples.swapAt(3 * p, 3 * p + 2) }
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(try PNG.read(path: path("bgr.png")), original, "the hole must be filled")
    }

    func testInterruptStopsCleanlyWithoutOutput() throws {
        let photo = try writePNG("big.png", width: 512, height: 512, channels: 3) { x, y, c in (x ^ y ^ (c * 85)) & 255 }
        let mask = try writePNG("bigmask.png", width: 512, height: 512, channels: 1) { x, y, _ in x > 200 && x < 300 && y > 100 && y < 400 ? 255 : 0 }
        let process = Process()
        process.executableURL = Tool.products.appendingPathComponent("graphrun")
        process.arguments = [Self.model, "--input", photo, "--mask", mask, "--output", path("big_out.png"), "--threads", "1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until graphrun has installed its SIGINT handler (SigCgt in /proc), then a little
        // more so the run is under way; the whole run takes seconds.
        func catchesInterrupt() -> Bool {
            guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
                  let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
            return mask & (1 << (UInt64(SIGINT) - 1)) != 0
        }
        let deadline = Date().addingTimeInterval(30)
        while !catchesInterrupt() && process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        Thread.sleep(forTimeInterval: 0.3)
        // Ctrl-C is checked between work pieces, not only between nodes: the run stops at once.
        let signalled = Date()
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(signalled), 1.5, "took too long to stop")
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 130)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("big_out.png")))
    }

    func testProfileAndChromeTrace() throws {
        let photo = Fixtures.fixture("oracle/case_64x64/image.png"), mask = Fixtures.fixture("oracle/case_64x64/mask.png")
        let r = try Tool.run("graphrun", [Self.model, "--input", photo, "--mask", mask, "--output", path("p.png"), "--profile", "--trace", path("t.json")])
        XCTAssertEqual(r.status, 0, r.stderr)
        for fragment in ["slowest nodes:", "by op type:", "conv2d", "GFLOP/s", "total", "wrote trace \(path("t.json"))"] {
            XCTAssertTrue(r.stdout.contains(fragment), "lacks '\(fragment)':\n\(r.stdout)")
        }
        let trace = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("t.json")))) as! [String: Any]
        let events = trace["traceEvents"] as! [[String: Any]]
        XCTAssertEqual(events.count, 51, "one event per node of the optimised graph")
        XCTAssertEqual(Set(events.map { $0["ph"] as! String }), ["X"])
        XCTAssertTrue(events.contains { $0["name"] as? String == "contextual_attention" })
        try assertBadInput("graphrun", [Self.model, "--input", photo, "--mask", mask, "--output", path("q.png"), "--trace", dir.path + "/no/such/dir/t.json"],
                           ["--trace \(dir.path)/no/such/dir/t.json: directory \(dir.path)/no/such/dir does not exist; create it first"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("q.png")), "checked before the run: no photo written")
        // --quiet silences messages, not the trace asked for.
        let quiet = try Tool.run("graphrun", [Self.model, "--input", photo, "--mask", mask, "--output", path("r.png"), "--quiet", "--trace", path("quiet.json")])
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertEqual(quiet.stdout, "")
        let quietTrace = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("quiet.json")))) as! [String: Any]
        XCTAssertEqual((quietTrace["traceEvents"] as! [[String: Any]]).count, 51)
    }
}
