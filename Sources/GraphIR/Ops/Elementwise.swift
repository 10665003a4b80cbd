// add, sub, mul with numpy broadcasting of size-1 dimensions (same rank), and the DeepFill
// mask composite fill·m + known·(1 − m).
import Kernels

public enum BinaryKind: String, Codable, Sendable, CaseIterable {
    case add, sub, mul
}

public struct Binary: OpContract {
    public var kind: BinaryKind
    public init(_ kind: BinaryKind) { self.kind = kind }

    public var opName: String { kind.rawValue }
    public var inputNames: [String] { ["a", "b"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        try [Binary.broadcast(inputs[0], inputs[1], symbols)]
    }

    static func broadcast(_ a: TensorType, _ b: TensorType, _ symbols: SymbolTable) throws -> TensorType {
        guard a.dtype == .float32, b.dtype == .float32 else { throw OpError("operands must be float32, got \(a) and \(b)") }
        guard a.rank == b.rank else { throw OpError("operands must have the same rank, got \(a) and \(b)") }
        var out = a
        for i in 0..<a.rank {
            let x = a.shape[i], y = b.shape[i]
            if x.equals(y, symbols) { continue }
            if x.constantValue == 1 { out.shape[i] = y; continue }
            if y.constantValue == 1 { continue }
            throw OpError("shapes \(a) and \(b) do not agree in dimension \(i) (\(x) vs \(y))",
                          hint: "dimensions must be equal or 1")
        }
        return out
    }

    public static var yamlNames: [String] { ["add", "sub", "mul"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        .binary(Binary(BinaryKind(rawValue: name)!))
    }

    public var mayRunInPlace: Bool { true }

    public func eval(_ k: KernelContext) {
        let op: Pointwise.BinaryOp = kind == .add ? .add : kind == .sub ? .sub : .mul
        let s = k.shapes
        Pointwise.binary(op, k.input(0), shapeA: s.inputs[0], k.input(1), shapeB: s.inputs[1], k.output(0)!, shape: s.outputs[0],
                         threads: k.threads)
    }

    /// Pointwise when neither operand broadcasts over rows or columns.
    public func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule? {
        let o = shapes.outputs[0]
        guard o.count == 4, shapes.inputs.allSatisfy({ $0.count == 4 && $0[2] == o[2] && $0[3] == o[3] }) else { return nil }
        return .pointwise(output, inputs: 2)
    }
}

public struct Composite: OpContract {
    public init() {}
    public var opName: String { "composite" }
    public var inputNames: [String] { ["fill", "known", "mask"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let fill = inputs[0], known = inputs[1], mask = inputs[2]
        try Check.image(fill, "fill")
        try Check.image(known, "known")
        try Check.image(mask, "mask")
        guard fill.equals(known, symbols) else { throw OpError("fill \(fill) and known \(known) must have the same shape") }
        guard mask.shape[1].constantValue == 1 else { throw OpError("mask must have 1 channel, got \(mask)") }
        try Check.sameDim(mask.shape[2], fill.shape[2], symbols, "mask height \(mask.shape[2]) differs from \(fill.shape[2])")
        try Check.sameDim(mask.shape[3], fill.shape[3], symbols, "mask width \(mask.shape[3]) differs from \(fill.shape[3])")
        if mask.shape[0].constantValue != 1 {
            try Check.sameDim(mask.shape[0], fill.shape[0], symbols, "mask batch \(mask.shape[0]) must be 1 or \(fill.shape[0])")
        }
        return [fill]
    }

    public static var yamlNames: [String] { ["composite"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op { .composite(Composite()) }

    public var mayRunInPlace: Bool { true }

    public func eval(_ k: KernelContext) {
        let x = k.shapes.inputs[0]
        Pointwise.composite(fill: k.input(0), known: k.input(1), mask: k.input(2), maskBatch: k.shapes.inputs[2][0],
                            out: k.output(0)!, batch: x[0], channels: x[1], pixels: x[2] * x[3], threads: k.threads)
    }

    /// The fill is read only inside the hole's box: outside it the mask is 0, and the runtime
    /// hands over zeros there (fill·0 + known·1 = known, as in the whole run).
    public func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule? {
        let o = shapes.outputs[0]
        guard shapes.inputs.allSatisfy({ $0.count == 4 && $0[2] == o[2] && $0[3] == o[3] }) else { return nil }
        let fill = output.intersection(hole)
        return WindowRule(output: output, inputs: [fill.isEmpty ? .zeros : .window(fill), .window(output), .window(output)], readsWindows: false)
    }
}

extension Binary {
    /// a ± b: dy and ±dy; a·b: dy·b and dy·a; each summed back over the axes it was broadcast along.
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return [nil, nil] }
        let a = node.inputs[0], b = node.inputs[1]
        func reduced(_ d: ValueRef, to x: ValueRef) throws -> ValueRef {
            g.type(of: d).shape == g.type(of: x).shape ? d : try g.emit1(.layoutGrad(LayoutGrad(.sumTo)), [d, x])
        }
        var grads: [ValueRef?] = [nil, nil]
        if g.needs(a) { grads[0] = try reduced(kind == .mul ? try g.emit1(.binary(Binary(.mul)), [dy, b]) : dy, to: a) }
        if g.needs(b) {
            switch kind {
            case .add: grads[1] = try reduced(dy, to: b)
            case .sub: grads[1] = try reduced(try g.emit1(.scale(Scale(-1)), [dy]), to: b)
            case .mul: grads[1] = try reduced(try g.emit1(.binary(Binary(.mul)), [dy, a]), to: b)
            }
        }
        return grads
    }
}

extension Composite {
    /// fill·m + known·(1 − m): dy·m to the fill, dy − dy·m to the known; the mask gets none.
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return [nil, nil, nil] }
        let inHole = try g.emit1(.binary(Binary(.mul)), [dy, node.inputs[2]])
        let known = g.needs(node.inputs[1]) ? try g.emit1(.binary(Binary(.sub)), [dy, inHole]) : nil
        return [g.needs(node.inputs[0]) ? inHole : nil, known, nil]
    }
}
