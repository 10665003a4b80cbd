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

    /// Numerators and denominators stay below 2^52: no real network comes near, and a hostile
    /// graph (a value concatenated with itself 64 times) is refused instead of overflowing.
    public static let limit = 1 << 52

    static func checked(_ num: (Int, Bool), _ den: (Int, Bool)) throws -> Rational {
        guard !num.1, !den.1, num.0.magnitude < UInt(limit), den.0.magnitude < UInt(limit), den.0 != 0 else {
            throw OpError("a dimension grows beyond 2^52 (the graph multiplies or adds sizes without bound)")
        }
        return Rational(num.0, den.0)
    }

    public static func + (a: Rational, b: Rational) throws -> Rational {
        let x = a.num.multipliedReportingOverflow(by: b.den), y = b.num.multipliedReportingOverflow(by: a.den)
        let sum = x.partialValue.addingReportingOverflow(y.partialValue)
        return try checked((sum.partialValue, x.overflow || y.overflow || sum.overflow), a.den.multipliedReportingOverflow(by: b.den))
    }

    public static func * (a: Rational, b: Rational) throws -> Rational {
        try checked(a.num.multipliedReportingOverflow(by: b.num), a.den.multipliedReportingOverflow(by: b.den))
    }
}

/// Σ terms[s]·s + constant.
public struct Affine: Hashable, Sendable {
    public var terms: [String: Rational]
    public var constant: Rational

    public init(terms: [String: Rational] = [:], constant: Rational = .zero) {
        self.terms = terms.filter { $0.value != .zero }
        self.constant = constant
    }

    static func + (a: Affine, b: Affine) throws -> Affine {
        var t = a.terms
        for (s, c) in b.terms { t[s] = try (t[s] ?? .zero) + c }
        return Affine(terms: t, constant: try a.constant + b.constant)
    }

    func scaled(_ r: Rational) throws -> Affine {
        Affine(terms: try terms.mapValues { try $0 * r }, constant: try constant * r)
    }

    /// True if the value is an integer for every admissible binding (each symbol a positive
    /// multiple of its declared step).
    func isIntegral(_ symbols: SymbolTable) -> Bool {
        constant.isInteger && terms.allSatisfy { s, c in (try? c * Rational(symbols.step(of: s)))?.isInteger ?? false }
    }

    func evaluate(_ bindings: [String: Int]) -> Int? {
        var acc = constant
        for (s, c) in terms {
            guard let v = bindings[s], let term = try? c * Rational(v), let next = try? acc + term else { return nil }
            acc = next
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
    // Opaque forms carry their node count, so a hostile graph that reuses one value many times
    // (x + x, forty times over) cannot build a tree whose printing or evaluation never ends.
    case sum(Dim, Dim, size: Int)
    case product(Dim, Dim, size: Int)
    case floorDiv(Dim, Int, size: Int)
    case ceilDiv(Dim, Int, size: Int)

    /// The most nodes an opaque dimension may have; DeepFill's deepest has 7.
    public static let maxSize = 256

    var size: Int {
        switch self {
        case .affine: return 1
        case .sum(_, _, let n), .product(_, _, let n), .floorDiv(_, _, let n), .ceilDiv(_, _, let n): return n
        }
    }

    static func opaque(_ parts: Dim..., make: (Int) -> Dim) throws -> Dim {
        let n = parts.reduce(1) { $0 + $1.size }
        guard n <= maxSize else {
            throw OpError("a dimension's expression grows beyond \(maxSize) terms (the graph combines sizes without bound)")
        }
        return make(n)
    }

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
        case .sum(let a, let b, _):
            guard let x = a.evaluate(bindings), let y = b.evaluate(bindings) else { return nil }
            return x.addingReportingOverflow(y).overflow ? nil : x + y
        case .product(let a, let b, _):
            guard let x = a.evaluate(bindings), let y = b.evaluate(bindings) else { return nil }
            return x.multipliedReportingOverflow(by: y).overflow ? nil : x * y
        case .floorDiv(let a, let d, _):
            guard let x = a.evaluate(bindings) else { return nil }
            return Dim.floorDivide(x, d)
        case .ceilDiv(let a, let d, _):
            guard let x = a.evaluate(bindings) else { return nil }
            return -Dim.floorDivide(-x, d)
        }
    }

