// Symbolic tensor dimensions.
//
// Graph inputs have symbolic spatial sizes (H, W) and a symbolic batch (N). Shape inference must
// still prove that, say, the stage-1 output and the image agree, so a dimension is kept in
// canonical *affine* form (Σ cᵢ·symᵢ + c₀ with rational coefficients) whenever that is exact for
// every admissible binding — a symbol declared `multiple_of: 8` makes H/4 affine. Anything else
// (ceil of an odd size, products of sizes) becomes an opaque expression that can only be
// evaluated; such dimensions are compared by evaluating both sides on sample bindings, and the
// runtime re-infers every shape with concrete sizes, so nothing unproven reaches a kernel.

/// An exact rational number with a positive denominator, always reduced.
public struct Rational: Hashable, Sendable {
    public let num: Int
    public let den: Int

    public init(_ num: Int, _ den: Int = 1) {
        precondition(den != 0, "zero denominator")
        let g = Rational.gcd(abs(num), abs(den))
        let sign = den < 0 ? -1 : 1
        self.num = sign * num / max(g, 1)
        self.den = sign * den / max(g, 1)
    }

    public var isInteger: Bool { den == 1 }
    public static let zero = Rational(0)

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
    public static func + (a: Rational, b: Rational) -> Rational { Rational(a.num * b.den + b.num * a.den, a.den * b.den) }
    public static func * (a: Rational, b: Rational) -> Rational { Rational(a.num * b.num, a.den * b.den) }
}

/// Σ terms[s]·s + constant.
public struct Affine: Hashable, Sendable {
    public var terms: [String: Rational]
    public var constant: Rational

    public init(terms: [String: Rational] = [:], constant: Rational = .zero) {
        self.terms = terms.filter { $0.value != .zero }
        self.constant = constant
    }

    static func + (a: Affine, b: Affine) -> Affine {
        var t = a.terms
        for (s, c) in b.terms { t[s] = (t[s] ?? .zero) + c }
        return Affine(terms: t, constant: a.constant + b.constant)
    }

    func scaled(_ r: Rational) -> Affine {
        Affine(terms: terms.mapValues { $0 * r }, constant: constant * r)
    }

    /// True if the value is an integer for every admissible binding (each symbol a positive
    /// multiple of its declared step).
    func isIntegral(_ symbols: SymbolTable) -> Bool {
        constant.isInteger && terms.allSatisfy { s, c in (c * Rational(symbols.step(of: s))).isInteger }
    }

    func evaluate(_ bindings: [String: Int]) -> Int? {
        var acc = constant
        for (s, c) in terms {
            guard let v = bindings[s] else { return nil }
            acc = acc + c * Rational(v)
        }
        return acc.isInteger ? acc.num : nil
    }
}

/// Declared symbols and their steps (`multiple_of`).
public struct SymbolTable: Sendable {
    public var steps: [String: Int]
    public init(steps: [String: Int] = [:]) { self.steps = steps }
    public func step(of s: String) -> Int { steps[s] ?? 1 }

    /// Bindings used to compare opaque dimensions: each symbol gets several different multiples
    /// of its step, varied independently between symbols.
    func sampleBindings() -> [[String: Int]] {
        let factors = [1, 2, 3, 5, 7, 11, 16, 33]
        let names = steps.keys.sorted()
        return (0..<factors.count).map { k in
            var b: [String: Int] = [:]
            for (i, s) in names.enumerated() { b[s] = step(of: s) * factors[(k + 3 * i) % factors.count] }
            return b
        }
    }
}

