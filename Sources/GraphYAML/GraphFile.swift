// One graph file as written, and the merge that makes a variant: a file that `extends` another
// overrides parameters, symbols, inputs, blocks and outputs by name, and edits the base's node
// list with `remove`, `patch` (change some fields) and `replace` (a whole new definition), then
// appends its own `nodes`. Every section keeps its YAML positions for later diagnostics.
import GraphIR
import SafeIO

/// An ordered name → YAML map (later entries with the same name replace earlier ones in place).
struct OrderedEntries {
    var items: [(name: String, value: YAMLNode)] = []
    /// Where each key was written (for "unknown field" messages).
    var keyLocations: [String: SourceLocation] = [:]

    func location(of key: String) -> SourceLocation? { keyLocations[key] ?? self[key]?.location }

    subscript(name: String) -> YAMLNode? {
        get { items.first { $0.name == name }?.value }
        set {
            if let i = items.firstIndex(where: { $0.name == name }) {
                if let v = newValue { items[i].value = v } else { items.remove(at: i) }
            } else if let v = newValue {
                items.append((name, v))
            }
        }
    }
}

/// A node entry: `name` plus its other fields (op or use, in, attributes).
struct NodeDecl {
    var name: String
    var location: SourceLocation
    var fields: OrderedEntries
}

struct BlockDecl {
    var name: String
    var location: SourceLocation
    var args: OrderedEntries  // default values; null = required
    var inputs: [String]
    var nodes: [NodeDecl]
    var main: String?
    var output: YAMLNode
}

/// The merged description of a graph, before blocks are expanded.
struct GraphSource {
    var name: String
    var params = OrderedEntries()
    var symbols = OrderedEntries()
    var inputs = OrderedEntries()
    var blocks: [String: BlockDecl] = [:]
    var nodes: [NodeDecl] = []
    var outputs = OrderedEntries()
    /// Nodes a variant removed, and where, to explain references left dangling.
    var removed: [String: SourceLocation] = [:]
    /// The start of the last file applied (the variant's own file).
    var location: SourceLocation?
    /// `conventions:` (official unless a file says otherwise).
    var conventions = "official"
}

enum GraphFileParser {
    static let topKeys = ["fillgraph", "name", "extends", "params", "symbols", "inputs", "blocks", "nodes",
                          "outputs", "remove", "patch", "replace", "remove_outputs", "description", "conventions"]
    /// What `conventions:` may say: whose padding/resize rules the graph follows, so an importer
    /// can refuse weights trained under the other ones.
    static let conventionValues = ["official", "pytorch_port"]
    static let variantOnlyKeys: Set<String> = ["remove", "patch", "replace", "remove_outputs"]

    static func mapping(_ node: YAMLNode, _ what: String) throws -> [(key: YAMLNode, value: YAMLNode)] {
        guard case .mapping(let pairs) = node.kind else {
            throw Diagnostic("\(what) must be a mapping, found \(node.kindName)", at: node.location)
        }
        return pairs
    }

    static func sequence(_ node: YAMLNode, _ what: String) throws -> [YAMLNode] {
        if case .sequence(let items) = node.kind { return items }
        throw Diagnostic("\(what) must be a list, found \(node.kindName)", at: node.location)
    }

    static func name(_ node: YAMLNode, _ what: String) throws -> String {
        guard let s = node.scalar, ExpressionParser.isIdentifier(s) else {
            throw Diagnostic("\(what) must be a name (letters, digits, _), found \(node.scalar.map { "'\(Printable.text($0))'" } ?? node.kindName)",
                             at: node.location)
        }
        return s
    }

    static func entries(_ node: YAMLNode, _ what: String) throws -> OrderedEntries {
        var e = OrderedEntries()
        for (k, v) in try mapping(node, what) {
            let key = try name(k, "a key of \(what)")
            e.items.append((key, v))
            e.keyLocations[key] = k.location
        }
        return e
    }

