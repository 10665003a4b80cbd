// A run's workspace: the verified graph at concrete sizes, its memory plan and the arena,
// kept by the executor for the next run of the same sizes and thread count.
// Why: planning takes milliseconds, and a fresh arena costs a page fault per 4 KiB on first
// touch (about a tenth of a 256² run); PyTorch's and ONNX Runtime's allocators keep their pools
// between runs too. A workspace serves one run at a time: a run checks it out, and a run that
// starts meanwhile on the same executor builds its own.
import GraphIR
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
    let arena: UnsafeMutableRawPointer?

    init(key: Key, typed: TypedGraph, plan: MemoryPlan, ownArena: Bool = true) {
        self.key = key
        self.typed = typed
        self.plan = plan
        arena = ownArena ? UnsafeMutableRawPointer.allocate(byteCount: max(plan.arenaBytes, MemoryPlan.alignment), alignment: MemoryPlan.alignment) : nil
    }

    deinit { arena?.deallocate() }
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

/// The executor's one cached workspace.
final class WorkspaceCache: Sendable {
    private let slot = Mutex<Workspace?>(nil)

    /// The cached workspace if it fits `key` (removing it from the cache until `checkIn`).
    func checkOut(_ key: Workspace.Key) -> Workspace? {
        slot.withLock { cached in
            guard let w = cached, w.key == key else { return nil }
            cached = nil
            return w
        }
    }

    /// Keeps `w` for the next run (replacing a workspace of other sizes).
    func checkIn(_ w: Workspace) { slot.withLock { $0 = w } }
}
