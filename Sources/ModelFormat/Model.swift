// The in-memory model (graph + named tensors + metadata) and its writer. The writer is
// deterministic: the same graph and weights always give the same bytes.
import Foundation
import SafeIO
import GraphIR

/// How a tensor's values are stored in the file. Kernels always compute in float32: a float16
/// tensor is widened once when the model is read.
public enum StorageType: UInt8, Sendable, CaseIterable {
    case float32 = 0
    case float16 = 1

    public var name: String { self == .float32 ? "float32" : "float16" }
    public var byteWidth: Int { self == .float32 ? 4 : 2 }
    public init?(name: String) {
        guard let t = StorageType.allCases.first(where: { $0.name == name }) else { return nil }
        self = t
    }
}

public struct Tensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    /// The values as computed with: for a float16 tensor, exactly the widened stored values.
    public var values: [Float]
    public var storage: StorageType

    public init(name: String, shape: [Int], values: [Float], storage: StorageType = .float32) {
        self.name = name
        self.shape = shape
        self.values = values
        self.storage = storage
    }

    /// The stored bytes (little-endian). float16 rounds to nearest even; callers check the range
    /// first (`HalfPrecision.firstOutOfRange`).
    func encodedBytes() -> [UInt8] {
        switch storage {
        case .float32: return values.withUnsafeBytes { [UInt8]($0) }
        case .float16:
            var out = [UInt8](repeating: 0, count: values.count * 2)
            out.withUnsafeMutableBytes { raw in
                for (i, v) in values.enumerated() { raw.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
            }
            return out
        }
    }
}

/// float32 ↔ float16 for stored weights.
public enum HalfPrecision {
    /// The largest finite float16 (65504); anything beyond it would be stored as infinity.
    public static let largest = Float(Float16.greatestFiniteMagnitude)

    /// The index of the first value whose float16 rounding is not finite, if any.
    public static func firstOutOfRange(_ values: [Float]) -> Int? {
        values.firstIndex { !Float16($0).isFinite }
    }

    /// The values as float16 would store them, widened back (what a float16 model computes with).
    public static func rounded(_ values: [Float]) -> [Float] { values.map { Float(Float16($0)) } }

    /// Largest |rounded − v| / max|v| over a tensor: the storage error relative to its scale.
    public static func relativeError(_ values: [Float]) -> Float {
        let scale = values.reduce(Float(0)) { max($0, abs($1)) }
        guard scale > 0 else { return 0 }
        return values.reduce(Float(0)) { max($0, abs(Float(Float16($1)) - $1)) } / scale
    }
}

public struct SourceFileHash: Codable, Sendable, Equatable {
    public var path: String
    public var xxh64: String
    public init(path: String, xxh64: String) {
        self.path = path
        self.xxh64 = xxh64
    }
}

/// The buffer plan's numbers at one input size (graphc compile --report): the arena, its lower
/// bound (the most bytes live at one step; every kernel's scratch is in the arena). graphrun
/// plans again for the actual size; these are for reading and comparison.
public struct PlannedMemory: Codable, Sendable, Equatable {
    public var height: Int
    public var width: Int
    public var threads: Int
    public var arenaBytes: Int
    public var lowerBoundBytes: Int

    public init(height: Int, width: Int, threads: Int, arenaBytes: Int, lowerBoundBytes: Int) {
        self.height = height
        self.width = width
        self.threads = threads
        self.arenaBytes = arenaBytes
        self.lowerBoundBytes = lowerBoundBytes
    }
}

public struct ModelMetadata: Codable, Sendable, Equatable {
    public var compiler: String
    public var graphName: String
    public var sources: [SourceFileHash]
    /// Where the weights came from: an .npz path or "random-init seed N (...)".
    public var weights: String
    public var parameterCount: Int
    /// Buffer plans at reference sizes (absent in files from before planning).
    public var memoryPlans: [PlannedMemory]?
    /// Whose padding and resize rules the graph follows ("official", "pytorch_port"); the
    /// weights were trained under them. Absent in older files.
    public var conventions: String?
    /// The channel order of the image input and of the RGB outputs: always "rgb" from graphc,
    /// which converts BGR-trained weights at compile time. Absent in older files.
    public var colourOrder: String?

