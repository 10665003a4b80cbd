// The executor: binds input sizes, re-infers every shape concretely (so nothing unverified
// reaches a kernel), checks the memory the run needs against a limit before allocating, then
// runs the nodes in the verifier's order. Each value's buffer is freed after its last use.
// Parallelism is inside kernels (fixed work pieces over Dispatch threads), so a run is
// bit-identical for any thread count.
import Dispatch
import Foundation
import GraphIR
import Kernels
import ModelFormat
import Synchronization

/// Where a run is, for a progress line: reported when each node starts and about four times a
/// second from a heartbeat while a node works.
public struct RunProgress: Sendable {
    public var node: Int
    public var nodes: Int
    public var name: String
    public var elapsed: Double
    /// How far the current node is, when its kernel says (contextual attention does).
    public var nodeFraction: Double?
    /// Seconds left, from the cost model (multiply-accumulates) and the rate measured so far;
    /// nil until there is a rate.
    public var remaining: Double?
}

public struct RunOptions {
    public var threads: Int
    /// Refuse runs whose estimated peak memory is above this many bytes.
    public var memoryLimit: Int
    /// Called at each node and from a heartbeat (on another thread) while a node works.
    public var progress: (@Sendable (RunProgress) -> Void)?
    /// Polled between nodes and by the heartbeat; a true result stops the run (within a work
    /// piece) with RunCancelled.
    public var isCancelled: (() -> Bool)?
    /// Bytes the caller holds for this run outside the executor (decoded pictures, input and
    /// output tensors), counted in the estimate the limit is checked against.
    public var extraBytes = 0
    /// Scan every node's outputs and stop at the first that holds a NaN or an infinity
    /// (NonFiniteValue names it): for diagnosing a training step whose loss went non-finite.
    public var checkFinite = false
    /// Time every parallel section's pieces (for --profile's scaling prediction).
    public var parallelTrace: ParallelTrace?

    public init(threads: Int = RunOptions.defaultThreads, memoryLimit: Int = RunOptions.defaultMemoryLimit,
                progress: (@Sendable (RunProgress) -> Void)? = nil, isCancelled: (() -> Bool)? = nil) {
        self.threads = max(1, threads)
        self.memoryLimit = memoryLimit
        self.progress = progress
        self.isCancelled = isCancelled
    }

    public static var defaultThreads: Int { ProcessInfo.processInfo.activeProcessorCount }
    /// 80 % of physical memory.
    public static var defaultMemoryLimit: Int { Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8) }
}

/// The first node whose output holds a NaN or an infinity, in a run with `checkFinite`.
public struct NonFiniteValue: Error, CustomStringConvertible {
    public var node: String
    public var op: String
    public var value: Float
    /// Inputs of the node that were already non-finite (a parameter that an update blew up).
    public var nonFiniteInputs: [String]
    public var description: String {
        nonFiniteInputs.isEmpty
            ? "node '\(node)' (\(op)) produced \(value) from finite inputs"
            : "node '\(node)' (\(op)) read non-finite values from \(nonFiniteInputs.map { "'\($0)'" }.joined(separator: ", "))"
    }
}

public struct RunCancelled: Error, CustomStringConvertible {
    public var description: String { "the run was cancelled" }
}

/// One node's share of a run: when it started (seconds from the run's start), how long it took
/// and how many multiply-accumulates it did (for GFLOP/s).
public struct NodeTiming: Sendable {
    public var node: String
    public var op: String
    public var start: Double
    public var seconds: Double
    public var macs: Int
}

public struct RunResult: Sendable {
    public var outputs: [String: HostTensor]
    /// New values of state tensors (spectral-norm u) after this forward pass.
    public var stateUpdates: [String: [Float]]
    public var nodeSeconds: [NodeTiming]
    public var estimatedPeakBytes: Int
    /// For a hole-aware run: the window each returned output holds (its tensor is that window: the asked one).
    public var outputWindows: [String: Window] = [:]
}

public final class Executor {
    public let model: Model
    /// The persistent arena of parameters and state (training updates it between runs).
    public let parameters: ParameterStore
    let workspaces = WorkspaceCache()
    private let preparedCache = Mutex<[String: Prepared]>([:])

