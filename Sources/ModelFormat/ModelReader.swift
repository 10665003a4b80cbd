// Reads model.bin defensively (after GGUF's and safetensors' hardening): every length and
// offset is checked before use, every section and tensor checksum is verified, and the graph is
// re-verified against the tensors, so a truncated, corrupted or foreign file is a precise error
// (section, byte offset, expected vs found) rather than a crash or a silently wrong run.
import Dispatch
import Foundation
import SafeIO
import GraphIR

public struct SectionInfo: Sendable {
    public var kind: String
    public var offset: Int
    public var length: Int
    public var checksum: UInt64
}

public struct TensorInfo: Sendable {
    public var name: String
    public var shape: [Int]
    public var storage: StorageType
    /// Absolute file offset of the data.
    public var offset: Int
    public var length: Int
    public var checksum: UInt64
}

/// A model as read from disk, with the layout facts `graphc inspect` prints.
public struct ModelFile: Sendable {
    public var path: String
    public var version: (major: UInt16, minor: UInt16)
    public var fileLength: Int
    public var sections: [SectionInfo]
    public var tensorInfo: [TensorInfo]
    public var model: Model
    /// The graph verified with symbolic sizes.
    public var typed: TypedGraph
}

public enum ModelReader {
    /// The largest model file read.
    public static let maxFileBytes = 1 << 34

