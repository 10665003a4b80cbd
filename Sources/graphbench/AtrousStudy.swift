// The measurement behind dilation lowering (`graphbench --atrous`): one DeepFill atrous layer
// (gated 3×3 conv, 96 → 2·96 channels, ELU) at each rate, computed three ways, alternating:
//   im2col    — the dilation in the patch gather, then SGEMM (no lowering);
//   phases    — Winograd on the d² phase sub-images, read and written with stride d (the choice);
//   explicit  — space-to-batch into d² dense images, Winograd on that batch, batch-to-space back.
// The explicit form pays two extra passes over memory per layer and cannot cancel them between
// DeepFill's consecutive atrous layers (their rates differ), so it can only lose to the strided one.
import Foundation
import Kernels

enum AtrousStudy {
    static func run(sizes: [(Int, Int)], runs: Int, threads: Int) {
        let cin = 96, cout = 192
        print("atrous layer \(cin) -> \(cout) (gated), \(threads) threads, median of \(runs) runs, ms")
        print("map        rate   im2col   phases  explicit  max |diff|")
        for (h, w) in sizes {
            for d in [2, 4, 8, 16] where h % d == 0 && w % d == 0 {
                let g = ConvGeometry(batch: 1, inChannels: cin, inHeight: h, inWidth: w, outChannels: cout, kernel: (3, 3),
                                     dilation: (d, d), padding: (d, d, d, d))
                let dense = ConvGeometry(batch: d * d, inChannels: cin, inHeight: h / d, inWidth: w / d, outChannels: cout,
                                         kernel: (3, 3), padding: (1, 1, 1, 1))
                var state: UInt64 = 0x9E37_79B9_7F4A_7C15
                func random() -> Float { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return Float(state >> 40) / Float(1 << 24) - 0.5 }
                let x = (0..<cin * h * w).map { _ in random() }, weight = (0..<cout * cin * 9).map { _ in random() * 0.1 }
                let bias = (0..<cout).map { _ in random() }
                let u = weight.withUnsafeBufferPointer { Winograd.transformWeights($0.baseAddress!, outChannels: cout, inChannels: cin) }
                let out = UnsafeMutablePointer<Float>.allocate(capacity: cout / 2 * h * w)
                let batch = UnsafeMutablePointer<Float>.allocate(capacity: cin * h * w)
                let batchOut = UnsafeMutablePointer<Float>.allocate(capacity: cout / 2 * h * w)
                let scratchBytes = max(Convolution.scratchBytes(g, epilogue: .gate(.elu(alpha: 1)), threads: threads),
                                       Winograd.scratchBytes(g, threads: threads), Winograd.scratchBytes(dense, threads: threads))
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchBytes / 4)
                defer { out.deallocate(); batch.deallocate(); batchOut.deallocate(); scratch.deallocate() }
                let epilogue = ConvEpilogue.gate(.elu(alpha: 1))
                var times: [[Double]] = [[], [], []]
                var worst: Float = 0
                x.withUnsafeBufferPointer { xp in weight.withUnsafeBufferPointer { wp in u.withUnsafeBufferPointer { up in bias.withUnsafeBufferPointer { bp in
                    let ways: [() -> Void] = [
                        { Convolution.forward(g, input: xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!, output: out,
                                              epilogue: epilogue, scratch: scratch, threads: threads) },
                        { Winograd.forward(g, input: xp.baseAddress!, transformedWeight: up.baseAddress!, bias: bp.baseAddress!, output: out,
                                           epilogue: epilogue, scratch: scratch, threads: threads) },
                        {
                            AtrousStudy.spaceToBatch(xp.baseAddress!, batch, channels: cin, height: h, width: w, block: d, threads: threads)
                            Winograd.forward(dense, input: batch, transformedWeight: up.baseAddress!, bias: bp.baseAddress!, output: batchOut,
                                             epilogue: epilogue, scratch: scratch, threads: threads)
                            AtrousStudy.batchToSpace(batchOut, out, channels: cout / 2, height: h, width: w, block: d, threads: threads)
                        },
                    ]
                    // Warm-up, and a check that the three agree.
                    var results: [[Float]] = []
                    for way in ways { way(); results.append(Array(UnsafeBufferPointer(start: out, count: cout / 2 * h * w))) }
                    for r in results.dropFirst() { worst = max(worst, zip(r, results[0]).map { abs($0 - $1) }.max() ?? 0) }
                    for _ in 0..<runs {
                        for (k, way) in ways.enumerated() {
                            let start = DispatchTime.now().uptimeNanoseconds
                            way()
                            times[k].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                        }
                    }
                } } } }
                let medians = times.map { $0.sorted()[$0.count / 2] }
                print("\(w)x\(h)".padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " %4d %8.1f %8.1f %9.1f  %10.1e", d, medians[0], medians[1], medians[2], worst))
            }
        }
    }
}

extension AtrousStudy {
    /// x[C][H][W] → y[b²][C][H/b][W/b], image (py·b + px) holding the pixels at rows ≡ py and
    /// columns ≡ px (mod b): a rate-b dilated conv on x is a dense conv on each image.
    /// H and W must be multiples of b.
    static func spaceToBatch(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, channels C: Int, height H: Int, width W: Int,
                             block b: Int, threads: Int) {
        phaseRows(channels: C, height: H, width: W, block: b, threads: threads) { spaced, dense, w in
            for j in 0..<w { y[dense + j] = x[spaced + b * j] }
        }
    }

    /// The inverse of spaceToBatch.
    static func batchToSpace(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, channels C: Int, height H: Int, width W: Int,
                             block b: Int, threads: Int) {
        phaseRows(channels: C, height: H, width: W, block: b, threads: threads) { spaced, dense, w in
            for j in 0..<w { x[spaced + b * j] = y[dense + j] }
        }
    }

    /// Calls body(offset of a phase row in x, where its pixels are b apart; offset of the same
    /// row in y; its length) for every row of every phase, phases split over threads.
    private static func phaseRows(channels C: Int, height H: Int, width W: Int, block b: Int, threads: Int,
                                  _ body: (_ spaced: Int, _ dense: Int, _ count: Int) -> Void) {
        let h = H / b, w = W / b
        Parallel.forEach(pieces: b * b, threads: threads) { phase, _ in
            let py = phase / b, px = phase % b
            for c in 0..<C { for i in 0..<h { body((c * H + py + b * i) * W + px, ((phase * C + c) * h + i) * w, w) } }
        }
    }
}
