// Buffer planning: every value of a run, and each kernel's scratch (im2col/Winograd panels,
// attention chunks), gets an
// offset in one arena, computed before anything is allocated.
// Why: a value per malloc leaves the allocator to guess, and fragments; an offline plan over the
// known schedule packs values whose lifetimes do not overlap into the same bytes (TFLite's arena
// planner, XLA's heap simulator).
// How: liveness over the executor's order (a value lives from the step that writes it to its
// last reader; graph inputs from the start, outputs to the end; scratch only during its node);
// an elementwise node whose input dies there writes over that input in place (one item, the
// lifetimes joined); then offsets by greedy best fit plus a short local search
// (ArenaPlacement.swift), all 64-byte aligned. The plan is judged against the lower bound: the
// largest sum of bytes live at one step. Contextual attention's chunk buffers (bounded: see
// ContextualAttentionKernel.chunkFloats) are its node's scratch like a convolution's.
import GraphIR
import Kernels

struct MemoryPlan {
    struct Item {
        var bytes: Int
        var first: Int
        var last: Int
        var offset = 0
    }

    static let alignment = 64

    /// Arena offset of each value, and of each node's scratch (by node index).
    var valueOffsets: [ValueRef: Int] = [:]
    var scratchOffsets: [Int: Int] = [:]
    var arenaBytes = 0
    var lowerBoundBytes = 0
    var useCounts: [ValueRef: Int] = [:]
    var largestNeed = ""

    /// Everything the run needs at its peak: the arena (every kernel's scratch is in it).
    var peakBytes: Int { arenaBytes }

    init(_ typed: TypedGraph, threads: Int) {
        let graph = typed.graph
        func bytes(_ r: ValueRef) -> Int { Self.aligned(typed.type(of: r).concreteShape!.reduce(4, *)) }
        for node in graph.nodes { for r in node.inputs { useCounts[r, default: 0] += 1 } }
        let outputs = Set(graph.outputs.map(\.value))
        let steps = typed.order.count
        var lastUse: [ValueRef: Int] = [:]
        for (step, i) in typed.order.enumerated() { for r in graph.nodes[i].inputs { lastUse[r] = step } }

        var items: [Item] = []
        var itemOf: [ValueRef: Int] = [:]
        for input in graph.inputs {
            let r = ValueRef(input.name)
            itemOf[r] = items.count
            items.append(Item(bytes: bytes(r), first: 0, last: outputs.contains(r) ? steps : lastUse[r] ?? 0))
        }
        var scratchItem: [Int: Int] = [:]
        var largest = 0
        for (step, i) in typed.order.enumerated() {
            let node = graph.nodes[i]
            let scratch = Self.aligned(Self.arenaScratch(node, typed, threads: threads))
            if scratch > 0 {
                scratchItem[i] = items.count
                items.append(Item(bytes: scratch, first: step, last: step))
            }
            var produced = 0
            for k in 0..<node.op.contract.outputNames.count {
                let r = ValueRef(node.name, output: k)
                let end = outputs.contains(r) ? steps : lastUse[r] ?? step
                produced += bytes(r)
                if k == 0, let donor = Self.inPlaceDonor(node, typed, step: step, lastUse: lastUse, outputs: outputs, itemOf: itemOf, items: items) {
                    items[donor].last = max(items[donor].last, end)
                    itemOf[r] = donor
                    continue
                }
                itemOf[r] = items.count
                items.append(Item(bytes: bytes(r), first: step, last: end))
            }
            if produced + scratch > largest {
                largest = produced + scratch
                largestNeed = "\(node.name) (\(node.op.name)) \(Self.format(produced + scratch))"
            }
        }
        lowerBoundBytes = Self.lowerBound(items)
        Self.place(&items)
        arenaBytes = items.map { $0.offset + $0.bytes }.max() ?? 0
        for (r, k) in itemOf { valueOffsets[r] = items[k].offset }
        for (i, k) in scratchItem { scratchOffsets[i] = items[k].offset }
    }

    /// The input an elementwise node may overwrite: same size as the output, read for the last
    /// time here, not a graph input or output, and not shared with another live value.
    static func inPlaceDonor(_ node: Node, _ typed: TypedGraph, step: Int, lastUse: [ValueRef: Int], outputs: Set<ValueRef>,
                             itemOf: [ValueRef: Int], items: [Item]) -> Int? {
        switch node.op {
        case .unary, .binary, .composite: break
        default: return nil
        }
        let out = typed.outputTypes(of: node)[0].concreteShape!
        let inputs = Set(typed.graph.inputs.map { ValueRef($0.name) })
        for r in node.inputs where lastUse[r] == step && !outputs.contains(r) && !inputs.contains(r) {
            guard typed.type(of: r).concreteShape! == out, let k = itemOf[r], items[k].last == step,
                  node.inputs.filter({ $0 == r }).count == 1 else { continue }
            return k
        }
        return nil
    }

    static func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Scratch the node's kernel takes from the arena (convolution tiles and staged gate rows,
    /// contextual attention's chunk buffers).
    static func arenaScratch(_ node: Node, _ typed: TypedGraph, threads: Int) -> Int {
        if case .contextualAttention(let a) = node.op {
            let ins = typed.inputTypes(of: node).map { $0.concreteShape! }
            let f = ins[0], b = ins[1]
            return ContextualAttentionKernel.scratchBytes(a.parameters, channels: f[1], fh: f[2], fw: f[3], bh: b[2], bw: b[3])
        }
        guard case .conv2d(let c) = node.op else { return 0 }
        let g = c.geometry(input: typed.inputTypes(of: node)[0].concreteShape!)
        if c.runsWinograd(g) { return Winograd.scratchBytes(g, threads: threads) }
        if c.runsSubpixel(g) { return SubpixelConvolution.scratchBytes(g, threads: threads) }
        return Convolution.scratchBytes(g, epilogue: c.fused.epilogue, threads: threads)
    }

    static func format(_ bytes: Int) -> String {
        let mib = Double(bytes) / 1_048_576
        return mib >= 1024 ? String(format: "%.1f GiB", mib / 1024) : String(format: "%.0f MiB", max(mib, 1))
    }
}

/// The plan's numbers for one input size, as `graphc compile --report` prints them and model.bin keeps them.
public struct MemoryPlanSummary: Sendable {
    public var arenaBytes: Int
    public var lowerBoundBytes: Int
    public var ratio: Double { lowerBoundBytes > 0 ? Double(arenaBytes) / Double(lowerBoundBytes) : 1 }
}

extension MemoryPlanSummary {
    /// Plans a graph's arena for an input of height × width (batch 1); needs no weights.
    public init(graph: Graph, height: Int, width: Int, threads: Int) throws {
        let plan = MemoryPlan(try Verifier.verify(graph, bindings: graph.bindings(height: height, width: width)), threads: threads)
        self.init(arenaBytes: plan.arenaBytes, lowerBoundBytes: plan.lowerBoundBytes)
    }
}

/// The placement on its own, for tests and tools: offsets for items given as (bytes, first step,
/// last step), and the arena size.
public enum ArenaPlanner {
    public static func place(_ items: [(bytes: Int, first: Int, last: Int)]) -> (offsets: [Int], arenaBytes: Int) {
        var planned = items.map { MemoryPlan.Item(bytes: MemoryPlan.aligned($0.bytes), first: $0.first, last: $0.last) }
        MemoryPlan.place(&planned)
        return (planned.map(\.offset), planned.map { $0.offset + $0.bytes }.max() ?? 0)
    }
}