    public static func read(path: String) throws -> ModelFile {
        let bytes: [UInt8]
        do { bytes = try SafeFile.read(path, limit: maxFileBytes, what: "a model file") } catch let e as FileAccessError {
            let missing = e.detail.hasSuffix("no such file")
            throw ModelFormatError(path: Printable.path(path), e.detail,
                                   hint: missing ? "compile one with: graphc compile Graphs/deepfill_v2.yaml --weights WEIGHTS -o \(Printable.path(path)) "
                                       + "(or --random-init for a pipeline test)" : e.hint)
        }
        return try decode(bytes, path: path)
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> ModelFile {
        try bytes.withUnsafeBytes { try decode($0, path: path) }
    }

    static func describeForeign(_ file: UnsafeRawBufferPointer) -> String {
        let head = Array(file.prefix(8))
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return " (this is a PNG image)" }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return " (this is a zip archive, e.g. .npz or .pth)" }
        if head.starts(with: [0x93, 0x4E, 0x55, 0x4D]) { return " (this is a .npy array)" }
        let text = String(decoding: file.prefix(64), as: UTF8.self)
        if text.contains("fillgraph:") || text.hasPrefix("#") { return " (this looks like a YAML graph: compile it first with graphc compile)" }
        return ""
    }

    public static func decode(_ file: UnsafeRawBufferPointer, path: String) throws -> ModelFile {
        func fail(_ section: String?, _ offset: Int?, _ detail: String, hint: String? = nil) -> ModelFormatError {
            ModelFormatError(path: path, section: section, offset: offset, detail, hint: hint)
        }
        guard file.count >= ModelLayout.headerSize else {
            throw fail("header", 0, "the file is \(file.count) bytes, shorter than the \(ModelLayout.headerSize)-byte header",
                       hint: file.isEmpty ? "the file is empty" : "truncated, or not a model.bin\(describeForeign(file))")
        }
        var h = ByteReader(bytes: UnsafeRawBufferPointer(rebasing: file[0..<ModelLayout.headerSize]), base: 0, section: "header", path: path)
        let magic = Array(try h.bytes(8, "magic"))
        guard magic == ModelLayout.magic else {
            let found = magic.map { String(format: "%02x", $0) }.joined(separator: " ")
            throw fail("header", 0, "not a Fillgraph model: magic is \(found), expected 'FILLGRPH'\(describeForeign(file))")
        }
        let major = try h.u16("major version"), minor = try h.u16("minor version")
        let bom = try h.u32("byte-order mark")
        guard bom == ModelLayout.byteOrderMark else {
            throw fail("header", 12, String(format: "byte-order mark is 0x%08x, expected 0x%08x", bom, ModelLayout.byteOrderMark),
                       hint: bom == ModelLayout.byteOrderMark.byteSwapped ? "the file was written big-endian" : "the header is corrupted")
        }
        guard (1...ModelLayout.majorVersion).contains(major) else {
            throw fail("header", 8, "format version \(major).\(minor) is not supported (this build reads 1.x and \(ModelLayout.majorVersion).x)",
                       hint: "recompile the model with this graphc")
        }
        let declared = try h.u64("file length")
        guard declared == UInt64(file.count) else {
            let d = declared > UInt64(Int.max) ? "\(declared)" : "\(declared)"
            throw fail("header", 16, declared > UInt64(file.count)
                ? "truncated: the header says the file is \(d) bytes, it has \(file.count)"
                : "the header says the file is \(d) bytes, it has \(file.count) (trailing bytes)",
                hint: "the copy or download is incomplete or damaged; recompile or copy the model again")
        }
        let count = Int(try h.u32("section count"))
        _ = try h.u32("flags")
        let tableOffset = try h.size("section table offset", limit: file.count)
        let headerChecksum = try h.u64("header checksum")
        guard (1...ModelLayout.maxSections).contains(count) else {
            throw fail("header", 24, "section count \(count) is outside 1...\(ModelLayout.maxSections)")
        }
        let tableEnd = tableOffset + count * ModelLayout.sectionEntrySize
        guard tableOffset == ModelLayout.headerSize, tableEnd <= file.count else {
            throw fail("header", 32, "section table at \(tableOffset) with \(count) entries does not fit the file")
        }
        if let nonzero = (48..<ModelLayout.headerSize).first(where: { file[$0] != 0 }) {
            throw fail("header", nonzero, "reserved header byte is \(file[nonzero]), expected 0", hint: "the header is corrupted")
        }
        let tableBytes = UnsafeRawBufferPointer(rebasing: file[tableOffset..<tableEnd])
        let computed = XXHash64.hash(Array(file[0..<40]) + Array(tableBytes))
        guard computed == headerChecksum else {
            throw fail("header", 40, "header checksum mismatch: stored \(XXHash64.hex(headerChecksum)), computed \(XXHash64.hex(computed))",
                       hint: "the header or section table is corrupted")
        }

        // Section table.
        var t = ByteReader(bytes: tableBytes, base: tableOffset, section: "section table", path: path)
        var sections: [SectionInfo] = []
        for i in 0..<count {
            let entryStart = tableOffset + i * ModelLayout.sectionEntrySize
            let kind = String(decoding: try t.bytes(4, "section kind"), as: UTF8.self)
            _ = try t.u32("section flags")
            let offset = try t.size("offset of section \(kind)", limit: file.count)
            let length = try t.size("length of section \(kind)", limit: file.count)
            let checksum = try t.u64("checksum of section \(kind)")
            _ = try t.bytes(16, "reserved")
            guard offset >= tableEnd, offset % ModelLayout.alignment == 0, length <= file.count - offset else {
                throw fail(kind, entryStart, "section \(kind) at offset \(offset) with \(length) bytes lies outside the file's "
                           + "\(file.count) bytes or is misaligned (sections start on 64-byte boundaries after the table)")
            }
            if let other = sections.first(where: { offset < $0.offset + $0.length && $0.offset < offset + length }) {
                throw fail(kind, offset, "section \(kind) overlaps section \(other.kind)")
            }
            if sections.contains(where: { $0.kind == kind }) { throw fail(kind, entryStart, "section \(kind) appears twice") }
            let found = XXHash64.hash(UnsafeRawBufferPointer(rebasing: file[offset..<offset + length]))
            guard found == checksum else {
                throw fail(kind, offset, "checksum mismatch over \(length) bytes: expected \(XXHash64.hex(checksum)), found \(XXHash64.hex(found))",
                           hint: "the file is corrupted; recompile it or copy it again")
            }
            sections.append(SectionInfo(kind: kind, offset: offset, length: length, checksum: checksum))
        }
        // Every byte is either checksummed or required to be zero, so no bit flip goes unnoticed.
        var covered = [(0, tableEnd)] + sections.map { ($0.offset, $0.offset + $0.length) }
        covered.sort { $0.0 < $1.0 }
        var cursor = 0
        for (start, end) in covered + [(file.count, file.count)] {
            if let nonzero = (cursor..<max(cursor, start)).first(where: { file[$0] != 0 }) {
                throw fail(nil, nonzero, "padding byte between sections is \(file[nonzero]), expected 0", hint: "the file is corrupted")
            }
            cursor = max(cursor, end)
        }
        func section(_ kind: SectionKind) throws -> (SectionInfo, UnsafeRawBufferPointer) {
            guard let s = sections.first(where: { $0.kind == kind.rawValue }) else {
                throw fail(kind.rawValue, nil, "required section \(kind.rawValue) is missing")
            }
            return (s, UnsafeRawBufferPointer(rebasing: file[s.offset..<s.offset + s.length]))
        }

        let (metaInfo, metaBytes) = try section(.metadata)
        let metadata: ModelMetadata
        do { metadata = try JSONDecoder().decode(ModelMetadata.self, from: Data(metaBytes)) } catch {
            throw fail("META", metaInfo.offset, "invalid metadata JSON: \(error)")
        }
        let (graphInfo, graphBytes) = try section(.graph)
        var graph: Graph
        do { graph = try JSONDecoder().decode(Graph.self, from: Data(graphBytes)) } catch {
            throw fail("GRPH", graphInfo.offset, "invalid graph JSON: \(error)")
        }
        let (tensorInfo, tensors) = try readTensors(try section(.tensorIndex), try section(.tensorData), path: path)
        if major < 2 {
            do {
                graph = try Migration.upgrade(graph, json: Data(graphBytes),
                                              shapes: Dictionary(tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a }))
            } catch {
                throw fail("GRPH", graphInfo.offset, "the graph of this format \(major).\(minor) file cannot be read: \(error)")
            }
        }
        let model = Model(graph: graph, metadata: metadata, tensors: tensors)

        let typed: TypedGraph
        do { typed = try Verifier.verify(graph) } catch let list as DiagnosticList {
            // The locations are the YAML the model was compiled from, which the reader may not
            // have: say the problem is in this file, and where its node came from.
            let lines = list.diagnostics.prefix(DiagnosticList.shown).map { d in
                "  " + d.message + (d.location.map { " (a node compiled from \($0))" } ?? "") + (d.hint.map { "; \($0)" } ?? "")
            }
            let more = list.diagnostics.count > DiagnosticList.shown ? ["  ... and \(list.diagnostics.count - DiagnosticList.shown) more"] : []
            throw fail("GRPH", graphInfo.offset, "the stored graph does not verify:\n" + (lines + more).joined(separator: "\n"),
                       hint: "the file was damaged or edited after graphc wrote it; compile it again")
        }
        let mismatch = typed.checkWeights(Dictionary(tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a }),
                                          source: "section TDAT")
        guard mismatch.isEmpty else { throw fail("TIDX", nil, mismatch.description) }
        return ModelFile(path: path, version: (major, minor), fileLength: file.count, sections: sections,
                         tensorInfo: tensorInfo, model: model, typed: typed)
    }

    static func readTensors(_ index: (SectionInfo, UnsafeRawBufferPointer), _ data: (SectionInfo, UnsafeRawBufferPointer),
                            path: String) throws -> ([TensorInfo], [Tensor]) {
        var r = ByteReader(bytes: index.1, base: index.0.offset, section: "TIDX", path: path)
        let count = Int(try r.u32("tensor count"))
        guard count <= ModelLayout.maxTensors else { throw r.fail("tensor count \(count) is above \(ModelLayout.maxTensors)", at: 0) }
        var infos: [TensorInfo] = []
        var tensors: [Tensor] = []
        var names = Set<String>()
        var spans: [(Int, Int, String)] = []
        for i in 0..<count {
            let entry = r.position
            let nameLength = Int(try r.u16("name length of tensor \(i)"))
            guard nameLength >= 1, nameLength <= ModelLayout.maxNameLength else { throw r.fail("tensor \(i) name length \(nameLength) is invalid", at: entry) }
            guard let name = String(validating: Array(try r.bytes(nameLength, "name of tensor \(i)")), as: UTF8.self) else {
                throw r.fail("tensor \(i) name is not valid UTF-8", at: entry)
            }
            guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
                throw r.fail("tensor \(i)'s name '\(Printable.text(name))' contains control characters", at: entry)
            }
            guard names.insert(name).inserted else { throw r.fail("tensor '\(name)' appears twice", at: entry) }
            let dtype = try r.u8("dtype of \(name)")
            guard let storage = StorageType(rawValue: dtype) else {
                throw r.fail("tensor '\(name)' has unknown dtype code \(dtype) (0 = float32, 1 = float16)", at: entry)
            }
            let rank = Int(try r.u8("rank of \(name)"))
            guard rank <= ModelLayout.maxRank else { throw r.fail("tensor '\(name)' has rank \(rank) > \(ModelLayout.maxRank)", at: entry) }
            var shape: [Int] = []
            var elements = 1
            for _ in 0..<rank {
                let d = try r.size("a dimension of \(name)", limit: data.0.length)
                let (p, o) = elements.multipliedReportingOverflow(by: d)
                guard !o, p <= data.0.length else { throw r.fail("tensor '\(name)' shape is larger than the data section", at: entry) }
                elements = p
                shape.append(d)
            }
            let offset = try r.size("offset of \(name)", limit: data.0.length)
            let length = try r.size("length of \(name)", limit: data.0.length)
            let checksum = try r.u64("checksum of \(name)")
            // elements ≤ the section length (checked above), so this product cannot overflow.
            guard length == elements * storage.byteWidth else {
                throw r.fail("tensor '\(name)' shape \(shape) needs \(elements * storage.byteWidth) bytes as \(storage.name), "
                             + "the index says \(length)", at: entry)
            }
            guard offset % ModelLayout.alignment == 0, length <= data.0.length - offset else {
                throw r.fail("tensor '\(name)' data at \(offset)+\(length) is misaligned or outside the \(data.0.length)-byte TDAT section", at: entry)
            }
            if let other = spans.first(where: { offset < $0.0 + $0.1 && $0.0 < offset + length }) {
                throw r.fail("tensor '\(name)' overlaps tensor '\(other.2)'", at: entry)
            }
            spans.append((offset, length, name))
            infos.append(TensorInfo(name: name, shape: shape, storage: storage, offset: data.0.offset + offset, length: length, checksum: checksum))
        }
        // Checksums, decoding and the finiteness check, one tensor per piece over all cores (each
        // tensor on its own, so the outcome is the same in any order; the first failing tensor in
        // index order is reported).
        let slots = UnsafeMutableBufferPointer<Result<[Float], ModelFormatError>?>.allocate(capacity: infos.count)
        slots.initialize(repeating: nil)
        defer { slots.deinitialize(); slots.deallocate() }
        let base = data.0.offset
        DispatchQueue.concurrentPerform(iterations: infos.count) { i in
            let info = infos[i], offset = info.offset - base
            let raw = UnsafeRawBufferPointer(rebasing: data.1[offset..<offset + info.length])
            let found = XXHash64.hash(raw)
            guard found == info.checksum else {
                slots[i] = .failure(ModelFormatError(path: path, section: "TDAT", offset: info.offset,
                                                     "tensor '\(info.name)': checksum mismatch: expected \(XXHash64.hex(info.checksum)), found \(XXHash64.hex(found))"))
                return
            }
            let values = decodeValues(raw, storage: info.storage, count: info.length / info.storage.byteWidth)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                slots[i] = .failure(ModelFormatError(path: path, section: "TDAT", offset: info.offset + info.storage.byteWidth * bad,
                                                     "tensor '\(info.name)' holds a non-finite value (\(values[bad])) at element \(bad)"))
                return
            }
            slots[i] = .success(values)
        }
        for (i, info) in infos.enumerated() {
            switch slots[i]! {
            case .failure(let e): throw e
            case .success(let values): tensors.append(Tensor(name: info.name, shape: info.shape, values: values, storage: info.storage))
            }
        }
        if r.position != index.1.count { throw r.fail("\(index.1.count - r.position) unexpected bytes after the last entry") }
        return (infos, tensors)
    }

    /// Little-endian stored values widened to float32.
    static func decodeValues(_ raw: UnsafeRawBufferPointer, storage: StorageType, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch storage {
            case .float32:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .float16:
                for i in 0..<count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            }
            initialized = count
        }
    }
}