    static func unknownKey(_ key: YAMLNode, _ allowed: [String], _ what: String) -> Diagnostic {
        let near = Verifier.closest(key.scalar ?? "", allowed)
        return Diagnostic("unknown key '\(key.scalar ?? "?")' in \(what)", at: key.location,
                          hint: near.map { "did you mean '\($0)'?" } ?? "allowed keys: \(allowed.joined(separator: ", "))")
    }

    static func nodeDecl(_ item: YAMLNode, _ what: String, defaultName: String? = nil) throws -> NodeDecl {
        var fields = OrderedEntries()
        var nodeName = defaultName
        for (k, v) in try mapping(item, "each entry of \(what)") {
            let key = try name(k, "a node field")
            if key == "name" { nodeName = try name(v, "a node name") } else {
                fields.items.append((key, v))
                fields.keyLocations[key] = k.location
            }
        }
        guard let n = nodeName else {
            throw Diagnostic("a node in \(what) has no 'name'", at: item.location, hint: "write - {name: conv1, ...}")
        }
        return NodeDecl(name: n, location: item.location, fields: fields)
    }

    static func nodeList(_ node: YAMLNode, _ what: String) throws -> [NodeDecl] {
        var out: [NodeDecl] = []
        var seen: [String: SourceLocation] = [:]
        for item in try sequence(node, what) {
            let d = try nodeDecl(item, what)
            if let prev = seen[d.name] {
                throw Diagnostic("node name '\(d.name)' is used twice in \(what) (first at line \(prev.line))", at: d.location)
            }
            seen[d.name] = d.location
            out.append(d)
        }
        return out
    }

    static func block(_ name: String, _ node: YAMLNode) throws -> BlockDecl {
        var args = OrderedEntries(), inputs: [String] = [], nodes: [NodeDecl] = [], main: String?, output: YAMLNode?
        let allowed = ["args", "in", "nodes", "main", "out", "description"]
        for (k, v) in try mapping(node, "block '\(name)'") {
            switch k.scalar! {
            case "args": args = try entries(v, "args of block '\(name)'")
            case "in":
                if v.scalar != nil { inputs = [try self.name(v, "a block input")] }
                else { inputs = try sequence(v, "in of block '\(name)'").map { try self.name($0, "a block input") } }
            case "nodes": nodes = try nodeList(v, "block '\(name)'")
            case "main": main = try self.name(v, "main of block '\(name)'")
            case "out": output = v
            case "description": break
            default: throw unknownKey(k, allowed, "block '\(name)'")
            }
        }
        guard let out = output else {
            throw Diagnostic("block '\(name)' has no 'out'", at: node.location, hint: "name the node whose output the block returns")
        }
        if let m = main, !nodes.contains(where: { $0.name == m }) {
            throw Diagnostic("block '\(name)': main node '\(m)' is not one of its nodes", at: node.location)
        }
        return BlockDecl(name: name, location: node.location, args: args, inputs: inputs, nodes: nodes, main: main, output: out)
    }

