// Element types and tensor types. Activations are NCHW; the batch dimension is the symbol N.

public enum DType: String, Codable, Sendable, CaseIterable {
    case float32
    case int32

    public var byteSize: Int { 4 }
}

public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public var dtype: DType
    public var shape: [Dim]

    public init(_ dtype: DType = .float32, _ shape: [Dim]) {
        self.dtype = dtype
        self.shape = shape
    }

    public var rank: Int { shape.count }

    /// Concrete sizes, when every dimension is a constant.
    public var concreteShape: [Int]? {
        var out: [Int] = []
        for d in shape {
            guard let v = d.constantValue else { return nil }
            out.append(v)
        }
        return out
    }

    public func equals(_ other: TensorType, _ symbols: SymbolTable) -> Bool {
        dtype == other.dtype && rank == other.rank
            && zip(shape, other.shape).allSatisfy { $0.equals($1, symbols) }
    }

    public var description: String {
        "\(dtype)[" + shape.map(\.description).joined(separator: ", ") + "]"
    }
}

/// Where a graph element was written, for diagnostics.
public struct SourceLocation: Hashable, Codable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One error about a graph, positioned at the YAML of the element at fault.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation?
    public var message: String
    public var hint: String?

    public init(_ message: String, at location: SourceLocation? = nil, hint: String? = nil) {
        self.location = location
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var s = (location.map { "\($0): " } ?? "") + "error: " + message
        if let hint { s += "\n  hint: " + hint }
        return s
    }
}

/// Several diagnostics at once, so a user sees every problem in one run.
public struct DiagnosticList: Error, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    /// The most problems printed: past this, one more line gives the count.
    public static let shown = 50
    public var description: String {
        let listed = diagnostics.prefix(Self.shown).map(\.description)
        let rest = diagnostics.count - listed.count
        return (listed + (rest > 0 ? ["... and \(rest) more problem\(rest == 1 ? "" : "s") like these"] : [])).joined(separator: "\n")
    }
}
