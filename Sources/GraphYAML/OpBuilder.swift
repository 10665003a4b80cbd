// Turns the fields of an op node (`op: conv2d, out: 2*cnum, kernel: 3, ...`) into a typed Op.
// Each read names the field, so a wrong type or an unknown key is reported at its own line and
// column with the keys the op accepts.
import GraphIR

/// Reads typed values out of a node's fields, evaluating expressions in scope.
struct FieldReader {
    let fields: OrderedEntries
    let scope: Scope
    let what: String
    let fallback: SourceLocation
    private(set) var used: Set<String> = []

    init(_ fields: OrderedEntries, scope: Scope, what: String, at fallback: SourceLocation) {
        self.fields = fields
        self.scope = scope
        self.what = what
        self.fallback = fallback
    }

    func fail(_ key: String, _ message: String, hint: String? = nil) -> Diagnostic {
        Diagnostic("\(what): \(key): \(message)", at: fields[key]?.location ?? fallback, hint: hint)
    }

    /// The value of a YAML node in scope: names of parameters/arguments are substituted,
    /// arithmetic is evaluated, other bare names are literal.
    static func resolve(_ node: YAMLNode, _ scope: Scope) throws -> Value {
        switch node.kind {
        case .sequence(let items): return .list(try items.map { try resolve($0, scope) })
        case .mapping: throw Diagnostic("expected a value, found a mapping", at: node.location)
        case .scalar(let s, let quoted):
            if quoted { return .string(s) }
            if node.isNull { return .null }
            if s == "true" || s == "false" { return .bool(s == "true") }
            if ExpressionParser.isIdentifier(s) { return scope.lookup(s) ?? .string(s) }
            do { return try ExpressionParser.evaluate(s, scope) } catch ExpressionError.message(let m) {
                throw Diagnostic("cannot evaluate '\(s)': \(m)", at: node.location)
            }
        }
    }

    mutating func value(_ key: String) throws -> Value? {
        used.insert(key)
        guard let node = fields[key] else { return nil }
        let v = try FieldReader.resolve(node, scope)
        return v == .null ? nil : v
    }

    mutating func has(_ key: String) -> Bool { fields[key] != nil }

    mutating func int(_ key: String, _ def: Int? = nil) throws -> Int {
        guard let v = try value(key) else {
            if let def { return def }
            throw fail(key, "is required")
        }
        guard case .number(let r) = v, r.isInteger else {
            throw fail(key, "expected a whole number, got \(v.typeName) '\(v)'")
        }
        return r.num
    }

    mutating func pair(_ key: String, _ def: Int? = nil) throws -> [Int] {
        if case .list(let l)? = try value(key) {
            guard l.count == 2, case .number(let a) = l[0], case .number(let b) = l[1], a.isInteger, b.isInteger else {
                throw fail(key, "expected a whole number or [height, width]")
            }
            return [a.num, b.num]
        }
        let v = try int(key, def)
        return [v, v]
    }

    mutating func float(_ key: String, _ def: Float? = nil) throws -> Float {
        guard let v = try value(key) else {
            if let def { return def }
            throw fail(key, "is required")
        }
        guard let d = v.asDouble, d.isFinite, abs(d) < 1e30 else { throw fail(key, "expected a number, got \(v.typeName) '\(v)'") }
        return Float(d)
    }

    mutating func rational(_ key: String) throws -> Rational? {
        guard let v = try value(key) else { return nil }
        switch v {
        case .number(let r): return r
        case .real(let d):
            for den in [1, 2, 4, 8, 16, 32, 64] where (d * Double(den)).rounded() == d * Double(den) {
                return Rational(Int(d * Double(den)), den)
            }
            throw fail(key, "\(d) is not a fraction with a small power-of-two denominator")
        default: throw fail(key, "expected a number such as 2, 0.5 or 1/4, got \(v.typeName) '\(v)'")
        }
    }

    mutating func bool(_ key: String, _ def: Bool) throws -> Bool {
        guard let v = try value(key) else { return def }
        guard case .bool(let b) = v else { throw fail(key, "expected true or false, got '\(v)'") }
        return b
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ def: T) throws -> T where T.RawValue == String {
        guard let v = try value(key) else { return def }
        guard case .string(let s) = v, let t = T(rawValue: s) else {
            throw fail(key, "expected one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), got '\(v)'")
        }
        return t
    }

    /// The builder must read every field the op's table allows (checkFields has already
    /// rejected the others); a field left unread means the two disagree.
    func assertAllRead(extra allowed: [String]) {
        assert(fields.items.allSatisfy { used.contains($0.name) || allowed.contains($0.name) },
               "\(what): OpBuilder.fields and OpBuilder.build disagree")
    }
}

enum OpBuilder {
    static let opNames = ["conv2d", "sn_conv2d", "gate", "resize_nearest", "add", "sub", "mul", "elu", "relu",
                          "leaky_relu", "sigmoid", "tanh", "concat", "slice", "fill", "composite",
                          "contextual_attention", "flatten"]

    static func outputNames(of op: String) -> [String] { op == "contextual_attention" ? ["y", "argmax"] : ["out"] }

