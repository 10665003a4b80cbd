// Which scores contextual attention actually needs, and computing them a chunk at a time.
//
// The official fuse is two identity-kernel passes over the L × P score matrix: first along
// diagonals of the row-major flattening of both grids, then along diagonals of the column-major
// flattening (wrapping at row and column ends, as the original reshapes do). So the fused score
// of (patch l, position o) depends on raw scores within `pad` steps of l and o in both
// flattenings. AttentionPlan works out, from the mask, which patches are usable (the only ones
// the softmax and the paste keep), which need first-pass values (usable ones and their
// column-major neighbours) and which need raw scores (those and their row-major neighbours).
// AttentionScores does the same for the foreground positions of one chunk, computes just those
// scores, and applies the softmax with the disabled patches' terms added analytically.
import CKernels

struct AttentionPlan {
    struct Run {
        var start: Int
        var count: Int
        /// Index of `start` in the compacted list.
        var offset: Int
    }

    let L: Int, P: Int, pad: Int
    let background: (h: Int, w: Int), foreground: (h: Int, w: Int)
    let valid: [Int], needed: [Int], firstPass: [Int]
    let neededRow: [Int32], firstPassRow: [Int32]
    let validRuns: [Run], neededRuns: [Run]
    /// Per first-pass patch and tap a: the needed-row of patch l + a (−1 outside); per usable
    /// patch and tap: the first-pass row of its column-major neighbour a (−1 outside).
    let firstPassTaps: [Int32], validTaps: [Int32]

    init(usable: [Bool], background: (Int, Int), foreground: (Int, Int), pad: Int) {
        L = usable.count
        P = foreground.0 * foreground.1
        self.pad = pad
        self.background = background
        self.foreground = foreground
        valid = usable.indices.filter { usable[$0] }
        var first = [Bool](repeating: false, count: L), need = usable
        if pad > 0 {
            let grid = background
            for l in valid { Self.neighbours(columnMajor: l, pad: pad, grid: grid, count: L) { first[$0] = true } }
            for l in 0..<L where first[l] { for a in -pad...pad where l + a >= 0 && l + a < L { need[l + a] = true } }
        }
        firstPass = first.indices.filter { first[$0] }
        needed = need.indices.filter { need[$0] }
        neededRow = Self.index(needed, count: L)
        firstPassRow = Self.index(firstPass, count: L)
        validRuns = Self.runs(valid)
        neededRuns = Self.runs(needed)
        let taps = 2 * pad + 1, count = L
        var ft = [Int32](repeating: -1, count: firstPass.count * taps)
        var vt = [Int32](repeating: -1, count: pad > 0 ? valid.count * taps : 0)
        if pad > 0 {
            for (i, l) in firstPass.enumerated() {
                for a in -pad...pad where l + a >= 0 && l + a < count { ft[i * taps + a + pad] = neededRow[l + a] }
            }
            for (v, l) in valid.enumerated() {
                let q = Self.columnMajor(l, background)
                for a in -pad...pad where q + a >= 0 && q + a < count {
                    vt[v * taps + a + pad] = firstPassRow[Self.rowMajor(q + a, background)]
                }
            }
        }
        firstPassTaps = ft
        validTaps = vt
    }

    /// Row-major index → column-major index on a (h, w) grid, and back.
    @inline(__always) static func columnMajor(_ i: Int, _ grid: (h: Int, w: Int)) -> Int { (i % grid.w) * grid.h + i / grid.w }
    @inline(__always) static func rowMajor(_ q: Int, _ grid: (h: Int, w: Int)) -> Int { (q % grid.h) * grid.w + q / grid.h }

    /// Calls body(row-major index) for the column-major neighbours within ±pad of i (itself included).
    @inline(__always) static func neighbours(columnMajor i: Int, pad: Int, grid: (h: Int, w: Int), count: Int, _ body: (Int) -> Void) {
        let q = columnMajor(i, grid)
        for a in -pad...pad where q + a >= 0 && q + a < count { body(rowMajor(q + a, grid)) }
    }

    static func index(_ list: [Int], count: Int) -> [Int32] {
        var map = [Int32](repeating: -1, count: count)
        for (k, i) in list.enumerated() { map[i] = Int32(k) }
        return map
    }

