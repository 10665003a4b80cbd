// graphtrain init / fit / export / samples / masks through the executable, at a size that runs in
// seconds (generator and discriminator cnum 8, 64×64, batch 2 in micro-batches of 1): resuming
// is bit-exact and thread-independent, kill -9 loses at most the iteration in flight, Ctrl-C
// saves and exits 130, a non-finite loss exits 3 keeping the last good checkpoint, the exported
// generator runs in graphrun, the demo weights fine-tune, and bad input is exit 2.
import Foundation
import ImageIO
import ModelFormat
import NumpyIO
import TestSupport
import XCTest

final class GraphTrainFitTests: CLIBase {
    var photos: String!

    override func setUpWithError() throws {
        try super.setUpWithError()
        photos = path("photos")
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        for k in 0..<4 {
            _ = try writePNG("photos/p\(k).png", width: 72 + 8 * k, height: 56, channels: 3) { x, y, c in
                (x * (3 + k) + y * (5 - c) + 60 * c + (x * y) % (7 + k)) % 256
            }
        }
    }

    func initRun(_ name: String, extra: [String] = []) throws -> String {
        let run = path(name)
        let r = try Tool.run("graphtrain", ["init", run, "--generator", Fixtures.graph("deepfill_v2.yaml"), "--discriminator", Fixtures.graph("sn_patchgan.yaml"),
                                            "--param", "cnum=8", "--dparam", "cnum=8"] + (extra.isEmpty ? ["--random-init", "--seed", "3"] : extra))
        XCTAssertEqual(r.status, 0, r.stderr)
        return run
    }

    func fit(_ run: String, steps: Int, threads: Int = 2, extra: [String] = []) throws -> Command {
        try Tool.run("graphtrain", ["fit", run, "--data", photos, "--steps", "\(steps)", "--batch", "2", "--micro-batch", "1", "--size", "64x64",
                                    "--threads", "\(threads)"] + extra)
    }

    func files(_ run: String, _ step: Int) -> [String: Data] {
        Dictionary(uniqueKeysWithValues: ["generator.bin", "discriminator.bin", "optimizer.npz", "state.json"].map {
            ($0, FileManager.default.contents(atPath: "\(run)/ckpt-\(step)/\($0)") ?? Data())
        })
    }

