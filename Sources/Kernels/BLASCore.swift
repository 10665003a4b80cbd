// Which kernels OpenBLAS runs, and a fix when it chose badly. Debian's OpenBLAS is built for
// many CPUs and picks its kernels when it loads, from the CPU's family and model; a CPU newer
// than the library (an Intel Xeon of family 6, model 207, with AVX-512 and AMX) falls back to a
// generic or Prescott core that runs 3.5–4× slower than its SkylakeX kernels. OpenBLAS reads
// OPENBLAS_CORETYPE only when it loads, so the fix is to run the program again with it set,
// before any work. The decision is a pure function of (CPU features, reported core,
// environment), tested as such; the user's own OPENBLAS_CORETYPE always wins.
import CBLAS
import CKernels
import Foundation

public struct CPUFeatures: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let sse42 = CPUFeatures(rawValue: 1 << 0)
    public static let avx = CPUFeatures(rawValue: 1 << 1)
    public static let avx2 = CPUFeatures(rawValue: 1 << 2)
    public static let fma = CPUFeatures(rawValue: 1 << 3)
    public static let avx512f = CPUFeatures(rawValue: 1 << 4)
    public static let avx512dq = CPUFeatures(rawValue: 1 << 5)
    public static let avx512bw = CPUFeatures(rawValue: 1 << 6)
    public static let avx512vl = CPUFeatures(rawValue: 1 << 7)
    public static let amx = CPUFeatures(rawValue: 1 << 8)
    /// What OpenBLAS's SkylakeX kernels need.
    public static let avx512: CPUFeatures = [.avx512f, .avx512dq, .avx512bw, .avx512vl]

    /// This machine's usable features (cpuid, and the OS saves the registers).
    public static var current: CPUFeatures { CPUFeatures(rawValue: fg_cpu_features()) }

    public var description: String {
        let names: [(CPUFeatures, String)] = [(.sse42, "SSE4.2"), (.avx, "AVX"), (.avx2, "AVX2"), (.fma, "FMA"), (.avx512f, "AVX-512F"),
                                              (.avx512dq, "DQ"), (.avx512bw, "BW"), (.avx512vl, "VL"), (.amx, "AMX")]
        let present = names.filter { contains($0.0) }.map(\.1)
        return present.isEmpty ? "none of SSE4.2/AVX/AVX2/AVX-512" : present.joined(separator: " ")
    }
}

public enum BLASCore {
    public enum Decision: Equatable, Sendable {
        case keep
        /// Run again with OPENBLAS_CORETYPE=coreType.
        case rerun(coreType: String, reason: String)
    }

    /// Cores below what an AVX2 CPU runs: OpenBLAS's fallbacks for CPUs it does not recognise and
    /// its pre-AVX2 targets.
    static let belowAVX2: Set<String> = ["generic", "prescott", "katmai", "coppermine", "northwood", "banias", "core2", "penryn",
                                         "dunnington", "nehalem", "atom", "sandybridge", "opteron", "opteron_sse3", "barcelona", "bobcat",
                                         "bulldozer", "piledriver", "steamroller", "excavator", "athlon", "unknown", ""]

    /// What to do, from the CPU's features, the core OpenBLAS reports and the environment.
    public static func decide(features: CPUFeatures, reportedCore: String, environment: [String: String]) -> Decision {
        // The user's choice, or our own second run: never second-guessed.
        if let set = environment["OPENBLAS_CORETYPE"], !set.isEmpty { return .keep }
        let core = reportedCore.lowercased().trimmingCharacters(in: .whitespaces)
        let target: String
        if features.isSuperset(of: .avx512) {
            // Haswell kernels on an AVX-512 CPU are also below it (2.6–3.4 s against SkylakeX's 1.7–1.9 s).
            guard belowAVX2.contains(core) || core == "haswell" else { return .keep }
            target = "SkylakeX"
        } else if features.isSuperset(of: [.avx2, .fma]) {
            guard belowAVX2.contains(core) else { return .keep }
            target = "Haswell"
        } else {
            return .keep
        }
        return .rerun(coreType: target, reason: "OpenBLAS chose its '\(reportedCore)' kernels on a CPU with \(features)")
    }

    /// The core OpenBLAS runs, e.g. "Zen", "Haswell", "SkylakeX".
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }
    /// OpenBLAS's build line, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    public static var config: String { openblas_get_config().map { String(cString: $0) } ?? "unknown" }
    /// The instruction set of the C elementwise kernels' clone in use.
    public static var kernelISA: String { String(cString: fg_kernel_isa()) }

    public static var cpuName: String {
        var vendor = [CChar](repeating: 0, count: 13), brand = [CChar](repeating: 0, count: 49)
        var family: Int32 = 0, model: Int32 = 0
        fg_cpu_name(&vendor, &brand, &family, &model)
        let name = String(cString: brand).trimmingCharacters(in: .whitespaces)
        return "\(name.isEmpty ? String(cString: vendor) : name) (family \(family), model \(model))"
    }

    /// Lines for --version and --profile.
    public static var summary: String {
        "BLAS: \(config.trimmingCharacters(in: .whitespaces)), core \(coreName)\nC kernels: \(kernelISA)\nCPU: \(cpuName): \(CPUFeatures.current)"
    }

    /// Called first by each executable: when OpenBLAS fell below what this CPU runs and the user
    /// did not choose a core, runs the program again with OPENBLAS_CORETYPE set (and says so).
    /// If that fails, it goes on with the slow core.
    /// FILLGRAPH_ASSUME_BLAS_CORE=NAME makes the decision take NAME as OpenBLAS's choice: a way to
    /// see (and test) the re-run on a machine where OpenBLAS chooses well.
    public static func ensureFastCore(tool: String) {
        let environment = ProcessInfo.processInfo.environment
        let reported = environment["FILLGRAPH_ASSUME_BLAS_CORE"].flatMap { $0.isEmpty ? nil : $0 } ?? coreName
        guard case .rerun(let coreType, let reason) = decide(features: .current, reportedCore: reported, environment: environment) else { return }
        FileHandle.standardError.write(Data("\(tool): \(reason); running again with OPENBLAS_CORETYPE=\(coreType) (set OPENBLAS_CORETYPE yourself to choose another)\n".utf8))
        setenv("OPENBLAS_CORETYPE", coreType, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        FileHandle.standardError.write(Data("\(tool): could not run again (\(String(cString: strerror(errno)))); going on with '\(coreName)'\n".utf8))
    }
}
