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
    static var opNames: [String] { Op.yamlNames }

    static func outputNames(of op: String) -> [String] { Op.type(named: op)?.yamlOutputs(op) ?? ["out"] }

    /// The attribute fields each op accepts (besides op, in, name).
    static func fields(of op: String) -> [String]? { Op.type(named: op)?.yamlFields(op) }

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

    /// Builds the op through its own contract; `inputCount` is the number of `in:` references
    /// (plus `like`, when present).
    static func build(_ op: String, _ r: inout FieldReader, inputCount: Int) throws -> Op {
        guard let type = Op.type(named: op) else {
            throw r.fail("op", "unknown op '\(op)'", hint: Verifier.closest(op, opNames).map { "did you mean '\($0)'?" }
                ?? "ops: \(opNames.joined(separator: ", "))")
        }
        var reader: any AttributeReader = r
        defer { r = reader as! FieldReader }
        return try type.build(op, &reader, inputCount: inputCount)
    }
}

extension FieldReader: AttributeReader {
    mutating func word(_ key: String, _ choices: [String], _ fallback: String) throws -> String {
        guard let v = try value(key) else { return fallback }
        guard case .string(let s) = v, choices.contains(s) else {
            throw fail(key, "expected one of \(choices.joined(separator: ", ")), got '\(v)'")
        }
        return s
    }

    mutating func raw(_ key: String) throws -> AttributeValue? {
        func convert(_ v: Value) throws -> AttributeValue {
            switch v {
            case .number(let r) where r.isInteger: return .integer(r.num)
            case .string(let s): return .word(s)
            case .list(let l): return .list(try l.map(convert))
            default: throw fail(key, "expected a whole number, a word or a list, got '\(v)'")
            }
        }
        return try value(key).map(convert)
    }

    func failure(_ key: String, _ message: String) -> Error { fail(key, message, hint: nil) }
}