    func checkpoints(_ run: String) -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []).compactMap { $0.hasPrefix("ckpt-") ? Int($0.dropFirst(5)) : nil }.sorted()
    }

    func logLines(_ run: String) -> [String] {
        (try? String(contentsOfFile: run + "/losses.jsonl", encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    func testResumingIsBitExactForAnyThreadCount() throws {
        let straight = try initRun("straight"), split = try initRun("split")
        let r = try fit(straight, steps: 4)
        XCTAssertEqual(r.status, 0, r.stderr)
        // Not a terminal: one JSON object per iteration on stdout.
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        for (i, line) in lines.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            XCTAssertEqual(object["step"] as? Int, i + 1)
            for key in ["d_loss", "g_loss", "g_adv", "l1", "it_per_s", "eta_s", "peak_mb"] { XCTAssertNotNil(object[key] as? Double, "\(key) in \(line)") }
        }
        XCTAssertEqual(try fit(split, steps: 2, threads: 1).status, 0)
        let resumed = try fit(split, steps: 4, threads: 2)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("from step 2 to 4"), resumed.stderr)
        XCTAssertEqual(files(straight, 4), files(split, 4))
        XCTAssertFalse(files(straight, 4)["optimizer.npz"]!.isEmpty)
        // The logs agree in everything but the time each iteration took.
        func losses(_ run: String) -> [String] { logLines(run).map { $0.replacingOccurrences(of: #","seconds":[^,}]*"#, with: "", options: .regularExpression) } }
        XCTAssertEqual(losses(straight), losses(split))
        XCTAssertEqual(checkpoints(straight), [2, 3, 4], "keep 3")
        // Pictures: 4 sample rows of input, stage 1, completed, original, attention flow.
        let samples = try ImageFile.read(path: straight + "/samples.png")
        XCTAssertEqual([samples.width, samples.height], [5 * 64 + 6 * 4, 4 * 64 + 5 * 4])
        XCTAssertNoThrow(try ImageFile.read(path: straight + "/losses.png"))
        // Asking for a step already reached does nothing.
        let again = try fit(straight, steps: 3)
        XCTAssertEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("is at step 4, which reaches --steps 3; nothing to do"), again.stderr)
    }

    func testKillNineLosesAtMostTheIterationInFlight() throws {
        let straight = try initRun("straight"), killed = try initRun("killed")
        XCTAssertEqual(try fit(straight, steps: 10).status, 0)
        let process = Process()
        process.executableURL = Tool.products.appendingPathComponent("graphtrain")
        process.arguments = ["fit", killed, "--data", photos, "--steps", "10", "--batch", "2", "--micro-batch", "1", "--size", "64x64", "--threads", "2"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && checkpoints(killed).last ?? 0 < 3 && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        Thread.sleep(forTimeInterval: 0.05)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        let newest = checkpoints(killed).last!
        XCTAssertGreaterThanOrEqual(newest, 3)
        XCTAssertGreaterThanOrEqual(newest, logLines(killed).count - 1, "the log is at most the iteration in flight ahead")
        let resumed = try fit(killed, steps: 10)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(files(straight, 10), files(killed, 10))
        XCTAssertEqual(logLines(killed).count, 10)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: killed).contains { $0.contains(".tmp-") })
    }

    func testCtrlCSavesACheckpointAndExits130() throws {
        let run = try initRun("run")
        let process = Process()
        process.executableURL = Tool.products.appendingPathComponent("graphtrain")
        process.arguments = ["fit", run, "--data", photos, "--steps", "100000", "--batch", "2", "--micro-batch", "1", "--size", "64x64",
                             "--checkpoint-every", "1000"]
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && logLines(run).count < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        kill(process.processIdentifier, SIGINT)
        let stopBy = Date().addingTimeInterval(30)
        while process.isRunning && Date() < stopBy { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertFalse(process.isRunning, "still running 30 s after Ctrl-C")
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let steps = logLines(run).count
        XCTAssertGreaterThanOrEqual(steps, 2)
        XCTAssertTrue(stderr.contains("interrupted; \(run) saved at step \(steps) (ckpt-\(steps))"), stderr)
        XCTAssertEqual(checkpoints(run).last, steps)
    }

    func testANonFiniteLossExits3AndKeepsTheLastGoodCheckpoint() throws {
        let run = try initRun("run")
        // Blow one generator kernel up to 1e37 × its values (finite, so the model file is valid).
        let file = run + "/ckpt-0/generator.bin"
        var model = try ModelReader.read(path: file).model
        let i = model.tensors.firstIndex { $0.name == "conv2_downsample.weight" }!
        model.tensors[i].values = model.tensors[i].values.map { $0 * 1e37 }
        try ModelWriter.write(model, to: file)
        let r = try fit(run, steps: 3)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: the G step's loss went non-finite: node '"), r.stderr)
        XCTAssertTrue(r.stderr.contains("the last good checkpoint is ckpt-0 (kept)"), r.stderr)
        XCTAssertEqual(checkpoints(run), [0])
    }

    func testTheExportedGeneratorFillsWithGraphrun() throws {
        let run = try initRun("run")
        XCTAssertEqual(try fit(run, steps: 1).status, 0)
        let e = try Tool.run("graphtrain", ["export", run, "-o", path("m.bin")])
        XCTAssertEqual(e.status, 0, e.stderr)
        let mask = try writePNG("mask.png", width: 72, height: 56, channels: 1) { x, y, _ in (20..<40).contains(x) && (10..<30).contains(y) ? 255 : 0 }
        let g = try Tool.run("graphrun", [path("m.bin"), "-i", photos + "/p0.png", "-m", mask, "-o", path("filled.png")])
        XCTAssertEqual(g.status, 0, g.stderr)
        let filled = try ImageFile.read(path: path("filled.png")), original = try ImageFile.read(path: photos + "/p0.png")
        XCTAssertEqual(filled.samples[0..<30], original.samples[0..<30], "known pixels are the photo's own")
        try assertBadInput("graphtrain", ["export", run, "--checkpoint", "7", "-o", path("n.bin")], ["has no checkpoint of step 7", "checkpoints: 0, 1"])
        let s = try Tool.run("graphtrain", ["samples", run, "--data", photos, "-o", path("grid.png"), "--count", "2"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let grid = try ImageFile.read(path: path("grid.png"))
        XCTAssertEqual([grid.width, grid.height], [5 * 64 + 6 * 4, 2 * 64 + 3 * 4])
    }

    func testTheDemoWeightsFineTune() throws {
        // A real photo: the demo generator knows photos, a random one does not.
        try FileManager.default.createDirectory(atPath: path("real"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.file("Samples/coffee.png"), toPath: path("real/coffee.png"))
        func start(_ name: String, _ weights: [String]) throws -> Double {
            let run = path(name)
            let r = try Tool.run("graphtrain", ["init", run, "--generator", Fixtures.graph("deepfill_v2.yaml"),
                                                "--discriminator", Fixtures.graph("sn_patchgan.yaml")] + weights)
            XCTAssertEqual(r.status, 0, r.stderr)
            let f = try Tool.run("graphtrain", ["fit", run, "--data", path("real"), "--steps", "1", "--batch", "1", "--size", "64x64"])
            XCTAssertEqual(f.status, 0, f.stderr)
            let entry = try JSONSerialization.jsonObject(with: Data(logLines(run)[0].utf8)) as! [String: Any]
            return entry["l1"] as! Double
        }
        let d16 = Fixtures.file("Models/deepfill_v2_demo/discriminator_f16.npz")
        let tuned = try start("finetune", ["--g-weights", Fixtures.file("Models/deepfill_v2_demo/deepfill_v2_demo.bin"), "--d-weights", d16])
        let scratch = try start("scratch", ["--random-init", "--seed", "1"])
        XCTAssertLessThan(tuned, 0.7 * scratch, "ℓ1 of the first step: fine-tuned \(tuned), from scratch \(scratch)")
        // ckpt-0 holds the files' values: the float16 discriminator converted exactly, u included.
        let stored = try ModelReader.read(path: path("finetune") + "/ckpt-0/discriminator.bin").model.tensors
        let source = try Npz.read(path: d16)
        XCTAssertEqual(stored.count, source.count)
        for (name, array) in source {
            let key = String(name.dropLast(name.hasSuffix(".npy") ? 4 : 0))
            XCTAssertEqual(stored.first { $0.name == key }?.values, array.floats, key)
        }
        XCTAssertTrue(source.contains { $0.name.hasSuffix(".u") })
    }

    func testMasksMatchTheSpecsStatistics() throws {
        let r = try Tool.run("graphtrain", ["masks", "--size", "256x256", "--count", "2000", "--seed", "1", "--stats"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let union = r.stdout.split(separator: "\n").first { $0.hasPrefix("union") }!
        let cells = union.split(separator: " ").compactMap { Double($0) }
        XCTAssertEqual(cells.count, 7, String(union))
        XCTAssertEqual(cells[0], 31, accuracy: 1.5)    // mean
        XCTAssertEqual(cells[2], 20.6, accuracy: 1.5)  // p5
        XCTAssertEqual(cells[4], 43.2, accuracy: 1.5)  // p95
        let out = try Tool.run("graphtrain", ["masks", "--size", "64x48", "--count", "3", "--out", path("masks")])
        XCTAssertEqual(out.status, 0, out.stderr)
        let m = try ImageFile.read(path: path("masks/mask_00002.png"))
        XCTAssertEqual([m.width, m.height, m.channels], [64, 48, 1])
        XCTAssertTrue(m.samples.allSatisfy { $0 == 0 || $0 == 255 } && m.samples.contains(255))
    }

    func testMasksFromAFolder() throws {
        let run = try initRun("run")
        try FileManager.default.createDirectory(atPath: path("masks"), withIntermediateDirectories: true)
        _ = try writePNG("masks/a.png", width: 32, height: 32, channels: 1) { x, y, _ in (8..<20).contains(x) && (4..<28).contains(y) ? 255 : 0 }
        let r = try fit(run, steps: 1, extra: ["--masks", path("masks")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(try String(contentsOfFile: run + "/config.yaml", encoding: .utf8).contains("masks: \"\(path("masks"))\""))
        // A mask with no hole is named when it is drawn.
        _ = try writePNG("masks/a.png", width: 32, height: 32, channels: 1) { _, _, _ in 0 }
        try assertBadInput("graphtrain", ["fit", run, "--data", photos, "--steps", "2"], ["the mask \(path("masks"))/a.png marks no pixel as a hole"])
        XCTAssertEqual(checkpoints(run).last, 1)
    }

    func testADamagedCheckpointIsNamedAndTheHintWorks() throws {
        let run = try initRun("run")
        XCTAssertEqual(try fit(run, steps: 3).status, 0)
        let good = files(run, 3)
        func damage(_ name: String, _ change: (String) throws -> Void) throws {
            try change(run + "/ckpt-3/" + name)
            try assertBadInput("graphtrain", ["fit", run, "--data", photos, "--steps", "4"],
                               ["error: the checkpoint \(run)/ckpt-3 is damaged: \(run)/ckpt-3/\(name)", "hint: remove \(run)/ckpt-3 and the run goes on from ckpt-2"])
            for (file, data) in good { try data.write(to: URL(fileURLWithPath: run + "/ckpt-3/" + file)) }
        }
        try damage("generator.bin") { try Data(FileManager.default.contents(atPath: $0)!.prefix(1000)).write(to: URL(fileURLWithPath: $0)) }
        try damage("state.json") { try Data(#"{"step": "x"}"#.utf8).write(to: URL(fileURLWithPath: $0)) }
        try damage("optimizer.npz") { try FileManager.default.removeItem(atPath: $0) }
        // Following the hint: the run goes on from ckpt-2 and ends where a clean run ends.
        try FileManager.default.removeItem(atPath: run + "/ckpt-3")
        let r = try fit(run, steps: 4)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("from step 2 to 4"), r.stderr)
        XCTAssertEqual(logLines(run).count, 4)
    }

    func testBadInputIsExit2WithAMessage() throws {
        let run = try initRun("run")
        try assertBadInput("graphtrain", ["fit", path("nothing"), "--data", photos], ["is not a training run (no config.yaml)", "graphtrain init"])
        try FileManager.default.createDirectory(atPath: path("empty"), withIntermediateDirectories: true)
        try assertBadInput("graphtrain", ["fit", run, "--data", path("empty")], ["holds no .png, .jpg or .jpeg photos"])
        try assertBadInput("graphtrain", ["fit", run, "--data", photos, "--batch", "3", "--micro-batch", "2"], ["--batch 3 is not a multiple of the micro-batch 2"])
        try assertBadInput("graphtrain", ["fit", run, "--data", photos, "--size", "100x64"], ["--size takes WIDTHxHEIGHT with both multiples of 8"])
        try assertBadInput("graphtrain", ["fit", run, "--data", photos, "--masks", "stars"], ["--masks must be rect+brush, brush, rect or a folder"])
        try assertBadInput("graphtrain", ["fit", run, "--data", photos, "--betas", "0.5"], ["--betas takes B1,B2"])
        try assertBadInput("graphtrain", ["init", run, "--generator", Fixtures.graph("deepfill_v2.yaml"), "--discriminator", Fixtures.graph("sn_patchgan.yaml"),
                                          "--random-init"], ["already exists and is not empty"])
        try assertBadInput("graphtrain", ["init", path("b"), "--generator", Fixtures.graph("deepfill_v2.yaml"), "--discriminator", Fixtures.graph("sn_patchgan.yaml")],
                           ["give --g-weights and --d-weights (to fine-tune), or --random-init --seed N"])
        try "batch_size: 4\nlearning_rate: 1\n".write(toFile: path("train.yaml"), atomically: true, encoding: .utf8)
        try assertBadInput("graphtrain", ["init", path("c"), "--generator", Fixtures.graph("deepfill_v2.yaml"), "--discriminator", Fixtures.graph("sn_patchgan.yaml"),
                                          "--random-init", "--config", path("train.yaml")], [path("train.yaml") + ":2:1: error: unknown key 'learning_rate'"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("c")), "nothing is created for bad input")
        // Weights that do not fit the graph: every misfit listed, no run folder left behind.
        try assertBadInput("graphtrain", ["init", path("d"), "--generator", Fixtures.graph("deepfill_v2.yaml"), "--discriminator", Fixtures.graph("sn_patchgan.yaml"),
                                          "--param", "cnum=16", "--g-weights", Fixtures.file("Models/deepfill_v2_demo/deepfill_v2_demo.bin"),
                                          "--d-weights", Fixtures.file("Models/deepfill_v2_demo/discriminator_f16.npz")], ["conv1.weight"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("d")))
        try assertBadInput("graphtrain", ["masks", "--size", "256"], ["--size takes WIDTHxHEIGHT"])
        try assertBadInput("graphtrain", ["samples", run, "--data", photos, "-o", path("grid.jpg")], ["-o must name a .png file"])
    }
}
