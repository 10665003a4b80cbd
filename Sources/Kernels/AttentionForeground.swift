// Which foreground positions a run of contextual attention matches, and in what pieces.
// A whole run matches every position, in chunks of whole grid rows (ContextualAttentionKernel.
// Chunking). A window of the output (hole-aware runs) needs only the positions whose pasted
// (2·rate)² patches reach it: a box of the grid. It keeps the whole run's chunk rows — the
// paste adds a chunk's terms tap by tap, so a chunk boundary decides the order of a pixel's
// terms — and, to keep memory near the window's size, takes the raw background patches in
// blocks of 4,096 (a multiple of the GEMM's k block, so the products add up exactly as one).

typealias WindowBox = (y0: Int, y1: Int, x0: Int, x1: Int)

struct AttentionForeground {
    /// Positions per whole-run chunk (whole grid rows).
    let chunk: Int
    /// The grid rows and columns matched.
    let rows: Range<Int>, columns: Range<Int>
    let isWindow: Bool
    /// The most positions one chunk matches, and the most whose raw scores it needs.
    let chunkPositions: Int, halo: Int
    /// About the most positions whose raw scores a chunk hands to the next (the fuse's 2·pad
    /// shared rows; a rare wrap-around beyond it gets a buffer of its own).
    let carry: Int
    let rowLength: Int, positionCount: Int

    static let rawBlock = 4096

    init(_ p: AttentionParameters, fh: Int, fw: Int, L: Int, chunking: ContextualAttentionKernel.Chunking, window: WindowBox?) {
        let fdh = fh / p.rate, fdw = fw / p.rate, P = fdh * fdw, pad = p.fuse ? (p.fuseK - 1) / 2 : 0
        chunk = ContextualAttentionKernel.chunkPositions(L: L, P: P, rowLength: fdw, chunking)
        isWindow = window != nil
        rowLength = fdw
        positionCount = P
        guard let w = window else {
            rows = 0..<fdh
            columns = 0..<fdw
            chunkPositions = chunk
            halo = ContextualAttentionKernel.haloPositions(P: P, chunk: chunk, pad: pad, rowLength: fdw, rows: fdh)
            carry = pad == 0 ? 0 : min(halo, 2 * pad * (fdw + 2 * pad) + 4 * pad * (pad + 1))
            return
        }
        // Grid position g pastes rows g·rate − pad ..< g·rate − pad + 2·rate (TF 'SAME').
        let total = { (n: Int) in max((n / p.rate - 1) * p.rate + 2 * p.rate - n, 0) / 2 }
        func reach(_ lo: Int, _ hi: Int, pad: Int, grid: Int) -> Range<Int> {
            let first = (0..<grid).first { $0 * p.rate - pad + 2 * p.rate > lo } ?? grid
            let end = (0..<grid).last { $0 * p.rate - pad < hi }.map { $0 + 1 } ?? 0
            return first..<max(first, end)
        }
        rows = reach(w.y0, w.y1, pad: total(fh), grid: fdh)
        columns = reach(w.x0, w.x1, pad: total(fw), grid: fdw)
        let r = min(max(1, chunk / max(1, fdw)), rows.count), c = columns.count
        chunkPositions = max(1, r * c)
        // The fuse's neighbours within `pad` in both flattenings, wrap-arounds at the grid's ends.
        halo = min(P, (r + 4 * pad) * (c + 4 * pad) + 4 * pad * (r + c))
        carry = pad == 0 ? 0 : min(halo, 2 * pad * (c + 2 * pad) + 4 * pad * (pad + 1))
    }

    typealias Chunk = (o0: Int, positions: [Int], segments: [(first: Int, count: Int, column: Int)])

    /// The chunks a run matches, in order: the first position of the whole run's chunk, the
    /// positions matched (for a window, its part of the chunk's rows) and their runs (first
    /// position, count, column) for the paste. Chunks with nothing to match are left out.
    func chunks() -> [Chunk] {
        var out: [Chunk] = []
        let P = positionCount, fdw = rowLength
        for o0 in stride(from: 0, to: P, by: chunk) {
            let o1 = min(P, o0 + chunk)
            guard isWindow else {
                out.append((o0, Array(o0..<o1), [(o0, o1 - o0, 0)]))
                continue
            }
            var positions: [Int] = [], segments: [(first: Int, count: Int, column: Int)] = []
            let first = max(o0 / fdw, rows.lowerBound), end = max(first, min((o1 + fdw - 1) / fdw, rows.upperBound))
            for gy in first..<end where !columns.isEmpty {
                segments.append((gy * fdw + columns.lowerBound, columns.count, positions.count))
                positions += (gy * fdw + columns.lowerBound)..<(gy * fdw + columns.upperBound)
            }
            if !positions.isEmpty { out.append((o0, positions, segments)) }
        }
        return out
    }

    /// Columns of raw patches held at once: all of them for a whole run, else blocks.
    func rawColumns(_ usable: Int) -> Int { isWindow ? min(usable, Self.rawBlock) : usable }
}
