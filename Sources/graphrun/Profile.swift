// --profile and --trace: where a run's time went.
import ArgumentParser
import Foundation
import GraphIR
import Runtime

enum Profile {
    static func print(_ nodes: [NodeTiming]) {
        let total = nodes.reduce(0) { $0 + $1.seconds }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func rate(_ macs: Int, _ s: Double) -> String { macs > 0 && s > 0 ? String(format: "%6.1f GFLOP/s", 2 * Double(macs) / s / 1e9) : "" }
        Swift.print("\nslowest nodes:")
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
