// Where a run's parallel work went, piece by piece, so `--profile` can predict how the run would
// scale on more cores than this machine has. Every Parallel.forEach of a run with a trace records
// one section: its node, how many threads the kernel allowed, its wall time, and each piece's
// duration. A forEach inside another's parallel piece is not recorded (the outer piece's time
// covers it); a forEach with one piece, or that its kernel keeps serial (threads 1 in a run of
// more), is not a parallel section: its time counts as serial, and sections inside it are recorded.
// Only runs with a trace pay for the clock reads (two per piece).
import Synchronization

public final class ParallelTrace: Sendable {
    public struct Section: Sendable {
        public var node: Int
        /// The threads the kernel allowed (1 for work it keeps serial by design).
        public var threads: Int
        public var wall: Double
        /// Seconds per piece, in piece order.
        public var pieces: [Double]
        public init(node: Int, threads: Int, wall: Double, pieces: [Double]) {
            self.node = node
            self.threads = threads
            self.wall = wall
            self.pieces = pieces
        }
    }

    private let recorded = Mutex<[Section]>([])
    private let node = Atomic<Int>(-1)
    private let depth = Atomic<Int>(0)

    /// The run's thread count.
    public let runThreads: Int

    public init(runThreads: Int) { self.runThreads = runThreads }

    /// The node whose kernels run next (the executor calls this as each node starts).
    public func begin(node index: Int) { node.store(index, ordering: .relaxed) }

    public var sections: [Section] { recorded.withLock { $0 } }

    /// Enters a section; false when another is open (a nested one is not recorded).
    func enter() -> Bool { depth.compareExchange(expected: 0, desired: 1, ordering: .relaxed).exchanged }
    func leave() { depth.store(0, ordering: .relaxed) }

    func record(threads: Int, wall: Double, pieces: [Double]) {
        let section = Section(node: node.load(ordering: .relaxed), threads: threads, wall: wall, pieces: pieces)
        recorded.withLock { $0.append(section) }
    }
}
