// The two step graphs of the official DeepFill v2 recipe (spec §5; the gradient oracle's
// README), built from the generator and discriminator graphs by adding loss nodes and running
// the autodiff pass:
//   D step  D(cat([x ; comp]), cat([m ; m])) on the 2N batch, comp held constant;
//           d_loss = hinge(out[:N], out[N:]) = 0.5·mean relu(1 − real) + 0.5·mean relu(1 + fake)
//           → d_loss, ∂d_loss/∂(D's parameters), and u' (each sn_conv2d's state output)
//   G step  the generator and the discriminator in one graph (the discriminator renamed d/…,
//           from the same stored u, run on the completed half only: see generatorStep),
//           g_loss = −mean D(completed) + mean|x − s1| + mean|x − s2|
//           → g_loss, its terms, completed, and ∂g_loss/∂(G's parameters)
// The G step runs first: its `completed` is the D step's constant input.
import GraphIR
import GraphPasses
import Kernels

public enum StepGraphs {
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

    /// Refuses photos that a discriminator with fixed input sizes cannot take (global_gan: its
    /// last convolution spans the whole last feature map), before any work. The G step feeds the
    /// discriminator the generator's output, whose size is symbolic, so a wrong size would
    /// otherwise surface as a kernel-reach error inside the G step, or - for larger photos - run
    /// there with more scores per image and fail only at the D step.
    public static func checkPhotoSize(discriminator d: Graph, height h: Int, width w: Int) throws {
        guard !d.takesSize(height: h, width: w) else { return }
        let inputs = d.inputs.map { "\($0.name) [\($0.dims.map(\.description).joined(separator: ", "))]" }.joined(separator: ", ")
        throw TrainingError("the discriminator '\(d.name)' takes one image size only (inputs \(inputs)), but the photos are \(w)x\(h)",
                            hint: "use photos of that size, or set the size its graph fixes (global_gan: --dparam size=N, N a multiple of 64)")
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
        return try optimised(try Autodiff.differentiate(typed, seeds: [Autodiff.Seed(ValueRef("loss/d_loss"))], parameters: params,
                                                        spectralNormMode: mode))
    }

    /// The passes that run after autodiff: dead nodes out, gate outputs recomputed for backward
    /// rather than kept, gates and activations fused into
    /// their convolutions (the pre-activation still written for backward), Winograd for 3×3
    /// stride-1 convolutions and their data gradients, dilated ones as phases, and ×2 upsamples
    /// folded into the convolutions and weight gradients that read them (never materialised).
    public static let passes = PassPipeline([DeadNodeElimination(), Rematerialisation(), GateFusion(), ActivationFusion(), UpsampleFolding(),
                                             WinogradSelection(), DilationLowering()])

    static func optimised(_ graph: Graph, _ pipeline: PassPipeline = passes) throws -> Graph { try pipeline.run(try Verifier.verify(graph)).0.graph }

    /// The prefix of the discriminator's nodes and parameters inside the generator step.
    public static let discriminatorPrefix = "d/"

    /// The G step as one graph: the generator, then the discriminator (its nodes and parameters
    /// renamed `d/…`) on completed with the mask, then
    ///   g_loss = gan·(−mean D(completed)) + l1·(mean|x − s1| + mean|x − s2|),
    /// differentiated with respect to the generator's parameters only (the discriminator's
    /// weights are constants here; its u is read, not updated). One forward of each network.
    public static func generatorStep(_ gen: TypedGraph, _ disc: TypedGraph, batch n: Int, ganWeight: Float = 1, l1Weight: Float = 1,
                                     passes pipeline: PassPipeline = passes) throws -> Graph {
        var g = gen.graph
        let s1 = try output(g, "stage1"), s2 = try output(g, "stage2"), completed = try output(g, "completed")
        let scores = try self.scores(disc.graph)
        let p = discriminatorPrefix
        for name in ["image", "mask"] where !g.inputs.contains(where: { $0.name == name }) {
            throw TrainingError("the generator has no input '\(name)'")
        }
        // The official call is on [x ; comp], but g_loss reads only the fake half's scores and the
        // discriminator treats each image on its own (no batch statistics; σ depends on the
        // weights alone), so the real half is not run here: the same values for half the work.
        g.nodes += [node(p + "image", .scale(Scale(1)), [completed]), node(p + "mask", .scale(Scale(1)), [ValueRef("mask")])]
        let dNames = Set(disc.graph.nodes.map(\.name) + disc.graph.parameters.map(\.name) + disc.graph.inputs.map(\.name))
        func renamed(_ r: ValueRef) -> ValueRef { dNames.contains(r.node) ? ValueRef(p + r.node, output: r.output) : r }
        for var n in disc.graph.nodes {
            n.name = p + n.name
            n.inputs = n.inputs.map(renamed)
            g.nodes.append(n)
        }
        g.parameters += disc.graph.parameters.map { var d = $0; d.name = p + d.name; return d }
        let out = renamed(scores)
        g.nodes += [
            node("loss/fake_mean", .loss(Loss(.mean)), [out]),
            node("loss/g_adv", .scale(Scale(-1)), [ValueRef("loss/fake_mean")]),
            node("loss/l1_stage1", .loss(Loss(.l1Mean)), [s1, ValueRef("image")]),
            node("loss/l1_stage2", .loss(Loss(.l1Mean)), [s2, ValueRef("image")]),
            node("loss/l1", .binary(Binary(.add)), [ValueRef("loss/l1_stage1"), ValueRef("loss/l1_stage2")]),
            node("loss/weighted_adv", .scale(Scale(ganWeight)), [ValueRef("loss/g_adv")]),
            node("loss/weighted_l1", .scale(Scale(l1Weight)), [ValueRef("loss/l1")]),
            node("loss/g_loss", .binary(Binary(.add)), [ValueRef("loss/weighted_adv"), ValueRef("loss/weighted_l1")]),
        ]
        g.outputs = [GraphOutput(name: "g_loss", value: ValueRef("loss/g_loss")), GraphOutput(name: "g_adv", value: ValueRef("loss/g_adv")),
                     GraphOutput(name: "l1", value: ValueRef("loss/l1")), GraphOutput(name: "completed", value: completed),
                     GraphOutput(name: "stage1", value: s1), GraphOutput(name: "stage2", value: s2)]
        let typed = try Verifier.verify(g)
        let params = gen.parameters.filter { $0.role == .parameter }.map(\.name)
        return try optimised(try Autodiff.differentiate(typed, seeds: [Autodiff.Seed(ValueRef("loss/g_loss"))], parameters: params), pipeline)
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

