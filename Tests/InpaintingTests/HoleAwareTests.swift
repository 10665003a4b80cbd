import Compiler
import Foundation
import GraphIR
import ImageIO
import Inpainting
import Masks
import Runtime
import TestSupport
import XCTest

/// Hole-aware runs (Runtime/WindowPlan.swift) on the oracle's DeepFill weights: the same
/// picture as computing every pixel, bit for bit, for far less work when the hole is small;
/// holes at the photo's edges and several holes included; and the float output itself equal to
/// the same pixels of a whole run.
final class HoleAwareTests: XCTestCase {
    func compare(width: Int, height: Int, boxes: [Box], maxWorkShare: Double, file: StaticString = #filePath, line: UInt = #line) throws {
        let p = StrategyTests.photo(width: width, height: height), h = StrategyTests.holes(width: width, height: height, boxes: boxes)
        let options = RunOptions(threads: 2)
        let all = try StrategyTests.model.fill(photo: p, holes: h, strategy: .full, order: .rgb, options: options, holeAware: false)
        let aware = try StrategyTests.model.fill(photo: p, holes: h, strategy: .full, order: .rgb, options: options, holeAware: true)
        StrategyTests.assertKnownPixelsKept(aware.image, p, h, file: file, line: line)
        XCTAssertEqual(aware.image, all.image, "hole-aware and whole pictures differ", file: file, line: line)
        let work = { (o: FillOutcome) in o.nodeSeconds.reduce(0.0) { $0 + Double($1.macs) } }
        XCTAssertLessThan(work(aware), maxWorkShare * work(all), "multiply-adds, hole-aware vs whole", file: file, line: line)
        XCTAssertNil(aware.rawOutputs)
        XCTAssertNotNil(all.rawOutputs)
    }

    func testASmallHoleInALargerPhotoNeedsAFractionOfTheWork() throws {
        try compare(width: 456, height: 304, boxes: [Box(x: 300, y: 40, width: 20, height: 14)], maxWorkShare: 0.6)
    }

    func testHolesAtTheEdgesAndSeveralHoles() throws {
        try compare(width: 200, height: 136, boxes: [Box(x: 0, y: 0, width: 9, height: 7), Box(x: 190, y: 128, width: 10, height: 8)],
                    maxWorkShare: 1.0001)
    }

    func testAnOddSizedPhotoIsPaddedAndCroppedBack() throws {
        try compare(width: 171, height: 99, boxes: [Box(x: 80, y: 45, width: 13, height: 11)], maxWorkShare: 1.0001)
    }

    /// The executor's own answer: a window of `completed` (and of stage2, kept alongside) equals
    /// those pixels of the whole run's tensors, every bit; a window outside the output is refused.
    func testWindowsOfTheOutputsEqualTheWholeRunsTensors() throws {
        let (m, _) = try Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"), weights: .file(path: Fixtures.fixture("oracle/generator.npz")),
                                          planSizes: [])
        let executor = Executor(model: m)
        let (h, w) = (136, 200)
        var rng = SeededRandom(seed: 5)
        var mask = [Float](repeating: 0, count: h * w)
        for y in 40..<58 { for x in 120..<141 { mask[y * w + x] = 1 } }
        let inputs = ["image": HostTensor(shape: [1, 3, h, w], floats: rng.floats(3 * h * w)), "mask": HostTensor(shape: [1, 1, h, w], floats: mask)]
        let whole = try executor.run(inputs, options: RunOptions(threads: 2))
        let hole = Window(y0: 40, y1: 58, x0: 120, x1: 141)
        let part = try executor.run(inputs, options: RunOptions(threads: 2), keep: ["completed": hole, "stage2": hole], hole: hole)
        XCTAssertEqual(Set(part.outputs.keys), ["completed", "stage2"])
        for name in ["completed", "stage2"] {
            let held = try XCTUnwrap(part.outputWindows[name])
            XCTAssertEqual(held, hole, "\(name) holds \(held): exactly the asked window")
            let a = try XCTUnwrap(part.outputs[name]?.floats), b = try XCTUnwrap(whole.outputs[name]?.floats)
            XCTAssertEqual(part.outputs[name]?.shape, [1, 3, held.height, held.width])
            var differing = 0
            for c in 0..<3 { for y in held.y0..<held.y1 { for x in held.x0..<held.x1 {
                if a[(c * held.height + y - held.y0) * held.width + x - held.x0].bitPattern != b[(c * h + y) * w + x].bitPattern { differing += 1 }
            } } }
            XCTAssertEqual(differing, 0, "\(name): \(differing) values differ from the whole run")
        }
        XCTAssertThrowsError(try executor.run(inputs, keep: ["completed": Window(y0: 0, y1: 200, x0: 0, x1: 10)], hole: hole)) {
            XCTAssertTrue("\($0)".contains("has no window"), "\($0)")
        }
        XCTAssertThrowsError(try executor.run(inputs, keep: ["nothing": hole], hole: hole)) { XCTAssertTrue("\($0)".contains("no output 'nothing'"), "\($0)") }
    }

    /// A hole-aware run leaves its arena for the next one (WorkspaceCache's spare): a run in an
    /// arena full of an earlier, larger run's values, and after a whole run, gives the same bits
    /// as a fresh executor's.
    func testReusedArenasGiveTheSameBits() throws {
        let (m, _) = try Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"), weights: .file(path: Fixtures.fixture("oracle/generator.npz")),
                                          planSizes: [])
        let (h, w) = (104, 136)
        var rng = SeededRandom(seed: 9)
        let image = HostTensor(shape: [1, 3, h, w], floats: rng.floats(3 * h * w))
        func inputs(_ hole: Window) -> [String: HostTensor] {
            var mask = [Float](repeating: 0, count: h * w)
            for y in hole.y0..<hole.y1 { for x in hole.x0..<hole.x1 { mask[y * w + x] = 1 } }
            return ["image": image, "mask": HostTensor(shape: [1, 1, h, w], floats: mask)]
        }
        let small = Window(y0: 50, y1: 61, x0: 20, x1: 33), large = Window(y0: 8, y1: 90, x0: 30, x1: 120)
        func run(_ e: Executor, _ hole: Window, threads: Int) throws -> [UInt32] {
            try XCTUnwrap(e.run(inputs(hole), options: RunOptions(threads: threads), keep: ["completed": hole], hole: hole).outputs["completed"]?.floats)
                .map(\.bitPattern)
        }
        for threads in [1, 2] {
            let fresh = try run(Executor(model: m), small, threads: threads)
            let reused = Executor(model: m)
            let largeFirst = try run(reused, large, threads: threads)
            XCTAssertEqual(try run(reused, small, threads: threads), fresh, "small hole after a large one, \(threads) threads")
            _ = try reused.run(inputs(large), options: RunOptions(threads: threads))
            XCTAssertEqual(try run(reused, large, threads: threads), largeFirst, "large hole after a whole run, \(threads) threads")
        }
    }
}
