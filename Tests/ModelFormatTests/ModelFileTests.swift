import Compiler
import GraphIR
import GraphYAML
import ModelFormat
import XCTest

/// model.bin round trips, and every kind of damage is a precise ModelFormatError, never a crash.
final class ModelFileTests: XCTestCase {
    static let graphText = """
        fillgraph: 1
        name: tiny
        symbols: {H: {multiple_of: 4}, W: {multiple_of: 4}}
        inputs: {image: [3, H, W], mask: [1, H, W]}
        nodes:
          - {name: x, op: concat, in: [image, mask]}
          - {name: c1, op: conv2d, in: x, out: 8, kernel: 3, stride: 2}
          - {name: g1, op: gate, in: c1}
          - {name: d1, op: sn_conv2d, in: g1, out: 3, kernel: 3}
          - {name: y, op: tanh, in: d1}
        outputs: {y: y}
        """

    static func tinyModel() throws -> Model {
        let graph = try GraphLoader.load(text: graphText, file: "tiny.yaml").graph
        let typed = try Verifier.verify(graph)
        var rng = SplitMix64(seed: 3)
        let tensors = typed.parameters.map { Tensor(name: $0.name, shape: $0.shape!, values: RandomInit.values(for: $0, rng: &rng)) }
        return Model(graph: graph, metadata: ModelMetadata(compiler: "test", graphName: "tiny", sources: [], weights: "random", parameterCount: typed.parameterCount),
                     tensors: tensors)
    }

    func testRoundTripIsExactAndDeterministic() throws {
        let model = try Self.tinyModel()
        let bytes = try ModelWriter.encode(model)
        XCTAssertEqual(bytes, try ModelWriter.encode(model))
        let file = try ModelReader.decode(bytes, path: "m.bin")
        XCTAssertEqual(file.model.graph, model.graph)
        XCTAssertEqual(file.model.metadata, model.metadata)
        XCTAssertEqual(file.model.tensors, model.tensors)
        XCTAssertEqual(file.fileLength, bytes.count)
        XCTAssertEqual(file.sections.map(\.kind), ["META", "GRPH", "TIDX", "TDAT"])
        for s in file.sections { XCTAssertEqual(s.offset % 64, 0) }
        for t in file.tensorInfo { XCTAssertEqual(t.offset % 64, 0, "\(t.name) must be 64-byte aligned for memory mapping") }
        XCTAssertEqual(Array(bytes[0..<8]), Array("FILLGRPH".utf8))
        XCTAssertEqual(Array(bytes[12..<16]), [0x0D, 0x0C, 0x0B, 0x0A])
    }

    func testEveryTruncationIsRefused() throws {
        let bytes = try ModelWriter.encode(try Self.tinyModel())
        for n in 0..<bytes.count {
            guard let e = decodeError(Array(bytes[0..<n])) else { return XCTFail("a \(n)-byte prefix was accepted") }
            if n >= 64 { XCTAssertTrue(e.description.contains("truncated: the header says the file is \(bytes.count) bytes, it has \(n)"), e.description) }
        }
        XCTAssertTrue(decodeError(bytes + [0])!.description.contains("(trailing bytes)"))
    }

    func testEveryBitFlipIsDetected() throws {
        let bytes = try ModelWriter.encode(try Self.tinyModel())
        for i in 0..<bytes.count {
            for bit in [0, 5] {
                var b = bytes
                b[i] ^= UInt8(1 << bit)
                XCTAssertNotNil(decodeError(b), "flipping bit \(bit) of byte \(i) went unnoticed")
            }
        }
        var b = bytes
        let (tdat, _) = sectionOffset(b, "TDAT")
        b[tdat + 5] ^= 1
        XCTAssertEqual(decodeError(b)?.description.hasPrefix("m.bin, section TDAT, byte offset \(tdat): checksum mismatch"), true)
    }

