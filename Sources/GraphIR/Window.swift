// Hole-aware execution: a node may compute only a window (a box of rows and columns) of its
// output. The runtime (Runtime/WindowPlan.swift) walks the graph backwards from the pixels the
// caller keeps (the hole), asking each op's `windowRule` which window of each input that needs;
// the rule widens the asked window to the op's tiles (Winograd's 4·d grid, sub-pixel phases)
// so that every computed value is bit-identical to the whole-tensor run.
//
// Two kinds of ops run on windows. Pointwise ones (gates, mul, concat, composite, fill) need no
// change: the runtime hands them buffers cut to the output window, and they run as on any
// tensor of that size. Ops with a spatial footprint (conv2d, contextual_attention) read
// `KernelShapes.windows` and offset their index arithmetic.

/// Rows y0 ..< y1 and columns x0 ..< x1 of a value's spatial grid (dimensions 2 and 3).
public struct Window: Hashable, Sendable, CustomStringConvertible {
    public var y0: Int, y1: Int, x0: Int, x1: Int
    public init(y0: Int, y1: Int, x0: Int, x1: Int) {
        self.y0 = y0
        self.y1 = y1
        self.x0 = x0
        self.x1 = x1
    }

    /// The whole of an h × w grid.
    public static func whole(_ h: Int, _ w: Int) -> Window { Window(y0: 0, y1: h, x0: 0, x1: w) }

    public var height: Int { y1 - y0 }
    public var width: Int { x1 - x0 }
    public var isEmpty: Bool { y1 <= y0 || x1 <= x0 }
    public var description: String { "rows \(y0)..<\(y1), columns \(x0)..<\(x1)" }

    public func union(_ o: Window) -> Window {
        if isEmpty { return o }
        if o.isEmpty { return self }
        return Window(y0: min(y0, o.y0), y1: max(y1, o.y1), x0: min(x0, o.x0), x1: max(x1, o.x1))
    }

    public func intersection(_ o: Window) -> Window {
        Window(y0: max(y0, o.y0), y1: min(y1, o.y1), x0: max(x0, o.x0), x1: min(x1, o.x1))
    }

    public func contains(_ o: Window) -> Bool { o.isEmpty || (y0 <= o.y0 && o.y1 <= y1 && x0 <= o.x0 && o.x1 <= x1) }

    /// Widened to multiples of `step` (rows and columns counted from 0), then clipped to h × w.
    public func aligned(_ step: Int, height h: Int, width w: Int) -> Window {
        func down(_ v: Int) -> Int { v / step * step }
        func up(_ v: Int) -> Int { (v + step - 1) / step * step }
        return Window(y0: down(y0), y1: min(h, up(y1)), x0: down(x0), x1: min(w, up(x1)))
    }

    /// The rows (or columns) of an input read by outputs lo ..< hi of a sliding window of
    /// `extent` taps (stride s, first tap at o·s − pad), clipped to 0 ..< size.
    public static func footprint(_ lo: Int, _ hi: Int, stride s: Int, pad: Int, extent: Int, size: Int) -> (Int, Int) {
        (max(0, lo * s - pad), min(size, (hi - 1) * s - pad + extent))
    }
}

/// What a node reads of one input for a window of its output.
public enum WindowNeed: Hashable, Sendable {
    /// Not read (a shape-only input).
    case none
    /// Not read, but a pointwise op takes zeros over its window (a composite's fill outside the hole).
    case zeros
    /// All of it (or not a spatial value: parameters, scalars).
    case whole
    case window(Window)
}

/// An op's answer for an asked window of its first output.
public struct WindowRule: Sendable {
    /// The window it will compute: the asked one widened to its tiles.
    public var output: Window
    public var inputs: [WindowNeed]
    /// True: the kernel reads `KernelShapes.windows` (offsets into larger inputs). False: a
    /// pointwise op, given every input cut (or zero-extended) to `output`.
    public var readsWindows: Bool

    public init(output: Window, inputs: [WindowNeed], readsWindows: Bool) {
        self.output = output
        self.inputs = inputs
        self.readsWindows = readsWindows
    }

    /// The pointwise rule: every input over the same window.
    public static func pointwise(_ w: Window, inputs: Int) -> WindowRule {
        WindowRule(output: w, inputs: Array(repeating: .window(w), count: inputs), readsWindows: false)
    }
}

/// The windows a kernel runs on (for ops whose rule reads windows): of each input as held in
/// memory and of each output, in the coordinates of the whole tensors, whose shapes are given
/// too. `KernelShapes.inputs/outputs` are then the held (window) shapes.
public struct NodeWindows: Sendable {
    public var inputs: [Window]
    public var outputs: [Window]
    public var wholeInputs: [[Int]]
    public var wholeOutputs: [[Int]]
    public init(inputs: [Window], outputs: [Window], wholeInputs: [[Int]], wholeOutputs: [[Int]]) {
        self.inputs = inputs
        self.outputs = outputs
        self.wholeInputs = wholeInputs
        self.wholeOutputs = wholeOutputs
    }
}
