import Foundation
import NumpyIO
import XCTest

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let graphs = root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Graphs")

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
    static func graph(_ name: String) -> String { graphs.appendingPathComponent(name).path }
    static func npy(_ relative: String) throws -> NpyArray { try Npy.read(path: path(relative)) }
}

/// Max, mean and 99.9th-percentile absolute difference, as the oracle README states its tolerances.
struct Difference: CustomStringConvertible {
    var max: Float
    var mean: Float
    var p999: Float

    init(_ a: [Float], _ b: [Float]) {
        precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
        let d = zip(a, b).map { abs($0 - $1) }
        max = d.max() ?? 0
        mean = d.reduce(0, +) / Float(Swift.max(d.count, 1))
        let sorted = d.sorted()
        p999 = sorted.isEmpty ? 0 : sorted[Swift.min(sorted.count - 1, Int((Double(sorted.count) * 0.999).rounded(.down)))]
    }

    var description: String { String(format: "max %.2e, mean %.2e, p99.9 %.2e", max, mean, p999) }
}
