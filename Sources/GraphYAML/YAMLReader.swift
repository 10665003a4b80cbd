// libyaml's document loader turned into a small Swift tree that keeps every node's line and
// column, so each later diagnostic can point at the exact YAML that caused it. Aliases are
// followed but bounded (depth and total node visits), so a recursive or exponential alias
// structure fails with an error instead of hanging or exhausting memory.
import CLibYAML
import GraphIR

public struct YAMLNode: Sendable {
    public enum Kind: Sendable {
        case scalar(String, quoted: Bool)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    public var kind: Kind
    public var location: SourceLocation

    public var scalar: String? {
        if case .scalar(let s, _) = kind { return s }
        return nil
    }

    /// A plain `~`, `null` or empty scalar.
    public var isNull: Bool {
        if case .scalar(let s, let quoted) = kind, !quoted { return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL" }
        return false
    }

    public var kindName: String {
        switch kind {
        case .scalar: return "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

public enum YAMLReader {
    static let maxDepth = 64
    static let maxNodes = 200_000
    public static let maxFileBytes = 4 << 20

    /// Parses one YAML document. `file` names the source in diagnostics.
    public static func parse(_ bytes: [UInt8], file: String) throws -> YAMLNode {
        if bytes.count > maxFileBytes {
            throw Diagnostic("\(file) is \(bytes.count) bytes; graph files are limited to \(maxFileBytes) bytes",
                             at: SourceLocation(file: file, line: 1, column: 1))
        }
        if let problem = flowNestingProblem(bytes, file: file) { throw problem }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw Diagnostic("libyaml could not initialise") }
        defer { yaml_parser_delete(&parser) }
        var input = bytes + [0]  // never empty, so the buffer has a base address
        return try input.withUnsafeMutableBufferPointer { buf -> YAMLNode in
            yaml_parser_set_input_string(&parser, buf.baseAddress!, buf.count - 1)
            var doc = yaml_document_t()
            guard yaml_parser_load(&parser, &doc) == 1 else { throw parserError(&parser, file, bytes) }
            defer { yaml_document_delete(&doc) }
            guard let root = yaml_document_get_root_node(&doc) else {
                throw Diagnostic("\(file) is empty", at: SourceLocation(file: file, line: 1, column: 1),
                                 hint: "a graph file is a YAML mapping starting with 'fillgraph: 1'")
            }
            var budget = maxNodes
            let tree = try convert(root, &doc, file, depth: 0, budget: &budget)
            var second = yaml_document_t()
            guard yaml_parser_load(&parser, &second) == 1 else { throw parserError(&parser, file, bytes) }
            defer { yaml_document_delete(&second) }
            if let extra = yaml_document_get_root_node(&second) {
                throw Diagnostic("\(file) holds more than one YAML document", at: location(extra.pointee.start_mark, file),
                                 hint: "remove the '---' separator; one graph per file")
            }
            return tree
        }
    }

    /// libyaml's scanner does work per open flow level for every token, so 100,000 nested
    /// brackets take it half a minute before the tree's depth limit could apply. A quick scan
    /// of the bytes finds such nesting first. It knows quotes and comments well enough for that
    /// purpose; the limit is far above anything a graph file needs. Because a quote or a '#' the
    /// scan misreads could hide brackets from it, a second count ignores quotes and comments
    /// altogether and has a looser limit: no graph has hundreds of unclosed brackets in strings.
    static func flowNestingProblem(_ bytes: [UInt8], file: String) -> Diagnostic? {
        var depth = 0, line = 1, column = 0
        var quote: UInt8? = nil, comment = false, previous: UInt8 = 0x0A
        for b in bytes {
            column += 1
            defer {
                if b == 0x0A { line += 1; column = 0 }
                previous = b
            }
            if b == 0x0A { comment = false; continue }
            if comment { continue }
            if let q = quote {
                if b == q && !(q == 0x22 && previous == 0x5C) { quote = nil }
                continue
            }
            let tokenStart = [0x20, 0x09, 0x0A, 0x5B, 0x7B, 0x2C, 0x3A].contains(previous)
            switch b {
            case 0x23 where previous == 0x20 || previous == 0x09 || previous == 0x0A: comment = true
            case 0x22 where tokenStart, 0x27 where tokenStart: quote = b  // `where` binds to one pattern only
            case 0x5B, 0x7B:
                depth += 1
                if depth > maxDepth {
                    return Diagnostic("YAML nested too deeply: more than \(maxDepth) levels of [ ] and { }",
                                      at: SourceLocation(file: file, line: line, column: column))
                }
            case 0x5D, 0x7D: depth = max(0, depth - 1)
            default: break
            }
        }
        var raw = 0, rawLine = 1, rawColumn = 0
        for b in bytes {
            rawColumn += 1
            if b == 0x0A { rawLine += 1; rawColumn = 0 }
            if b == 0x5B || b == 0x7B { raw += 1 } else if b == 0x5D || b == 0x7D { raw = max(0, raw - 1) }
            if raw > 4 * maxDepth {
                return Diagnostic("YAML nested too deeply: more than \(4 * maxDepth) unclosed [ and { (counting those inside quotes and comments)",
                                  at: SourceLocation(file: file, line: rawLine, column: rawColumn))
            }
        }
        return nil
    }

    static func location(_ mark: yaml_mark_t, _ file: String) -> SourceLocation {
        SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    static func parserError(_ parser: inout yaml_parser_t, _ file: String, _ bytes: [UInt8]) -> Diagnostic {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
        // libyaml's words for a tab ("cannot start any token") do not say what to change.
        let at = Int(parser.problem_mark.index)
        if at >= 0, at < bytes.count, bytes[at] == 0x09 {
            return Diagnostic("a tab character: YAML indents with spaces only", at: location(parser.problem_mark, file),
                              hint: "replace the tab with spaces (two per level, as in the shipped graphs)")
        }
        var message = "invalid YAML: \(problem)"
        if let context = parser.context.map({ String(cString: $0) }) {
            message += " (\(context) at line \(parser.context_mark.line + 1), column \(parser.context_mark.column + 1))"
        }
        let hint: String? = problem.contains("tab") ? "indent with spaces, not tabs" : nil
        return Diagnostic(message, at: location(parser.problem_mark, file), hint: hint)
    }

    static func convert(_ node: UnsafeMutablePointer<yaml_node_t>, _ doc: inout yaml_document_t, _ file: String,
                        depth: Int, budget: inout Int) throws -> YAMLNode {
        let loc = location(node.pointee.start_mark, file)
        budget -= 1
        guard depth < maxDepth, budget > 0 else {
            throw Diagnostic("YAML nested or aliased too deeply (limits: depth \(maxDepth), \(maxNodes) nodes)", at: loc,
                             hint: "recursive or repeatedly expanded aliases (*name) are not supported")
        }
        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let s = node.pointee.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
            return YAMLNode(kind: .scalar(text, quoted: s.style != YAML_PLAIN_SCALAR_STYLE), location: loc)
        case YAML_SEQUENCE_NODE:
            var items: [YAMLNode] = []
            var p = node.pointee.data.sequence.items.start
            while let cur = p, cur != node.pointee.data.sequence.items.top {
                guard let child = yaml_document_get_node(&doc, cur.pointee) else { break }
                items.append(try convert(child, &doc, file, depth: depth + 1, budget: &budget))
                p = cur + 1
            }
            return YAMLNode(kind: .sequence(items), location: loc)
        case YAML_MAPPING_NODE:
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var p = node.pointee.data.mapping.pairs.start
            while let cur = p, cur != node.pointee.data.mapping.pairs.top {
                guard let k = yaml_document_get_node(&doc, cur.pointee.key),
                      let v = yaml_document_get_node(&doc, cur.pointee.value) else { break }
                let key = try convert(k, &doc, file, depth: depth + 1, budget: &budget)
                guard key.scalar != nil else {
                    throw Diagnostic("mapping keys must be plain names, found \(key.kindName)", at: key.location)
                }
                if let dup = pairs.first(where: { $0.key.scalar == key.scalar }) {
                    throw Diagnostic("duplicate key '\(key.scalar!)' (first at line \(dup.key.location.line))", at: key.location)
                }
                pairs.append((key, try convert(v, &doc, file, depth: depth + 1, budget: &budget)))
                p = cur + 1
            }
            return YAMLNode(kind: .mapping(pairs), location: loc)
        default:
            throw Diagnostic("empty YAML node", at: loc)
        }
    }
}
