// The buffer plan at reference sizes, for `graphc compile --report` and the model's metadata.
// Graphs whose sizes do not fit a reference size (a fixed input, a multiple_of that 256 is not)
// simply have no plan recorded for it.
import Foundation
import ModelFormat
import Runtime

public enum MemoryReport {
    static let threads = 2

    /// Plans from the graph alone (no weights are touched); sizes the graph cannot take are skipped.
    public static func plans(_ model: Model, sizes: [(Int, Int)]) -> [PlannedMemory]? {
        guard !sizes.isEmpty else { return nil }
        let plans = sizes.compactMap { h, w -> PlannedMemory? in
            guard let p = try? MemoryPlanSummary(graph: model.graph, height: h, width: w, threads: threads) else { return nil }
            return PlannedMemory(height: h, width: w, threads: threads, arenaBytes: p.arenaBytes,
                                 lowerBoundBytes: p.lowerBoundBytes)
        }
        return plans.isEmpty ? nil : plans
    }

    public static func line(_ p: PlannedMemory) -> String {
        func mib(_ b: Int) -> String { String(format: "%.1f MiB", Double(b) / 1_048_576) }
        let ratio = p.lowerBoundBytes > 0 ? Double(p.arenaBytes) / Double(p.lowerBoundBytes) : 1
        return "\(p.width)x\(p.height), \(p.threads) threads: arena \(mib(p.arenaBytes)), lower bound \(mib(p.lowerBoundBytes)) "
            + String(format: "(ratio %.3f)", ratio)
    }
}
