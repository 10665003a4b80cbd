// The harness of the per-op gradient checks: one op in a graph, differentiated by the autodiff
// pass and run by the executor (float32 kernels), against float64 central finite differences
// of the Double reference forward, along random directions: the directional derivative of
// Σ r·op(θ) for a random cotangent r. Values near an op's kinks are resampled.
import Foundation
import GraphIR
import GraphPasses
import Kernels
import ModelFormat
import Runtime
import TestSupport
import XCTest

struct GradCase {
    var op: Op
    /// Graph inputs with full shapes (batch first).
    var inputs: [(name: String, shape: [Int])]
    var params: [(name: String, shape: [Int], role: ParameterRole)] = []
    /// The node's inputs, by name.
    var nodeInputs: [String]
    /// Inputs differentiated (parameters of role .parameter always are).
    var wrt: [String]
    /// Fixed values for some inputs (masks); others are uniform in [-1, 1].
    var fixed: [String: [Float]] = [:]
    /// True where a value is too close to a kink of the op for finite differences.
    var nearKink: (Double) -> Bool = { _ in false }
    var mode: SpectralNormGradientMode = .full
    /// Output 0 in double, from every input and parameter by name.
    var forward: ([String: [Double]]) -> [Double]
}

enum GradientCheck {
    /// Builds, differentiates and runs the case; returns the gradients by name and the values used.
    static func run(_ c: GradCase, seed: UInt64, threads: Int = 2) throws
        -> (grads: [String: [Float]], values: [String: [Float]], cotangent: [Float]) {
        var rng = SeededRandom(seed: seed)
        func sample(_ n: Int) -> [Float] {
            (0..<n).map { _ in
                var v = rng.uniform()
                while c.nearKink(v) { v = rng.uniform() }
                return Float(v)
            }
        }
        var values: [String: [Float]] = [:]
        for (name, shape) in c.inputs { values[name] = c.fixed[name] ?? sample(shape.reduce(1, *)) }
        for (name, shape, _) in c.params { values[name] = c.fixed[name] ?? sample(shape.reduce(1, *)) }
        var graph = Graph(name: "grad_check",
                          inputs: c.inputs.map { GraphInput(name: $0.name, dims: $0.shape.dropFirst().map { .fixed($0) }) },
                          parameters: c.params.map { ParameterDecl(name: $0.name, role: $0.role, shape: $0.shape) },
                          nodes: [Node(name: "op", op: c.op, inputs: c.nodeInputs.map { ValueRef($0) })],
                          outputs: [GraphOutput(name: "y", value: ValueRef("op"))])
        let outType = try Verifier.verify(graph).type(of: ValueRef("op"))
        let scalar = outType.concreteShape == [1]
        let batch = c.inputs[0].shape[0]
        var cotShape = [1]
        let dims = outType.shape.dropFirst().map { $0.constantValue ?? 0 }
        // A cotangent of an image output is a graph input; of another rank (flatten's [N, K]),
        // a state tensor r with Σ r·y = count · mean(r·y) as the loss (batch 1).
        let viaLoss = !scalar && outType.rank != 4
        var seedValue = Autodiff.Seed(ValueRef("op"))
        if viaLoss {
            precondition(batch == 1, "a non-image output is checked at batch 1")
            cotShape = [1] + dims
            graph.parameters.append(ParameterDecl(name: "cot", role: .state, shape: cotShape))
            graph.nodes += [Node(name: "prod", op: .binary(Binary(.mul)), inputs: [ValueRef("op"), ValueRef("cot")]),
                            Node(name: "mean", op: .loss(Loss(.mean)), inputs: [ValueRef("prod")]),
                            Node(name: "sum", op: .scale(Scale(Float(cotShape.reduce(1, *)))), inputs: [ValueRef("mean")])]
            seedValue = Autodiff.Seed(ValueRef("sum"))
        } else if !scalar {
            graph.inputs.append(GraphInput(name: "cot", dims: dims.map { .fixed($0) }))
            cotShape = [batch] + dims
            seedValue = Autodiff.Seed(ValueRef("op"), cotangentInput: "cot")
        }
        let typed = try Verifier.verify(graph)
        let differentiated = try Autodiff.differentiate(typed, seeds: [seedValue],
                                                        parameters: c.params.filter { $0.role == .parameter }.map(\.name),
                                                        inputs: c.wrt, spectralNormMode: c.mode)
        let model = Model(graph: differentiated,
                          metadata: ModelMetadata(compiler: "test", graphName: "grad_check", sources: [], weights: "", parameterCount: 0),
                          tensors: c.params.map { Tensor(name: $0.name, shape: $0.shape, values: values[$0.name]!) })
        var feed: [String: HostTensor] = [:]
        for (name, shape) in c.inputs { feed[name] = HostTensor(shape: shape, floats: values[name]!) }
        let cot = scalar ? [Float(1)] : sample(cotShape.reduce(1, *))
        let executor = Executor(model: model)
        if viaLoss { executor.parameters.set("cot", cot) } else if !scalar { feed["cot"] = HostTensor(shape: cotShape, floats: cot) }
        let result = try executor.run(feed, options: RunOptions(threads: threads))
        var grads: [String: [Float]] = [:]
        for name in c.wrt + c.params.filter({ $0.role == .parameter }).map(\.name) {
            grads[name] = result.outputs[Autodiff.gradientName(name)]!.floats!
        }
        return (grads, values, cot)
    }

    /// Checks the gradients against central differences along three random directions.
    static func check(_ c: GradCase, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let (grads, values, cot) = try run(c, seed: seed)
            var rng = SeededRandom(seed: seed ^ 0xD1F)
            let base = values.mapValues { $0.map(Double.init) }
            func f(_ v: [String: [Double]]) -> Double { zip(c.forward(v), cot).reduce(0) { $0 + $1.0 * Double($1.1) } }
            let names = grads.keys.sorted()
            _ = f(base)  // the unperturbed point first: a reference may take held-constant values from it
            for trial in 0..<3 {
                let direction = Dictionary(uniqueKeysWithValues: names.map { n in (n, base[n]!.map { _ in rng.uniform() }) })
                let eps = 1e-6
                func moved(_ s: Double) -> [String: [Double]] {
                    var v = base
                    for n in names { v[n] = zip(base[n]!, direction[n]!).map { $0 + s * eps * $1 } }
                    return v
                }
                let numeric = (f(moved(1)) - f(moved(-1))) / (2 * eps)
                var analytic = 0.0, scale = 0.0
                for n in names {
                    for (g, d) in zip(grads[n]!, direction[n]!) { analytic += Double(g) * d; scale += abs(Double(g) * d) }
                }
                XCTAssertLessThanOrEqual(abs(analytic - numeric), 2e-4 * scale + 1e-7,
                                         "\(c.op.name) trial \(trial): analytic \(analytic) vs numeric \(numeric) (scale \(scale))",
                                         file: file, line: line)
            }
        } catch {
            XCTFail("\(c.op.name): \(error)", file: file, line: line)
        }
    }
}
