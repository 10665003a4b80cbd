import Dispatch
import Synchronization
import Compiler
import ModelFormat
import Runtime
import TestSupport
import XCTest

/// The arena planner: no two values alive at the same time share bytes, offsets are 64-byte
/// aligned, and for DeepFill v2 the arena is within 10 % of the live-bytes lower bound.
final class MemoryPlanTests: XCTestCase {
    func testPlacementNeverOverlapsLiveItems() {
        var rng = SeededRandom(seed: 200)
        for set in 0..<200 {
            let items = (0..<rng.int(1...40)).map { _ -> (bytes: Int, first: Int, last: Int) in
                let first = rng.int(0...29)
                return (rng.int(1...100_000), first, first + rng.int(0...9))
            }
            let what = "set \(set) (\(rng))"
            let (offsets, arena) = ArenaPlanner.place(items)
            // The most 64-byte-rounded bytes alive at one step (items live from step 0 to 38).
            let lowerBound = (0...38).map { step in
                items.filter { $0.first <= step && step <= $0.last }.reduce(0) { $0 + ($1.bytes + 63) / 64 * 64 }
            }.max()!
            XCTAssertGreaterThanOrEqual(arena, lowerBound, what)
            for i in items.indices {
                XCTAssertEqual(offsets[i] % 64, 0, "\(what): item \(i)")
                XCTAssertLessThanOrEqual(offsets[i] + items[i].bytes, arena, "\(what): item \(i)")
                for j in items.indices where j > i && items[i].first <= items[j].last && items[j].first <= items[i].last {
                    let disjoint = offsets[i] + items[i].bytes <= offsets[j] || offsets[j] + items[j].bytes <= offsets[i]
                    XCTAssertTrue(disjoint, "\(what): items \(i) and \(j) are alive together and overlap")
                }
            }
        }
    }

    func testDeepFillArenaIsCloseToTheLowerBoundAndRecorded() throws {
        let (model, _) = try Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"), weights: .random(seed: 3))
        let plans = try XCTUnwrap(model.metadata.memoryPlans)
        XCTAssertEqual(plans.map { [$0.height, $0.width] }, [[256, 256], [512, 512]])
        for p in plans {
            XCTAssertLessThanOrEqual(p.lowerBoundBytes, p.arenaBytes)
            XCTAssertLessThanOrEqual(Double(p.arenaBytes), 1.10 * Double(p.lowerBoundBytes), "\(p)")
            XCTAssertLessThan(p.arenaBytes, 300 << 20, "\(p)")
        }
        // It survives the file format.
        let decoded = try ModelReader.decode(try ModelWriter.encode(model), path: "m").model
        XCTAssertEqual(decoded.metadata.memoryPlans, plans)
    }

    /// A graph with fixed input sizes (global_gan) records a plan only at the size it takes: its
    /// inputs bind no symbol, so a plan "at 512x512" would really be its own size's under that label.
    func testFixedSizeGraphIsPlannedOnlyAtItsSize() throws {
        let plans = { (size: String) in
            try Compiler.compile(graphPath: Fixtures.graph("global_gan.yaml"), weights: .random(seed: 1),
                                 params: [("cnum", "8"), ("size", size)]).0.metadata.memoryPlans?.map { [$0.height, $0.width] }
        }
        XCTAssertEqual(try plans("256"), [[256, 256]])
        XCTAssertEqual(try plans("512"), [[512, 512]])
        XCTAssertNil(try plans("128"))
        XCTAssertThrowsError(try MemoryPlanSummary(graph: try Compiler.compile(graphPath: Fixtures.graph("global_gan.yaml"), weights: .random(seed: 1),
                                                                               params: [("cnum", "8")]).0.graph, height: 512, width: 512, threads: 2))
    }
}

/// The executor's kept workspace: reusing the arena of an earlier run (same sizes), after a run
/// of other sizes, or beside a concurrent run on the same executor never changes a result.
final class WorkspaceTests: XCTestCase {
    func testReusedAndConcurrentWorkspacesGiveTheSameBits() throws {
        let (model, _) = try Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"), weights: .random(seed: 5))
        func inputs(_ h: Int, _ w: Int) -> [String: HostTensor] {
            // A seeded photo with a centred hole of half the height and width.
            var rng = SeededRandom(seed: UInt64(h * 1000 + w))
            let mask = (0..<h * w).map { i -> Float in (h / 4..<h / 4 + h / 2).contains(i / w) && (w / 4..<w / 4 + w / 2).contains(i % w) ? 1 : 0 }
            return ["image": HostTensor(shape: [1, 3, h, w], floats: rng.floats(3 * h * w)), "mask": HostTensor(shape: [1, 1, h, w], floats: mask)]
        }
        let executor = Executor(model: model)
        let first = try executor.run(inputs(64, 96), options: RunOptions(threads: 2))
        let other = try executor.run(inputs(48, 48), options: RunOptions(threads: 2))
        let again = try executor.run(inputs(64, 96), options: RunOptions(threads: 2))
        let fresh = try Executor(model: model).run(inputs(48, 48), options: RunOptions(threads: 2))
        for name in ["stage1", "stage2", "completed", "attention"] {
            XCTAssertEqual(first.outputs[name], again.outputs[name], "\(name): the reused workspace changed the result")
            XCTAssertEqual(other.outputs[name], fresh.outputs[name], "\(name): a workspace of other sizes leaked into the run")
        }
        // Four runs at once on one executor: one may use the kept workspace, the others build their own.
        let results = Mutex<[RunResult?]>(Array(repeating: nil, count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            let r = try? executor.run(inputs(64, 96), options: RunOptions(threads: 2))
            results.withLock { $0[i] = r }
        }
        for r in results.withLock({ $0 }) {
            XCTAssertEqual(r?.outputs["completed"], first.outputs["completed"])
        }
    }
}