/// A tensor dimension: canonical affine form when exact, else an opaque expression.
public indirect enum Dim: Hashable, Sendable, CustomStringConvertible {
    case affine(Affine)
    case sum(Dim, Dim)
    case product(Dim, Dim)
    case floorDiv(Dim, Int)
    case ceilDiv(Dim, Int)

    public static func constant(_ v: Int) -> Dim { .affine(Affine(constant: Rational(v))) }
    public static func symbol(_ s: String) -> Dim { .affine(Affine(terms: [s: Rational(1)])) }

    /// The value when it does not depend on any symbol.
    public var constantValue: Int? {
        if case .affine(let a) = self, a.terms.isEmpty, a.constant.isInteger { return a.constant.num }
        return nil
    }

    public func evaluate(_ bindings: [String: Int]) -> Int? {
        switch self {
        case .affine(let a): return a.evaluate(bindings)
        case .sum(let a, let b):
            guard let x = a.evaluate(bindings), let y = b.evaluate(bindings) else { return nil }
            return x + y
        case .product(let a, let b):
            guard let x = a.evaluate(bindings), let y = b.evaluate(bindings) else { return nil }
            return x.multipliedReportingOverflow(by: y).overflow ? nil : x * y
        case .floorDiv(let a, let d):
            guard let x = a.evaluate(bindings) else { return nil }
            return Dim.floorDivide(x, d)
        case .ceilDiv(let a, let d):
            guard let x = a.evaluate(bindings) else { return nil }
            return -Dim.floorDivide(-x, d)
        }
    }

    static func floorDivide(_ x: Int, _ d: Int) -> Int {
        let q = x / d
        return (x % d != 0 && (x < 0) != (d < 0)) ? q - 1 : q
    }

    // MARK: algebra (simplifying to affine form whenever exact)

    public static func add(_ a: Dim, _ b: Dim) -> Dim {
        if case .affine(let x) = a, case .affine(let y) = b { return .affine(x + y) }
        if let v = a.evaluate([:]), let w = b.evaluate([:]) { return .constant(v + w) }
        return .sum(a, b)
    }

    public static func add(_ a: Dim, _ k: Int) -> Dim { add(a, .constant(k)) }

    public static func mul(_ a: Dim, _ k: Int) -> Dim {
        if case .affine(let x) = a { return .affine(x.scaled(Rational(k))) }
        return .product(a, .constant(k))
    }

    public static func mul(_ a: Dim, _ b: Dim) -> Dim {
        if let k = b.constantValue { return mul(a, k) }
        if let k = a.constantValue { return mul(b, k) }
        if let v = a.evaluate([:]), let w = b.evaluate([:]) { return .constant(v * w) }
        return .product(a, b)
    }

    public static func floorDiv(_ a: Dim, _ d: Int, _ symbols: SymbolTable) -> Dim {
        if d == 1 { return a }
        if let v = a.constantValue { return .constant(floorDivide(v, d)) }
        if case .floorDiv(let inner, let d1) = a, d > 0, d1 > 0 { return floorDiv(inner, d1 * d, symbols) }  // ⌊⌊x/a⌋/b⌋ = ⌊x/ab⌋
        if case .affine(let x) = a {
            let q = x.scaled(Rational(1, d))
            if q.isIntegral(symbols) { return .affine(q) }
        }
        return .floorDiv(a, d)
    }

    public static func ceilDiv(_ a: Dim, _ d: Int, _ symbols: SymbolTable) -> Dim {
        if d == 1 { return a }
        if let v = a.constantValue { return .constant(-floorDivide(-v, d)) }
        if case .ceilDiv(let inner, let d1) = a, d > 0, d1 > 0 { return ceilDiv(inner, d1 * d, symbols) }  // ⌈⌈x/a⌉/b⌉ = ⌈x/ab⌉
        if case .affine(let x) = a {
            let q = x.scaled(Rational(1, d))
            if q.isIntegral(symbols) { return .affine(q) }
        }
        return .ceilDiv(a, d)
    }

    /// Whether the dimension is divisible by `d` for every admissible binding: true, false
    /// (proved wrong for some binding) or nil (unknown until sizes are bound).
    public func isDivisible(by d: Int, _ symbols: SymbolTable) -> Bool? {
        if case .affine(let x) = self {
            if x.scaled(Rational(1, d)).isIntegral(symbols) { return true }
            if x.terms.isEmpty { return false }
        }
        for b in symbols.sampleBindings() {
            if let v = evaluate(b), v % d != 0 { return false }
        }
        return nil
    }

    /// Equality for every admissible binding: exact for affine forms, sampled otherwise.
    public func equals(_ other: Dim, _ symbols: SymbolTable) -> Bool {
        if case .affine(let x) = self, case .affine(let y) = other { return x == y }
        for b in symbols.sampleBindings() where evaluate(b) != other.evaluate(b) { return false }
        return true
    }

    public var description: String {
        switch self {
        case .affine(let a): return Dim.format(a)
        case .sum(let a, let b): return "\(a) + \(b)"
        case .product(let a, let b): return "\(Dim.wrap(a))*\(Dim.wrap(b))"
        case .floorDiv(let a, let d): return "floor(\(a)/\(d))"
        case .ceilDiv(let a, let d): return "ceil(\(a)/\(d))"
        }
    }

    private static func wrap(_ d: Dim) -> String {
        if case .sum = d { return "(\(d))" }
        if case .affine(let a) = d, a.terms.count + (a.constant == .zero ? 0 : 1) > 1 { return "(\(d))" }
        return d.description
    }

    private static func format(_ a: Affine) -> String {
        var parts: [String] = []
        for s in a.terms.keys.sorted() {
            let c = a.terms[s]!
            let mag = Rational(abs(c.num), c.den)
            var t: String
            if mag.num == 1 { t = s } else { t = "\(mag.num)*\(s)" }
            if mag.den != 1 { t += "/\(mag.den)" }
            parts.append(c.num < 0 ? "-" + t : t)
        }
        if a.constant != .zero || parts.isEmpty {
            parts.append(a.constant.isInteger ? "\(a.constant.num)" : "\(a.constant.num)/\(a.constant.den)")
        }
        var out = parts[0]
        for p in parts.dropFirst() { out += p.hasPrefix("-") ? " - " + p.dropFirst() : " + " + p }
        return out
    }
}
