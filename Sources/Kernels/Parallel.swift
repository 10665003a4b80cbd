// Work splitting over Dispatch threads. Work is always cut into the same fixed pieces (their
// size depends on the problem, never on the thread count) and each piece is computed the same
// way whichever thread runs it, so results are bit-identical for any thread count.
import CBLAS
import CKernels
import Dispatch
import Synchronization

public enum Parallel {
    /// Runs `body(piece)` for every piece in 0..<pieces, on up to `threads` threads, each given its
    /// index (for per-thread scratch buffers). Threads claim the next piece from a shared counter,
    /// so a thread slowed by another process on the machine does not hold the others up; which
    /// thread runs a piece never changes what the piece computes, so results stay bit-identical.
    /// When the run is stopped (RunMonitor), the remaining pieces are skipped: the caller's
    /// result is then incomplete, and the runtime discards it.
    public static func forEach(pieces: Int, threads: Int, _ body: (_ piece: Int, _ thread: Int) -> Void) {
        let monitor = RunMonitor.current
        if let trace = monitor?.trace, pieces > 1, threads > 1 || trace.runThreads == 1, trace.enter() {
            defer { trace.leave() }
            let durations = UnsafeMutableBufferPointer<Double>.allocate(capacity: pieces)
            durations.initialize(repeating: 0)
            defer { durations.deallocate() }
            let start = DispatchTime.now().uptimeNanoseconds
            run(pieces: pieces, threads: threads, monitor: monitor) { p, t in
                let t0 = DispatchTime.now().uptimeNanoseconds
                body(p, t)
                durations[p] = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            }
            trace.record(threads: threads, wall: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, pieces: Array(durations))
            return
        }
        run(pieces: pieces, threads: threads, monitor: monitor, body)
    }

    private static func run(pieces: Int, threads: Int, monitor: RunMonitor?, _ body: (_ piece: Int, _ thread: Int) -> Void) {
        let workers = max(1, min(threads, pieces))
        if workers == 1 {
            for p in 0..<pieces {
                if monitor?.isStopped == true { return }
                body(p, 0)
            }
            return
        }
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { t in
            while true {
                let p = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if p >= pieces || monitor?.isStopped == true { break }
                body(p, t)
            }
        }
    }
}

/// Row-major single-precision GEMM through OpenBLAS, which is pinned to one thread: our own
/// Dispatch threads split the work, so the two never oversubscribe the cores.
public enum GEMM {
    private static let pinned: Void = { openblas_set_num_threads(1) }()

    /// C[m×n] (row stride ldc) = op(A)·op(B) (+ C if accumulate): A is m×k (k×m if transA),
    /// B is k×n (n×k if transB). Our own kernel (gemm.c), not cblas_sgemm: each element is
    /// the same function of its row of A and column of B whatever the call's shape, so a window
    /// of a layer equals the same pixels of the whole layer bit for bit (hole-aware runs), and
    /// results never depend on how work is cut. About 0.85–1.0× OpenBLAS's speed on the forward
    /// kernels' shapes (Docs/performance.md).
    public static func multiply(m: Int, n: Int, k: Int,
                                a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                                b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                                c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
        guard m > 0, n > 0 else { return }
        fg_sgemm(m, n, k, a, transA ? 1 : lda, transA ? lda : 1, b, transB ? 1 : ldb, transB ? ldb : 1, c, ldc, accumulate ? 1 : 0)
    }

    /// The same product by OpenBLAS (kept at one thread; our threads split the work): for the
    /// gradient kernels, whose transposed shapes it runs faster and which no window reads.
    public static func blas(m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                            b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                            c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
        _ = pinned
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
    }

    /// The same product cut into a grid of blocks of C run in parallel: about `pieces` blocks (so
    /// 32 threads have work), each at least 64×64 and a multiple of 16 wide, rows and columns cut
    /// evenly. Only m and n are cut, never k, so every element of C is the same dot product in
    /// the same order as in one call; the grid depends on the shape alone, so the result is the
    /// same for any thread count. `useBLAS`: OpenBLAS blocks (gradient kernels).
    public static func multiplyParallel(m: Int, n: Int, k: Int,
                                        a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                                        b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                                        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false, threads: Int, pieces: Int = 64,
                                        useBLAS: Bool = false) {
        guard m > 0, n > 0 else { return }
        let (rows, columns) = grid(m: m, n: n, pieces: pieces)
        // Blocks in whole 6 × 16 register tiles of gemm.c (no element depends on the cut).
        let rowStep = ((m + rows - 1) / rows + 5) / 6 * 6, columnStep = ((n + columns - 1) / columns + 15) / 16 * 16
        let rowParts = (m + rowStep - 1) / rowStep, columnParts = (n + columnStep - 1) / columnStep
        Parallel.forEach(pieces: rowParts * columnParts, threads: threads) { p, _ in
            let i0 = (p / columnParts) * rowStep, j0 = (p % columnParts) * columnStep
            let height = min(rowStep, m - i0), width = min(columnStep, n - j0)
            guard height > 0, width > 0 else { return }
            let product = useBLAS ? blas : multiply
            product(height, width, k, transA ? a + i0 : a + i0 * lda, lda, transA,
                    transB ? b + j0 * ldb : b + j0, ldb, transB, c + i0 * ldc + j0, ldc, accumulate)
        }
    }

