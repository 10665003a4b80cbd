// Entry point of the frontend: read a graph file (following `extends`), merge, expand, and
// return the IR graph with the source files it came from (their bytes feed the model's hash).
import Foundation
import SafeIO
import GraphIR

public struct LoadedGraph {
    public var graph: Graph
    /// Every file read, base first.
    public var files: [(path: String, bytes: [UInt8])]
    /// Whose conventions the graph reproduces: "official" (TF) or "pytorch_port".
    public var conventions = "official"
}

public enum GraphLoader {
    public static func load(path: String) throws -> LoadedGraph { try load(path: path, overrides: []) }

    /// Loads a graph with some of its `params` replaced (`--param cnum=8`): each value is read
    /// as YAML, and a name the graph does not declare is an error.
    public static func load(path: String, overrides: [(name: String, value: String)]) throws -> LoadedGraph {
        var files: [(path: String, bytes: [UInt8])] = []
        var source = try loadSource(path: path, files: &files, chain: [])
        for (name, value) in overrides {
            guard source.params[name] != nil else {
                let known = source.params.items.map(\.name)
                throw Diagnostic("--param \(name)=\(value): the graph has no parameter '\(name)'",
                                 hint: known.isEmpty ? "this graph declares no params" : "its params are: \(known.joined(separator: ", "))")
            }
            if let old = source.params[name]?.scalar, Double(old) != nil, Double(value) == nil {
                throw Diagnostic("--param \(name)=\(value): '\(name)' is a number in the graph (\(old)); give a number")
            }
            let node = try YAMLReader.parse(Array(value.utf8), file: "--param \(name)")
            guard node.scalar != nil else { throw Diagnostic("--param \(name)=\(value): the value must be a single number or word") }
            source.params[name] = node
        }
        return LoadedGraph(graph: try build(source), files: files, conventions: source.conventions)
    }

    /// Loads from text; `extends` is resolved relative to `file`'s directory.
    public static func load(text: String, file: String) throws -> LoadedGraph {
        var files: [(path: String, bytes: [UInt8])] = [(file, Array(text.utf8))]
        let root = try YAMLReader.parse(Array(text.utf8), file: file)
        let source = try applyFile(root, path: file, files: &files, chain: [file])
        return LoadedGraph(graph: try build(source), files: files, conventions: source.conventions)
    }

    static func readFile(_ path: String, from: SourceLocation?) throws -> [UInt8] {
        do { return try SafeFile.read(path, limit: YAMLReader.maxFileBytes, what: "a graph file") } catch let e as FileAccessError {
            var hint = e.hint
            // A near miss of the extension is the commonest 'no such file' in an extends line.
            if e.detail.hasSuffix("no such file") {
                let alternatives = [".yaml", ".yml"].compactMap { ext -> String? in
                    guard let dot = path.lastIndex(of: "."), path[dot...] != ext else { return nil }
                    let other = String(path[..<dot]) + ext
                    return FileManager.default.fileExists(atPath: other) ? other : nil
                }
                if let other = alternatives.first { hint = "did you mean '\(Printable.path(other))'?" }
            }
            let detail = e.detail.hasPrefix("cannot open: ") ? String(e.detail.dropFirst("cannot open: ".count)) : e.detail
            throw Diagnostic("cannot read \(Printable.path(path)): \(detail)", at: from, hint: hint)
        }
    }

    static func loadSource(path: String, files: inout [(path: String, bytes: [UInt8])], chain: [String],
                           from: SourceLocation? = nil) throws -> GraphSource {
        let canonical = URL(fileURLWithPath: path).standardizedFileURL.path
        if chain.contains(canonical) {
            throw Diagnostic("'extends' loops: \((chain + [canonical]).joined(separator: " -> "))", at: from)
        }
        guard chain.count < 16 else { throw Diagnostic("'extends' chain is longer than 16 files", at: from) }
        let bytes = try readFile(path, from: from)
        files.append((path, bytes))
        let root = try YAMLReader.parse(bytes, file: path)
        return try applyFile(root, path: path, files: &files, chain: chain + [canonical])
    }

