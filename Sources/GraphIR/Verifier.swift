// The verifier: names, references, arity, attribute ranges, acyclicity and shape inference.
// It collects every problem it can find in one pass (a node whose inputs failed is skipped, not
// reported again) and positions each at the YAML of the element at fault. The same code infers
// concrete shapes at run time: binding the symbols turns every Dim into a constant.
import HeapModule

public struct TypedGraph: Sendable {
    public let graph: Graph
    /// Node indices in execution order (a topological order, source order among ties).
    public let order: [Int]
    public let types: [ValueRef: TensorType]
    public let symbols: SymbolTable
    public let bindings: [String: Int]

    public func type(of ref: ValueRef) -> TensorType { types[ref]! }

    public func inputTypes(of node: Node) -> [TensorType] { node.inputs.map { types[$0]! } }

    public func outputTypes(of node: Node) -> [TensorType] {
        (0..<node.op.contract.outputNames.count).map { types[ValueRef(node.name, output: $0)]! }
    }

    /// Every stored tensor the graph reads, with its concrete shape (from the verifier).
    public var parameters: [ParameterDecl] { graph.parameters }
}

public enum Verifier {
    /// The largest fixed dimension of a graph input (channels, or a fixed size).
    public static let maxFixedDim = 1 << 16
    /// The most bytes one value may have once sizes are bound (1 TiB): checked before any
    /// planner or kernel multiplies sizes, so a graph that grows its values cannot overflow them.
    public static let maxValueBytes = 1 << 40