    /// The attribute fields each op accepts (besides op, in, name).
    static func fields(of op: String) -> [String]? {
        switch op {
        case "conv2d", "sn_conv2d": return ["out", "kernel", "stride", "dilation", "padding", "bias"]
        case "gate": return ["act", "alpha"]
        case "elu", "leaky_relu": return ["alpha"]
        case "relu", "sigmoid", "tanh", "add", "sub", "mul", "composite": return []
        case "resize_nearest": return ["scale", "like", "align_corners"]
        case "concat": return ["axis"]
        case "slice": return ["axis", "start", "end"]
        case "fill": return ["value", "channels", "like"]
        case "contextual_attention": return ["ksize", "stride", "rate", "fuse_k", "softmax_scale", "fuse", "align_corners"]
        case "flatten": return ["order"]
        default: return nil
        }
    }

    /// Rejects unknown fields before any is read, so a misspelt key is named as such rather
    /// than reported as a missing required one.
    static func checkFields(_ op: String, _ fields: OrderedEntries, what: String) throws {
        guard let allowed = OpBuilder.fields(of: op) else { return }
        for item in fields.items where !allowed.contains(item.name) && !["op", "in"].contains(item.name) {
            throw Diagnostic("\(what): unknown field '\(item.name)'", at: fields.location(of: item.name),
                             hint: Verifier.closest(item.name, allowed).map { "did you mean '\($0)'?" }
                                 ?? (allowed.isEmpty ? "\(op) takes no attributes" : "fields: \(allowed.joined(separator: ", "))"))
        }
    }

    /// Builds the op; `inputCount` is the number of `in:` references (plus `like`, when present).
    static func build(_ op: String, _ r: inout FieldReader, inputCount: Int) throws -> Op {
        switch op {
        case "conv2d", "sn_conv2d":
            let kernel = try r.pair("kernel")
            let padding: Padding
            switch try r.value("padding") {
            case nil, .string("tf_same")?: padding = .tfSame
            case .string("reflect")?: padding = .reflect
            case .string("valid")?: padding = .explicit(top: 0, bottom: 0, left: 0, right: 0)
            case .number(let p)? where p.isInteger: padding = .explicit(top: p.num, bottom: p.num, left: p.num, right: p.num)
            case .list(let l)? where l.count == 4 && l.allSatisfy({ if case .number(let x) = $0 { return x.isInteger } else { return false } }):
                let v = l.map { v -> Int in if case .number(let x) = v { return x.num } else { return 0 } }
                padding = .explicit(top: v[0], bottom: v[1], left: v[2], right: v[3])
            case let other?:
                throw r.fail("padding", "expected tf_same, reflect, valid, a number or [top, bottom, left, right], got '\(other)'")
            }
            return .conv2d(Conv2D(outChannels: try r.int("out"), kernel: kernel, stride: try r.pair("stride", 1),
                                  dilation: try r.pair("dilation", 1), padding: padding, bias: try r.bool("bias", true),
                                  spectralNorm: op == "sn_conv2d"))
        case "gate":
            let kind: ActivationKind = try r.choice("act", .elu)
            let alpha = r.has("alpha") ? try r.float("alpha") : nil
            return .gate(Gate(Activation(kind, alpha: alpha)))
        case "elu", "leaky_relu":
            let kind = ActivationKind(rawValue: op)!
            return .unary(Unary(Activation(kind, alpha: r.has("alpha") ? try r.float("alpha") : nil)))
        case "relu", "sigmoid", "tanh":
            return .unary(Unary(Activation(ActivationKind(rawValue: op)!)))
        case "resize_nearest":
            let scale = try r.rational("scale")
            if (scale == nil) == !r.has("like") {
                throw r.fail("scale", "give either scale (2, 0.5, ...) or like: <tensor>, not both or neither")
            }
            return .resizeNearest(ResizeNearest(scale: scale, alignCorners: try r.bool("align_corners", true)))
        case "add", "sub", "mul": return .binary(Binary(BinaryKind(rawValue: op)!))
        case "concat": return .concat(Concat(axis: try r.choice("axis", .channel), count: inputCount))
        case "slice":
            return .slice(Slice(axis: try r.choice("axis", .channel), start: try r.int("start", 0), end: try r.int("end")))
        case "fill":
            guard r.has("like") else { throw r.fail("like", "is required: fill takes its batch and size from another tensor") }
            return .fill(Fill(value: try r.float("value"), channels: try r.int("channels", 1)))
        case "composite": return .composite(Composite())
        case "contextual_attention":
            return .contextualAttention(ContextualAttention(
                ksize: try r.int("ksize", 3), stride: try r.int("stride", 1), rate: try r.int("rate", 2),
                fuseK: try r.int("fuse_k", 3), softmaxScale: try r.float("softmax_scale", 10), fuse: try r.bool("fuse", true),
                alignCorners: try r.bool("align_corners", true)))
        case "flatten": return .flatten(Flatten(order: try r.choice("order", .chw)))
        default:
            throw r.fail("op", "unknown op '\(op)'", hint: Verifier.closest(op, opNames).map { "did you mean '\($0)'?" }
                ?? "ops: \(opNames.joined(separator: ", "))")
        }
    }
}
