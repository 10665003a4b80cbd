// How a run would scale on more cores, from one profiled run's parallel trace: each parallel
// section's pieces are scheduled again on T workers exactly as Parallel.forEach hands them out
// (in piece order, each to the worker that frees first), capped by the threads the kernel
// allows; time outside the sections (between them, serial kernels, and whatever the caller
// measured outside the run: loading, decoding, encoding) stays as it was. The prediction
// assumes a piece takes as long on T cores as it did here: memory bandwidth shared by more
// cores would make it optimistic.
import Kernels

public struct ScalingPrediction: Sendable {
    public let sections: [ParallelTrace.Section]
    /// Seconds of the run outside any parallel section.
    public let serialInRun: Double
    /// Seconds of the process outside the run (load, decode, plan, encode), given by the caller.
    public let serialOutside: Double
    /// Summed piece seconds: the parallel work, as one thread would do it.
    public let work: Double

    public init(trace: ParallelTrace, runSeconds: Double, outsideSeconds: Double = 0) {
        self.init(sections: trace.sections, runSeconds: runSeconds, outsideSeconds: outsideSeconds)
    }

    public init(sections: [ParallelTrace.Section], runSeconds: Double, outsideSeconds: Double = 0) {
        self.sections = sections
        work = sections.reduce(0) { $0 + $1.pieces.reduce(0, +) }
        serialInRun = max(0, runSeconds - sections.reduce(0) { $0 + $1.wall })
        serialOutside = max(0, outsideSeconds)
    }

    /// The makespan of pieces handed out in order to `workers` workers.
    public static func makespan(_ pieces: [Double], workers: Int) -> Double {
        guard workers > 1 else { return pieces.reduce(0, +) }
        var free = [Double](repeating: 0, count: min(workers, pieces.count))
        for d in pieces {
            var k = 0
            for i in 1..<free.count where free[i] < free[k] { k = i }
            free[k] += d
        }
        return free.max() ?? 0
    }

    /// Predicted seconds of the run (and, with `process`, of the whole process) on `threads` threads.
    public func seconds(threads: Int, process: Bool = false) -> Double {
        let parallel = sections.reduce(0) { total, s in
            total + Self.makespan(s.pieces, workers: threads)
        }
        return serialInRun + parallel + (process ? serialOutside : 0)
    }

    /// The share of one thread's time that parallel sections can spread (Amdahl's f).
    public func parallelFraction(process: Bool = false) -> Double {
        let one = seconds(threads: 1, process: process)
        return one > 0 ? work / one : 0
    }

    public func speedup(threads: Int, process: Bool = false) -> Double {
        seconds(threads: 1, process: process) / max(1e-12, seconds(threads: threads, process: process))
    }

    /// Nodes whose sections cap scaling: the fewest pieces at `threads` threads, with their work.
    public func bottlenecks(threads: Int, nodes: Int = 5) -> [(node: Int, pieces: Int, work: Double, lost: Double)] {
        var byNode: [Int: (pieces: Int, work: Double, lost: Double)] = [:]
        for s in sections {
            let w = s.pieces.reduce(0, +), ideal = w / Double(threads)
            let lost = Self.makespan(s.pieces, workers: threads) - ideal
            let old = byNode[s.node] ?? (Int.max, 0, 0)
            byNode[s.node] = (min(old.pieces, s.pieces.count), old.work + w, old.lost + lost)
        }
        let all: [(node: Int, pieces: Int, work: Double, lost: Double)] = byNode.map { (node: $0.key, pieces: $0.value.pieces, work: $0.value.work, lost: $0.value.lost) }
        return Array(all.sorted { $0.lost > $1.lost }.prefix(nodes))
    }
}
