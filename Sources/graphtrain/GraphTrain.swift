// graphtrain: training DeepFill v2 and its variants with the official recipe (spec §5).
//   init      create a run folder: config, initial weights (ckpt-0)
//   fit       train it from its newest checkpoint
//   export    write a checkpoint's generator as a model.bin for graphrun
//   samples   a picture grid of a checkpoint's fills
//   masks     the official training masks and their statistics
//   gradients one step's gradients without updating (the oracle check)
import ArgumentParser
import CLISupport
import Compiler
import Foundation
import Kernels

@main
struct GraphTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphtrain",
        abstract: "Train inpainting networks compiled by Fillgraph.",
        discussion: "Exit status: 0 on success, 2 for bad input (graphs, weights, photos, masks, run folders or arguments), "
            + "3 when a loss goes NaN or infinite (the last good checkpoint is kept), 130 when interrupted (after saving a checkpoint).",
        version: "graphtrain 0.2.0\n" + BLASCore.summary,
        subcommands: [Init.self, Fit.self, Export.self, Samples.self, MasksCommand.self, Gradients.self])

    static func main() {
        BLASCore.ensureFastCore(tool: "graphtrain")
        CLI.run(GraphTrain.self)
    }
}

/// Set by SIGINT; the executor polls it between nodes and inside long kernels.
nonisolated(unsafe) var interrupted = false

/// `NAME=VALUE`, for --param and --dparam.
func parseParams(_ items: [String], flag: String) throws -> [(name: String, value: String)] {
    guard let p = Compiler.parseParams(items) else {
        throw ValidationError("\(flag) takes NAME=VALUE (e.g. \(flag) cnum=8), got '\(items.joined(separator: " "))'")
    }
    return p
}

