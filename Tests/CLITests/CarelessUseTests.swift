import Foundation
import ImageIO
import ModelFormat
import TestSupport
import XCTest

/// What a new user gets wrong, and what a hostile file tries, through the command lines: the
/// exact message, exit code 2, nothing written, no input touched, no hang.
final class CarelessUseTests: CLIBase {
    static var model: String { GraphRunTests.model }
    var photo: String { Fixtures.fixture("oracle/case_64x64/image.png") }
    var mask: String { Fixtures.fixture("oracle/case_64x64/mask.png") }

    func testFIFOsAndDevicesAreRefusedAtOnce() throws {
        XCTAssertEqual(mkfifo(path("fifo"), 0o600), 0)
        let fifo = path("fifo")
        try assertBadInput("graphrun", [Self.model, "-i", fifo, "-m", mask, "-o", path("o.png")],
                           ["error: \(fifo): is a FIFO (named pipe), not an image file; give the path of a regular file"], timeout: 10)
        try assertBadInput("graphrun", [Self.model, "-i", "/dev/zero", "-m", mask, "-o", path("o.png")],
                           ["error: /dev/zero: is a character device, not an image file"], timeout: 10)
        try assertBadInput("graphrun", [fifo, "-i", photo, "-m", mask, "-o", path("o.png")], ["is a FIFO (named pipe), not a model file"], timeout: 10)
        try assertBadInput("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--weights", fifo, "-o", path("m.bin")],
                           ["\(fifo): is a FIFO (named pipe), not a weight file"], timeout: 10)
        try assertBadInput("graphc", ["check", fifo], ["cannot read \(fifo): is a FIFO (named pipe), not a graph file"], timeout: 10)
        try assertBadInput("graphc", ["inspect", "/dev/zero"], ["/dev/zero: is a character device, not a model file"], timeout: 10)
    }

    func testOutputsThatAreInputsUnderAnotherName() throws {
        let own = path("photo.png")
        try FileManager.default.copyItem(atPath: photo, toPath: own)
        let before = try Data(contentsOf: URL(fileURLWithPath: own))
        // /proc/self/cwd names graphrun's own working directory: the test runs it in `dir`.
        let r = try Tool.run("graphrun", [Self.model, "-i", "photo.png", "-m", mask, "-o", "/proc/self/cwd/photo.png"], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--output /proc/self/cwd/photo.png would overwrite an input file; choose another path"), r.stderr)
        // graphc: -o onto the weights or the graph.
        try FileManager.default.copyItem(atPath: Fixtures.fixture("oracle/generator.npz"), toPath: path("w.npz"))
        try assertBadInput("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--weights", path("w.npz"), "-o", path("w.npz")],
                           ["-o \(path("w.npz")) is the input file \(path("w.npz")); writing would destroy it"])
        try FileManager.default.copyItem(atPath: Fixtures.graph("deepfill_v2.yaml"), toPath: path("g.yaml"))
        let g = try Tool.run("graphc", ["compile", "g.yaml", "--random-init", "-o", "/proc/self/cwd/g.yaml"], in: dir)
        XCTAssertEqual(g.status, 2)
        XCTAssertTrue(g.stderr.contains("-o /proc/self/cwd/g.yaml is the input file g.yaml; writing would destroy it"), g.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: own)), before)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("g.yaml"))), try Data(contentsOf: URL(fileURLWithPath: Fixtures.graph("deepfill_v2.yaml"))))
    }

    func testHostileStoredGraphsThroughInspectAndRun() throws {
        // A model whose graph declares an input of 2^62 channels (checksums redone by the writer).
        var model = try ModelReader.read(path: Self.model).model
        model.graph.inputs[0].dims[0] = .fixed(1 << 62)
        try ModelWriter.write(model, to: path("absurd.bin"))
        for args in [["inspect", path("absurd.bin"), "--size", "64x64"]] {
            try assertBadInput("graphc", args, ["absurd.bin, section GRPH", "fixed dimensions must be in 1...65536"])
        }
        try assertBadInput("graphrun", [path("absurd.bin"), "-i", photo, "-m", mask, "-o", path("o.png")], ["fixed dimensions must be in 1...65536"])
    }

    func testArgumentMistakesAreNamed() throws {
        try assertBadInput("graphrun", [Self.model, "-i", photo, "-m", mask, "--ouput", path("o.png")], ["Error: Unknown option '--ouput'. Did you mean '--output'?"])
        try assertBadInput("graphrun", [Self.model, "-i", photo, "-m", mask, "-o", path("o.png"), "--threads", "-1"], ["Error: --threads must be in 1...256, got -1"])
        try assertBadInput("graphrun", [Self.model, "-i", photo, "-m", mask], ["Error: give --output FILE (.png or .jpg) and/or --save-raw DIR\n  See 'graphrun fill --help' for more information."])
        let r = try Tool.run("graphrun", [Self.model, "--image", photo, "-m", mask, "-o", path("o.png"), "--max-memory", "4GiB", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertBadInput("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml")], ["Error: give exactly one of --weights FILE or --random-init\n  See 'graphc compile --help' for more information."])
        try assertBadInput("graphrun", [path("none.bin"), "-i", photo, "-m", mask, "-o", path("o.png")],
                           ["\(path("none.bin")): cannot open: no such file", "hint: compile one with: graphc compile Graphs/deepfill_v2.yaml --weights WEIGHTS -o \(path("none.bin"))"])
    }

    func testOutputPathsAreCheckedBeforeTheRun() throws {
        let start = Date()
        try assertBadInput("graphrun", [Self.model, "-i", photo, "-m", mask, "-o", path("missing/o.png")],
                           ["--output \(path("missing/o.png")): directory \(path("missing")) does not exist; create it first"])
        try assertBadInput("graphrun", [Self.model, "-i", photo, "-m", mask, "-o", dir.path + "/"], ["--output \(dir.path)/: end the name in .png (lossless) or .jpg"])
        try FileManager.default.createDirectory(atPath: path("d.png"), withIntermediateDirectories: false)
        try assertBadInput("graphrun", [Self.model, "-i", photo, "-m", mask, "-o", path("d.png")], ["--output \(path("d.png")) is a directory"])
        try assertBadInput("graphrun", [Self.model, "-i", photo, "-m", mask, "--save-raw", path("a/b")],
                           ["--save-raw \(path("a/b")): its parent directory \(path("a")) does not exist; create it first"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "refused before running the network")
    }

    func testSizesAreWidthByHeight() throws {
        let r = try Tool.run("graphc", ["dump", Fixtures.graph("deepfill_v2.yaml"), "--size", "64x32", "--no-locations"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("input  image: float32[1, 3, 32, 64]"), String(r.stdout.prefix(400)))
        let i = try Tool.run("graphc", ["inspect", Self.model, "--size", "64x32", "--no-tensors"])
        XCTAssertTrue(i.stdout.contains("multiply-accumulates at 64x32 (width x height), batch 1"), i.stdout)
    }

    func testCompilerSaysLessAndOncePerMistake() throws {
        let check = try Tool.run("graphc", ["check", Fixtures.graph("deepfill_v2.yaml")])
        XCTAssertEqual(check.status, 0)
        XCTAssertEqual(check.stderr, "", "check prints no optimisation notes unless asked")
        XCTAssertTrue(try Tool.run("graphc", ["check", "-v", Fixtures.graph("deepfill_v2.yaml")]).stderr.contains("note: gate fusion"))
        let quiet = try Tool.run("graphc", ["compile", Fixtures.graph("deepfill_v2.yaml"), "--random-init", "-q", "-o", path("q.bin")])
        XCTAssertEqual(quiet.stderr, "")
        XCTAssertTrue(quiet.stdout.hasPrefix("wrote \(path("q.bin"))"))
        // A typo inside a block used 4 times is one error naming the uses.
        let text = try String(contentsOfFile: Fixtures.graph("deepfill_v2.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "{name: conv, use: gconv, in: up, cout: cout}", with: "{name: conv, use: gconv, in: upp, cout: cout}")
        try text.write(toFile: path("typo.yaml"), atomically: true, encoding: .utf8)
        let typo = try assertBadInput("graphc", ["check", path("typo.yaml")], [
            "typo.yaml:42:38: error: node 'conv' of block 'gdeconv' (all 4 uses: conv13_upsample, conv15_upsample, allconv13_upsample, allconv15_upsample): in: unknown value 'upp'\n  hint: did you mean 'up'?"])
        XCTAssertEqual(typo.stderr.components(separatedBy: "error:").count, 2, typo.stderr)
        // extends with the other extension.
        try "fillgraph: 1\nextends: \(Fixtures.graph("deepfill_v2.yml"))\n".write(toFile: path("v.yaml"), atomically: true, encoding: .utf8)
        try assertBadInput("graphc", ["check", path("v.yaml")], ["no such file\n  hint: did you mean '\(Fixtures.graph("deepfill_v2.yaml"))'?"])
    }

    func testPortGraphRefusesOfficialWeights() throws {
        try assertBadInput("graphc", ["compile", Fixtures.graph("deepfill_v2_port.yaml"), "--weights", Fixtures.fixture("oracle/generator.npz"), "-o", path("p.bin")],
                           ["these weights were trained under the official TensorFlow padding and resize conventions", "hint: compile Graphs/deepfill_v2.yaml instead"])
    }

    func testAnotherOutputAsThePicture() throws {
        let r = try Tool.run("graphrun", [Self.model, "-i", photo, "-m", mask, "-o", path("s1.png"), "--output-name", "stage1", "--save-raw", path("raw")])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The holes hold stage 1, rounded as the composite is.
        let out = try PNG.read(path: path("s1.png")), m = try PNG.read(path: mask)
        let stage1 = try NumpyFile.floats(path("raw/stage1.npy"))
        var checked = 0
        for p in 0..<64 * 64 where m.samples[p] > 127 {
            for c in 0..<3 {
                let v = (Double(stage1[c * 4096 + p]) + 1) * 127.5
                XCTAssertEqual(Double(out.samples[p * 3 + c]), (v + 0.5).rounded(.down), accuracy: 0.51)
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 0)
        try assertBadInput("graphrun", [Self.model, "-i", photo, "-m", mask, "-o", path("a.png"), "--output-name", "attention"],
                           ["output 'attention' is int32[N, 1, H/8, W/8], not a picture of the input's size (float32[N, 3, H, W])"])
    }

    func testColourProfileAndResolutionAreCopied() throws {
        // An sRGB profile as littleCMS writes it (Tests/Fixtures/png/README.md).
        let icc = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.fixture("png/srgb_littlecms.icc"))))
        var image = try PNG.read(path: photo)
        image.metadata = ImageMetadata(iccProfile: icc, iccName: "test profile", resolution: .init(x: 11811, y: 11811, perMetre: true))
        try ImageFile.write(image, to: path("p.png"))
        try ImageFile.write(image, to: path("p.jpg"))
        for input in ["p.png", "p.jpg"] {
            for output in ["o.png", "o.jpg"] {
                let r = try Tool.run("graphrun", [Self.model, "-i", path(input), "-m", mask, "-o", path(output)])
                XCTAssertEqual(r.status, 0, r.stderr)
                let meta = try ImageFile.read(path: path(output)).metadata
                XCTAssertEqual(meta?.iccProfile, icc, "\(input) -> \(output)")
                XCTAssertEqual(meta?.resolution?.x ?? 0, 11811, accuracy: 40, "300 dpi, \(input) -> \(output)")
            }
        }
        // A profile libpng refuses (a bare header, carried by a JPEG): the picture is still
        // written, without it, and the user is told.
        image.metadata = ImageMetadata(iccProfile: Array(icc.prefix(128)) + [0, 0, 0, 0])
        try ImageFile.write(image, to: path("bad.jpg"))
        let r = try Tool.run("graphrun", [Self.model, "-i", path("bad.jpg"), "-m", mask, "-o", path("bad_out.png")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("note: \(path("bad_out.png")): the photo's colour profile could not be copied (cannot encode PNG: profile 'ICC profile': "), r.stderr)
        XCTAssertTrue(r.stderr.contains("; the output has none"), r.stderr)
        XCTAssertNil(try ImageFile.read(path: path("bad_out.png")).metadata?.iccProfile)
    }
}

enum NumpyFile {
    static func floats(_ path: String) throws -> [Float] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        return stride(from: 10 + headerLength, to: bytes.count, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }
}