    /// Maximal runs of consecutive indices in a sorted list.
    static func runs(_ list: [Int]) -> [Run] {
        var out: [Run] = []
        for (k, i) in list.enumerated() {
            if let last = out.last, last.start + last.count == i { out[out.count - 1].count += 1 } else { out.append(Run(start: i, count: 1, offset: k)) }
        }
        return out
    }
}

/// Score buffers for one chunk of foreground positions, reused across chunks. They come from the
/// kernel's scratch region, sized for the worst chunk (`halo` positions); a buffer that would
/// still outgrow its slice is replaced by an allocation of its own.
struct AttentionScores {
    let plan: AttentionPlan
    private var capacity: (columns: Int, raw: Int, first: Int, carry: Int)
    private var matchColumns: UnsafeMutablePointer<Float>
    private var raw: UnsafeMutablePointer<Float>
    private var first: UnsafeMutablePointer<Float>
    private var owned: [UnsafeMutablePointer<Float>] = []
    /// [valid patches, positions of the chunk]: fused scores, then softmax weights. With the
    /// fuse they are written over the raw scores, which the second pass no longer reads (the
    /// chunk's memory is two score matrices, not three); without it, into a buffer of their own.
    var weights: UnsafeMutablePointer<Float> { fusedIntoRaw ? raw : unfused }
    private var unfused: UnsafeMutablePointer<Float>
    private var fusedIntoRaw = false
    private var width = 0
    private var rawColumn: [Int32], firstColumn: [Int32]
    /// Raw-score columns [needed patches, carried positions] handed on by the previous chunk of
    /// the same batch element: the fuse's halo rows two chunks share are matched once.
    private var carry: UnsafeMutablePointer<Float>
    private var carried: [Int] = []
    private var carryColumn: [Int32]

    /// Floats of each buffer, in the order `init` takes them from the region (the unfused
    /// weights only without the fuse; with it they are written over the raw scores).
    static func floats(L: Int, kd: Int, chunk: Int, halo: Int, carry: Int, fused: Bool) -> [Int] {
        [kd * halo, L * halo, L * halo, fused ? 0 : L * chunk, L * carry]
    }

    init(plan: AttentionPlan, kd: Int, chunk: Int, halo: Int, carry: Int, region: inout ScratchRegion) {
        self.plan = plan
        let f = Self.floats(L: plan.L, kd: kd, chunk: chunk, halo: halo, carry: carry, fused: plan.pad > 0)
        var owned: [UnsafeMutablePointer<Float>] = []
        func take(_ n: Int) -> UnsafeMutablePointer<Float> {
            if let p = region.take(n) { return p }
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            owned.append(p)
            return p
        }
        matchColumns = take(f[0])
        raw = take(f[1])
        first = take(f[2])
        unfused = take(plan.pad > 0 ? 0 : max(f[3], plan.valid.count * chunk))
        self.carry = take(f[4])
        capacity = (f[0], f[1], f[2], f[4])
        self.owned = owned
        rawColumn = [Int32](repeating: -1, count: plan.P)
        firstColumn = [Int32](repeating: -1, count: plan.P)
        carryColumn = [Int32](repeating: -1, count: plan.P)
    }

    func release() { for p in owned { p.deallocate() } }

    private static func grow(_ p: inout UnsafeMutablePointer<Float>, _ have: inout Int, _ need: Int, _ owned: inout [UnsafeMutablePointer<Float>]) {
        guard need > have else { return }
        p = .allocate(capacity: need)
        owned.append(p)
        have = need
    }

    /// The foreground positions whose first-pass values, then raw scores, the fuse needs for
    /// `positions` (sorted, unique).
    func halo(of positions: [Int], pad: Int) -> (first: [Int], raw: [Int]) {
        guard pad > 0 else { return ([], positions) }
        let P = plan.P, fg = plan.foreground
        var mark = [Bool](repeating: false, count: P)
        for o in positions { AttentionPlan.neighbours(columnMajor: o, pad: pad, grid: fg, count: P) { mark[$0] = true } }
        let firstSet = mark.indices.filter { mark[$0] }
        var rawMark = [Bool](repeating: false, count: P)
        for q in firstSet { for a in -pad...pad where q + a >= 0 && q + a < P { rawMark[q + a] = true } }
        return (firstSet, rawMark.indices.filter { rawMark[$0] })
    }

