// graphc: compile, check, dump and inspect Fillgraph graphs and models. Thin by design: the
// work is in the Compiler module.
import ArgumentParser
import CLISupport
import Compiler
import Foundation
import GraphIR
import GraphPasses
import ModelFormat

extension ColourOrder: ExpressibleByArgument {}
extension StorageType: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.name) }
}

@main
struct GraphC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphc",
        abstract: "Compile inpainting-network graphs (YAML) into model.bin files for graphrun.",
        discussion: "Exit status: 0 on success, 2 for bad input (graph, weights, model or arguments).",
        version: Compiler.version,
        subcommands: [Compile.self, Check.self, Dump.self, Inspect.self])

    static func main() { CLI.run(GraphC.self) }
}

/// The pass switches shared by compile and dump.
struct PassOptions: ParsableArguments {
    @Flag(name: .long, help: "Run no optimising pass (only dead-node elimination).") var noOpt = false
    @Option(name: .long, help: ArgumentHelp("Skip one pass (repeatable): \(PassSelection.ids.joined(separator: ", ")).", valueName: "pass"))
    var disable: [String] = []

    func pipeline(after: String? = nil) throws -> PassPipeline {
        try PassSelection.pipeline(noOpt: noOpt, disabled: disable, after: after)
    }
}

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile a graph and its weights into a model file.",
        discussion: """
            --weights takes, recognised by content: an .npz (Fillgraph keys <node>.weight [out, in, kh, kw], \
            <node>.bias, <node>.u, or either PyTorch-port naming); a PyTorch .pth (read without running its \
            pickle); or a TensorFlow checkpoint (its prefix, .index, directory or 'checkpoint' file). \
            Docs/import.md lists the names. --random-init draws Glorot-uniform kernels, zero biases and \
            truncated-normal u from --seed.
            """)

    @Argument(help: ArgumentHelp("The graph file.", valueName: "graph.yaml")) var graph: String
    @Option(name: .long, help: ArgumentHelp("Weights: .npz, PyTorch .pth or TensorFlow checkpoint.", valueName: "file")) var weights: String?
    @Option(name: .customLong("channel-order"),
            help: ArgumentHelp("Channel order the weights were trained on; bgr reverses the colour layers so the model takes RGB. Default: bgr for TensorFlow checkpoints, rgb otherwise.",
                               valueName: "bgr|rgb")) var channelOrder: ColourOrder?
    /// The flag's old name (graphrun has always said --channel-order): still accepted, not shown.
    @Option(name: .customLong("color-order"), help: .hidden) var deprecatedColorOrder: ColourOrder?

    /// --channel-order, or its deprecated spelling.
    var colour: ColourOrder? { channelOrder ?? deprecatedColorOrder }
    @Option(name: .customLong("param"), help: ArgumentHelp("Override a graph parameter, e.g. --param cnum=8 (repeatable).", valueName: "NAME=V"))
    var params: [String] = []
    @Flag(name: .long, help: "Initialise weights randomly instead of loading them.") var randomInit = false
    @Option(name: .long, help: ArgumentHelp("Seed for --random-init.", valueName: "n")) var seed: UInt64 = 0
    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The model file to write.", valueName: "model.bin")) var output = "model.bin"
    @OptionGroup var passes: PassOptions
    @Flag(name: .long, help: "Print the buffer plan (arena, lower bound, ratio) at the planned sizes.") var report = false
    @Flag(name: .shortAndLong, help: "Print only errors and the line naming the file written.") var quiet = false
    @Option(name: .long, help: ArgumentHelp("Sizes to plan and record in the model, width x height (default 256x256,512x512).", valueName: "WxH,..."))
    var planSizes: String?
    @Option(name: .long, help: ArgumentHelp("How the model file stores weights: float32, or float16 for half the size (computed in float32 either way).",
                                            valueName: "float32|float16"))
    var store: StorageType = .float32

    /// Run from `run()`: ArgumentParser validates before naming an unknown option.
    func checkCombination() throws {
        if (weights == nil) == !randomInit {
            throw ValidationError("give exactly one of --weights FILE or --random-init")
        }
        if channelOrder != nil && deprecatedColorOrder != nil {
            throw ValidationError("--color-order is the old name of --channel-order; give --channel-order only")
        }
        if colour != nil && randomInit { throw ValidationError("--channel-order applies to --weights, not --random-init") }
    }

    func run() throws {
        try checkCombination()
        if deprecatedColorOrder != nil && !quiet { CLI.note("note: --color-order is deprecated; it is now --channel-order") }
        let source: WeightSource = randomInit ? .random(seed: seed) : .file(path: weights!, colour: colour)
        var sizes = Compiler.defaultPlanSizes
        if let planSizes {
            sizes = try planSizes.split(separator: ",").map { s in
                guard let hw = CLI.parseSize(String(s)) else { throw ValidationError("--plan-sizes must be width x height sizes like 256x256,600x400, got '\(s)'") }
                return hw
            }
        }
        try Compiler.checkOutput(output, inputs: [graph] + (weights.map { Compiler.weightFiles($0) } ?? []))
        guard let overrides = Compiler.parseParams(params) else {
            throw ValidationError("--param takes NAME=VALUE (e.g. --param cnum=8), got '\(params.joined(separator: " "))'")
        }
        let (model, notes) = try Compiler.compile(graphPath: graph, weights: source, passes: try passes.pipeline(), planSizes: sizes, storage: store,
                                                  params: overrides)
        try Compiler.checkOutput(output, inputs: model.metadata.sources.map(\.path))
        if !quiet {
            for n in notes { CLI.note("note: \(n)") }
            if randomInit { CLI.note("note: weights are random (seed \(seed)); outputs will not look like real inpainting") }
        }
        try ModelWriter.write(model, to: output)
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        print("wrote \(output): \(model.graph.name), \(model.graph.nodes.count) nodes, "
              + "\(model.metadata.parameterCount) parameters, \(size) bytes; weights: \(model.metadata.weights)")
        if report {
            for plan in model.metadata.memoryPlans ?? [] { print("buffer plan " + MemoryReport.line(plan)) }
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Parse and verify a graph; print a one-line summary.")

    @Argument(help: ArgumentHelp("The graph file.", valueName: "graph.yaml")) var graph: String
    @Flag(name: .shortAndLong, help: "Also print what the optimising passes would do.") var verbose = false

    func run() throws {
        let compiled = try Compiler.load(graphPath: graph)
        if verbose { for n in compiled.notes { CLI.note("note: \(n)") } }
        let g = compiled.typed.graph
        print("ok: \(graph): graph \(g.name), \(g.nodes.count) nodes, \(compiled.typed.parameterCount) parameters, "
              + "inputs \(g.inputs.map(\.name).joined(separator: ", ")), outputs \(g.outputs.map(\.name).joined(separator: ", "))")
    }
}

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a graph's IR: one line per value with its inferred type.")

    @Argument(help: ArgumentHelp("The graph file.", valueName: "graph.yaml")) var graph: String
    @Option(name: .long, help: ArgumentHelp("Bind the sizes (batch 1, width x height) to print concrete shapes.", valueName: "WxH")) var size: String?
    @Flag(name: .long, help: "Omit the YAML positions.") var noLocations = false
    @Flag(name: .long, help: "Print the graph as written, before the compile passes.") var raw = false
    @Option(name: .long, help: ArgumentHelp("Print the graph as it is after this pass.", valueName: "pass")) var after: String?
    @OptionGroup var passes: PassOptions

    func run() throws {
        let compiled = try Compiler.load(graphPath: graph, passes: raw ? PassPipeline([]) : try passes.pipeline(after: after))
        var typed = compiled.typed
        if let size {
            guard let (h, w) = CLI.parseSize(size) else { throw ValidationError("--size must be width x height, like 600x400, got '\(size)'") }
            typed = try Verifier.verify(typed.graph, bindings: try typed.graph.checkedBindings(height: h, width: w))
        }
        print(typed.printed(showLocations: !noLocations))
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a model file: header, sections, tensors, checksums, parameters and MACs.")

    @Argument(help: ArgumentHelp("The model file.", valueName: "model.bin")) var model: String
    @Option(name: .long, help: ArgumentHelp("Also count multiply-accumulates per node at this input size (width x height).", valueName: "WxH")) var size: String?
    @Flag(name: .long, help: "Omit the tensor table.") var noTensors = false

    func validate() throws {
        if let size, CLI.parseSize(size) == nil { throw ValidationError("--size must be width x height, like 600x400, got '\(size)'") }
    }

    func run() throws {
        let file = try ModelReader.read(path: model)
        print(try Inspector.report(file, size: size.flatMap { CLI.parseSize($0) }, showTensors: !noTensors))
    }
}
