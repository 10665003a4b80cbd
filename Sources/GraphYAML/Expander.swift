// Expands a merged GraphSource into IR: parameters are evaluated, block instances are unrolled
// and every name is resolved to a ValueRef.
//
// Naming inside a block instance `I`: the node the block marks as `main` takes the name `I`
// itself (so `conv1` of a gated-conv block owns weights `conv1.weight`, as the official TF
// scope does), every other node is `I/<local>`. Outside the block, `I` refers to the block's
// `out`. Nodes from a block carry the location of the outermost call site, which is where a
// shape error is usually fixed; errors in a block's own fields point into the block.
import GraphIR

struct Expander {
    struct Frame {
        var instance: String?  // full instance name; nil at graph level
        var block: BlockDecl?
        var decls: [String: NodeDecl]
        var inputs: [String: ValueRef]
        var scope: Scope
        var callSite: SourceLocation?
        var stack: [String]

        func fullName(_ local: String) -> String {
            guard let instance, let block else { return local }
            return local == block.main ? instance : "\(instance)/\(local)"
        }

        func context(_ d: NodeDecl) -> String {
            guard let block, let instance else { return "node '\(d.name)'" }
            return "node '\(d.name)' of block '\(block.name)' (instance '\(instance)')"
        }
    }

    let source: GraphSource
    /// The graph's parameters, evaluated once.
    let params: Scope
    var nodes: [Node] = []
    /// The stored tensors the built nodes read (`<node>.weight`, ...), in node order.
    var parameters: [ParameterDecl] = []
    var diags: [Diagnostic] = []
    /// The most nodes a graph may expand to (DeepFill v2 has 97). Blocks that use a block twice
    /// double at every level, so a 3 KB file could otherwise ask for 2^30 nodes.
    static let maxNodes = 100_000
    /// Set once the cap is hit: expansion stops at once, with one diagnostic.
    var tooLarge = false

    /// One mistake inside a block is one diagnostic, however many times the block is used: the
    /// copies differ only in the instance name, which becomes a list.
    static func mergingInstances(_ diags: [Diagnostic]) -> [Diagnostic] {
        var order: [String] = [], groups: [String: (first: Diagnostic, instances: [String])] = [:]
        for d in diags {
            var key = d.description, instance: String?
            if let open = d.message.range(of: " (instance '"), let close = d.message[open.upperBound...].range(of: "')") {
                instance = String(d.message[open.upperBound..<close.lowerBound])
                key = "\(d.location.map { "\($0)" } ?? "")|" + d.message.replacingCharacters(in: open.lowerBound..<close.upperBound, with: "")
            }
            if groups[key] == nil { order.append(key); groups[key] = (d, []) }
            if let instance { groups[key]!.instances.append(instance) }
        }
        return order.map { key in
            var (d, instances) = groups[key]!
            guard instances.count > 1, let open = d.message.range(of: " (instance '"),
                  let close = d.message[open.upperBound...].range(of: "')") else { return d }
            let names = instances.prefix(6).joined(separator: ", ") + (instances.count > 6 ? ", ..." : "")
            d.message.replaceSubrange(open.lowerBound..<close.upperBound, with: " (all \(instances.count) uses: \(names))")
            return d
        }
    }

    init(_ source: GraphSource, params: Scope) {
        self.source = source
        self.params = params
    }

