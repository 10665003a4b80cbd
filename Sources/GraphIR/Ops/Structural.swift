// Ops that move data without arithmetic: concat, slice, flatten, and fill (a constant tensor
// shaped like another, e.g. DeepFill's ones channel).
import Kernels

/// Named axes of an NCHW activation.
public enum Axis: String, Codable, Sendable, CaseIterable {
    case batch, channel, height, width
    public var index: Int {
        switch self {
        case .batch: return 0
        case .channel: return 1
        case .height: return 2
        case .width: return 3
        }
    }
}

public struct Concat: OpContract {
    public var axis: Axis
    public var count: Int

    public init(axis: Axis = .channel, count: Int) {
        self.axis = axis
        self.count = count
    }

    public var opName: String { "concat" }
    public var inputNames: [String] { (0..<count).map { "x\($0)" } }
    public func validate() -> [String] { (1...65536).contains(count) ? [] : ["concat takes 1...65536 inputs, got \(count)"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        var out = inputs[0]
        try Check.image(out, "x0", dtype: out.dtype)
        for (i, t) in inputs.enumerated().dropFirst() {
            try Check.image(t, "x\(i)", dtype: out.dtype)
            for d in 0..<4 where d != axis.index {
                try Check.sameDim(t.shape[d], out.shape[d], symbols,
                                  "input \(i) \(t) does not match input 0 \(inputs[0]) outside the \(axis.rawValue) axis")
            }
            out.shape[axis.index] = try Dim.add(out.shape[axis.index], t.shape[axis.index])
        }
        return [out]
    }

    public var attributeSummary: [String] { axis == .channel ? [] : ["axis=\(axis.rawValue)"] }

    public static var yamlNames: [String] { ["concat"] }
    public static func yamlFields(_ name: String) -> [String] { ["axis"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        .concat(Concat(axis: Axis(rawValue: try r.word("axis", Axis.allCases.map(\.rawValue), "channel"))!, count: inputCount))
    }

    public func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule? {
        axis == .channel ? .pointwise(output, inputs: count) : nil
    }

    public func eval(_ k: KernelContext) {
        Layout.concat(k.inputs.map { UnsafePointer($0.assumingMemoryBound(to: UInt32.self)) }, shapes: k.shapes.inputs, axis: axis.index,
                      k.outputs[0]!.assumingMemoryBound(to: UInt32.self), threads: k.threads)
    }
}

public struct Slice: OpContract {
    public var axis: Axis
    public var start: Int
    public var end: Int

    public init(axis: Axis = .channel, start: Int, end: Int) {
        self.axis = axis
        self.start = start
        self.end = end
    }

    public var opName: String { "slice" }
    public var inputNames: [String] { ["x"] }
    public func validate() -> [String] {
        start >= 0 && end > start && end <= 1 << 20 ? [] : ["slice needs 0 <= start < end <= 1048576, got start=\(start) end=\(end)"]
    }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let x = inputs[0]
        guard x.rank > axis.index else { throw OpError("slice along \(axis.rawValue) needs a tensor of rank \(axis.index + 1) or more, got \(x)") }
        if let n = x.shape[axis.index].constantValue, end > n {
            throw OpError("slice end \(end) is past the \(axis.rawValue) size \(n) of \(x)")
        }
        var out = x
        out.shape[axis.index] = .constant(end - start)
        return [out]
    }

    public var attributeSummary: [String] { ["axis=\(axis.rawValue)", "start=\(start)", "end=\(end)"] }

    public static var yamlNames: [String] { ["slice"] }
    public static func yamlFields(_ name: String) -> [String] { ["axis", "start", "end"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        .slice(Slice(axis: Axis(rawValue: try r.word("axis", Axis.allCases.map(\.rawValue), "channel"))!, start: try r.int("start", 0),
                     end: try r.int("end", nil)))
    }

    public func eval(_ k: KernelContext) {
        Layout.slice(k.inputs[0].assumingMemoryBound(to: UInt32.self), shape: k.shapes.inputs[0], axis: axis.index, start: start, end: end,
                     k.outputs[0]!.assumingMemoryBound(to: UInt32.self), threads: k.threads)
    }
}

public enum FlattenOrder: String, Codable, Sendable, CaseIterable {
    case chw  // channel, row, column (PyTorch / the oracle files)
    case hwc  // row, column, channel (the official TF NHWC flatten)
}

public struct Flatten: OpContract {
    public var order: FlattenOrder
    public init(order: FlattenOrder = .chw) { self.order = order }

    public var opName: String { "flatten" }
    public var inputNames: [String] { ["x"] }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let x = inputs[0]
        try Check.image(x, "input", dtype: x.dtype)
        let n = try Dim.mul(try Dim.mul(x.shape[1], x.shape[2]), x.shape[3])
        return [TensorType(x.dtype, [x.shape[0], n])]
    }

    public var attributeSummary: [String] { ["order=\(order.rawValue)"] }

    public static var yamlNames: [String] { ["flatten"] }
    public static func yamlFields(_ name: String) -> [String] { ["order"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        .flatten(Flatten(order: FlattenOrder(rawValue: try r.word("order", FlattenOrder.allCases.map(\.rawValue), "chw"))!))
    }

    public func eval(_ k: KernelContext) {
        let x = k.shapes.inputs[0], y = k.outputs[0]!.assumingMemoryBound(to: UInt32.self), src = k.inputs[0].assumingMemoryBound(to: UInt32.self)
        if order == .chw { y.update(from: src, count: k.count(x)) } else { Layout.flattenHWC(src, y, batch: x[0], channels: x[1], pixels: x[2] * x[3]) }
    }
}

public struct Fill: OpContract {
    public var value: Float
    public var channels: Int

    public init(value: Float, channels: Int) {
        self.value = value
        self.channels = channels
    }

    public var opName: String { "fill" }
    public var inputNames: [String] { ["like"] }
    public func validate() -> [String] {
        var e: [String] = []
        if !value.isFinite { e.append("value must be finite") }
        if channels < 1 || channels > 65536 { e.append("channels must be in 1...65536, got \(channels)") }
        return e
    }

    public func inferTypes(_ inputs: [TensorType], _ symbols: SymbolTable) throws -> [TensorType] {
        let like = inputs[0]
        // A scalar or vector `like` (a loss) gives its own shape: the autodiff seed.
        if like.rank < 4, like.concreteShape != nil { return [TensorType(.float32, like.shape)] }
        try Check.image(like, "like", dtype: like.dtype)
        return [TensorType(.float32, [like.shape[0], .constant(channels), like.shape[2], like.shape[3]])]
    }

    public var attributeSummary: [String] { ["value=\(value)", "channels=\(channels)"] }

    public static var yamlNames: [String] { ["fill"] }
    public static func yamlFields(_ name: String) -> [String] { ["value", "channels", "like"] }
    public static func build(_ name: String, _ r: inout any AttributeReader, inputCount: Int) throws -> Op {
        guard r.has("like") else { throw r.failure("like", "is required: fill takes its batch and size from another tensor") }
        return .fill(Fill(value: try r.float("value", nil), channels: try r.int("channels", 1)))
    }

    public func eval(_ k: KernelContext) { Pointwise.fill(k.output(0)!, count: k.count(k.shapes.outputs[0]), value: value, threads: k.threads) }

    /// Any window; `like` only lends its shape.
    public func windowRule(_ output: Window, _ shapes: KernelShapes, hole: Window) -> WindowRule? {
        shapes.outputs[0].count == 4 ? WindowRule(output: output, inputs: [.none], readsWindows: false) : nil
    }
}

extension Concat {
    /// Each input's part of dy, cut along the axis (at run time, so symbolic sizes work).
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return Array(repeating: nil, count: node.inputs.count) }
        let parts = try g.emit(.concatGrad(ConcatGrad(axis: axis, count: count)), [dy] + node.inputs)
        return zip(node.inputs, parts).map { g.needs($0) ? $1 : nil }
    }
}

extension Slice {
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return [nil] }
        return [try g.emit1(.layoutGrad(LayoutGrad(.slice(axis: axis, start: start, end: end))), [dy, node.inputs[0]])]
    }
}

extension Flatten {
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] {
        guard let dy = cotangents[0] else { return [nil] }
        return [try g.emit1(.layoutGrad(LayoutGrad(.unflatten(order))), [dy, node.inputs[0]])]
    }
}

extension Fill {
    /// A constant: its `like` input only lends a shape.
    public func vjp(_ g: inout GradientBuilder, _ node: Node, _ cotangents: [ValueRef?]) throws -> [ValueRef?] { [nil] }
}
