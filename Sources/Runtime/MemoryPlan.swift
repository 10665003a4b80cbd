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
// ContextualAttentionKernel.Chunking) are its node's scratch like a convolution's. It plans
// the schedule's steps (Schedule.swift): fused and elided nodes have no step of their own.
import Foundation
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

    let schedule: Schedule
    /// Arena offset of each materialised value, and of each step's scratch (by step index).
    var valueOffsets: [ValueRef: Int] = [:]
    var scratchOffsets: [Int: Int] = [:]
    /// The arena bytes some value occupies (sorted, disjoint): a run writes all of these, while
    /// scratch is sized for the most a kernel may need and is often not all touched.
    var valueBytes: [Range<Int>] = []
    var arenaBytes = 0
    var lowerBoundBytes = 0
    var largestNeed = ""

    /// Everything the run needs at its peak: the arena (every kernel's scratch is in it).
    var peakBytes: Int { arenaBytes }

    /// What the step's kernel sees: concrete shapes of the root node and its plan.
    static func shapes(_ typed: TypedGraph, _ node: Node, threads: Int) -> KernelShapes {
        KernelShapes(inputs: typed.inputTypes(of: node).map { $0.concreteShape! },
                     outputs: typed.outputTypes(of: node).map { $0.concreteShape! },
                     execution: typed.graph.execution(of: node.name), threads: threads)
    }

    /// Hole-aware runs (WindowPlan.swift): values sized to their windows, skipped steps left out.
    let windows: WindowPlan?

    /// What step `s`'s kernel sees (its windows in a hole-aware run).
    func kernelShapes(_ typed: TypedGraph, step s: Int, threads: Int) -> KernelShapes {
        if let windows { return windows.kernelShapes(typed, schedule, step: s, threads: threads) }
        return Self.shapes(typed, typed.graph.nodes[schedule.steps[s].node], threads: threads)
    }

    func runs(_ s: Int) -> Bool { windows == nil || windows!.rules[s] != nil }

    init(_ typed: TypedGraph, threads: Int, windows: WindowPlan? = nil) {
        schedule = Schedule(typed)
        self.windows = windows
        let graph = typed.graph, schedule = self.schedule
        let parameters = Set(graph.parameters.map(\.name))
        func shape(_ r: ValueRef) -> [Int] { windows?.shape(typed, r) ?? typed.type(of: r).concreteShape! }
        func bytes(_ r: ValueRef) -> Int { Self.aligned(shape(r).reduce(4, *)) }
        let steps = schedule.steps.count
        // Values read after the run: graph outputs (the kept ones in a hole-aware run) and state updates.
        let kept = Set((windows?.kept ?? graph.outputs.map { schedule.resolve($0.value) }) + schedule.stateOutputs.map(\.value))
        var lastUse: [ValueRef: Int] = [:]
        for (s, step) in schedule.steps.enumerated() where windows == nil || windows!.rules[s] != nil {
            for r in graph.nodes[step.node].inputs { lastUse[schedule.resolve(r)] = s }
        }

        var items: [Item] = []
        var itemOf: [ValueRef: Int] = [:]
        for input in graph.inputs {
            let r = ValueRef(input.name)
            itemOf[r] = items.count
            items.append(Item(bytes: bytes(r), first: 0, last: kept.contains(r) ? steps : lastUse[r] ?? 0))
        }
        var scratchItem: [Int: Int] = [:]
        var largest = 0
        for (s, step) in schedule.steps.enumerated() where windows == nil || windows!.rules[s] != nil {
            let node = graph.nodes[step.node], c = node.op.contract
            let kernelShapes = windows?.kernelShapes(typed, schedule, step: s, threads: threads) ?? Self.shapes(typed, node, threads: threads)
            // A hole-aware step's inputs copied into its window come first in its scratch.
            let copies = windows?.reframes(typed, schedule, step: s).map { Self.aligned($0.bytes) }.reduce(0, +) ?? 0
            let scratch = Self.aligned(c.scratchBytes(kernelShapes)) + copies
            if scratch > 0 {
                scratchItem[s] = items.count
                items.append(Item(bytes: scratch, first: s, last: s))
            }
            var produced = 0
            var written = (0..<c.outputNames.count).map { ValueRef(node.name, output: $0) }.filter { !schedule.unwritten.contains($0) }
            if let a = step.absorbed {
                let absorbed = graph.nodes[a]
                written += (0..<absorbed.op.contract.outputNames.count).map { ValueRef(absorbed.name, output: $0) }
            }
            for (k, r) in written.enumerated() {
                let end = kept.contains(r) ? steps : lastUse[r] ?? s
                produced += bytes(r)
                if k == 0, step.absorbed == nil, c.mayRunInPlace,
                   copies == 0,
                   let donor = Self.inPlaceDonor(node, typed, step: s, lastUse: lastUse, kept: kept, parameters: parameters,
                                                 schedule: schedule, itemOf: itemOf, items: items, shape: shape) {
                    items[donor].last = max(items[donor].last, end)
                    itemOf[r] = donor
                    continue
                }
                itemOf[r] = items.count
                items.append(Item(bytes: bytes(r), first: s, last: end))
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
        let scratch = Set(scratchItem.values)
        for item in items.indices.filter({ !scratch.contains($0) }).map({ items[$0] }).sorted(by: { $0.offset < $1.offset }) {
            let r = item.offset..<item.offset + item.bytes
            if let last = valueBytes.last, last.upperBound >= r.lowerBound {
                valueBytes[valueBytes.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else { valueBytes.append(r) }
        }
    }

    /// The input an elementwise node may overwrite: same size as the output, read for the last
    /// time here, not a graph input, output or parameter, and not shared with another live value.
    static func inPlaceDonor(_ node: Node, _ typed: TypedGraph, step: Int, lastUse: [ValueRef: Int], kept: Set<ValueRef>,
                             parameters: Set<String>, schedule: Schedule, itemOf: [ValueRef: Int], items: [Item],
                             shape: (ValueRef) -> [Int]) -> Int? {
        let out = shape(ValueRef(node.name))
        let inputs = Set(typed.graph.inputs.map { ValueRef($0.name) })
        let resolved = node.inputs.map { schedule.resolve($0) }
        for r in resolved where lastUse[r] == step && !kept.contains(r) && !inputs.contains(r) && !parameters.contains(r.node) {
            guard shape(r) == out, let k = itemOf[r], items[k].last == step,
                  resolved.filter({ $0 == r }).count == 1 else { continue }
            return k
        }
        return nil
    }

    static func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

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
    public init(graph: Graph, height: Int, width: Int, threads: Int, batch: Int = 1) throws {
        var bindings = try graph.checkedBindings(height: height, width: width)
        bindings[Graph.batchSymbol] = batch
        let plan = MemoryPlan(try Verifier.verify(graph, bindings: bindings), threads: threads)
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
