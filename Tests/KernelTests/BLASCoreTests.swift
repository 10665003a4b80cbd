// The OpenBLAS core decision as a function of (CPU features, reported core, environment): the
// issue's server (AVX-512 and AMX, OpenBLAS fell back to a generic or Prescott core) gets
// SkylakeX; an AVX2 machine on a pre-AVX2 core gets Haswell; a right choice, a CPU without AVX2
// and the user's own OPENBLAS_CORETYPE are left alone. And what this machine reports.
import Kernels
import XCTest

final class BLASCoreTests: XCTestCase {
    let server: CPUFeatures = [.sse42, .avx, .avx2, .fma, .avx512f, .avx512dq, .avx512bw, .avx512vl, .amx]
    let zen3: CPUFeatures = [.sse42, .avx, .avx2, .fma]

    func testTheDecisionTable() {
        let cases: [(CPUFeatures, String, [String: String], BLASCore.Decision)] = [
            (server, "Prescott", [:], .rerun(coreType: "SkylakeX", reason: "OpenBLAS chose its 'Prescott' kernels on a CPU with SSE4.2 AVX AVX2 FMA AVX-512F DQ BW VL AMX")),
            (server, "generic", [:], .rerun(coreType: "SkylakeX", reason: "OpenBLAS chose its 'generic' kernels on a CPU with SSE4.2 AVX AVX2 FMA AVX-512F DQ BW VL AMX")),
            (server, "Haswell", [:], .rerun(coreType: "SkylakeX", reason: "OpenBLAS chose its 'Haswell' kernels on a CPU with SSE4.2 AVX AVX2 FMA AVX-512F DQ BW VL AMX")),
            (server, "SkylakeX", [:], .keep),
            (server, "CooperLake", [:], .keep),
            (server, "SapphireRapids", [:], .keep),
            (server, "Prescott", ["OPENBLAS_CORETYPE": "Haswell"], .keep),
            (server, "Prescott", ["OPENBLAS_CORETYPE": ""], .rerun(coreType: "SkylakeX", reason: "OpenBLAS chose its 'Prescott' kernels on a CPU with SSE4.2 AVX AVX2 FMA AVX-512F DQ BW VL AMX")),
            (zen3, "Zen", [:], .keep),
            (zen3, "Haswell", [:], .keep),
            (zen3, "Sandybridge", [:], .rerun(coreType: "Haswell", reason: "OpenBLAS chose its 'Sandybridge' kernels on a CPU with SSE4.2 AVX AVX2 FMA")),
            (zen3, "Prescott", ["PATH": "/usr/bin"], .rerun(coreType: "Haswell", reason: "OpenBLAS chose its 'Prescott' kernels on a CPU with SSE4.2 AVX AVX2 FMA")),
            ([.sse42, .avx], "Sandybridge", [:], .keep),
            ([.sse42], "Prescott", [:], .keep),
            // AVX-512F alone (Knights Landing has no BW/VL): SkylakeX kernels would not run, Haswell's do.
            ([.sse42, .avx, .avx2, .fma, .avx512f], "Prescott", [:], .rerun(coreType: "Haswell", reason: "OpenBLAS chose its 'Prescott' kernels on a CPU with SSE4.2 AVX AVX2 FMA AVX-512F")),
        ]
        for (features, core, environment, expected) in cases {
            XCTAssertEqual(BLASCore.decide(features: features, reportedCore: core, environment: environment), expected, "\(features) \(core) \(environment)")
        }
    }

    func testThisMachineIsReportedAndNeedsNoRerun() {
        // The development and CI machines: OpenBLAS picks a core fit for the CPU (Zen here).
        XCTAssertEqual(BLASCore.decide(features: .current, reportedCore: BLASCore.coreName, environment: ProcessInfo.processInfo.environment), .keep,
                       BLASCore.summary)
        XCTAssertTrue(BLASCore.summary.hasPrefix("BLAS: OpenBLAS "), BLASCore.summary)
        XCTAssertTrue(BLASCore.summary.contains("\nC kernels: "), BLASCore.summary)
        XCTAssertFalse(BLASCore.coreName.isEmpty)
        #if arch(x86_64)
        // x86-64 always has SSE2; every machine this project targets has SSE4.2.
        XCTAssertTrue(CPUFeatures.current.contains(.sse42), "\(CPUFeatures.current)")
        #endif
    }
}
