// What a run shares with its kernels while they work: a stop request, checked between work
// pieces (so Ctrl-C takes effect within a piece, not at the end of a minute-long node), and how
// far a long kernel has come (for progress and ETA). Bound as a task-local for the duration of
// a run; kernels called without one (tests, tools) run to the end.
import Synchronization

public final class RunMonitor: Sendable {
    private let stop = Atomic<Bool>(false)
    private let permille = Atomic<Int>(-1)

    /// Set for profiled runs: every parallel section's pieces are timed (ParallelTrace).
    public let trace: ParallelTrace?

    public init(trace: ParallelTrace? = nil) { self.trace = trace }

    @TaskLocal public static var current: RunMonitor?

    public var isStopped: Bool { stop.load(ordering: .relaxed) }
    public func requestStop() { stop.store(true, ordering: .relaxed) }

    /// The share of the current node done, when its kernel says (nil otherwise).
    public var nodeFraction: Double? {
        let v = permille.load(ordering: .relaxed)
        return v < 0 ? nil : Double(v) / 1000
    }

    public func setNodeFraction(_ f: Double?) {
        permille.store(f.map { Int((min(max($0, 0), 1) * 1000).rounded()) } ?? -1, ordering: .relaxed)
    }
}
