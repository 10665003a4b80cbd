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

    static func scratchBytes(_ node: Node, _ typed: TypedGraph, threads: Int) -> Int {
        let ins = typed.inputTypes(of: node).map { $0.concreteShape! }
        switch node.op {
        case .conv2d(let c):
            let x = ins[0], outs = typed.outputTypes(of: node)[0].concreteShape!
            let k = x[1] * c.kernel[0] * c.kernel[1], pixels = outs[2] * outs[3]
            let tile = min(pixels, max(16, ((1 << 18) / max(k, 1)) / 16 * 16))
            return 4 * k * tile * min(threads, x[0] * ((pixels + tile - 1) / tile)) + 4 * c.outChannels * k
        case .contextualAttention(let a):
            let f = ins[0], b = ins[1], channels = f[1]
            let positions = (f[2] / a.rate) * (f[3] / a.rate)
            let patches = ((b[2] / a.rate + a.stride - 1) / a.stride) * ((b[3] / a.rate + a.stride - 1) / a.stride)
            let raw = channels * 4 * a.rate * a.rate, match = channels * a.ksize * a.ksize
            let floats = patches * positions * (a.fuse ? 2 : 1) + raw * (patches + positions) + match * (patches + positions)
                + channels * (b[2] * b[3] + f[2] * f[3]) / (a.rate * a.rate)
            return 4 * floats
        default:
            return 0
        }
    }

    static func format(_ bytes: Int) -> String {
        let mib = Double(bytes) / 1_048_576
        return mib >= 1024 ? String(format: "%.1f GiB", mib / 1024) : String(format: "%.0f MiB", max(mib, 1))
    }
}
