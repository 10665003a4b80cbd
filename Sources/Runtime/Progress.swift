// A run's progress for people: where it is, how long it has taken, and how long the rest should
// take. The estimate is the cost model's: multiply-accumulates left, at the rate the run has
// reached so far (after at least 2 % of the work, so a fast first node does not promise too much).
import Dispatch
import Foundation
import GraphIR
import Synchronization

final class ProgressTracker: Sendable {
    private struct State {
        var step = 0, name = "", nodeMACs = 0, doneMACs = 0
        var nodeStart: UInt64 = 0, lastEnd: UInt64 = 0
    }

    private let state: Mutex<State>
    let nodes: Int, totalMACs: Int, start: UInt64

    init(nodes: Int, totalMACs: Int, start: UInt64) {
        self.nodes = nodes
        self.totalMACs = totalMACs
        self.start = start
        state = Mutex(State(nodeStart: start, lastEnd: start))
    }

    func begin(step: Int, name: String, macs: Int) {
        state.withLock { $0.step = step; $0.name = name; $0.nodeMACs = macs; $0.nodeStart = DispatchTime.now().uptimeNanoseconds }
    }

    func end(at time: UInt64) {
        state.withLock { $0.doneMACs = Cost.sum([$0.doneMACs, $0.nodeMACs]); $0.lastEnd = time }
    }

    func progress(fraction: Double?) -> RunProgress {
        let now = DispatchTime.now().uptimeNanoseconds
        return state.withLock { s in
            let elapsed = Double(now - start) / 1e9
            var remaining: Double? = nil
            let measured = Double(s.lastEnd - start) / 1e9
            if totalMACs > 0, Double(s.doneMACs) >= 0.02 * Double(totalMACs), measured > 0 {
                let rate = Double(s.doneMACs) / measured  // MACs per second
                let inNode = Double(now - s.nodeStart) / 1e9
                let nodeLeft: Double
                if let f = fraction, f > 0.02 { nodeLeft = inNode * (1 - f) / f } else { nodeLeft = max(0, Double(s.nodeMACs) / rate - inNode) }
                remaining = nodeLeft + Double(max(0, totalMACs - s.doneMACs - s.nodeMACs)) / rate
            }
            return RunProgress(node: s.step, nodes: nodes, name: s.name, elapsed: elapsed, nodeFraction: fraction, remaining: remaining)
        }
    }
}

/// Calls `beat` every `interval` seconds on a background queue until stopped.
final class Heartbeat: @unchecked Sendable {
    private let timer: DispatchSourceTimer

    init(every interval: Double, _ beat: @escaping @Sendable () -> Void) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler(handler: beat)
        timer.resume()
    }

    func stop() { timer.cancel() }
}