    /// Fused (if `fuse`) but not yet masked or normalised scores of every usable patch against
    /// foreground positions `positions`, into `weights`. `next`: the positions of the next chunk
    /// of the same batch element, whose shared raw scores are kept for it (raw scores are GEMM
    /// elements, the same bits wherever they are computed).
    mutating func compute(positions: [Int], next: [Int]?, matching w: UnsafePointer<Float>, kd: Int, foreground: UnsafePointer<Float>,
                          geometry fGeo: ConvGeometry, fuse: Bool, threads: Int) {
        let plan = self.plan, pad = fuse ? plan.pad : 0, P = plan.P, fg = plan.foreground
        width = positions.count
        let (firstSet, rawSet) = halo(of: positions, pad: pad)
        // Raw-score columns: the positions matched now, then those the previous chunk handed on.
        let kept = rawSet.filter { carryColumn[$0] >= 0 }, fresh = kept.isEmpty ? rawSet : rawSet.filter { carryColumn[$0] < 0 }
        for (k, q) in fresh.enumerated() { rawColumn[q] = Int32(k) }
        for (k, q) in kept.enumerated() { rawColumn[q] = Int32(fresh.count + k) }
        for (k, q) in firstSet.enumerated() { firstColumn[q] = Int32(k) }
        defer {
            for q in rawSet { rawColumn[q] = -1 }
            for q in firstSet { firstColumn[q] = -1 }
        }
        let R = rawSet.count, Ln = plan.needed.count, F0 = fresh.count
        Self.grow(&matchColumns, &capacity.columns, kd * F0, &owned)
        Self.grow(&raw, &capacity.raw, Ln * R, &owned)
        Im2Col.expand(fGeo, image: foreground, runs: AttentionPlan.runs(fresh).map { ($0.start, $0.count, $0.offset) },
                      into: matchColumns, ld: F0, threads: threads)
        GEMM.multiplyRows(m: Ln, n: F0, k: kd, a: w, lda: Ln, transA: true, b: matchColumns, ldb: F0, c: raw, ldc: R, threads: threads)
        if !kept.isEmpty {
            Self.copyColumns(from: carry, ld: carried.count, columns: kept.map { Int(carryColumn[$0]) }, to: raw + F0, ld: R, rows: Ln,
                             threads: threads)
        }
        for q in carried { carryColumn[q] = -1 }
        carried = []

        fusedIntoRaw = pad > 0
        let raw = UnsafePointer(self.raw), out = weights, W = width, taps = 2 * pad + 1
        let rawColumn = self.rawColumn, firstColumn = self.firstColumn
        guard pad > 0 else {
            let columns = positions.map { Int(rawColumn[$0]) }
            Parallel.forEach(pieces: plan.valid.count, threads: threads) { v, _ in
                let src = raw + Int(plan.neededRow[plan.valid[v]]) * R
                for j in 0..<W { out[v * W + j] = src[columns[j]] }
            }
            return
        }
        // Column tables per tap a (−1 = outside the grid), so the sums below are plain gathers.
        // First pass: diagonals of the row-major flattenings (patch l + a, position q + a).
        let Q = firstSet.count, F = plan.firstPass.count
        var firstTaps = [Int32](repeating: -1, count: taps * Q)
        for (j, q) in firstSet.enumerated() {
            for a in -pad...pad where q + a >= 0 && q + a < P { firstTaps[(a + pad) * Q + j] = rawColumn[q + a] }
        }
        Self.grow(&first, &capacity.first, F * Q, &owned)
        let firstPass = first
        let firstRuns = (0..<taps).map { Self.contiguousRuns(firstTaps, from: $0 * Q, count: Q) }
        Parallel.forEach(pieces: F, threads: threads) { i, _ in
            let row = firstPass + i * Q
            row.update(repeating: 0, count: Q)
            for t in 0..<taps {
                let r = plan.firstPassTaps[i * taps + t]
                if r < 0 { continue }
                Self.add(raw + Int(r) * R, runs: firstRuns[t], into: row)
            }
        }
        // Hand the raw scores the next chunk also needs on, before the second pass overwrites them.
        if let next {
            let shared = halo(of: next, pad: pad).raw.filter { rawColumn[$0] >= 0 }
            Self.grow(&carry, &capacity.carry, Ln * shared.count, &owned)
            Self.copyColumns(from: raw, ld: R, columns: shared.map { Int(rawColumn[$0]) }, to: carry, ld: shared.count, rows: Ln, threads: threads)
            for (k, q) in shared.enumerated() { carryColumn[q] = Int32(k) }
            carried = shared
        }
        // Second pass: diagonals of the column-major flattenings, for usable patches only.
        var secondTaps = [Int32](repeating: -1, count: taps * W)
        for (j, o) in positions.enumerated() {
            let qo = AttentionPlan.columnMajor(o, fg)
            for a in -pad...pad where qo + a >= 0 && qo + a < P {
                secondTaps[(a + pad) * W + j] = firstColumn[AttentionPlan.rowMajor(qo + a, fg)]
            }
        }
        let secondRuns = (0..<taps).map { Self.contiguousRuns(secondTaps, from: $0 * W, count: W) }
        Parallel.forEach(pieces: plan.valid.count, threads: threads) { v, _ in
            let row = out + v * W
            row.update(repeating: 0, count: W)
            for t in 0..<taps {
                let r = plan.validTaps[v * taps + t]
                if r < 0 { continue }
                Self.add(UnsafePointer(firstPass) + Int(r) * Q, runs: secondRuns[t], into: row)
            }
        }
    }

