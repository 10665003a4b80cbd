// `graphtrain export RUN -o model.bin`: a checkpoint's generator compiled as graphc would
// compile it (the standard passes, memory plans recorded), ready for graphrun.
import ArgumentParser
import CLISupport
import Compiler
import Foundation
import GraphPasses
import ModelFormat
import Training

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's generator as a model.bin for graphrun.",
        discussion: "Example: graphtrain export runs/a -o a.bin && graphrun a.bin -i photo.png -m mask.png -o filled.png")

    @Argument(help: ArgumentHelp("The run folder.", valueName: "RUN")) var folder: String
    @Option(help: ArgumentHelp("The checkpoint's step (default: the newest).", valueName: "STEP")) var checkpoint: Int?
    @Option(name: .shortAndLong, help: ArgumentHelp("The model file to write.", valueName: "model.bin")) var output: String
    @Flag(help: "Store the weights as float16 (half the size; computed in float32).") var float16 = false

    func run() throws {
        let (step, path) = try TrainingRun.checkpoint(folder, step: checkpoint)
        let c = try TrainingRun.readCheckpoint(folder, step: step)
        let (optimised, _) = try PassPipeline.standard.run(c.generator.typed)
        var tensors = c.generator.tensors
        var notes: [String] = []
        if float16 { notes.append(try Compiler.storeAsHalf(&tensors)) }
        let config = try? TrainingRun.loadConfig(folder)
        var metadata = ModelMetadata(compiler: Compiler.version, graphName: optimised.graph.name, sources: [],
                                     weights: "graphtrain run \((folder as NSString).lastPathComponent), step \(step)"
                                         + (config.map { ", trained at \($0.width)x\($0.height) from \($0.initialWeights)" } ?? ""),
                                     parameterCount: c.generator.typed.parameterCount)
        metadata.colourOrder = "rgb"
        var model = Model(graph: optimised.graph, metadata: metadata, tensors: tensors)
        metadata.memoryPlans = MemoryReport.plans(model, sizes: Compiler.defaultPlanSizes)
        model.metadata = metadata
        try Compiler.checkOutput(output, inputs: [path + "/generator.bin"])
        try ModelWriter.write(model, to: output)
        for note in notes { CLI.note("graphtrain: \(note)") }
        CLI.note("graphtrain: wrote \(output): generator of \(folder) at step \(step), \(c.generator.typed.parameterCount) parameters")
    }
}