    /// Verifies a graph with symbolic sizes, or with `bindings` (e.g. ["N": 1, "H": 256, "W": 256])
    /// for concrete shapes.
    public static func verify(_ graph: Graph, bindings: [String: Int] = [:]) throws -> TypedGraph {
        var diags: [Diagnostic] = []
        let symbols = graph.symbolTable
        var types: [ValueRef: TensorType] = [:]
        var outputsOf: [String: [String]] = [:]  // name -> output names (inputs have one)
        var locationOf: [String: SourceLocation?] = [:]

        for s in graph.symbols where s.multipleOf < 1 || s.multipleOf > 4096 {
            diags.append(Diagnostic("symbol \(s.name): multiple_of must be in 1...4096, got \(s.multipleOf)", at: graph.location))
        }
        for (sym, value) in bindings {
            let step = symbols.step(of: sym)
            if value < 1 || value % step != 0 {
                diags.append(Diagnostic("size \(sym) = \(value) must be a positive multiple of \(step)",
                                        hint: "pad or crop the input to a multiple of \(step)"))
            }
        }
        for input in graph.inputs {
            if outputsOf[input.name] != nil {
                diags.append(Diagnostic("input '\(input.name)' is declared twice", at: input.location))
            }
            outputsOf[input.name] = ["out"]
            locationOf[input.name] = input.location
            if input.dims.count != 3 {
                diags.append(Diagnostic("input '\(input.name)' needs [C, H, W], got \(input.dims.count) dimensions", at: input.location))
                continue
            }
            if case .fixed(let c) = input.dims[0], c >= 1 {} else {
                diags.append(Diagnostic("input '\(input.name)' needs a positive fixed channel count first, got \(input.dims[0])", at: input.location))
            }
            // Bounded before any shape arithmetic, so a hand-made graph cannot overflow it.
            if let bad = input.dims.first(where: { if case .fixed(let v) = $0 { return v < 1 || v > maxFixedDim }; return false }) {
                diags.append(Diagnostic("input '\(input.name)' has dimension \(bad); fixed dimensions must be in 1...\(maxFixedDim)", at: input.location))
                continue
            }
            var t = input.type
            t.shape = t.shape.map { d in bind(d, bindings) }
            types[ValueRef(input.name)] = t
        }
        var parameterIndex: [String: Int] = [:]
        for (i, p) in graph.parameters.enumerated() {
            if outputsOf[p.name] != nil {
                diags.append(Diagnostic("parameter '\(p.name)' is declared twice or clashes with an input", at: p.location))
            }
            outputsOf[p.name] = ["out"]
            locationOf[p.name] = p.location
            parameterIndex[p.name] = i
            if let shape = p.shape {
                guard shape.count <= 8, shape.allSatisfy({ (1...maxFixedDim).contains($0) }), Cost.product(shape) <= 1 << 31 else {
                    diags.append(Diagnostic("parameter '\(p.name)' has shape \(shape); dimensions must be in 1...\(maxFixedDim)", at: p.location))
                    continue
                }
                types[ValueRef(p.name)] = TensorType(.float32, shape.map { .constant($0) })
            }
        }
        for name in graph.inputs.map(\.name) + graph.parameters.map(\.name) + graph.nodes.map(\.name) + graph.outputs.map(\.name) + [graph.name] {
            if let problem = nameProblem(name) { diags.append(Diagnostic(problem, at: graph.location)) }
        }
        for node in graph.nodes {
            if node.name.isEmpty { diags.append(Diagnostic("a node has an empty name", at: node.location)) }
            if outputsOf[node.name] != nil {
                let first = locationOf[node.name].flatMap { $0 }.map { " (first at \($0))" } ?? ""
                diags.append(Diagnostic("name '\(node.name)' is used twice\(first)", at: node.location))
            }
            outputsOf[node.name] = node.op.contract.outputNames
            locationOf[node.name] = node.location
        }

        // References and arity. "Did you mean" costs an edit distance per name, so only the first
        // unknown references get one: thousands of them must not take quadratic time.
        var broken = Set<String>()
        var suggestions = 20
        for node in graph.nodes {
            let c = node.op.contract
            func fail(_ m: String, hint: String? = nil) {
                diags.append(Diagnostic("node '\(node.name)' (\(c.opName)): " + m, at: node.location, hint: hint))
                broken.insert(node.name)
            }
            let problems = c.validate()
            for m in problems { fail(m) }
            if !problems.isEmpty { continue }  // e.g. an absurd arity: do not build its input names
            if node.inputs.count < c.minArity || node.inputs.count > c.inputNames.count {
                let want = c.minArity == c.inputNames.count ? "\(c.minArity)" : "\(c.minArity) to \(c.inputNames.count)"
                fail("expects \(want) input(s) (\(c.inputNames.joined(separator: ", "))), got \(node.inputs.count)")
            }
            for ref in node.inputs {
                if let msg = check(ref, outputsOf, suggest: &suggestions) { fail(msg.0, hint: msg.1) }
            }
        }
        for out in graph.outputs {
            if let msg = check(out.value, outputsOf, suggest: &suggestions) {
                diags.append(Diagnostic("output '\(out.name)': " + msg.0, at: out.location, hint: msg.1))
            }
        }
        if Set(graph.outputs.map(\.name)).count != graph.outputs.count {
            diags.append(Diagnostic("output names must be unique: \(graph.outputs.map(\.name))", at: graph.location))
        }
        if graph.outputs.isEmpty {
            diags.append(Diagnostic("the graph declares no outputs", at: graph.location, hint: "add an outputs: section"))
        }

        let order = topologicalOrder(graph, &diags)

        // Shape inference in execution order. A parameter without a shape gets the one its first
        // consumer needs.
        var graph = graph
        for i in order {
            let node = graph.nodes[i]
            if broken.contains(node.name) { continue }
            for slot in node.op.contract.parameterSlots where slot.input < node.inputs.count {
                let r = node.inputs[slot.input]
                guard types[r] == nil, let p = parameterIndex[r.node] else { continue }
                if let shape = node.op.contract.parameterShape(slot: slot, inputs: node.inputs.map { types[$0] }) {
                    types[r] = TensorType(.float32, shape.map { .constant($0) })
                    graph.parameters[p].shape = shape
                }
            }
            let ins = node.inputs.map { types[$0] }
            if ins.contains(where: { $0 == nil }) { continue }  // an upstream node already failed
            do {
                let outs = try node.op.contract.inferTypes(ins.map { $0! }, symbols)
                for t in outs {
                    if let shape = t.concreteShape, Cost.product(shape + [4]) > maxValueBytes {
                        throw OpError("its output \(t) would need \(Cost.product(shape + [4]) == Int.max ? "more than 2^63" : "\(Cost.product(shape + [4]))") bytes, more than the 1 TiB a value may have",
                                      hint: "the graph grows its values without bound, or these sizes are far too large for it")
                    }
                }
                for (k, t) in outs.enumerated() { types[ValueRef(node.name, output: k)] = t }
            } catch let e as OpError {
                let inputs = zip(node.inputs, ins).map { "\($0) \($1!)" }.joined(separator: ", ")
                diags.append(Diagnostic("node '\(node.name)' (\(node.op.name)): \(e.message)\n  inputs: \(inputs)",
                                        at: node.location, hint: e.hint))
            } catch {
                diags.append(Diagnostic("node '\(node.name)': \(error)", at: node.location))
            }
        }
        if !diags.isEmpty { throw DiagnosticList(diags) }
        return TypedGraph(graph: graph, order: order, types: types, symbols: symbols, bindings: bindings)
    }