    /// dst[r·ldDst + j] = src[r·ldSrc + columns[j]] for rows 0 ..< rows.
    static func copyColumns(from src: UnsafePointer<Float>, ld ldSrc: Int, columns: [Int], to dst: UnsafeMutablePointer<Float>, ld ldDst: Int,
                            rows: Int, threads: Int) {
        let block = 128  // 24 pieces for 3,072 patches, so many threads share the copy
        columns.withUnsafeBufferPointer { cols in
            Parallel.forEach(pieces: (rows + block - 1) / block, threads: threads) { piece, _ in
                for r in piece * block..<min(rows, (piece + 1) * block) {
                    let s = src + r * ldSrc, d = dst + r * ldDst
                    for j in cols.indices { d[j] = s[cols[j]] }
                }
            }
        }
    }

    /// A column table (source column per destination column, −1 for none) as runs where the
    /// source columns are consecutive: (first destination, count, first source). Inside the
    /// grids the fuse's shifted columns are consecutive, so a tap is a few contiguous adds.
    static func contiguousRuns(_ table: [Int32], from start: Int, count: Int) -> [(j: Int, n: Int, c: Int)] {
        var runs: [(j: Int, n: Int, c: Int)] = []
        for j in 0..<count {
            let c = Int(table[start + j])
            if c < 0 { continue }
            if let last = runs.last, last.j + last.n == j, last.c + last.n == c { runs[runs.count - 1].n += 1 } else { runs.append((j, 1, c)) }
        }
        return runs
    }

    /// row[j + k] += src[c + k] over every run: the same additions, in the same order per
    /// element, as the element-by-element gather.
    @inline(__always) static func add(_ src: UnsafePointer<Float>, runs: [(j: Int, n: Int, c: Int)], into row: UnsafeMutablePointer<Float>) {
        for run in runs {
            let d = row + run.j, s = src + run.c
            for k in 0..<run.n { d[k] += s[k] }
        }
    }

    /// In place on `weights`: softmax over all L patches of scale·score·mm, times mm, where the
    /// disabled patches (mm = 0, not stored) each contribute exp(0 − max) to the denominator.
    /// argmax[j] = the first patch with the largest weight (0 if every weight is 0).
    func softmax(scale: Float, argmax: UnsafeMutablePointer<Int32>, threads: Int) {
        let plan = self.plan, V = plan.valid.count, masked = plan.L - V, W = width, s = weights
        // Blocks of 16 columns (one cache line of each score row): 84 pieces for a 1344-wide chunk.
        // Never split over v: max, sum and the first argmax must see the patches in order.
        let block = 16
        let index = plan.valid.map { Int32($0) }
        index.withUnsafeBufferPointer { index in
            Parallel.forEach(pieces: (W + block - 1) / block, threads: threads) { piece, _ in
                let j0 = piece * block
                fg_softmax_columns(s + j0, W, min(block, W - j0), V, scale, masked, index.baseAddress, argmax + j0)
            }
        }
    }
}
