// graphrun: fill the holes of a photo with a compiled model. Thin by design: the work is in
// the Inpainting module.
import ArgumentParser
import CLISupport
import Foundation
import Inpainting
import Runtime

extension ChannelOrder: ExpressibleByArgument {}

/// Set by SIGINT; the executor polls it between nodes.
nonisolated(unsafe) var interrupted = false

@main
struct GraphRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphrun",
        abstract: "Inpaint a photo with a compiled model: fill the white areas of the mask.",
        discussion: """
            The photo and mask are PNG files of the same size (8- or 16-bit, gray, RGB or RGBA). Mask pixels \
            whose colour value is above 50 % (> 127 for 8-bit) are holes; alpha is ignored. Any size works: \
            the photo is mirror-padded to the model's size step and cropped back, and known pixels are copied \
            into the output unchanged. Results are bit-identical for any --threads value.
            Exit status: 0 on success, 2 for bad input (model, images, sizes, arguments), 130 when \
            interrupted (Ctrl-C stops between nodes and writes nothing).
            """,
        version: "graphrun 0.1.0")

    @Argument(help: ArgumentHelp("The compiled model (graphc compile ... -o model.bin).", valueName: "model.bin")) var model: String
    @Option(name: .long, help: ArgumentHelp("The photo (PNG).", valueName: "photo.png")) var input: String
    @Option(name: .long, help: ArgumentHelp("The hole mask (PNG, white = hole), the photo's size.", valueName: "mask.png")) var mask: String
    @Option(name: .long, help: ArgumentHelp("Where to write the filled photo (PNG).", valueName: "out.png")) var output: String?
    @Option(name: .long, help: ArgumentHelp("Also write every graph output as <name>.npy ([C, H, W]) into this directory.", valueName: "dir"))
    var saveRaw: String?
    @Option(name: .long, help: ArgumentHelp("Worker threads (default: the number of cores).", valueName: "n")) var threads: Int?
    @Option(name: .long, help: "Channel order the weights expect: rgb, or bgr for the official TensorFlow checkpoints.")
    var channelOrder: ChannelOrder = .rgb
    @Option(name: .long, help: ArgumentHelp("Refuse runs estimated to need more memory, e.g. 4G or 512M (default: 80 % of RAM).", valueName: "size"))
    var maxMemory: String?
    @Flag(name: .long, help: "Print time, share and GFLOP/s per node and per op type after the run.") var profile = false
    @Option(name: .long, help: ArgumentHelp("Write a Chrome trace (chrome://tracing, Perfetto) of the run.", valueName: "trace.json"))
    var trace: String?
    @Flag(name: .shortAndLong, help: "Print nothing but errors.") var quiet = false

    static func parseBytes(_ text: String) -> Int? {
        let units: [Character: Double] = ["K": 1024, "M": 1_048_576, "G": 1_073_741_824, "T": 1_099_511_627_776]
        var t = text.uppercased()
        if t.hasSuffix("B") { t.removeLast() }
        var factor = 1.0
        if let u = t.last, let f = units[u] { factor = f; t.removeLast() }
        guard let v = Double(t), v > 0, v * factor < 1e18 else { return nil }
        return Int(v * factor)
    }

    func validate() throws {
        if output == nil && saveRaw == nil { throw ValidationError("give --output FILE.png and/or --save-raw DIR") }
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be in 1...256, got \(threads)") }
        if let m = maxMemory, GraphRun.parseBytes(m) == nil { throw ValidationError("--max-memory must look like 4G or 512M, got '\(m)'") }
    }

    func run() throws {
        signal(SIGINT) { _ in interrupted = true }
        let threads = self.threads ?? RunOptions.defaultThreads
        var request = InpaintRequest(modelPath: model, photoPath: input, maskPath: mask, outputPath: output)
        request.rawDirectory = saveRaw
        request.channelOrder = channelOrder
        let showProgress = !quiet && isatty(2) == 1
        request.options = RunOptions(
            threads: threads, memoryLimit: maxMemory.flatMap(GraphRun.parseBytes) ?? RunOptions.defaultMemoryLimit,
            progress: showProgress ? { i, n, name in
                FileHandle.standardError.write(Data("\r\u{1B}[K[\(i + 1)/\(n)] \(name)".utf8))
            } : nil,
            isCancelled: { interrupted })
        let report: InpaintReport
        do { report = try Inpainter.run(request) } catch {
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if error is RunCancelled {
                CLI.note("graphrun: interrupted; no output was written")
                throw ExitCode(130)
            }
            throw error
        }
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        // --quiet silences messages, not files the user asked for.
        if let trace { try writeTrace(report, to: trace) }
        guard !quiet else { return }
        for n in report.notes { CLI.note("note: \(n)") }
        let holes = String(format: "%.1f", 100 * Double(report.holePixels) / Double(report.size.height * report.size.width))
        var line = "filled \(report.holePixels) hole pixels (\(holes) %) of \(report.size.width)x\(report.size.height) in "
            + String(format: "%.2f s", report.seconds) + " on \(threads) thread\(threads == 1 ? "" : "s")"
            + String(format: " (estimated peak memory %.0f MiB)", Double(report.estimatedPeakBytes) / 1_048_576)
        if let output { line += " -> \(output)" }
        print(line)
        for f in report.rawFiles { print("wrote \(f)") }
        if profile { printProfile(report) }
        if let trace { print("wrote trace \(trace)") }
    }

    func printProfile(_ report: InpaintReport) {
        let total = report.nodeSeconds.reduce(0) { $0 + $1.seconds }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func rate(_ macs: Int, _ s: Double) -> String { macs > 0 && s > 0 ? String(format: "%6.1f GFLOP/s", 2 * Double(macs) / s / 1e9) : "" }
        print("\nslowest nodes:")
        for n in report.nodeSeconds.sorted(by: { $0.seconds > $1.seconds }).prefix(15) {
            print("  " + pad(n.node, 28) + pad(n.op, 22) + String(format: "%8.1f ms %5.1f %%  ", n.seconds * 1000, 100 * n.seconds / total)
                  + rate(n.macs, n.seconds))
        }
        print("by op type:")
        var byOp: [String: (Double, Int)] = [:]
        for n in report.nodeSeconds { byOp[n.op, default: (0, 0)].0 += n.seconds; byOp[n.op, default: (0, 0)].1 += n.macs }
        for (op, (s, macs)) in byOp.sorted(by: { $0.value.0 > $1.value.0 }) {
            print("  " + pad(op, 22) + String(format: "%8.1f ms %5.1f %%  ", s * 1000, 100 * s / total) + rate(macs, s))
        }
        let macs = report.nodeSeconds.reduce(0) { $0 + $1.macs }
        print("  " + pad("total", 22) + String(format: "%8.1f ms          ", total * 1000) + rate(macs, total))
    }

    /// Chrome trace (chrome://tracing, Perfetto): one complete event per node.
    func writeTrace(_ report: InpaintReport, to path: String) throws {
        var events: [String] = []
        for n in report.nodeSeconds {
            let name = n.node.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            events.append("{\"name\": \"\(name)\", \"cat\": \"\(n.op)\", \"ph\": \"X\", \"pid\": 1, \"tid\": 1, "
                          + String(format: "\"ts\": %.1f, \"dur\": %.1f, ", n.start * 1e6, n.seconds * 1e6)
                          + "\"args\": {\"op\": \"\(n.op)\", \"macs\": \(n.macs)}}")
        }
        let text = "{\"traceEvents\": [\n" + events.joined(separator: ",\n") + "\n], \"displayTimeUnit\": \"ms\"}\n"
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw ValidationError("cannot write the trace to \(path): \(error.localizedDescription)")
        }
    }

    static func main() { CLI.run(GraphRun.self) }
}