    public init(compiler: String, graphName: String, sources: [SourceFileHash], weights: String, parameterCount: Int) {
        self.compiler = compiler
        self.graphName = graphName
        self.sources = sources
        self.weights = weights
        self.parameterCount = parameterCount
    }
}

public struct Model: Sendable {
    public var graph: Graph
    public var metadata: ModelMetadata
    public var tensors: [Tensor]

    public init(graph: Graph, metadata: ModelMetadata, tensors: [Tensor]) {
        self.graph = graph
        self.metadata = metadata
        self.tensors = tensors
    }

    public func tensor(named name: String) -> Tensor? { tensors.first { $0.name == name } }
}

public enum ModelWriter {
    static func json<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [UInt8](try encoder.encode(value))
    }

    public static func encode(_ model: Model) throws -> [UInt8] {
        // Tensor data: each tensor 64-byte aligned within the section.
        var data = ByteWriter()
        var index = ByteWriter()
        index.u32(UInt32(model.tensors.count))
        for t in model.tensors {
            data.pad(to: ModelLayout.alignment)
            let offset = data.bytes.count
            let raw = t.encodedBytes()
            data.bytes += raw
            let name = Array(t.name.utf8)
            index.u16(UInt16(name.count))
            index.bytes += name
            index.u8(t.storage.rawValue)
            index.u8(UInt8(t.shape.count))
            for d in t.shape { index.u64(UInt64(d)) }
            index.u64(UInt64(offset))
            index.u64(UInt64(raw.count))
            index.u64(XXHash64.hash(raw))
        }
        let sections: [(SectionKind, [UInt8])] = [
            (.metadata, try json(model.metadata)),
            (.graph, try json(model.graph)),
            (.tensorIndex, index.bytes),
            (.tensorData, data.bytes),
        ]
        // Layout: header, section table, then each section at a 64-byte boundary.
        let tableEnd = ModelLayout.headerSize + sections.count * ModelLayout.sectionEntrySize
        var offsets: [Int] = []
        var cursor = tableEnd
        for (_, bytes) in sections {
            cursor = (cursor + ModelLayout.alignment - 1) / ModelLayout.alignment * ModelLayout.alignment
            offsets.append(cursor)
            cursor += bytes.count
        }
        let fileLength = cursor

        var table = ByteWriter()
        for ((kind, bytes), offset) in zip(sections, offsets) {
            table.bytes += Array(kind.rawValue.utf8)
            table.u32(0)
            table.u64(UInt64(offset))
            table.u64(UInt64(bytes.count))
            table.u64(XXHash64.hash(bytes))
            table.bytes += [UInt8](repeating: 0, count: 16)
        }
        var header = ByteWriter()
        header.bytes += ModelLayout.magic
        header.u16(ModelLayout.majorVersion)
        // 1.0 readers know only float32 tensors; a file with float16 ones says 1.1.
        header.u16(model.tensors.contains { $0.storage != .float32 } ? ModelLayout.minorVersion : 0)
        header.u32(ModelLayout.byteOrderMark)
        header.u64(UInt64(fileLength))
        header.u32(UInt32(sections.count))
        header.u32(0)
        header.u64(UInt64(ModelLayout.headerSize))
        header.u64(XXHash64.hash(header.bytes + table.bytes))
        header.pad(to: ModelLayout.headerSize)

        var out = header.bytes + table.bytes
        for ((_, bytes), offset) in zip(sections, offsets) {
            out += [UInt8](repeating: 0, count: offset - out.count)
            out += bytes
        }
        return out
    }

    /// Writes through a temporary file and a rename, so a failed write never leaves a
    /// half-written model behind.
    public static func write(_ model: Model, to path: String) throws {
        let bytes = try encode(model)
        do { try AtomicWrite.write(bytes, to: path) } catch let e as FileAccessError {
            throw ModelFormatError(path: path, e.detail, hint: e.hint)
        }
    }
}
