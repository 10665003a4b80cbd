// Values of graph parameters and block arguments, and the small expression language used for
// channel counts (`2*cnum`, `cnum/2`, `(cnum + 1) * 3`). Numbers are exact rationals, so
// `cnum/2` of an odd cnum is caught rather than rounded; `//` floors. Magnitudes are bounded
// (2^30) so no input can overflow the arithmetic.
import GraphIR

public indirect enum Value: Hashable, Sendable, CustomStringConvertible {
    case number(Rational)
    case real(Double)
    case string(String)
    case bool(Bool)
    case list([Value])
    case null

    public var description: String {
        switch self {
        case .number(let r): return r.isInteger ? "\(r.num)" : "\(r.num)/\(r.den)"
        case .real(let d): return "\(d)"
        case .string(let s): return s
        case .bool(let b): return "\(b)"
        case .list(let l): return "[" + l.map(\.description).joined(separator: ", ") + "]"
        case .null: return "~"
        }
    }

    var typeName: String {
        switch self {
        case .number(let r): return r.isInteger ? "integer" : "fraction"
        case .real: return "number"
        case .string: return "name"
        case .bool: return "boolean"
        case .list: return "list"
        case .null: return "null"
        }
    }
}

/// Names visible to an expression: block arguments shadow graph parameters.
struct Scope {
    var values: [String: Value]
    func lookup(_ name: String) -> Value? { values[name] }
}

enum ExpressionError: Error {
    case message(String)
}

struct ExpressionParser {
    static let limit = 1 << 30
    private let chars: [Character]
    private var pos = 0
    private var depth = 0
    private let scope: Scope

    /// Whether the text is a bare identifier (a candidate for scope lookup or a literal name).
    static func isIdentifier(_ s: String) -> Bool {
        guard let f = s.first, f.isLetter || f == "_" else { return false }
        return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    static func evaluate(_ text: String, _ scope: Scope) throws -> Value {
        var p = ExpressionParser(chars: Array(text), scope: scope)
        let v = try p.expression()
        p.skipSpace()
        guard p.pos == p.chars.count else { throw ExpressionError.message("unexpected '\(p.chars[p.pos])' in '\(text)'") }
        return v
    }

    private init(chars: [Character], scope: Scope) {
        self.chars = chars
        self.scope = scope
    }

    private mutating func skipSpace() { while pos < chars.count, chars[pos] == " " { pos += 1 } }

    private mutating func peek(_ s: String) -> Bool {
        skipSpace()
        let c = Array(s)
        guard pos + c.count <= chars.count else { return false }
        return Array(chars[pos..<pos + c.count]) == c
    }

    private mutating func expression() throws -> Value {
        var v = try term()
        while true {
            if peek("+") { pos += 1; v = try Self.arith(v, try term(), "+") }
            else if peek("-") { pos += 1; v = try Self.arith(v, try term(), "-") }
            else { return v }
        }
    }

    private mutating func term() throws -> Value {
        var v = try unary()
        while true {
            if peek("//") { pos += 2; v = try Self.arith(v, try unary(), "//") }
            else if peek("*") { pos += 1; v = try Self.arith(v, try unary(), "*") }
            else if peek("/") { pos += 1; v = try Self.arith(v, try unary(), "/") }
            else if peek("%") { pos += 1; v = try Self.arith(v, try unary(), "%") }
            else { return v }
        }
    }

    private mutating func unary() throws -> Value {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 64 else { throw ExpressionError.message("expression nested more than 64 deep") }
        if peek("-") { pos += 1; return try Self.arith(.number(Rational(0)), try unary(), "-") }
        if peek("+") { pos += 1; return try unary() }
        return try primary()
    }

    private mutating func primary() throws -> Value {
        skipSpace()
        guard pos < chars.count else { throw ExpressionError.message("expression ends too early") }
        let c = chars[pos]
        if c == "(" {
            pos += 1
            let v = try expression()
            guard peek(")") else { throw ExpressionError.message("missing ')'") }
            pos += 1
            return v
        }
        if c.isNumber || c == "." { return try number() }
        if c.isLetter || c == "_" {
            var name = ""
            while pos < chars.count, chars[pos].isLetter || chars[pos].isNumber || chars[pos] == "_" { name.append(chars[pos]); pos += 1 }
            guard let v = scope.lookup(name) else {
                let known = scope.values.keys.sorted().joined(separator: ", ")
                throw ExpressionError.message("unknown name '\(name)' (parameters and arguments in scope: \(known))")
            }
            guard case .number = v else {
                if case .real = v { return v }
                throw ExpressionError.message("'\(name)' is \(v.typeName) '\(v)', not a number")
            }
            return v
        }
        throw ExpressionError.message("unexpected '\(c)'")
    }

    private mutating func number() throws -> Value {
        var text = ""
        while pos < chars.count, chars[pos].isNumber || chars[pos] == "." || chars[pos] == "e" || chars[pos] == "E"
            || ((chars[pos] == "-" || chars[pos] == "+") && (text.last == "e" || text.last == "E")) {
            text.append(chars[pos]); pos += 1
        }
        if text.contains(where: { $0 == "e" || $0 == "E" }) {
            guard let d = Double(text), d.isFinite else { throw ExpressionError.message("bad number '\(text)'") }
            return .real(d)
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }), !text.isEmpty, text != "." else {
            throw ExpressionError.message("bad number '\(text)'")
        }
        let whole = String(parts[0]), frac = parts.count == 2 ? String(parts[1]) : ""
        guard whole.count + frac.count <= 9 else { throw ExpressionError.message("number '\(text)' has too many digits") }
        let digits = Int(whole + frac) ?? 0
        var den = 1
        for _ in 0..<frac.count { den *= 10 }
        return .number(Rational(digits, den))
    }

    static func arith(_ a: Value, _ b: Value, _ op: String) throws -> Value {
        switch (a, b) {
        case (.number(let x), .number(let y)):
            var r = Rational.zero
            do {
                switch op {
                case "+": r = try x + y
                case "-": r = try x + Rational(-y.num, y.den)
                case "*": r = try x * y
                case "/", "//", "%":
                    guard y.num != 0 else { throw ExpressionError.message("division by zero") }
                    let q = try x * Rational(y.den, y.num)
                    if op == "/" { r = q }
                    else {
                        let fl = Rational(Int((Double(q.num) / Double(q.den)).rounded(.down)))
                        let m = try fl * y
                        r = op == "//" ? fl : try x + Rational(-m.num, m.den)
                    }
                default: throw ExpressionError.message("unknown operator \(op)")
                }
            } catch is OpError { throw ExpressionError.message("number too large") }
            guard abs(r.num) < limit, r.den < limit else { throw ExpressionError.message("number too large") }
            return .number(r)
        default:
            guard let x = a.asDouble, let y = b.asDouble else {
                throw ExpressionError.message("cannot compute \(a) \(op) \(b)")
            }
            switch op {
            case "+": return .real(x + y)
            case "-": return .real(x - y)
            case "*": return .real(x * y)
            case "/": guard y != 0 else { throw ExpressionError.message("division by zero") }; return .real(x / y)
            default: throw ExpressionError.message("'\(op)' needs exact numbers")
            }
        }
    }
}

extension Value {
    var asDouble: Double? {
        switch self {
        case .number(let r): return Double(r.num) / Double(r.den)
        case .real(let d): return d
        default: return nil
        }
    }
}
