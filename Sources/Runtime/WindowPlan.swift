// Hole-aware execution: which window of each value a run computes.
// Why: graphrun keeps only the hole pixels of `completed`; on a large photo with a small hole
// nearly all of a whole run's work never reaches them. DeepFill's cone is bounded: outside the
// hole a composite takes the known pixels, so the coarse network is needed only around the
// hole, and so is the refinement's gated branch; contextual attention needs its background (the
// pmconv branch) whole, but matches only the foreground positions that paste near the hole.
// How: one backward walk over the schedule (the passes' execution plan), from the windows the
// caller keeps. Each step's asked window is the union of its readers' needs; its op's
// `windowRule` widens it to whole tiles and says what it reads of each input (through an
// elided ×2 upsample, half of it). A step nobody needs is skipped; an op without a rule, or one
// whose other outputs are needed, runs whole. Because windows are tile-aligned and kernels keep
// the whole run's summation order, every computed value equals the whole run's, bit for bit.
import GraphIR
import Kernels

struct WindowPlan {
    /// The rule of every step that runs (by step index); other steps are skipped.
    var rules: [Int: WindowRule] = [:]
    /// The window each materialised value holds, in its own grid.
    var held: [ValueRef: Window] = [:]
    /// The values the caller keeps.
    let kept: [ValueRef]

    init(_ typed: TypedGraph, schedule: Schedule, keep: [ValueRef: Window], hole: Window, threads: Int) {
        let graph = typed.graph
        let parameters = Set(graph.parameters.map(\.name))
        func grid(_ r: ValueRef) -> (Int, Int)? {
            let s = typed.type(of: r).concreteShape!
            return s.count == 4 ? (s[2], s[3]) : nil
        }
        func whole(_ r: ValueRef) -> Window { grid(r).map { Window.whole($0.0, $0.1) } ?? Window(y0: 0, y1: 1, x0: 0, x1: 1) }
        var need: [ValueRef: Window] = [:]
        func ask(_ ref: ValueRef, _ n: WindowNeed) {
            var r = ref, n = n
            // Through an elided ×2 nearest upsample: output row y reads input row y / 2.
            while let source = schedule.aliases[r] {
                if case .window(let w) = n { n = .window(Window(y0: w.y0 / 2, y1: (w.y1 + 1) / 2, x0: w.x0 / 2, x1: (w.x1 + 1) / 2)) }
                r = source
            }
            guard !parameters.contains(r.node) else { return }
            let asked: Window
            switch n {
            case .none, .zeros: return
            case .whole: asked = whole(r)
            case .window(let w): asked = grid(r) == nil ? whole(r) : w
            }
            need[r] = need[r].map { $0.union(asked) } ?? asked
        }
        for (r, w) in keep { ask(r, .window(w)) }
        kept = keep.keys.map { schedule.resolve($0) }

        for s in schedule.steps.indices.reversed() {
            let step = schedule.steps[s], node = graph.nodes[step.node], c = node.op.contract
            var want = need[ValueRef(node.name)]
            if let a = step.absorbed, let w = need[ValueRef(graph.nodes[a].name)] { want = want.map { $0.union(w) } ?? w }
            let others = (1..<max(1, c.outputNames.count)).contains { need[ValueRef(node.name, output: $0)] != nil }
            guard want != nil || others else { continue }
            let shapes = MemoryPlan.shapes(typed, node, threads: threads)
            let out0 = ValueRef(node.name)
            var rule = WindowRule(output: whole(out0), inputs: Array(repeating: .whole, count: node.inputs.count), readsWindows: false)
            if let w = want, !others, grid(out0) != nil, let r = c.windowRule(w, shapes, hole: hole) { rule = r }
            rules[s] = rule
            for (i, input) in node.inputs.enumerated() { ask(input, rule.inputs[i]) }
        }
        for input in graph.inputs { held[ValueRef(input.name)] = whole(ValueRef(input.name)) }
        for (s, rule) in rules {
            let step = schedule.steps[s], node = graph.nodes[step.node]
            for k in 0..<node.op.contract.outputNames.count {
                let r = ValueRef(node.name, output: k)
                held[r] = k == 0 ? rule.output : whole(r)
            }
            if let a = step.absorbed { held[ValueRef(graph.nodes[a].name)] = rule.output }
        }
    }

    /// A value's shape as held: its spatial dimensions cut to its window.
    func shape(_ typed: TypedGraph, _ r: ValueRef) -> [Int] {
        var s = typed.type(of: r).concreteShape!
        if s.count == 4, let w = held[r] { s[2] = w.height; s[3] = w.width }
        return s
    }

