// Matching a weight set against what the graph needs, with the full list of problems: a
// checkpoint that does not fit should be explained in one go, not one key per attempt.

public struct WeightMismatch: Error, CustomStringConvertible {
    public struct Misshaped: Hashable {
        public var name: String
        public var expected: [Int]
        public var found: [Int]
    }

    public var missing: [(name: String, shape: [Int], location: SourceLocation?)] = []
    public var unexpected: [String] = []
    public var misshaped: [Misshaped] = []
    public var source: String

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && misshaped.isEmpty }

    public var description: String {
        var lines = ["the weights in \(source) do not fit the graph "
            + "(\(missing.count) missing, \(unexpected.count) unexpected, \(misshaped.count) mis-shaped):"]
        for m in missing {
            lines.append("  missing     \(m.name) \(m.shape)" + (m.location.map { "  (node at \($0))" } ?? ""))
        }
        for u in unexpected { lines.append("  unexpected  \(u)") }
        for m in misshaped { lines.append("  mis-shaped  \(m.name): expected \(m.expected), found \(m.found)") }
        lines.append("  hint: keys are <node>.weight [out, in, kh, kw], <node>.bias [out] and, for sn_conv2d, <node>.u [out]")
        return lines.joined(separator: "\n")
    }
}

extension TypedGraph {
    /// Compares available weight shapes (by name) with the graph's needs.
    public func checkWeights(_ available: [String: [Int]], source: String) -> WeightMismatch {
        var report = WeightMismatch(source: source)
        var needed = Set<String>()
        for p in graph.parameters {
            let expected = p.shape ?? []
            needed.insert(p.name)
            guard let shape = available[p.name] else {
                report.missing.append((p.name, expected, p.location))
                continue
            }
            if shape != expected { report.misshaped.append(.init(name: p.name, expected: expected, found: shape)) }
        }
        report.unexpected = available.keys.filter { !needed.contains($0) }.sorted()
        return report
    }
}