    struct Prepared {
        var versions: [Int]
        var shapes: [[Int]]
        var values: [Float]?
    }

    /// Where runs take their arena from when several executors share one.
    let sharedArena: SharedArena?

    public init(model: Model, sharedArena: SharedArena? = nil) {
        self.model = model
        self.sharedArena = sharedArena
        parameters = ParameterStore(graph: model.graph, tensors: model.tensors)
        // Prepared weights are about the size of the weights they come from, a little more for
        // Winograd (36 taps for 9): counted with the weights.
        var prepared = 0
        for node in model.graph.nodes {
            guard case .conv2d(let c) = node.op, node.inputs.count > 1, let w = parameters.entries[node.inputs[1].node] else { continue }
            switch model.graph.execution(of: node.name).algorithm {
            case .winograd: prepared += 4 * w.count * 4
            case .subpixel: prepared += 4 * w.count * 16 / 9
            case .im2col: prepared += c.spectralNorm ? 4 * w.count : 0
            }
        }
        residentBytes = parameters.bytes + prepared
    }

    /// Bytes the executor holds whatever the run's size: the parameters and their prepared forms.
    public let residentBytes: Int
    /// What any process running a model holds besides tensors: code, the Swift runtime,
    /// OpenBLAS and its buffers, libpng/libjpeg (measured at 31–38 MB on Linux x86-64).
    public static let processBaselineBytes = 40 << 20

    /// The whole process's estimated peak for a plan: arena + weights + the caller's extra + baseline.
    func totalBytes(_ plan: MemoryPlan, _ options: RunOptions) -> Int {
        plan.peakBytes + residentBytes + options.extraBytes + Self.processBaselineBytes
    }

    /// Binds N and the size symbols from the inputs' shapes and verifies the graph concretely.
    public func bind(_ shapes: [String: [Int]]) throws -> TypedGraph {
        let graph = model.graph
        var bindings: [String: Int] = [:]
        var boundBy: [String: String] = [:]
        for input in graph.inputs {
            guard let shape = shapes[input.name] else {
                throw RunError("missing input '\(input.name)'", hint: "the model takes \(graph.inputs.map(\.name).joined(separator: ", "))")
            }
            let declared = input.type.shape
            guard shape.count == declared.count else {
                throw RunError("input '\(input.name)' has shape \(shape); expected \(input.type)")
            }
            for (d, (dim, value)) in zip(declared, shape).enumerated() {
                guard value >= 1 else { throw RunError("input '\(input.name)' has an empty dimension: \(shape)") }
                if let c = dim.constantValue {
                    guard c == value else {
                        throw RunError("input '\(input.name)' has \(value) in dimension \(d), expected \(c) (\(input.type))")
                    }
                } else if case .affine(let a) = dim, a.terms.count == 1, let sym = a.terms.keys.first {
                    if let prev = bindings[sym], prev != value {
                        throw RunError("input '\(input.name)' has \(sym) = \(value), but '\(boundBy[sym]!)' has \(sym) = \(prev)",
                                       hint: "inputs that share a size symbol must have the same size (e.g. the mask must match the image)")
                    }
                    bindings[sym] = value
                    boundBy[sym] = input.name
                }
            }
        }
        for extra in shapes.keys where !graph.inputs.contains(where: { $0.name == extra }) {
            throw RunError("the model has no input '\(extra)'", hint: "inputs: \(graph.inputs.map(\.name).joined(separator: ", "))")
        }
        do { return try Verifier.verify(graph, bindings: bindings) } catch {
            throw RunError("the model cannot run at these sizes (\(bindings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))):\n\(error)")
        }
    }

    /// Binds the input shapes and checks the estimated peak memory against the limit, without
    /// allocating anything; returns the estimate in bytes.
    @discardableResult
    public func checkMemory(_ shapes: [String: [Int]], options: RunOptions) throws -> Int {
        totalBytes(try plan(bind(shapes), options), options)
    }