    /// Floats of A (m × k) packed by `pack`.
    public static func packedFloats(m: Int, k: Int) -> Int { fg_sgemm_packed_a_floats(m, k) }

    /// A (m × k, row stride lda) packed once for `multiplyPrepacked`: for a matrix that
    /// multiplies many B (Winograd's transformed weights).
    public static func pack(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, into packed: UnsafeMutablePointer<Float>) {
        fg_sgemm_pack_a(m, k, a, lda, 1, packed)
    }

    /// `multiply` with A packed by `pack`: the same bits.
    public static func multiplyPrepacked(m: Int, n: Int, k: Int, packedA: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                         c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
        fg_sgemm_prepacked(m, n, k, packedA, b, ldb, 1, c, ldc, accumulate ? 1 : 0)
    }

    /// The same product (own kernel) with B packed once, in parallel, and C cut into about
    /// `pieces` blocks of whole rows, each thread packing only its rows of A: for tall products
    /// (m ≥ 6·pieces) whose B a block grid would pack once per row block. Elements equal
    /// `multiply`'s bit for bit, for any thread count.
    public static func multiplyRows(m: Int, n: Int, k: Int,
                                    a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                                    b: UnsafePointer<Float>, ldb: Int,
                                    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false, threads: Int, pieces: Int = 64) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else { return multiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate) }
        // B packed a slab of k at a time, so the shared copy stays near 8 MiB: slabs of whole
        // 512-row k blocks add up exactly as one product.
        let slab = min(k, max(512, (1 << 21) / fg_sgemm_packed_floats(n, 1) / 512 * 512))
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: fg_sgemm_packed_floats(n, slab))
        defer { packed.deallocate() }
        // Rows in whole 6-row register tiles (no element depends on the cut).
        let rowStep = ((m + pieces - 1) / pieces + 5) / 6 * 6
        for p0 in stride(from: 0, to: k, by: slab) {
            let kk = min(slab, k - p0), panels = fg_sgemm_packed_panels(n, kk), perPiece = max(1, (panels + pieces - 1) / pieces)
            let bs = b + p0 * ldb, adds = accumulate || p0 > 0
            Parallel.forEach(pieces: (panels + perPiece - 1) / perPiece, threads: threads) { p, _ in
                fg_sgemm_pack_b(n, kk, bs, ldb, 1, packed, p * perPiece, min(panels, (p + 1) * perPiece))
            }
            Parallel.forEach(pieces: (m + rowStep - 1) / rowStep, threads: threads) { p, _ in
                let i0 = p * rowStep, height = min(rowStep, m - i0)
                let ai = transA ? a + p0 * lda + i0 : a + i0 * lda + p0
                fg_sgemm_packed(height, n, kk, ai, transA ? 1 : lda, transA ? lda : 1, packed, c + i0 * ldc, ldc, adds ? 1 : 0)
            }
        }
    }

    /// Row and column block counts: near-square blocks of about m·n/pieces elements, no side under 64.
    public static func grid(m: Int, n: Int, pieces: Int) -> (rows: Int, columns: Int) {
        let side = max(64.0, (Double(m) * Double(n) / Double(max(1, pieces))).squareRoot())
        return (max(1, min(m / 64, Int((Double(m) / side).rounded()))), max(1, min(n / 64, Int((Double(n) / side).rounded()))))
    }
}

/// Hands out 64-byte-aligned float buffers from one region in order (a bump allocator): a kernel
/// that needs several scratch buffers takes them from the runtime's arena slice, or from a region
/// it allocated itself when called without one.
public struct ScratchRegion {
    private var next: UnsafeMutableRawPointer
    private let end: UnsafeMutableRawPointer

    public init(_ base: UnsafeMutableRawPointer, bytes: Int) {
        next = base
        end = base + bytes
    }

    /// Bytes a sequence of `take` calls of these float counts needs.
    public static func bytes(_ counts: [Int]) -> Int { counts.reduce(0) { $0 + ($1 * 4 + 63) / 64 * 64 } }

    /// A buffer of `count` floats; nil when the region is exhausted (the caller then allocates).
    public mutating func take(_ count: Int) -> UnsafeMutablePointer<Float>? {
        let bytes = (max(count, 1) * 4 + 63) / 64 * 64
        guard end - next >= bytes else { return nil }
        defer { next += bytes }
        return next.assumingMemoryBound(to: Float.self)
    }
}
