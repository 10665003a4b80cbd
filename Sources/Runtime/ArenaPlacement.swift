// Arena placement: an offset for every item (bytes, alive from step `first` to `last`) such that
// items alive at the same step never share bytes, with the arena's top as low as possible.
// Why: the top is what a run allocates; the lower bound — the most bytes alive at one step — is
// what any placement needs, and fixed offsets can miss it when small long-lived values get pushed
// above the large short-lived ones around them.
// How: greedy best fit (TFLite's planner: items in a chosen order, each into the smallest gap
// between the already-placed items it overlaps in time, or above them all) over three orders —
// by size, by breadth (steps with the most live bytes first; TFLite's other strategy) and by
// lifetime — then a local search from the best: swap two items of the order, re-place from the
// first changed position, keep the swap if the top does not rise; stop at the lower bound or
// after `searchSteps` tries. Its random numbers come from a fixed seed, so plans are reproducible.
extension MemoryPlan {
    /// The most bytes alive at one step.
    static func lowerBound(_ items: [Item]) -> Int {
        let steps = (items.map(\.last).max() ?? -1) + 1
        var live = [Int](repeating: 0, count: max(steps, 1))
        for item in items { for s in item.first...item.last { live[s] += item.bytes } }
        return live.max() ?? 0
    }

    static func top(_ items: [Item]) -> Int { items.map { $0.offset + $0.bytes }.max() ?? 0 }

    static func place(_ items: inout [Item], searchSteps: Int = 2000) {
        guard !items.isEmpty else { return }
        let bound = lowerBound(items)
        let bySize = items.indices.sorted { (items[$0].bytes, -items[$0].first, -$0) > (items[$1].bytes, -items[$1].first, -$1) }
        let steps = (items.map(\.last).max() ?? 0) + 1
        var breadth = [Int](repeating: 0, count: steps)
        for item in items { for s in item.first...item.last { breadth[s] += item.bytes } }
        var byBreadth: [Int] = [], taken = Set<Int>()
        for s in (0..<steps).sorted(by: { (breadth[$0], -$0) > (breadth[$1], -$1) }) {
            for i in bySize where !taken.contains(i) && items[i].first <= s && s <= items[i].last {
                byBreadth.append(i)
                taken.insert(i)
            }
        }
        let byLifetime = items.indices.sorted {
            (items[$0].last - items[$0].first, items[$0].bytes, -$0) > (items[$1].last - items[$1].first, items[$1].bytes, -$1)
        }
        // Which items share a step with which: fixed, so computed once for every trial.
        var neighbours = [[Int]](repeating: [], count: items.count)
        for i in items.indices {
            for j in items.indices where j != i && items[j].first <= items[i].last && items[i].first <= items[j].last { neighbours[i].append(j) }
        }
        var best = items, bestOrder = bySize, bestTop = Int.max
        for order in [bySize, byBreadth, byLifetime] {
            var trial = items
            bestFit(&trial, order: order, from: 0, neighbours: neighbours)
            if top(trial) < bestTop { (best, bestOrder, bestTop) = (trial, order, top(trial)) }
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        var tries = 0
        while bestTop > bound && tries < searchSteps && items.count > 1 {
            tries += 1
            let a = random(items.count), b = random(items.count)
            guard a != b else { continue }
            var order = bestOrder
            order.swapAt(a, b)
            var trial = best  // offsets of order[..<min(a, b)] stay as they are
            bestFit(&trial, order: order, from: min(a, b), neighbours: neighbours)
            let t = top(trial)
            if t <= bestTop { (best, bestOrder, bestTop) = (trial, order, t) }
        }
        items = best
    }

    /// Places order[start...] by best fit, given the offsets of order[..<start].
    static func bestFit(_ items: inout [Item], order: [Int], from start: Int, neighbours: [[Int]]) {
        var placed = [Bool](repeating: false, count: items.count)
        for i in order[..<start] { placed[i] = true }
        var spans: [(offset: Int, end: Int)] = []
        for i in order[start...] {
            spans.removeAll(keepingCapacity: true)
            for j in neighbours[i] where placed[j] { spans.append((items[j].offset, items[j].offset + items[j].bytes)) }
            spans.sort { $0.offset < $1.offset }
            var best: (offset: Int, gap: Int)?
            var cursor = 0
            for s in spans {
                let gap = s.offset - cursor
                if gap >= items[i].bytes && (best == nil || gap < best!.gap) { best = (cursor, gap) }
                cursor = max(cursor, s.end)
            }
            items[i].offset = best?.offset ?? cursor
            placed[i] = true
        }
    }
}
