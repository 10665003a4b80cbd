// A run's workspace: the verified graph at concrete sizes, its memory plan and the arena,
// kept by the executor for the next run of the same sizes and thread count.
// Why: planning takes milliseconds, and a fresh arena costs a page fault per 4 KiB on first
// touch (about a tenth of a 256² run; see Arena); PyTorch's and ONNX Runtime's
// allocators keep their pools between runs too. A workspace serves one run at a time: a run
// checks it out, and a run that starts meanwhile on the same executor builds its own.
import Glibc
import GraphIR
import Kernels
import Synchronization

final class Workspace: @unchecked Sendable {
    struct Key: Equatable {
        var shapes: [String: [Int]]
        var threads: Int
    }

    let key: Key
    let typed: TypedGraph
    let plan: MemoryPlan
    /// Its own arena, or nil when the executor runs in a SharedArena.
    let arena: Arena?

    init(key: Key, typed: TypedGraph, plan: MemoryPlan, ownArena: Bool = true) {
        self.key = key
        self.typed = typed
        self.plan = plan
        arena = ownArena ? Arena(plan, threads: key.threads) : nil
    }
}

/// A run's arena, freed with the object. A whole run's workspace owns one; a hole-aware run's
/// plan changes with every hole, so it leaves only its arena (the spare) for the next run:
/// pages already faulted in, nothing to unmap at the end of the run.
final class Arena: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let bytes: Int

    /// A new arena for `plan`, the pages its values will occupy faulted in up front, split over
    /// `threads`. Why: the first write to a page faults (about 1.7 µs per 4 KiB here, some 0.1 s
    /// per 512² run); inside the run the small serial nodes (the input mask products, concats)
    /// would pay for theirs alone, and faults spread unevenly over a kernel's pieces.
    /// MADV_POPULATE_WRITE faults a whole range in one call (about 0.7 µs a page), so even one
    /// thread gains (2 % at 512²). Scratch is left to fault when used: it is sized for the most a
    /// kernel may need, and touching all of it would raise the peak resident memory.
    init(_ plan: MemoryPlan, threads: Int) {
        let size = max(plan.arenaBytes, MemoryPlan.alignment), page = 4096
        let p = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryPlan.alignment)
        // Whole pages inside some value's bytes, in runs of at most 256 pages (1 MiB).
        let skew = Int(bitPattern: p) % page, most = 256 * page
        let runs = plan.valueBytes.flatMap { r -> [Range<Int>] in
            let first = (r.lowerBound + skew + page - 1) / page * page - skew, end = (r.upperBound + skew) / page * page - skew
            return stride(from: first, to: end, by: most).map { $0..<min(end, $0 + most) }
        }
        Parallel.forEach(pieces: runs.count, threads: threads) { i, _ in
            let r = runs[i]
            // MADV_POPULATE_WRITE (Linux 5.14) faults a range in one call; else touch each page.
            if madvise(p + r.lowerBound, r.count, 23) != 0 {
                for offset in stride(from: r.lowerBound, to: r.upperBound, by: page) { p.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self) }
            }
        }
        pointer = p
        bytes = size
    }

    deinit { pointer.deallocate() }
}

/// One arena for several executors whose runs never overlap (a training step's G step and D
/// step): the process holds the largest plan instead of the sum. Not for concurrent runs.
public final class SharedArena: @unchecked Sendable {
    private let region = Mutex<(pointer: UnsafeMutableRawPointer?, bytes: Int)>((nil, 0))
    public init() {}
    deinit { region.withLock { $0.pointer?.deallocate() } }

    /// A region of at least `bytes`, reallocated (contents lost) when a larger one is asked for.
    func pointer(bytes: Int) -> UnsafeMutableRawPointer {
        region.withLock { r in
            if let p = r.pointer, r.bytes >= bytes { return p }
            r.pointer?.deallocate()
            let size = max(bytes, MemoryPlan.alignment)
            r = (UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryPlan.alignment), size)
            return r.pointer!
        }
    }
}

/// The executor's one cached arena: a whole run's workspace or a hole-aware run's spare. One
/// slot, emptied when a run cannot use what it holds, so the process never keeps an idle
/// arena beside the one a run is using.
final class WorkspaceCache: Sendable {
    private enum Entry { case workspace(Workspace), spare(Arena) }
    private let slot = Mutex<Entry?>(nil)

    /// The cached workspace if it fits `key` (removing it from the cache until `checkIn`).
    func checkOut(_ key: Workspace.Key) -> Workspace? {
        take { if case .workspace(let w) = $0, w.key == key { return w } else { return nil } }
    }

    /// The spare arena if it holds `bytes` (removing it from the cache until `checkIn`).
    func checkOutSpare(bytes: Int) -> Arena? {
        take { if case .spare(let a) = $0, a.bytes >= bytes { return a } else { return nil } }
    }

    /// Keeps `w` (or the spare) for the next run, replacing whatever is there.
    func checkIn(_ w: Workspace) { put(.workspace(w)) }
    func checkIn(_ a: Arena) { put(.spare(a)) }

    /// Empties the slot, returning what `fits` accepts; anything else is released here.
    private func take<T>(_ fits: (Entry) -> T?) -> T? {
        let old = slot.withLock { e -> Entry? in defer { e = nil }; return e }
        return old.flatMap(fits)
    }

    private func put(_ e: Entry) {
        let old = slot.withLock { s -> Entry? in defer { s = e }; return s }
        _ = old  // released outside the lock
    }
}
