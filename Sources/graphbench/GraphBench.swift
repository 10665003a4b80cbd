// graphbench: times the DeepFill v2 generator at fixed sizes — median, min and max over N runs
// after a warm-up, and the peak resident memory of a process that does nothing else (each size
// runs in a child process of its own, so one size's peak does not hide another's). The inputs
// are synthetic and deterministic (Benchmark.inputs), the same ones Tools/peers feeds PyTorch
// and ONNX Runtime, so the numbers compare like for like.
import ArgumentParser
import CLISupport
import Compiler
import Foundation
import Kernels
import Runtime

@main
struct GraphBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphbench",
        abstract: "Time a graph (default: the DeepFill v2 generator) at several sizes.",
        discussion: """
            Prints one line per size: median, min and max seconds over --runs runs after one warm-up run, \
            GFLOP/s at the median, and the peak RSS of a child process that compiled and ran only that size. \
            Inputs: a smooth synthetic photo and a centred rectangular hole of half the height and width.
            """)

    @Option(name: .long, help: ArgumentHelp("The graph file (default: the repository's Graphs/deepfill_v2.yaml, found from any directory).", valueName: "graph.yaml"))
    var graph = GraphBench.defaultGraph

    /// The repository's DeepFill graph: next to the working directory, or where this source was built.
    static var defaultGraph: String {
        let relative = "Graphs/deepfill_v2.yaml"
        if FileManager.default.fileExists(atPath: relative) { return relative }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repository.appendingPathComponent(relative).path
    }
    @Option(name: .long, help: ArgumentHelp("Weights (default: random, seed 1).", valueName: "file")) var weights: String?
    @Option(name: .long, help: ArgumentHelp("Comma-separated sizes.", valueName: "WxH,...")) var sizes = "256x256,512x512"
    @Option(name: .long, help: ArgumentHelp("Timed runs per size.", valueName: "n")) var runs = 5
    @Option(name: .long, help: ArgumentHelp("Worker threads.", valueName: "n")) var threads = 2
    @Flag(name: .long, help: "Compile without the optimising passes.") var noOpt = false
    @Flag(name: .long, help: "Also print the time per op type (from the median run).") var profile = false
    @Flag(name: .long, help: "Print JSON lines instead of a table.") var json = false
    @Flag(name: .long, help: ArgumentHelp("Instead of a graph, time one DeepFill atrous layer at rates 2-16 as im2col, strided Winograd phases and explicit space-to-batch; --sizes are the feature maps (e.g. 64x64,128x128)."))
    var atrous = false
    @Flag(name: .long, help: ArgumentHelp("Instead of a forward run, time training iterations (G step, D step, Adam) of DeepFill v2 with SN-PatchGAN."))
    var train = false
    @Option(name: .long, help: ArgumentHelp("Batch size for --train.", valueName: "n")) var batch = 4
    @Option(name: .long, help: ArgumentHelp("Generator and discriminator widths for --train.", valueName: "g,d")) var widths = "48,64"
    @Option(name: .long, help: .hidden) var child: String?

    static func main() {
        BLASCore.ensureFastCore(tool: "graphbench")
        CLI.run(GraphBench.self)
    }

    func validate() throws {
        guard runs >= 1, runs <= 1000 else { throw ValidationError("--runs must be in 1...1000") }
        guard threads >= 1, threads <= 256 else { throw ValidationError("--threads must be in 1...256") }
        for s in sizes.split(separator: ",") where CLI.parseSize(String(s), limit: 16384) == nil {
            throw ValidationError("--sizes must be width x height sizes like 256x256,600x400, got '\(s)'")
        }
    }

    func run() throws {
        if let child { return try measure(size: child) }
        if atrous {
            return AtrousStudy.run(sizes: sizes.split(separator: ",").compactMap { CLI.parseSize(String($0), limit: 16384) }, runs: runs, threads: threads)
        }
        if !json && !train { print("graphbench: \(graph), \(threads) threads, \(runs) runs after 1 warm-up\(noOpt ? ", no optimisation" : "")") }
        fflush(stdout)
        for size in sizes.split(separator: ",").map(String.init) {
            // Re-run this executable for one size, so its peak RSS is that size's alone.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            process.arguments = Array(CommandLine.arguments.dropFirst()) + ["--child", size]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw CompileError("the run at \(size) failed (status \(process.terminationStatus))") }
        }
    }

    func measure(size: String) throws {
        if train {
            let wd = widths.split(separator: ",").compactMap { Int($0) }
            guard wd.count == 2, wd.allSatisfy({ (1...512).contains($0) }) else { throw ValidationError("--widths takes two widths like 48,64") }
            return try TrainBench.run(size: size, batch: batch, cnum: wd[0], dcnum: wd[1], runs: runs, threads: threads)
        }
        let (h, w) = CLI.parseSize(size, limit: 16384)!
        let source: WeightSource = weights.map { .file(path: $0) } ?? .random(seed: 1)
        let (model, _) = try Compiler.compile(graphPath: graph, weights: source, passes: try PassSelection.pipeline(noOpt: noOpt))
        let executor = Executor(model: model)
        let inputs = Benchmark.inputs(for: model.graph, height: h, width: w)
        let options = RunOptions(threads: threads)
        _ = try executor.run(inputs, options: options)
        var results: [RunResult] = []
        var seconds: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            results.append(try executor.run(inputs, options: options))
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let order = seconds.indices.sorted { seconds[$0] < seconds[$1] }
        let median = seconds[order[order.count / 2]], rss = Benchmark.peakRSS()
        let flops = 2 * Double(try Benchmark.macs(model: model, height: h, width: w))
        if json {
            print("{\"size\": \"\(size)\", \"median\": \(median), \"min\": \(seconds[order.first!]), \"max\": \(seconds[order.last!]), "
                  + "\"peak_rss_bytes\": \(rss), \"gflop\": \(flops / 1e9), \"estimated_peak_bytes\": \(results[0].estimatedPeakBytes)}")
        } else {
            print(String(format: "%@  median %.3f s  min %.3f  max %.3f  %.0f GFLOP/s  peak RSS %.0f MB",
                         size, median, seconds[order.first!], seconds[order.last!], flops / median / 1e9, Double(rss) / 1e6))
            fflush(stdout)
        }
        if profile {
            var byOp: [String: Double] = [:]
            for n in results[order[order.count / 2]].nodeSeconds { byOp[n.op, default: 0] += n.seconds }
            for (op, s) in byOp.sorted(by: { $0.value > $1.value }) where s > 0.0005 {
                print("    " + op.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: " %8.1f ms  %5.1f %%", s * 1000, 100 * s / median))
            }
        }
    }
}
