// The two step graphs of the official DeepFill v2 recipe (spec §5; the gradient oracle's
// README), built from the generator and discriminator graphs by adding loss nodes and running
// the autodiff pass:
//   D step  D(cat([x ; comp]), cat([m ; m])) on the 2N batch, comp held constant;
//           d_loss = hinge(out[:N], out[N:]) = 0.5·mean relu(1 − real) + 0.5·mean relu(1 + fake)
//           → d_loss, ∂d_loss/∂(D's parameters), and u' (each sn_conv2d's state output)
//   D for G the same call (from the same stored u); g_adv = −mean(out[N:])
//           → g_adv and ∂g_adv/∂(D's image input), whose second half is ∂g_adv/∂comp
//   G step  l1 = mean|x − s1| + mean|x − s2|, seeded with 1, and `completed` seeded with
//           ∂g_adv/∂comp (a graph input): → l1 and ∂g_loss/∂(G's parameters)
// Chaining the D call's input gradient into the generator's graph is the chain rule across two
// graphs, so each network keeps its own parameter names (both have a conv1).
import GraphIR
import GraphPasses
import Kernels

public enum StepGraphs {
    /// The cotangent input of the generator step: ∂g_adv/∂completed.
    public static let completedCotangent = "completed@cotangent"

    static func node(_ name: String, _ op: Op, _ inputs: [ValueRef]) -> Node { Node(name: name, op: op, inputs: inputs, location: nil) }

    static func output(_ graph: Graph, _ name: String) throws -> ValueRef {
        guard let o = graph.outputs.first(where: { $0.name == name }) else {
            throw TrainingError("the graph '\(graph.name)' has no output '\(name)'",
                                hint: "outputs: \(graph.outputs.map(\.name).joined(separator: ", "))")
        }
        return o.value
    }

    /// Checks the discriminator: inputs image [3, H, W] and mask [1, H, W], one output of scores.
    static func scores(_ d: Graph) throws -> ValueRef {
        guard d.inputs.map(\.name).sorted() == ["image", "mask"] else {
            throw TrainingError("the discriminator must take inputs 'image' and 'mask', got \(d.inputs.map(\.name).joined(separator: ", "))")
        }
        guard d.outputs.count == 1 else {
            throw TrainingError("the discriminator must have one output (its scores), got \(d.outputs.map(\.name).joined(separator: ", "))")
        }
        return d.outputs[0].value
    }

    /// The D step for batch `n` (the graph runs on 2n images: n real, then n completed).
    public static func discriminatorStep(_ d: TypedGraph, batch n: Int, mode: SpectralNormGradientMode) throws -> Graph {
        var g = d.graph
        let out = try scores(g)
        g.nodes += [
            node("loss/real", .slice(Slice(axis: .batch, start: 0, end: n)), [out]),
            node("loss/fake", .slice(Slice(axis: .batch, start: n, end: 2 * n)), [out]),
            node("loss/d_loss", .loss(Loss(.hinge)), [ValueRef("loss/real"), ValueRef("loss/fake")]),
        ]
        g.outputs = [GraphOutput(name: "d_loss", value: ValueRef("loss/d_loss"))]
        let typed = try Verifier.verify(g)
        let params = typed.parameters.filter { $0.role == .parameter }.map(\.name)
        return try Autodiff.differentiate(typed, seeds: [Autodiff.Seed(ValueRef("loss/d_loss"))], parameters: params,
                                          spectralNormMode: mode)
    }

    /// The discriminator's part of the G step: g_adv and its gradient with respect to the image input.
    public static func adversarial(_ d: TypedGraph, batch n: Int) throws -> Graph {
        var g = d.graph
        let out = try scores(g)
        g.nodes += [
            node("loss/fake", .slice(Slice(axis: .batch, start: n, end: 2 * n)), [out]),
            node("loss/fake_mean", .loss(Loss(.mean)), [ValueRef("loss/fake")]),
            node("loss/g_adv", .scale(Scale(-1)), [ValueRef("loss/fake_mean")]),
        ]
        g.outputs = [GraphOutput(name: "g_adv", value: ValueRef("loss/g_adv"))]
        return try Autodiff.differentiate(try Verifier.verify(g), seeds: [Autodiff.Seed(ValueRef("loss/g_adv"))], parameters: [],
                                          inputs: ["image"])
    }

    /// The generator step: l1 and ∂(l1 + g_adv)/∂(G's parameters), given ∂g_adv/∂completed as an input.
    public static func generatorStep(_ gen: TypedGraph) throws -> Graph {
        var g = gen.graph
        let s1 = try output(g, "stage1"), s2 = try output(g, "stage2"), completed = try output(g, "completed")
        guard let image = g.inputs.first(where: { $0.name == "image" }) else { throw TrainingError("the generator has no input 'image'") }
        g.inputs.append(GraphInput(name: completedCotangent, dtype: .float32, dims: image.dims))
        g.nodes += [
            node("loss/l1_stage1", .loss(Loss(.l1Mean)), [s1, ValueRef("image")]),
            node("loss/l1_stage2", .loss(Loss(.l1Mean)), [s2, ValueRef("image")]),
            node("loss/l1", .binary(Binary(.add)), [ValueRef("loss/l1_stage1"), ValueRef("loss/l1_stage2")]),
        ]
        g.outputs = [GraphOutput(name: "l1", value: ValueRef("loss/l1"))]
        let typed = try Verifier.verify(g)
        let params = typed.parameters.filter { $0.role == .parameter }.map(\.name)
        return try Autodiff.differentiate(typed, seeds: [Autodiff.Seed(ValueRef("loss/l1")),
                                                         Autodiff.Seed(completed, cotangentInput: completedCotangent)],
                                          parameters: params)
    }
}

public struct TrainingError: Error, CustomStringConvertible {
    public var message: String
    public var hint: String?
    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
    public var description: String { message + (hint.map { "\n  hint: \($0)" } ?? "") }
}
