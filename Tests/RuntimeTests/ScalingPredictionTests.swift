// The scaling prediction against hand-computed schedules, and the parallel trace's recording
// rules (what counts as a section), without timing anything.
import Kernels
import Runtime
import XCTest

final class ScalingPredictionTests: XCTestCase {
    func testMakespanHandsPiecesOutInOrder() {
        XCTAssertEqual(ScalingPrediction.makespan([1, 1, 1, 1], workers: 2), 2)
        XCTAssertEqual(ScalingPrediction.makespan([3, 1, 1, 1], workers: 2), 3)
        XCTAssertEqual(ScalingPrediction.makespan([1, 1, 1], workers: 4), 1)
        XCTAssertEqual(ScalingPrediction.makespan([1, 2, 3], workers: 1), 6)
        // In order, each to the worker free first: 2 | 2, then 1 → worker 0 (free at 2), 1 → worker 1.
        XCTAssertEqual(ScalingPrediction.makespan([2, 2, 1, 1, 4], workers: 2), 7)
    }

    func testPredictionByHand() {
        // 32 pieces of 0.1 s and one section of 2 pieces of 0.4 s; 0.2 s serial in the run (its wall:
        // 1.6 + 0.4 + 0.2 at 2 threads), 0.5 s outside it.
        let sections = [ParallelTrace.Section(node: 0, threads: 2, wall: 1.6, pieces: Array(repeating: 0.1, count: 32)),
                        ParallelTrace.Section(node: 1, threads: 2, wall: 0.4, pieces: [0.4, 0.4])]
        let p = ScalingPrediction(sections: sections, runSeconds: 2.2, outsideSeconds: 0.5)
        XCTAssertEqual(p.work, 4.0, accuracy: 1e-12)
        XCTAssertEqual(p.serialInRun, 0.2, accuracy: 1e-12)
        XCTAssertEqual(p.seconds(threads: 1), 4.2, accuracy: 1e-12)
        XCTAssertEqual(p.seconds(threads: 2), 0.2 + 1.6 + 0.4, accuracy: 1e-12)
        XCTAssertEqual(p.seconds(threads: 16), 0.2 + 0.2 + 0.4, accuracy: 1e-12)
        XCTAssertEqual(p.seconds(threads: 32), 0.2 + 0.1 + 0.4, accuracy: 1e-12)
        XCTAssertEqual(p.seconds(threads: 16, process: true), 1.3, accuracy: 1e-12)
        XCTAssertEqual(p.speedup(threads: 16), 4.2 / 0.8, accuracy: 1e-9)
        XCTAssertEqual(p.parallelFraction(), 4.0 / 4.2, accuracy: 1e-12)
        XCTAssertEqual(p.parallelFraction(process: true), 4.0 / 4.7, accuracy: 1e-12)
        // The two-piece section loses the most at 16 threads: 0.4 − 0.8/16.
        XCTAssertEqual(p.bottlenecks(threads: 16).first?.node, 1)
        XCTAssertEqual(p.bottlenecks(threads: 16).first?.lost ?? 0, 0.35, accuracy: 1e-12)
    }

    func testWhatTheTraceRecords() {
        let trace = ParallelTrace(runThreads: 2)
        RunMonitor.$current.withValue(RunMonitor(trace: trace)) {
            trace.begin(node: 3)
            Parallel.forEach(pieces: 5, threads: 2) { _, _ in
                // Nested in a parallel piece: not a section of its own.
                Parallel.forEach(pieces: 4, threads: 2) { _, _ in }
            }
            trace.begin(node: 4)
            // One piece, or kept serial by its kernel: not parallel; a section inside one is recorded.
            Parallel.forEach(pieces: 1, threads: 2) { _, _ in Parallel.forEach(pieces: 6, threads: 2) { _, _ in } }
            Parallel.forEach(pieces: 8, threads: 1) { _, _ in }
        }
        XCTAssertEqual(trace.sections.map(\.node), [3, 4])
        XCTAssertEqual(trace.sections.map(\.pieces.count), [5, 6])
        XCTAssertTrue(trace.sections.allSatisfy { $0.pieces.allSatisfy { $0 >= 0 } && $0.wall >= 0 })
    }
}
