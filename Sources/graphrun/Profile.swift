// --profile and --trace: where a run's time went.
import ArgumentParser
import Foundation
import GraphIR
import Kernels
import Runtime

enum Profile {
    static func print(_ nodes: [NodeTiming]) {
        let total = nodes.reduce(0) { $0 + $1.seconds }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func rate(_ macs: Int, _ s: Double) -> String { macs > 0 && s > 0 ? String(format: "%6.1f GFLOP/s", 2 * Double(macs) / s / 1e9) : "" }
        Swift.print("\n" + BLASCore.summary)
        Swift.print("slowest nodes:")
        for n in nodes.sorted(by: { $0.seconds > $1.seconds }).prefix(15) {
            Swift.print("  " + pad(n.node, 28) + pad(n.op, 22) + String(format: "%8.1f ms %5.1f %%  ", n.seconds * 1000, 100 * n.seconds / total)
                        + rate(n.macs, n.seconds))
        }
        Swift.print("by op type:")
        var byOp: [String: (Double, Int)] = [:]
        for n in nodes { byOp[n.op, default: (0, 0)].0 += n.seconds; byOp[n.op, default: (0, 0)].1 = Cost.sum([byOp[n.op, default: (0, 0)].1, n.macs]) }
        for (op, (s, macs)) in byOp.sorted(by: { $0.value.0 > $1.value.0 }) {
            Swift.print("  " + pad(op, 22) + String(format: "%8.1f ms %5.1f %%  ", s * 1000, 100 * s / total) + rate(macs, s))
        }
        let macs = Cost.sum(nodes.map(\.macs))
        Swift.print("  " + pad("total", 22) + String(format: "%8.1f ms          ", total * 1000) + rate(macs, total))
    }

    /// The run's parallel fraction and predicted speed-ups for more threads (ScalingPrediction).
    static func printScaling(_ p: ScalingPrediction, measuredThreads: Int, nodes: [String], nodeSeconds: [Double] = []) {
        Swift.print("scaling, predicted from \(p.sections.count) parallel sections timed piece by piece on \(measuredThreads) thread\(measuredThreads == 1 ? "" : "s"):")
        Swift.print(String(format: "  run: %.3f s of parallel work, %.3f s serial: parallel fraction %.1f %%", p.work, p.serialInRun, 100 * p.parallelFraction()))
        Swift.print(String(format: "  whole process: %.3f s more outside the run (start, load, decode, plan, encode): parallel fraction %.1f %%",
                           p.serialOutside, 100 * p.parallelFraction(process: true)))
        Swift.print("  threads      run s  speed-up    process s  speed-up")
        for t in [1, 2, 4, 8, 16, 32] {
            Swift.print(String(format: "  %7d %10.3f %8.2fx %12.3f %8.2fx", t, p.seconds(threads: t), p.speedup(threads: t),
                               p.seconds(threads: t, process: true), p.speedup(threads: t, process: true)))
        }
        Swift.print("  what limits 16 threads most (node: fewest pieces, parallel work, time lost to uneven pieces):")
        for b in p.bottlenecks(threads: 16) where b.lost > 0 {
            let name = b.node >= 0 && b.node < nodes.count ? nodes[b.node] : "node \(b.node)"
            Swift.print(String(format: "    %@: %d pieces, %.1f ms work, %.1f ms lost", name, b.pieces, b.work * 1e3, b.lost * 1e3))
        }
        // Serial time inside nodes: a node's time outside its parallel sections.
        var walls = [Double](repeating: 0, count: nodeSeconds.count)
        for s in p.sections where s.node >= 0 && s.node < walls.count { walls[s.node] += s.wall }
        let serial = nodeSeconds.indices.map { (index: $0, seconds: max(0, nodeSeconds[$0] - walls[$0])) }.sorted { $0.seconds > $1.seconds }
        Swift.print("  serial time inside nodes, largest first:")
        for s in serial.prefix(6) where s.seconds > 0.0005 {
            Swift.print(String(format: "    %@: %.1f ms", s.index < nodes.count ? nodes[s.index] : "node \(s.index)", s.seconds * 1e3))
        }
    }

    /// Chrome trace (chrome://tracing, Perfetto): one complete event per node.
    static func writeTrace(_ nodes: [NodeTiming], to path: String) throws {
        var events: [String] = []
        for n in nodes {
            let name = n.node.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            events.append("{\"name\": \"\(name)\", \"cat\": \"\(n.op)\", \"ph\": \"X\", \"pid\": 1, \"tid\": 1, "
                          + String(format: "\"ts\": %.1f, \"dur\": %.1f, ", n.start * 1e6, n.seconds * 1e6)
                          + "\"args\": {\"op\": \"\(n.op)\", \"macs\": \(n.macs)}}")
        }
        let text = "{\"traceEvents\": [\n" + events.joined(separator: ",\n") + "\n], \"displayTimeUnit\": \"ms\"}\n"
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw ValidationError("cannot write the trace to \(path): \(error.localizedDescription)")
        }
    }
}
