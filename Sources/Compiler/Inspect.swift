// `graphc inspect`: what is in a model.bin — header, sections with their checksums, tensors,
// parameter count, and multiply-accumulates per node at a given input size.
import Foundation
import GraphIR
import ModelFormat

public enum Inspector {
    static func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    static func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }

    public static func report(_ file: ModelFile, size: (Int, Int)?, showTensors: Bool = true) throws -> String {
        let model = file.model, meta = model.metadata
        var lines: [String] = []
        lines.append("\(file.path): Fillgraph model, format \(file.version.major).\(file.version.minor), \(grouped(file.fileLength)) bytes")
        lines.append("  graph      \(meta.graphName): \(model.graph.nodes.count) nodes")
        for i in model.graph.inputs { lines.append("  input      \(i.name): \(i.type)") }
        for o in file.typed.graph.outputs { lines.append("  output     \(o.name): \(file.typed.type(of: o.value))") }
        lines.append("  compiler   \(meta.compiler)")
        for s in meta.sources { lines.append("  source     \(s.path) (xxh64 \(s.xxh64))") }
        lines.append("  weights    \(meta.weights)")
        lines.append("  parameters \(grouped(file.typed.parameterCount))")
        for plan in meta.memoryPlans ?? [] { lines.append("  memory     " + MemoryReport.line(plan)) }
        lines.append("")
        lines.append("sections (all checksums verified):")
        lines.append("  kind  " + lpad("offset", 10) + lpad("bytes", 12) + "  xxh64")
        for s in file.sections {
            lines.append("  \(pad(s.kind, 4))  " + lpad(String(s.offset), 10) + lpad(grouped(s.length), 12) + "  " + XXHash64.hex(s.checksum))
        }
        if showTensors {
            lines.append("")
            let types = Set(file.tensorInfo.map(\.storage.name)).sorted().joined(separator: " and ")
            lines.append("tensors (\(file.tensorInfo.count), \(types.isEmpty ? "none" : types), 64-byte aligned):")
            let width = max(24, (file.tensorInfo.map(\.name.count).max() ?? 0) + 2)
            lines.append("  " + pad("name", width) + pad("shape", 20) + pad("type", 9) + lpad("offset", 10) + lpad("bytes", 12) + "  xxh64")
            for t in file.tensorInfo {
                lines.append("  " + pad(t.name, width) + pad("\(t.shape)", 20) + pad(t.storage.name, 9) + lpad(String(t.offset), 10)
                             + lpad(grouped(t.length), 12) + "  " + XXHash64.hex(t.checksum))
            }
        }
        if let (h, w) = size {
            let typed = try Verifier.verify(model.graph, bindings: try model.graph.checkedBindings(height: h, width: w))
            let costs = typed.costs().filter { $0.macs > 0 }
            let total = Cost.sum(costs.map(\.macs))
            lines.append("")
            lines.append("multiply-accumulates at \(w)x\(h) (width x height), batch 1 (\(costs.count) nodes with arithmetic):")
            let width = max(24, (costs.map(\.node.count).max() ?? 0) + 2)
            lines.append("  " + pad("node", width) + pad("op", 22) + pad("output", 22) + lpad("MACs", 14) + lpad("share", 8))
            for c in costs {
                let share = total > 0 ? Double(c.macs) / Double(total) * 100 : 0
                lines.append("  " + pad(c.node, width) + pad(c.op, 22) + pad("\(c.outputShape)", 22)
                             + lpad(String(format: "%.1f MMAC", Double(c.macs) / 1e6), 14) + lpad(String(format: "%.1f %%", share), 8))
            }
            lines.append("  total " + String(format: "%.2f GMAC (%.1f GFLOP)", Double(total) / 1e9, 2 * Double(total) / 1e9))
        }
        return lines.joined(separator: "\n")
    }
}
