// graphrun: fill the holes of photos with a compiled model (`fill`, the default), evaluate a
// model on held-out photos (`eval`), or score fills made elsewhere (`score`). Thin by design:
// the work is in the Inpainting and Evaluation modules.
import ArgumentParser
import CLISupport
import Foundation
import Inpainting
import Kernels
import Runtime

extension ChannelOrder: ExpressibleByArgument {}

/// When main started (for --profile's whole-process figures).
nonisolated(unsafe) var processStart: UInt64 = 0

/// Set by SIGINT; the executor polls it between nodes.
nonisolated(unsafe) var interrupted = false

@main
struct GraphRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphrun",
        abstract: "Inpaint photos with a compiled model, or evaluate one.",
        discussion: "Exit status: 0 on success, 1 when some photos of a folder failed, 2 for bad input "
            + "(model, images, sizes, arguments), 130 when interrupted.",
        version: "graphrun 0.2.0\n" + BLASCore.summary,
        subcommands: [Fill.self, Eval.self, Score.self],
        defaultSubcommand: Fill.self)

    static func main() {
        processStart = DispatchTime.now().uptimeNanoseconds
        BLASCore.ensureFastCore(tool: "graphrun")
        CLI.run(GraphRun.self)
    }
}

/// Options every command that runs the network shares.
struct RunFlags: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Worker threads (default: the number of cores).", valueName: "n"))
    var threads: Int?
    @Option(name: .long, help: "Channel order of the model's image input. Leave it: every model graphc writes takes rgb (graphc converts BGR-trained weights, such as the official TensorFlow ones, when it compiles them) and says so, and bgr is refused for those; bgr is only for models from older graphc versions that were compiled without conversion.")
    var channelOrder: ChannelOrder = .rgb
    @Option(name: .long, help: ArgumentHelp("Refuse runs estimated to need more memory, e.g. 4G, 4GiB or 512M (default: 80 % of RAM).", valueName: "size"))
    var maxMemory: String?

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be in 1...256, got \(threads)") }
        if let m = maxMemory, RunFlags.parseBytes(m) == nil { throw ValidationError("--max-memory must look like 4G, 4GiB or 512M, got '\(m)'") }
    }

    static func parseBytes(_ text: String) -> Int? {
        let units: [Character: Double] = ["K": 1024, "M": 1_048_576, "G": 1_073_741_824, "T": 1_099_511_627_776]
        var t = text.uppercased()
        if t.hasSuffix("IB") { t.removeLast(2) } else if t.hasSuffix("B") { t.removeLast() }
        var factor = 1.0
        if let u = t.last, let f = units[u] { factor = f; t.removeLast() }
        guard let v = Double(t), v > 0, v * factor < 1e18 else { return nil }
        return Int(v * factor)
    }

    var threadCount: Int { threads ?? RunOptions.defaultThreads }

    func options(progress: (@Sendable (RunProgress) -> Void)? = nil) -> RunOptions {
        RunOptions(threads: threadCount, memoryLimit: maxMemory.flatMap(RunFlags.parseBytes) ?? RunOptions.defaultMemoryLimit,
                   progress: progress, isCancelled: { interrupted })
    }
}

/// A line that rewrites itself on a terminal.
enum StatusLine {
    static let isTerminal = isatty(2) == 1
    static func show(_ text: String) { FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8)) }
    static func clear() { if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
}

/// The progress of one network run: a line rewritten in place on a terminal; in a log (stderr
/// not a terminal), a line a minute, so a long run is never silent and never floods.
final class ProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private var lastLogged = 0.0
    let terminal = StatusLine.isTerminal

    static func text(_ p: RunProgress) -> String {
        var s = "[\(p.node + 1)/\(p.nodes)] \(p.name)"
        if let f = p.nodeFraction { s += String(format: " %.0f %%", 100 * f) }
        s += " · \(CLI.duration(p.elapsed)) elapsed"
        if let r = p.remaining { s += " · about \(CLI.duration(r)) left" }
        return s
    }

    func report(_ p: RunProgress) {
        if terminal { StatusLine.show(Self.text(p)); return }
        lock.lock()
        defer { lock.unlock() }
        guard p.elapsed - lastLogged >= 60 else { return }
        lastLogged = p.elapsed
        CLI.note("graphrun: " + Self.text(p))
    }
}

func installInterruptHandler() {
    signal(SIGINT) { _ in interrupted = true }
}