    static func applyFile(_ root: YAMLNode, path: String, files: inout [(path: String, bytes: [UInt8])],
                          chain: [String]) throws -> GraphSource {
        var base: GraphSource?
        if case .mapping(let pairs) = root.kind, let ext = pairs.first(where: { $0.key.scalar == "extends" }) {
            guard let rel = ext.value.scalar, !rel.isEmpty else {
                throw Diagnostic("extends: expected a file path", at: ext.value.location)
            }
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
            let basePath = rel.hasPrefix("/") ? rel : dir.appendingPathComponent(rel).path
            var baseFiles: [(path: String, bytes: [UInt8])] = []
            base = try loadSource(path: basePath, files: &baseFiles, chain: chain, from: ext.value.location)
            files.insert(contentsOf: baseFiles, at: 0)
        }
        return try GraphFileParser.apply(root, file: path, base: base)
    }

    static func build(_ source: GraphSource) throws -> Graph {
        let scope = try source.evaluateParams()
        var symbols: [SymbolDecl] = []
        for (name, node) in source.symbols.items {
            var step = 1
            if case .mapping(let pairs) = node.kind {
                for (k, v) in pairs {
                    guard k.scalar == "multiple_of" else {
                        throw GraphFileParser.unknownKey(k, ["multiple_of"], "symbol '\(name)'")
                    }
                    guard case .number(let r) = try FieldReader.resolve(v, scope), r.isInteger, r.num >= 1, r.num <= 4096 else {
                        throw Diagnostic("symbol '\(name)': multiple_of must be a whole number in 1...4096", at: v.location)
                    }
                    step = r.num
                }
            } else if !node.isNull {
                throw Diagnostic("symbol '\(name)' must be {multiple_of: n} or ~", at: node.location)
            }
            symbols.append(SymbolDecl(name: name, multipleOf: step))
        }
        var inputs: [GraphInput] = []
        for (name, node) in source.inputs.items {
            let dims = try GraphFileParser.sequence(node, "input '\(name)' (write [C, H, W])").map { item -> InputDim in
                if let s = item.scalar, ExpressionParser.isIdentifier(s), scope.lookup(s) == nil {
                    if !symbols.contains(where: { $0.name == s }) { symbols.append(SymbolDecl(name: s)) }
                    return .symbol(s)
                }
                guard case .number(let r) = try FieldReader.resolve(item, scope), r.isInteger, r.num >= 1, r.num <= 65536 else {
                    throw Diagnostic("input '\(name)': a dimension must be a size symbol or a whole number in 1...65536", at: item.location)
                }
                return .fixed(r.num)
            }
            inputs.append(GraphInput(name: name, dims: dims, location: node.location))
        }
        var expander = Expander(source, params: scope)
        let top = Expander.Frame(instance: nil, block: nil,
                                 decls: Dictionary(source.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }),
                                 inputs: Dictionary(inputs.map { ($0.name, ValueRef($0.name)) }, uniquingKeysWith: { a, _ in a }),
                                 scope: scope, callSite: nil, stack: [])
        expander.expand(source.nodes, top)
        var outputs: [GraphOutput] = []
        for (name, node) in source.outputs.items {
            do {
                guard let s = node.scalar else { throw Diagnostic("output '\(name)' must name a value", at: node.location) }
                outputs.append(GraphOutput(name: name, value: try expander.resolve(s, top, at: node.location), location: node.location))
            } catch let e as Diagnostic { expander.diags.append(e) }
        }
        if !expander.diags.isEmpty { throw DiagnosticList(Expander.mergingInstances(expander.diags)) }
        return Graph(name: source.name, symbols: symbols, inputs: inputs, parameters: expander.parameters, nodes: expander.nodes,
                     outputs: outputs, location: source.location)
    }
}
