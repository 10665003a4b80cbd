import Compiler
import Foundation
import Kernels
import Runtime
import Synchronization
import TestSupport
import XCTest

/// A run's progress reports: every node in order, an estimate of the time left from the cost
/// model once there is a rate, the attention's share done; and a stop request honoured inside
/// a kernel, between its pieces.
final class ProgressTests: XCTestCase {
    static let executor: Executor = {
        let (model, _) = try! Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"), weights: .file(path: Fixtures.fixture("oracle/generator.npz")),
                                               planSizes: [])
        return Executor(model: model)
    }()

    func inputs(_ h: Int, _ w: Int) -> [String: HostTensor] {
        var mask = [Float](repeating: 0, count: h * w)
        for y in h / 4..<h / 2 { for x in w / 4..<w / 2 { mask[y * w + x] = 1 } }
        return ["image": HostTensor(shape: [1, 3, h, w], floats: (0..<3 * h * w).map { Float($0 % 97) / 48.5 - 1 }),
                "mask": HostTensor(shape: [1, 1, h, w], floats: mask)]
    }

    func testEveryNodeIsReportedWithAnEstimate() throws {
        let events = Mutex<[RunProgress]>([])
        var options = RunOptions(threads: 2)
        options.progress = { p in events.withLock { $0.append(p) } }
        let result = try Self.executor.run(inputs(128, 128), options: options)
        let all = events.withLock { $0 }
        let starts = all.filter { $0.nodeFraction == nil }
        // Node starts arrive in order, once each (heartbeats may repeat a node).
        var seen: [Int] = []
        for p in starts where seen.last != p.node { seen.append(p.node) }
        XCTAssertEqual(seen, Array(0..<result.nodeSeconds.count))
        XCTAssertEqual(Set(all.map(\.nodes)), [result.nodeSeconds.count])
        XCTAssertEqual(starts.map(\.name).first, result.nodeSeconds.first?.node)
        // After the first 2 % of the work the cost model gives a time left, and the last
        // estimate is below the first.
        let estimates = all.compactMap(\.remaining)
        XCTAssertFalse(estimates.isEmpty)
        XCTAssertLessThan(estimates.last!, estimates.first! + 1e-9)
        XCTAssertTrue(all.allSatisfy { $0.elapsed >= 0 })
    }

    /// A stop requested while contextual attention works ends the run within a chunk.
    func testAStopInsideAKernelEndsTheRunPromptly() throws {
        let stop = Atomic<Bool>(false), stoppedAt = Mutex<Date?>(nil)
        var options = RunOptions(threads: 1)
        options.isCancelled = { stop.load(ordering: .relaxed) }
        options.progress = { p in
            if p.name == "contextual_attention", !stop.load(ordering: .relaxed) {
                stoppedAt.withLock { $0 = Date() }
                stop.store(true, ordering: .relaxed)
            }
        }
        XCTAssertThrowsError(try Self.executor.run(inputs(512, 512), options: options)) { XCTAssertTrue($0 is RunCancelled, "\($0)") }
        let after = Date().timeIntervalSince(try XCTUnwrap(stoppedAt.withLock { $0 }))
        // The attention alone takes over a second here on one thread; the heartbeat sees the
        // request within 0.25 s and the kernel stops at its next chunk.
        XCTAssertLessThan(after, 0.7, "the run should stop inside the attention, not finish it")
    }

    func testParallelPiecesStopWhenAsked() {
        let monitor = RunMonitor()
        let done = Atomic<Int>(0)
        RunMonitor.$current.withValue(monitor) {
            Parallel.forEach(pieces: 1000, threads: 2) { p, _ in
                if p == 10 { monitor.requestStop() }
                done.add(1, ordering: .relaxed)
            }
        }
        XCTAssertLessThan(done.load(ordering: .relaxed), 100, "pieces after the stop request were still run")
        // Without a monitor every piece runs.
        let all = Atomic<Int>(0)
        Parallel.forEach(pieces: 1000, threads: 2) { _, _ in all.add(1, ordering: .relaxed) }
        XCTAssertEqual(all.load(ordering: .relaxed), 1000)
    }
}
