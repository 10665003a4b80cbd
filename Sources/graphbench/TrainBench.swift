// graphbench --train: one training iteration of the official DeepFill v2 recipe as
// `graphtrain fit` runs it (Trainer.iterate) — the D step on its own batch (the generator's
// forward for the completions, the discriminator on [real ; completed], Adam), then the G step
// on another batch (generator and discriminator forward and backward, Adam) — timed at fixed
// sizes, the median over --runs iterations after one warm-up (the first iteration plans and
// allocates). samples/s counts the photos an iteration consumes: 2 · batch. Random TF-default weights; a smooth synthetic
// batch and a centred rectangular hole. Tools/bench_train_torch.py times the same iteration
// in PyTorch (eager and torch.compile) for the side-by-side figures in Docs/performance.md.
import CLISupport
import Compiler
import Foundation
import ModelFormat
import Runtime
import Training

enum TrainBench {
    static func graphs() -> (generator: String, discriminator: String) {
        let g = GraphBench.defaultGraph
        return (g, (g as NSString).deletingLastPathComponent + "/sn_patchgan.yaml")
    }

    /// A smooth, deterministic batch in [-1, 1] and a centred hole of half the height and width.
    static func batch(_ n: Int, height h: Int, width w: Int) -> (image: [Float], mask: [Float]) {
        var image: [Float] = []
        for b in 0..<n { for c in 0..<3 { for y in 0..<h { for x in 0..<w {
            image.append(sin(Float(x) * 0.05 + Float(c + b)) * cos(Float(y) * 0.04 - Float(b)) * 0.8)
        } } } }
        let mask = (0..<h * w).map { i -> Float in
            let y = i / w, x = i % w
            return y >= h / 4 && y < h / 4 + h / 2 && x >= w / 4 && x < w / 4 + w / 2 ? 1 : 0
        }
        return (image, mask)
    }

    static func run(size: String, batch n: Int, cnum: Int, dcnum: Int, runs: Int, threads: Int) throws {
        let (h, w) = CLI.parseSize(size, limit: 4096)!
        let (g, d) = graphs()
        let g0 = try GradientStep.load(NetworkSpec(graphPath: g, params: [("cnum", "\(cnum)")], weightsPath: nil, seed: 1))
        let d0 = try GradientStep.load(NetworkSpec(graphPath: d, params: [("cnum", "\(dcnum)")], weightsPath: nil, seed: 2))
        let trainer = try Trainer(generator: g0, discriminator: d0, settings: TrainerSettings(batch: n, microBatch: n), gAdam: Adam(), dAdam: Adam())
        let (image, mask) = batch(n, height: h, width: w)
        let options = RunOptions(threads: threads)
        func iteration() throws {
            _ = try trainer.iterate(d: Batch(image: image, mask: mask), g: Batch(image: image.reversed(), mask: mask), height: h, width: w, options: options)
        }
        try iteration()
        var seconds: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try iteration()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let sorted = seconds.sorted()
        let median = sorted[sorted.count / 2]
        print(String(format: "train %dx%d batch %d: median %.3f s/iteration = %.2f samples/s (min %.3f, max %.3f, %d iterations, %d threads, cnum %d/%d) peak RSS %.0f MB",
                     w, h, n, median, Double(2 * n) / median, sorted.first!, sorted.last!, runs, threads, cnum, dcnum, Double(Benchmark.peakRSS()) / 1e6))
        fflush(stdout)
    }
}