    static func split(_ text: String) -> (String, String?) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        return (parts.first ?? "", parts.count > 1 ? parts[1] : nil)
    }

    static func outputIndex(_ op: String, _ sel: String?, at loc: SourceLocation) throws -> Int {
        guard let sel else { return 0 }
        let names = OpBuilder.outputNames(of: op)
        if let i = names.firstIndex(of: sel) { return i }
        if let i = Int(sel), i >= 0, i < names.count { return i }
        throw Diagnostic("\(op) has no output '\(sel)'", at: loc, hint: "its outputs are \(names.joined(separator: ", "))")
    }

    static func kind(_ d: NodeDecl) throws -> (op: String?, use: String?) {
        let op = d.fields["op"], use = d.fields["use"]
        if (op == nil) == (use == nil) {
            throw Diagnostic("node '\(d.name)' needs exactly one of 'op:' (a primitive) or 'use:' (a block)", at: d.location)
        }
        return (try op.map { try GraphFileParser.name($0, "op") }, try use.map { try GraphFileParser.name($0, "use") })
    }

    func resolve(_ text: String, _ frame: Frame, at loc: SourceLocation) throws -> ValueRef {
        let (name, sel) = Expander.split(text)
        if let d = frame.decls[name] {
            let k = try Expander.kind(d)
            if let op = k.op { return ValueRef(frame.fullName(name), output: try Expander.outputIndex(op, sel, at: loc)) }
            return try blockOutput(k.use!, instance: frame.fullName(name), sel: sel, at: loc, depth: 0)
        }
        if let r = frame.inputs[name] {
            if sel != nil { throw Diagnostic("'\(name)' is an input and has a single value; drop ':\(sel!)'", at: loc) }
            return r
        }
        let known = Array(frame.decls.keys) + Array(frame.inputs.keys)
        if frame.block == nil, let at = source.removed[name] {
            throw Diagnostic("unknown value '\(name)'", at: loc, hint: "'\(name)' was removed at \(at); patch this node too")
        }
        throw Diagnostic("unknown value '\(name)'", at: loc,
                         hint: Verifier.closest(name, known).map { "did you mean '\($0)'?" })
    }

    /// The value a block instance stands for: its `out`, followed through nested instances.
    func blockOutput(_ blockName: String, instance: String, sel: String?, at loc: SourceLocation, depth: Int) throws -> ValueRef {
        guard depth < 32, let block = source.blocks[blockName] else {
            throw Diagnostic(depth >= 32 ? "blocks nest too deeply" : "unknown block '\(blockName)'", at: loc,
                             hint: Verifier.closest(blockName, Array(source.blocks.keys)).map { "did you mean '\($0)'?" })
        }
        guard let outText = block.output.scalar else { throw Diagnostic("block out must be a node name", at: block.output.location) }
        let (name, sel2) = Expander.split(outText)
        guard let d = block.nodes.first(where: { $0.name == name }) else {
            throw Diagnostic("block '\(blockName)': out '\(name)' is not one of its nodes", at: block.output.location)
        }
        let full = name == block.main ? instance : "\(instance)/\(name)"
        let k = try Expander.kind(d)
        if let op = k.op { return ValueRef(full, output: try Expander.outputIndex(op, sel2 ?? sel, at: loc)) }
        return try blockOutput(k.use!, instance: full, sel: sel2 ?? sel, at: loc, depth: depth + 1)
    }

    func inputRefs(_ d: NodeDecl, _ frame: Frame) throws -> [ValueRef] {
        guard let node = d.fields["in"] else { return [] }
        let items: [YAMLNode]
        if case .sequence(let l) = node.kind { items = l } else { items = [node] }
        return try items.map { item in
            guard let s = item.scalar, !s.isEmpty else {
                throw Diagnostic("\(frame.context(d)): in: expected value names, found \(item.kindName)", at: item.location)
            }
            do { return try resolve(s, frame, at: item.location) } catch var e as Diagnostic {
                e.message = "\(frame.context(d)): in: " + e.message
                throw e
            }
        }
    }

    mutating func expand(_ decls: [NodeDecl], _ frame: Frame) {
        for d in decls {
            if tooLarge { return }
            do { try expandOne(d, frame) } catch let e as Diagnostic {
                var e = e
                if let call = frame.callSite, frame.block != nil, e.hint == nil { e.hint = "used at \(call)" }
                diags.append(e)
            } catch {
                diags.append(Diagnostic("\(error)", at: d.location))
            }
        }
    }

    mutating func expandOne(_ d: NodeDecl, _ frame: Frame) throws {
        let k = try Expander.kind(d)
        var inputs = try inputRefs(d, frame)
        if let op = k.op {
            try OpBuilder.checkFields(op, d.fields, what: "\(frame.context(d)) (\(op))")
            var reader = FieldReader(d.fields, scope: frame.scope, what: "\(frame.context(d)) (\(op))", at: d.location)
            if let like = d.fields["like"] {
                guard let s = like.scalar else { throw Diagnostic("like: expected a value name", at: like.location) }
                inputs.append(try resolve(s, frame, at: like.location))
            }
            let built = try OpBuilder.build(op, &reader, inputCount: inputs.count)
            reader.assertAllRead(extra: ["op", "in", "like"])
            let name = frame.fullName(d.name), location = frame.callSite ?? d.location
            guard nodes.count < Self.maxNodes else {
                tooLarge = true
                throw Diagnostic("the graph expands to more than \(Self.maxNodes) nodes (reached inside \(frame.context(d)), "
                                 + "blocks \(frame.stack.joined(separator: " -> ")))", at: location,
                                 hint: "a block that uses another block twice doubles its size at every level of nesting")
            }
            // The node's weights: parameters named after it, read as its trailing inputs.
            for slot in built.contract.parameterSlots {
                guard slot.input == inputs.count else {
                    throw Diagnostic("\(frame.context(d)) (\(op)): takes \(slot.input) input(s) before its \(slot.suffix), got \(inputs.count)",
                                     at: d.fields["in"]?.location ?? d.location)
                }
                parameters.append(ParameterDecl(name: "\(name).\(slot.suffix)", role: slot.role, location: location))
                inputs.append(ValueRef("\(name).\(slot.suffix)"))
            }
            nodes.append(Node(name: name, op: built, inputs: inputs, location: location))
            return
        }
        let blockName = k.use!
        guard let block = source.blocks[blockName] else {
            throw Diagnostic("\(frame.context(d)): unknown block '\(blockName)'", at: d.fields["use"]!.location,
                             hint: Verifier.closest(blockName, Array(source.blocks.keys)).map { "did you mean '\($0)'?" })
        }
        if frame.stack.contains(blockName) {
            throw Diagnostic("block '\(blockName)' uses itself: \((frame.stack + [blockName]).joined(separator: " -> "))", at: d.location)
        }
        guard inputs.count == block.inputs.count else {
            throw Diagnostic("\(frame.context(d)): block '\(blockName)' takes \(block.inputs.count) input(s) "
                             + "(\(block.inputs.joined(separator: ", "))), got \(inputs.count)", at: d.fields["in"]?.location ?? d.location)
        }
        var scope = params
        for (name, def) in block.args.items {
            if let given = d.fields[name] {
                scope.values[name] = try FieldReader.resolve(given, frame.scope)
            } else if def.isNull {
                throw Diagnostic("\(frame.context(d)): block '\(blockName)' needs argument '\(name)'", at: d.location)
            } else {
                scope.values[name] = try FieldReader.resolve(def, params)
            }
        }
        for item in d.fields.items where !["use", "in"].contains(item.name) && block.args[item.name] == nil {
            let args = block.args.items.map(\.name)
            throw Diagnostic("\(frame.context(d)): block '\(blockName)' has no argument '\(item.name)'", at: d.fields.location(of: item.name),
                             hint: Verifier.closest(item.name, args).map { "did you mean '\($0)'?" } ?? "arguments: \(args.joined(separator: ", "))")
        }
        let child = Frame(instance: frame.fullName(d.name), block: block,
                          decls: Dictionary(block.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }),
                          inputs: Dictionary(zip(block.inputs, inputs).map { ($0, $1) }, uniquingKeysWith: { a, _ in a }),
                          scope: scope, callSite: frame.callSite ?? d.location, stack: frame.stack + [blockName])
        expand(block.nodes, child)
    }
}

extension GraphSource {
    /// Parameters evaluated in order; each may use the ones before it.
    func evaluateParams() throws -> Scope {
        var scope = Scope(values: [:])
        for (name, node) in params.items { scope.values[name] = try FieldReader.resolve(node, scope) }
        return scope
    }
}
