// The memory a run needs, estimated before anything is allocated: the peak over the execution
// order of the bytes of live values plus the running node's scratch (im2col tiles, attention
// score matrices). This is the "max over time of live bytes" lower bound buffer planners are
// judged against; the executor, which frees each value after its last use, stays close to it.
import GraphIR
import Kernels

struct MemoryPlan {
    var peakBytes = 0
    var largestNeed = ""
    var useCounts: [ValueRef: Int] = [:]

    init(_ typed: TypedGraph, threads: Int) {
        let graph = typed.graph
        func bytes(_ r: ValueRef) -> Int { typed.type(of: r).concreteShape!.reduce(4, *) }
        for node in graph.nodes { for r in node.inputs { useCounts[r, default: 0] += 1 } }
        let outputs = Set(graph.outputs.map(\.value))
        var remaining = useCounts
        var live = graph.inputs.reduce(0) { $0 + bytes(ValueRef($1.name)) }
        var largest = 0
        for i in typed.order {
            let node = graph.nodes[i]
            let produced = (0..<node.op.contract.outputNames.count).reduce(0) { $0 + bytes(ValueRef(node.name, output: $1)) }
            let scratch = MemoryPlan.scratchBytes(node, typed, threads: threads)
            let now = live + produced + scratch
            if now > peakBytes { peakBytes = now }
            if produced + scratch > largest {
                largest = produced + scratch
                largestNeed = "\(node.name) (\(node.op.name)) \(MemoryPlan.format(produced + scratch))"
            }
            live += produced
            for r in node.inputs {
                remaining[r, default: 0] -= 1
                if remaining[r] == 0 && !outputs.contains(r) { live -= bytes(r) }
            }
        }
    }

    /// What the node's kernel allocates for itself while it runs (the kernels' own formulas).
    static func scratchBytes(_ node: Node, _ typed: TypedGraph, threads: Int) -> Int {
        let ins = typed.inputTypes(of: node).map { $0.concreteShape! }
        switch node.op {
        case .conv2d(let c):
            let g = c.geometry(input: ins[0])
            let normalisedWeight = c.spectralNorm ? 4 * c.outChannels * g.columnRows : 0
            return Convolution.scratchBytes(g, epilogue: c.fused.epilogue, threads: threads) + normalisedWeight
        case .contextualAttention(let a):
            let f = ins[0], b = ins[1]
            return ContextualAttentionKernel.scratchBytes(a.parameters, channels: f[1], fh: f[2], fw: f[3], bh: b[2], bw: b[3])
        default:
            return 0
        }
    }

    static func format(_ bytes: Int) -> String {
        let mib = Double(bytes) / 1_048_576
        return mib >= 1024 ? String(format: "%.1f GiB", mib / 1024) : String(format: "%.0f MiB", max(mib, 1))
    }
}