    /// Applies one file on top of `base` (nil for a file that does not extend another).
    static func apply(_ root: YAMLNode, file: String, base: GraphSource?) throws -> GraphSource {
        let pairs = try mapping(root, "a graph file")
        var byKey: [String: (key: YAMLNode, value: YAMLNode)] = [:]
        for p in pairs {
            guard topKeys.contains(p.key.scalar!) else { throw unknownKey(p.key, topKeys, "the graph file") }
            byKey[p.key.scalar!] = p
        }
        guard let version = byKey["fillgraph"] else {
            throw Diagnostic("\(file) does not start with 'fillgraph: 1'", at: root.location,
                             hint: "the first key of a graph file names the language version")
        }
        guard version.value.scalar == "1" else {
            throw Diagnostic("unsupported language version '\(version.value.scalar ?? version.value.kindName)'",
                             at: version.value.location, hint: "this graphc reads version 1")
        }
        if base == nil, let k = variantOnlyKeys.first(where: { byKey[$0] != nil }) {
            throw Diagnostic("'\(k)' only makes sense in a file that extends another", at: byKey[k]!.key.location,
                             hint: "add 'extends: base.yaml'")
        }
        let fallbackName = String(file.split(separator: "/").last ?? "graph").replacingOccurrences(of: ".yaml", with: "")
        var g = base ?? GraphSource(name: fallbackName)
        g.location = root.location
        if let n = byKey["name"] { g.name = try name(n.value, "the graph name") } else if base != nil { g.name = fallbackName }
        if let c = byKey["conventions"] {
            guard let v = c.value.scalar, conventionValues.contains(v) else {
                throw Diagnostic("conventions must be one of \(conventionValues.joined(separator: ", ")), found \(c.value.scalar.map { "'\($0)'" } ?? c.value.kindName)",
                                 at: c.value.location, hint: "pytorch_port marks graphs that reproduce the PyTorch port's model/networks.py")
            }
            g.conventions = v
        }
        for (section, target) in [("params", \GraphSource.params), ("symbols", \.symbols), ("inputs", \.inputs), ("outputs", \.outputs)] {
            if let s = byKey[section] { for e in try entries(s.value, section).items { g[keyPath: target][e.name] = e.value } }
        }
        if let b = byKey["blocks"] {
            for e in try entries(b.value, "blocks").items { g.blocks[e.name] = try block(e.name, e.value) }
        }
        try applyEdits(byKey, &g)
        if let n = byKey["nodes"] {
            let existing = Dictionary(g.nodes.map { ($0.name, $0.location) }, uniquingKeysWith: { a, _ in a })
            for d in try nodeList(n.value, "nodes") {
                if let prev = existing[d.name] {
                    throw Diagnostic("node '\(d.name)' already exists (at \(prev))", at: d.location,
                                     hint: base == nil ? nil : "use patch: or replace: to change a node of the base graph")
                }
                g.nodes.append(d)
            }
        }
        return g
    }

    static func applyEdits(_ byKey: [String: (key: YAMLNode, value: YAMLNode)], _ g: inout GraphSource) throws {
        func index(_ n: YAMLNode) throws -> Int {
            let nm = try name(n, "a node name")
            guard let i = g.nodes.firstIndex(where: { $0.name == nm }) else {
                throw Diagnostic("the base graph has no node '\(nm)'", at: n.location,
                                 hint: Verifier.closest(nm, g.nodes.map(\.name)).map { "did you mean '\($0)'?" })
            }
            return i
        }
        if let r = byKey["remove"] {
            for item in try sequence(r.value, "remove") {
                g.nodes.remove(at: try index(item))
                g.removed[item.scalar!] = item.location
            }
        }
        if let p = byKey["patch"] {
            for (k, v) in try mapping(p.value, "patch") {
                let i = try index(k)
                for (fk, fv) in try mapping(v, "patch of '\(k.scalar!)'") {
                    let field = try name(fk, "a node field")
                    if field == "name" { throw Diagnostic("patch cannot rename a node", at: fk.location) }
                    g.nodes[i].fields[field] = fv.isNull ? nil : fv
                }
                g.nodes[i].location = v.location
            }
        }
        if let r = byKey["replace"] {
            for (k, v) in try mapping(r.value, "replace") {
                let i = try index(k)
                var d = try nodeDecl(v, "replace", defaultName: k.scalar!)
                if d.name != k.scalar! { throw Diagnostic("replace of '\(k.scalar!)' must keep its name, got '\(d.name)'", at: v.location) }
                d.location = v.location
                g.nodes[i] = d
            }
        }
        if let r = byKey["remove_outputs"] {
            for item in try sequence(r.value, "remove_outputs") {
                let nm = try name(item, "an output name")
                guard g.outputs[nm] != nil else { throw Diagnostic("the base graph has no output '\(nm)'", at: item.location) }
                g.outputs[nm] = nil
            }
        }
    }
}
