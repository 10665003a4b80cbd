// The persistent arena: every parameter and state tensor of a model, in one allocation that
// outlives runs. Training updates it in place between steps (and writes spectral norm's u back);
// each tensor carries a version so weights prepared from it (Winograd transforms, σ-divided
// kernels) are recomputed exactly when it changed.
import GraphIR
import ModelFormat
import Synchronization

public final class ParameterStore: @unchecked Sendable {
    public struct Entry: Sendable {
        public var shape: [Int]
        public var role: ParameterRole
        public var count: Int
        let offset: Int
    }

    public let names: [String]
    public let entries: [String: Entry]
    let base: UnsafeMutableRawPointer
    public let bytes: Int
    private let versions: Mutex<[String: Int]>

    /// The graph's parameters with the model's values.
    init(graph: Graph, tensors: [Tensor]) {
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var entries: [String: Entry] = [:], offset = 0, names: [String] = []
        for p in graph.parameters {
            let shape = p.shape ?? byName[p.name]?.shape ?? []
            let count = shape.reduce(1, *)
            entries[p.name] = Entry(shape: shape, role: p.role, count: count, offset: offset)
            names.append(p.name)
            offset += (count * 4 + 63) / 64 * 64
        }
        self.names = names
        self.entries = entries
        bytes = offset
        base = UnsafeMutableRawPointer.allocate(byteCount: max(offset, 64), alignment: 64)
        for name in names {
            let e = entries[name]!, p = (base + e.offset).assumingMemoryBound(to: Float.self)
            if let t = byName[name], t.values.count == e.count {
                t.values.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: e.count) }
            } else {
                p.update(repeating: 0, count: e.count)
            }
        }
        versions = Mutex([:])
    }

    deinit { base.deallocate() }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    public func pointer(_ name: String) -> UnsafeMutablePointer<Float> {
        (base + entries[name]!.offset).assumingMemoryBound(to: Float.self)
    }

    public func values(_ name: String) -> [Float] { Array(UnsafeBufferPointer(start: pointer(name), count: entries[name]!.count)) }

    public func version(_ name: String) -> Int { versions.withLock { $0[name] ?? 0 } }

    /// Marks a tensor changed after an in-place update through `pointer`.
    public func touch(_ name: String) { versions.withLock { $0[name, default: 0] += 1 } }

    public func set(_ name: String, _ values: [Float]) {
        precondition(values.count == entries[name]!.count, "\(name): \(values.count) values for \(entries[name]!.count)")
        values.withUnsafeBufferPointer { pointer(name).update(from: $0.baseAddress!, count: values.count) }
        touch(name)
    }

    /// The store's tensors, for writing a model back.
    public var tensors: [Tensor] { names.map { Tensor(name: $0, shape: entries[$0]!.shape, values: values($0)) } }
}