    /// What step `s`'s kernel sees. A rule that reads windows gets every input's held window
    /// (an elided upsample's as the doubled window of its input) and its outputs' windows; a
    /// pointwise rule gets shapes cut to its output window (its inputs are cut to match, see
    /// `reframes`); a whole rule gets the whole shapes.
    func kernelShapes(_ typed: TypedGraph, _ schedule: Schedule, step s: Int, threads: Int) -> KernelShapes {
        let node = typed.graph.nodes[schedule.steps[s].node], rule = rules[s]!
        var shapes = MemoryPlan.shapes(typed, node, threads: threads)
        let wholeInputs = shapes.inputs, wholeOutputs = shapes.outputs
        if rule.readsWindows {
            var inWindows: [Window] = []
            for (i, input) in node.inputs.enumerated() {
                var w = Window.whole(wholeInputs[i].count == 4 ? wholeInputs[i][2] : 1, wholeInputs[i].count == 4 ? wholeInputs[i][3] : 1)
                if let h = held[schedule.resolve(input)], wholeInputs[i].count == 4 {
                    w = schedule.aliases[input] != nil ? Window(y0: 2 * h.y0, y1: 2 * h.y1, x0: 2 * h.x0, x1: 2 * h.x1) : h
                    shapes.inputs[i][2] = w.height
                    shapes.inputs[i][3] = w.width
                }
                inWindows.append(w)
            }
            let outWindows = (0..<wholeOutputs.count).map { k in held[ValueRef(node.name, output: k)] ?? .whole(1, 1) }
            for k in wholeOutputs.indices where wholeOutputs[k].count == 4 {
                shapes.outputs[k][2] = outWindows[k].height
                shapes.outputs[k][3] = outWindows[k].width
            }
            shapes.windows = NodeWindows(inputs: inWindows, outputs: outWindows, wholeInputs: wholeInputs, wholeOutputs: wholeOutputs)
        } else if isCut(typed, node, rule) {
            for i in shapes.inputs.indices where shapes.inputs[i].count == 4 {
                shapes.inputs[i][2] = rule.output.height
                shapes.inputs[i][3] = rule.output.width
            }
            for k in shapes.outputs.indices where shapes.outputs[k].count == 4 {
                shapes.outputs[k][2] = rule.output.height
                shapes.outputs[k][3] = rule.output.width
            }
        }
        return shapes
    }

    /// A pointwise rule on less than the whole output.
    func isCut(_ typed: TypedGraph, _ node: Node, _ rule: WindowRule) -> Bool {
        guard !rule.readsWindows, let s = typed.type(of: ValueRef(node.name)).concreteShape, s.count == 4 else { return false }
        return rule.output != .whole(s[2], s[3])
    }

    /// The inputs of a pointwise step that must be copied into its output window first (held
    /// over another window, or zeros), with their bytes in that shape.
    func reframes(_ typed: TypedGraph, _ schedule: Schedule, step s: Int) -> [(input: Int, bytes: Int)] {
        let node = typed.graph.nodes[schedule.steps[s].node], rule = rules[s]!
        guard !rule.readsWindows else { return [] }
        var out: [(Int, Int)] = []
        for (i, input) in node.inputs.enumerated() {
            let r = schedule.resolve(input)
            guard var shape = typed.type(of: r).concreteShape, shape.count == 4 else { continue }
            switch rule.inputs[i] {
            case .none, .whole: continue
            case .window: if held[r] == rule.output { continue }
            case .zeros: break
            }
            shape[2] = rule.output.height
            shape[3] = rule.output.width
            out.append((i, shape.reduce(4, *)))
        }
        return out
    }
}

enum Reframe {
    /// dst (the `to` window of an [N, C, ·, ·] value) from src (its `from` window, or nil:
    /// zeros): the overlap copied, the rest zero. 32-bit elements.
    static func copy(_ src: UnsafeRawPointer?, from: Window, to: Window, planes: Int, into dst: UnsafeMutableRawPointer) {
        let d = dst.assumingMemoryBound(to: UInt32.self), th = to.height, tw = to.width
        d.update(repeating: 0, count: planes * th * tw)
        guard let src else { return }
        let s = src.assumingMemoryBound(to: UInt32.self), fw = from.width, fh = from.height
        let o = from.intersection(to)
        guard !o.isEmpty else { return }
        for p in 0..<planes {
            for y in o.y0..<o.y1 {
                let row = s + (p * fh + y - from.y0) * fw + (o.x0 - from.x0)
                (d + (p * th + y - to.y0) * tw + (o.x0 - to.x0)).update(from: row, count: o.width)
            }
        }
    }
}