    static func bind(_ d: Dim, _ bindings: [String: Int]) -> Dim {
        guard !bindings.isEmpty, case .affine(let a) = d else { return d }
        return a.evaluate(bindings).map { Dim.constant($0) } ?? d
    }

    /// Returns (message, hint) when a reference does not resolve.
    static func check(_ ref: ValueRef, _ outputsOf: [String: [String]], suggest: inout Int) -> (String, String?)? {
        guard let outs = outputsOf[ref.node] else {
            suggest -= 1
            let near = suggest >= 0 ? closest(ref.node, Array(outputsOf.keys)) : nil
            return ("unknown value '\(ref.node)'", near.map { "did you mean '\($0)'?" })
        }
        if ref.output < 0 || ref.output >= outs.count {
            return ("'\(ref.node)' has no output \(ref.output)", "its outputs are \(outs.joined(separator: ", "))")
        }
        return nil
    }

    /// Kahn's algorithm taking the earliest ready node first, so execution follows source order
    /// where the data allows. Nodes on a cycle are reported with the cycle spelled out.
    static func topologicalOrder(_ graph: Graph, _ diags: inout [Diagnostic]) -> [Int] {
        let index = Dictionary(graph.nodes.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        var pending = [Int](repeating: 0, count: graph.nodes.count)
        var users = [[Int]](repeating: [], count: graph.nodes.count)
        for (i, n) in graph.nodes.enumerated() {
            for r in n.inputs { if let j = index[r.node] { pending[i] += 1; users[j].append(i) } }
        }
        var ready = Heap(pending.indices.filter { pending[$0] == 0 })
        var order: [Int] = []
        order.reserveCapacity(graph.nodes.count)
        while let i = ready.popMin() {
            order.append(i)
            for u in users[i] {
                pending[u] -= 1
                if pending[u] == 0 { ready.insert(u) }
            }
        }
        if order.count < graph.nodes.count {
            let left = Set(graph.nodes.indices).subtracting(order)
            var cycle = [left.min()!]
            var seen: Set<Int> = [cycle[0]]
            while true {
                let n = graph.nodes[cycle.last!]
                guard let next = n.inputs.compactMap({ index[$0.node] }).first(where: { left.contains($0) }) else { break }
                if seen.contains(next) {
                    cycle = Array(cycle.drop(while: { $0 != next }))
                    cycle.append(next)
                    break
                }
                seen.insert(next)
                cycle.append(next)
            }
            let path = cycle.reversed().map { graph.nodes[$0].name }.joined(separator: " -> ")
            diags.append(Diagnostic("the graph has a cycle: \(path)", at: graph.nodes[cycle[0]].location,
                                    hint: "a node cannot depend on its own output"))
        }
        return order
    }

    /// Names are printed in messages, tables and file names: no control characters (a terminal
    /// escape sequence in a name would act on the user's terminal) and at most 256 characters.
    static func nameProblem(_ name: String) -> String? {
        let shown = String(name.unicodeScalars.prefix(40).map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? "?" : Character($0) })
        if name.unicodeScalars.count > 256 { return "the name '\(shown)…' is longer than 256 characters" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            return "the name '\(shown)' contains control characters (shown as ?); use letters, digits and punctuation"
        }
        return nil
    }

    /// The candidate nearest to `name` by edit distance, for "did you mean" hints.
    public static func closest(_ name: String, _ candidates: [String]) -> String? {
        // Long names are not typos of each other; and the distance is quadratic in length.
        let length = name.utf8.count, slack = max(2, length / 3)
        guard length <= 64 else { return nil }
        let scored = candidates.filter { abs($0.utf8.count - length) <= slack }.map { ($0, editDistance(name, $0)) }.filter { $0.1 <= max(2, name.count / 3) }
        return scored.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}