    func plan(_ typed: TypedGraph, _ options: RunOptions, windows: WindowPlan? = nil) throws -> MemoryPlan {
        let plan = MemoryPlan(typed, threads: options.threads, windows: windows)
        let total = totalBytes(plan, options)
        if total > options.memoryLimit {
            throw RunError("this run needs about \(MemoryPlan.format(total)) of memory (largest: \(plan.largestNeed); "
                           + "working memory \(MemoryPlan.format(plan.peakBytes)), weights \(MemoryPlan.format(residentBytes))"
                           + (options.extraBytes > 0 ? ", images and tensors \(MemoryPlan.format(options.extraBytes))" : "") + "); "
                           + "the limit is \(MemoryPlan.format(options.memoryLimit))",
                           hint: "use a smaller image, or raise the limit with --max-memory if the machine has the memory")
        }
        return plan
    }

    public func run(_ inputs: [String: HostTensor], options: RunOptions = RunOptions()) throws -> RunResult {
        let key = Workspace.Key(shapes: inputs.mapValues(\.shape), threads: options.threads)
        let workspace: Workspace
        if let cached = workspaces.checkOut(key), totalBytes(cached.plan, options) <= options.memoryLimit {
            workspace = cached
        } else {
            let typed = try bind(key.shapes)
            workspace = Workspace(key: key, typed: typed, plan: try plan(typed, options), ownArena: sharedArena == nil)
        }
        defer { workspaces.checkIn(workspace) }
        var held = inputs
        return try execute(workspace.typed, workspace.plan, arena: workspace.arena?.pointer ?? sharedArena!.pointer(bytes: workspace.plan.arenaBytes),
                           &held, options, outputs: workspace.typed.graph.outputs.map(\.name))
    }

    /// Binds the inputs and plans a hole-aware run (WindowPlan.swift) that computes only what
    /// the windows `keep` of the named outputs need, given the box of the hole at the inputs'
    /// size; throws for an unknown output or window, or when the plan exceeds the memory limit.
    func windowedPlan(_ shapes: [String: [Int]], keep: [String: Window], hole: Window, options: RunOptions) throws -> (TypedGraph, MemoryPlan) {
        let typed = try bind(shapes)
        var refs: [ValueRef: Window] = [:]
        for (name, w) in keep {
            guard let out = typed.graph.outputs.first(where: { $0.name == name }) else {
                throw RunError("the model has no output '\(name)'", hint: "outputs: \(typed.graph.outputs.map(\.name).joined(separator: ", "))")
            }
            let s = typed.type(of: out.value).concreteShape!
            guard s.count == 4, Window.whole(s[2], s[3]).contains(w), !w.isEmpty else {
                throw RunError("output '\(name)' \(s) has no window \(w)")
            }
            refs[out.value] = w
        }
        let windows = WindowPlan(typed, schedule: Schedule(typed), keep: refs, hole: hole, threads: options.threads)
        return (typed, try plan(typed, options, windows: windows))
    }

    /// The estimated peak bytes of a hole-aware run (see `run(_:options:keep:hole:)`).
    public func checkMemory(_ shapes: [String: [Int]], keep: [String: Window], hole: Window, options: RunOptions) throws -> Int {
        totalBytes(try windowedPlan(shapes, keep: keep, hole: hole, options: options).1, options)
    }

    /// A hole-aware run: only the windows `keep` of the named outputs are asked for, and each
    /// node computes just the window of its output they depend on (`hole`: the box of the
    /// hole pixels, where composites read their fill). The returned outputs hold exactly the
    /// asked windows (`outputWindows`), bit-identical to those pixels of a whole run. (A node
    /// computes whole tiles, but past its readers' windows they read zeros for rows the asked
    /// pixels do not depend on, so only the asked pixels are returned.)
    /// The inputs are consumed: once copied into the arena they are released (a caller that
    /// passes them as temporaries frees their memory for the run).
    public func run(_ inputs: consuming [String: HostTensor], options: RunOptions = RunOptions(), keep: [String: Window], hole: Window) throws -> RunResult {
        let (typed, plan) = try windowedPlan(inputs.mapValues(\.shape), keep: keep, hole: hole, options: options)
        let spare = sharedArena == nil ? workspaces.checkOutSpare(bytes: plan.arenaBytes) ?? Arena(plan, threads: options.threads) : nil
        defer { if let spare { workspaces.checkIn(spare) } }
        var held = consume inputs
        var result = try execute(typed, plan, arena: spare?.pointer ?? sharedArena!.pointer(bytes: plan.arenaBytes), &held, options, outputs: Array(keep.keys))
        for (name, asked) in keep {
            let r = plan.schedule.resolve(typed.graph.outputs.first { $0.name == name }!.value)
            result.outputs[name] = result.outputs[name]?.cropped(from: plan.windows!.held[r]!, to: asked)
            result.outputWindows[name] = asked
        }
        return result
    }