    static func floorDivide(_ x: Int, _ d: Int) -> Int {
        let q = x / d
        return (x % d != 0 && (x < 0) != (d < 0)) ? q - 1 : q
    }

    // MARK: algebra (simplifying to affine form whenever exact)

    public static func add(_ a: Dim, _ b: Dim) throws -> Dim {
        if case .affine(let x) = a, case .affine(let y) = b { return .affine(try x + y) }
        if let v = a.evaluate([:]), let w = b.evaluate([:]) { return .affine(Affine(constant: try Rational(v) + Rational(w))) }
        return try opaque(a, b) { .sum(a, b, size: $0) }
    }

    public static func add(_ a: Dim, _ k: Int) throws -> Dim { try add(a, .constant(k)) }

    public static func mul(_ a: Dim, _ k: Int) throws -> Dim {
        if case .affine(let x) = a { return .affine(try x.scaled(Rational(k))) }
        return try opaque(a, .constant(k)) { .product(a, .constant(k), size: $0) }
    }

    public static func mul(_ a: Dim, _ b: Dim) throws -> Dim {
        if let k = b.constantValue { return try mul(a, k) }
        if let k = a.constantValue { return try mul(b, k) }
        if let v = a.evaluate([:]), let w = b.evaluate([:]) { return .affine(Affine(constant: try Rational(v) * Rational(w))) }
        return try opaque(a, b) { .product(a, b, size: $0) }
    }

    public static func floorDiv(_ a: Dim, _ d: Int, _ symbols: SymbolTable) throws -> Dim {
        if d == 1 { return a }
        if let v = a.constantValue { return .constant(floorDivide(v, d)) }
        if case .floorDiv(let inner, let d1, _) = a, d > 0, d1 > 0 {  // ⌊⌊x/a⌋/b⌋ = ⌊x/ab⌋
            return try floorDiv(inner, (try Rational(d1) * Rational(d)).num, symbols)
        }
        if case .affine(let x) = a {
            let q = try x.scaled(Rational(1, d))
            if q.isIntegral(symbols) { return .affine(q) }
        }
        return try opaque(a) { .floorDiv(a, d, size: $0) }
    }

    public static func ceilDiv(_ a: Dim, _ d: Int, _ symbols: SymbolTable) throws -> Dim {
        if d == 1 { return a }
        if let v = a.constantValue { return .constant(-floorDivide(-v, d)) }
        if case .ceilDiv(let inner, let d1, _) = a, d > 0, d1 > 0 {  // ⌈⌈x/a⌉/b⌉ = ⌈x/ab⌉
            return try ceilDiv(inner, (try Rational(d1) * Rational(d)).num, symbols)
        }
        if case .affine(let x) = a {
            let q = try x.scaled(Rational(1, d))
            if q.isIntegral(symbols) { return .affine(q) }
        }
        return try opaque(a) { .ceilDiv(a, d, size: $0) }
    }

    /// Whether the dimension is divisible by `d` for every admissible binding: true, false
    /// (proved wrong for some binding) or nil (unknown until sizes are bound).
    public func isDivisible(by d: Int, _ symbols: SymbolTable) -> Bool? {
        if case .affine(let x) = self {
            if (try? x.scaled(Rational(1, d)))?.isIntegral(symbols) == true { return true }
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
        case .sum(let a, let b, _): return "\(a) + \(b)"
        case .product(let a, let b, _): return "\(Dim.wrap(a))*\(Dim.wrap(b))"
        case .floorDiv(let a, let d, _): return "floor(\(a)/\(d))"
        case .ceilDiv(let a, let d, _): return "ceil(\(a)/\(d))"
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
