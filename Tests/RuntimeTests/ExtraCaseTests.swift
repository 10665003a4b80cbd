import Compiler
import Foundation
import NumpyIO
import Runtime
import TestSupport
import XCTest

/// Opt-in: FILLGRAPH_EXTRA_CASES=DIR runs every case folder in DIR (made by
/// Tools/reference/make_case.py, same layout as the oracle) with the oracle README's tolerances
/// for its size. A folder's own generator.npz is used when present.
final class ExtraCaseTests: XCTestCase {
    func testExtraCases() throws {
        guard let dir = ProcessInfo.processInfo.environment["FILLGRAPH_EXTRA_CASES"] else {
            throw XCTSkip("FILLGRAPH_EXTRA_CASES is not set: set FILLGRAPH_EXTRA_CASES=DIR to run the case folders in DIR")
        }
        let folders = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            .filter { FileManager.default.fileExists(atPath: "\(dir)/\($0)/stage2.npy") }
        XCTAssertFalse(folders.isEmpty, "no case folders in \(dir)")
        var executors: [String: Executor] = [:]
        for folder in folders {
            let base = "\(dir)/\(folder)"
            let weights = FileManager.default.fileExists(atPath: "\(base)/generator.npz") ? "\(base)/generator.npz" : Fixtures.fixture("oracle/generator.npz")
            if executors[weights] == nil {
                executors[weights] = Executor(model: try Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"), weights: .npz(path: weights)).0)
            }
            let image = try Npy.read(path: "\(base)/image.npy"), mask = try Npy.read(path: "\(base)/mask.npy")
            let h = image.shape[1], w = image.shape[2]
            let tier = OracleTolerance.generator(height: h, width: w)
            let start = Date()
            let r = try executors[weights]!.run(["image": HostTensor(shape: [1, 3, h, w], floats: image.floats),
                                                 "mask": HostTensor(shape: [1, 1, h, w], floats: mask.floats)])
            let s1 = Difference(r.outputs["stage1"]!.floats!, try Npy.read(path: "\(base)/stage1.npy").floats)
            let s2 = Difference(r.outputs["stage2"]!.floats!, try Npy.read(path: "\(base)/stage2.npy").floats)
            let out = Difference(r.outputs["completed"]!.floats!, try Npy.read(path: "\(base)/output.npy").floats)
            let theirs = try Npy.read(path: "\(base)/attention_argmax.npy").ints!, ours = r.outputs["attention"]!.ints!
            let agree = zip(theirs, ours).filter { $0 == $1 }.count
            print("\(folder): \(String(format: "%.1f", Date().timeIntervalSince(start))) s; stage1 \(s1); stage2 \(s2); output \(out); argmax \(agree)/\(theirs.count)")
            XCTAssertLessThanOrEqual(s1.max, tier.stage1Max, "\(folder): stage1 \(s1)")
            XCTAssertLessThanOrEqual(s1.mean, tier.stage1Mean, "\(folder): stage1 \(s1)")
            for d in [s2, out] {
                XCTAssertLessThanOrEqual(d.max, tier.max, "\(folder): \(d)")
                XCTAssertLessThanOrEqual(d.p999, tier.p999, "\(folder): \(d)")
                XCTAssertLessThanOrEqual(d.mean, tier.mean, "\(folder): \(d)")
            }
            if !OracleTolerance.argmaxMustBeExact(height: h, width: w) {
                XCTAssertGreaterThanOrEqual(Double(agree), OracleTolerance.argmaxShareBeyond256Squared * Double(theirs.count), folder)
            } else {
                XCTAssertEqual(agree, theirs.count, "\(folder): attention argmax must match exactly")
            }
            let img = image.floats, m = mask.floats, o = r.outputs["completed"]!.floats!
            XCTAssertTrue((0..<3 * h * w).allSatisfy { m[$0 % (h * w)] != 0 || o[$0] == img[$0] }, "\(folder): known pixels changed")
        }
    }
}