    /// Runs a planned graph: every value and every kernel's scratch in one arena, at the planned
    /// offsets; parameters in the persistent store.
    func execute(_ typed: TypedGraph, _ plan: MemoryPlan, arena: UnsafeMutableRawPointer, _ inputs: inout [String: HostTensor],
                 _ options: RunOptions, outputs wanted: [String]) throws -> RunResult {
        let schedule = plan.schedule
        let graph = typed.graph
        func buffer(_ r: ValueRef) -> UnsafeMutableRawPointer {
            let r = schedule.resolve(r)
            if parameters.contains(r.node) { return UnsafeMutableRawPointer(parameters.pointer(r.node)) }
            // An input a hole-aware step does not read may not be held: any pointer will do.
            return arena + (plan.valueOffsets[r] ?? 0)
        }
        func heldShape(_ r: ValueRef) -> [Int] { plan.windows?.shape(typed, r) ?? typed.type(of: r).concreteShape! }
        for input in graph.inputs {
            let t = inputs[input.name]!
            guard let f = t.floats else { throw RunError("input '\(input.name)' must be float32") }
            let b = buffer(ValueRef(input.name)).assumingMemoryBound(to: Float.self)
            f.withUnsafeBufferPointer { b.update(from: $0.baseAddress!, count: f.count) }
        }
        inputs = [:]  // the arena holds them now
        var seconds: [NodeTiming] = []
        let macs = Dictionary(typed.costs().map { ($0.node, $0.macs) }, uniquingKeysWith: { a, _ in a })
        // A hole-aware step does about its output window's share of the whole step's work.
        let steps = schedule.steps.indices.filter { plan.runs($0) }
        func stepMACs(_ s: Int) -> Int {
            let step = schedule.steps[s], node = graph.nodes[step.node]
            let whole = Cost.sum([macs[node.name] ?? 0] + (step.absorbed.map { [macs[graph.nodes[$0].name] ?? 0] } ?? []))
            guard let w = plan.windows?.held[ValueRef(node.name)], let full = typed.type(of: ValueRef(node.name)).concreteShape, full.count == 4 else { return whole }
            return Int(Double(whole) * Double(w.height * w.width) / Double(max(1, full[2] * full[3])))
        }
        let runStart = DispatchTime.now().uptimeNanoseconds
        let monitor = RunMonitor(trace: options.parallelTrace)
        let tracker = ProgressTracker(nodes: steps.count, totalMACs: Cost.sum(steps.map(stepMACs)), start: runStart)
        let heartbeat = Heartbeat(every: 0.25) {
            if options.isCancelled?() == true { monitor.requestStop() }
            options.progress?(tracker.progress(fraction: monitor.nodeFraction))
        }
        defer { heartbeat.stop() }
        try RunMonitor.$current.withValue(monitor) {
            for (n, s) in steps.enumerated() {
                let step = schedule.steps[s]
                if options.isCancelled?() == true || monitor.isStopped { throw RunCancelled() }
                let node = graph.nodes[step.node], c = node.op.contract
                options.parallelTrace?.begin(node: n)
                monitor.setNodeFraction(nil)
                tracker.begin(step: n, name: node.name, macs: stepMACs(s))
                options.progress?(tracker.progress(fraction: nil))
                let start = DispatchTime.now().uptimeNanoseconds
                let shapes = plan.kernelShapes(typed, step: s, threads: options.threads)
                var ins = node.inputs.map(buffer)
                var scratch = plan.scratchOffsets[s].map { arena + $0 }
                if let windows = plan.windows, let rule = windows.rules[s] {
                    // Inputs of a cut pointwise step, copied into its window (zeros where not held).
                    for (i, bytes) in windows.reframes(typed, schedule, step: s) {
                        let r = schedule.resolve(node.inputs[i]), shape = heldShape(r)
                        let source: UnsafeRawPointer? = rule.inputs[i] == .zeros || windows.held[r] == nil ? nil : UnsafeRawPointer(buffer(r))
                        Reframe.copy(source, from: windows.held[r] ?? rule.output,
                                     to: rule.output, planes: shape[0] * shape[1], into: scratch!)
                        ins[i] = scratch!
                        scratch = scratch! + MemoryPlan.aligned(bytes)
                    }
                }
                let outs = (0..<c.outputNames.count).map { k -> UnsafeMutableRawPointer? in
                    let r = ValueRef(node.name, output: k)
                    return schedule.unwritten.contains(r) ? nil : buffer(r)
                }
                let prepared = preparedWeights(node, shapes, ins)
                let context = KernelContext(shapes: shapes, inputs: ins, outputs: outs,
                                            epilogueOutput: step.absorbed.map { buffer(ValueRef(graph.nodes[$0].name)) },
                                            scratch: scratch, prepared: nil)
                if let prepared {
                    prepared.withUnsafeBufferPointer { p in
                        var k = context
                        k.prepared = p.baseAddress
                        c.eval(k)
                    }
                } else {
                    c.eval(context)
                }
                // A stop request skips the rest of a kernel's pieces: its output is incomplete.
                if monitor.isStopped { throw RunCancelled() }
                if options.checkFinite && plan.windows == nil { try checkFinite(node, step, schedule, typed, buffer) }
                let end = DispatchTime.now().uptimeNanoseconds
                tracker.end(at: end)
                seconds.append(NodeTiming(node: node.name, op: node.op.name + (step.absorbed.map { "+" + graph.nodes[$0].op.name } ?? ""),
                                          start: Double(start - runStart) / 1e9, seconds: Double(end - start) / 1e9, macs: stepMACs(s)))
            }
        }
        func host(_ r: ValueRef) -> HostTensor {
            let t = typed.type(of: r), shape = heldShape(schedule.resolve(r)), count = shape.reduce(1, *), p = buffer(r)
            if t.dtype == .int32 { return HostTensor(shape: shape, ints: Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Int32.self), count: count))) }
            return HostTensor(shape: shape, floats: Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: count)))
        }
        var outputs: [String: HostTensor] = [:]
        for out in graph.outputs where wanted.contains(out.name) { outputs[out.name] = host(out.value) }
        var updates: [String: [Float]] = [:]
        for (value, parameter) in schedule.stateOutputs { updates[parameter] = host(value).floats }
        return RunResult(outputs: outputs, stateUpdates: updates, nodeSeconds: seconds, estimatedPeakBytes: totalBytes(plan, options))
    }

    /// The node's weights as its kernel reads them, computed once per parameter version and size
    /// (the whole tensors' size: a hole-aware run's windows change with every hole, its
    /// prepared weights do not).
    func preparedWeights(_ node: Node, _ shapes: KernelShapes, _ inputs: [UnsafeMutableRawPointer]) -> [Float]? {
        let c = node.op.contract
        guard !c.parameterSlots.isEmpty else { return nil }
        let versions = c.parameterSlots.map { parameters.version(node.inputs[$0.input].node) }
        let key = shapes.windows?.wholeInputs ?? shapes.inputs
        return preparedCache.withLock { cache in
            if let hit = cache[node.name], hit.versions == versions, hit.shapes == key { return hit.values }
            let values = c.prepare(inputs.map { UnsafePointer($0.assumingMemoryBound(to: Float.self)) }, shapes)
            cache[node.name] = Prepared(versions: versions, shapes: key, values: values)
            return values
        }
    }
}

/// A value's storage, 32-bit elements (float32 or int32): its own allocation or a view into the
/// run's arena.
final class Buffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    private let owned: Bool

    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        owned = true
    }

    init(view pointer: UnsafeMutablePointer<Float>, count: Int) {
        self.pointer = pointer
        self.count = count
        owned = false
    }

    convenience init(copying values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { if owned { pointer.deallocate() } }

    var floats: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    var ints: [Int32] { pointer.withMemoryRebound(to: Int32.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) } }
    var bits: UnsafeMutablePointer<UInt32> { UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt32.self) }
}