    func testForeignFilesAndVersions() throws {
        XCTAssertEqual(decodeError([])?.description, "m.bin, section header, byte offset 0: the file is 0 bytes, shorter than the 64-byte header\n  hint: the file is empty")
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 100)
        XCTAssertTrue(decodeError(png)!.description.contains("not a Fillgraph model: magic is 89 50 4e 47 0d 0a 1a 0a, expected 'FILLGRPH' (this is a PNG image)"))
        let yaml = Array(ModelFileTests.graphText.utf8)
        XCTAssertTrue(decodeError(yaml)!.description.contains("this looks like a YAML graph: compile it first with graphc compile"))
        var b = try ModelWriter.encode(try Self.tinyModel())
        b[8] = 3
        reseal(&b)
        XCTAssertEqual(decodeError(b)?.description,
                       "m.bin, section header, byte offset 8: format version 3.0 is not supported (this build reads 1.x and 2.x)\n  hint: recompile the model with this graphc")
        var swapped = try ModelWriter.encode(try Self.tinyModel())
        swapped.replaceSubrange(12..<16, with: [0x0A, 0x0B, 0x0C, 0x0D])
        XCTAssertTrue(decodeError(swapped)!.description.contains("the file was written big-endian"))
    }

    func testConsistentChecksumsButInvalidContent() throws {
        let good = try ModelWriter.encode(try Self.tinyModel())
        let (tidx, _) = sectionOffset(good, "TIDX")
        // First entry: u32 count, u16 name length, name "c1.weight", dtype, rank 4, 4 dims, offset, length, checksum.
        let entry = tidx + 4, name = 9, dims = entry + 2 + name + 2, offsetField = dims + 32
        var b = good
        let biasOffsetField = offsetField + 24 + 2 + 7 + 2 + 8  // c1.bias: name of 7 bytes, rank 1
        b.replaceSubrange(biasOffsetField..<biasOffsetField + 8, with: [UInt8](repeating: 0, count: 8))  // onto c1.weight
        reseal(&b)
        XCTAssertTrue(decodeError(b)!.description.contains("section TIDX, byte offset \(offsetField + 24): tensor 'c1.bias' overlaps tensor 'c1.weight'"),
                      decodeError(b)!.description)
        b = good
        b[offsetField + 5] = 0x10  // far past the section end
        reseal(&b)
        XCTAssertTrue(decodeError(b)!.description.contains("offset of c1.weight is 17592186044416, above the limit of"), decodeError(b)!.description)
        b = good
        b[dims] = 9  // out channels 9 instead of 8: shape and length disagree
        reseal(&b)
        XCTAssertTrue(decodeError(b)!.description.contains("tensor 'c1.weight' shape [9, 4, 3, 3] needs 1296 bytes as float32, the index says 1152"), decodeError(b)!.description)
        b = good
        b[entry + 2 + name] = 7  // unknown dtype code
        reseal(&b)
        XCTAssertTrue(decodeError(b)!.description.contains("unknown dtype code 7"))
        b = good
        let (graphAt, graphLength) = sectionOffset(b, "GRPH")
        let json = String(decoding: b[graphAt..<graphAt + graphLength], as: UTF8.self)
        let edited = Array(json.replacingOccurrences(of: "\"outChannels\":8", with: "\"outChannels\":6").utf8)
        XCTAssertEqual(edited.count, graphLength)
        b.replaceSubrange(graphAt..<graphAt + graphLength, with: edited)
        reseal(&b)
        let e = decodeError(b)!.description
        XCTAssertTrue(e.contains("section TIDX") && e.contains("mis-shaped  c1.weight: expected [6, 4, 3, 3], found [8, 4, 3, 3]"), e)
        b = good
        b.replaceSubrange(graphAt..<graphAt + 1, with: Array("[".utf8))
        reseal(&b)
        XCTAssertTrue(decodeError(b)!.description.contains("section GRPH, byte offset \(graphAt): invalid graph JSON"))
    }

    func testXXHash64KnownValues() {
        // Reference values from the xxhash Python package (xxh64, seed 0).
        XCTAssertEqual(XXHash64.hash([]), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXHash64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXHash64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(XXHash64.hash(Array("Fillgraph model.bin".utf8)), 0xF05E_4DAA_B24C_576E)
        XCTAssertEqual(XXHash64.hash(Array((0..<768).map { UInt8($0 % 256) })), 0x8E03_C838_C596_036F)
    }
}
