import Compiler
import Foundation
import GraphIR
import GraphYAML
import ModelFormat
import SafeIO
import TestSupport
import WeightImport
import XCTest

/// Hand-made graphs and models: absurd sizes, deep nesting, floods of mistakes and hostile names
/// end in bounded time with one clear error.
final class GraphAndModelTests: XCTestCase {
    static let tiny = """
        fillgraph: 1
        name: tiny
        symbols: {H: {multiple_of: 4}, W: {multiple_of: 4}}
        inputs: {image: [3, H, W], mask: [1, H, W]}
        nodes:
          - {name: x, op: concat, in: [image, mask]}
          - {name: c1, op: conv2d, in: x, out: 8, kernel: 3, stride: 2}
          - {name: up, op: resize_nearest, in: c1, scale: 2}
          - {name: y, op: tanh, in: up}
        outputs: {y: y}
        """

    /// A model.bin of the tiny graph whose GRPH JSON text is edited, every checksum redone.
    func model(editing edit: (String) -> String) throws -> [UInt8] {
        let graph = try GraphLoader.load(text: Self.tiny, file: "tiny.yaml").graph
        let typed = try Verifier.verify(graph)
        var rng = SplitMix64(seed: 1)
        let tensors = typed.parameters.map { Tensor(name: $0.name, shape: $0.shape!, values: RandomInit.values(for: $0, rng: &rng)) }
        let m = Model(graph: graph, metadata: ModelMetadata(compiler: "t", graphName: "tiny", sources: [], weights: "r", parameterCount: 0), tensors: tensors)
        var bytes = try ModelWriter.encode(m)
        let (offset, length) = sectionOffset(bytes, "GRPH")
        let text = edit(String(decoding: bytes[offset..<offset + length], as: UTF8.self))
        XCTAssertNotEqual(text, String(decoding: bytes[offset..<offset + length], as: UTF8.self), "the edit changed nothing")
        // Rebuild with the new section length: simplest through the writer's layout rules.
        return try relayout(bytes: &bytes, grph: Array(text.utf8))
    }

    func sectionOffset(_ b: [UInt8], _ kind: String) -> (Int, Int) {
        let count = Int(b[24])
        for i in 0..<count where String(decoding: b[64 + 48 * i..<68 + 48 * i], as: UTF8.self) == kind {
            let e = 64 + 48 * i
            func u64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }
            return (u64(e + 8), u64(e + 16))
        }
        fatalError("no section \(kind)")
    }

    /// Replaces the GRPH section (any length), keeping every rule of the format.
    func relayout(bytes: inout [UInt8], grph: [UInt8]) throws -> [UInt8] {
        let kinds = ["META", "GRPH", "TIDX", "TDAT"]
        var sections = kinds.map { k -> [UInt8] in let (o, l) = sectionOffset(bytes, k); return Array(bytes[o..<o + l]) }
        sections[1] = grph
        let tableEnd = 64 + 4 * 48
        var offsets: [Int] = [], cursor = tableEnd
        for s in sections { cursor = (cursor + 63) / 64 * 64; offsets.append(cursor); cursor += s.count }
        var table: [UInt8] = []
        for (i, s) in sections.enumerated() {
            table += Array(kinds[i].utf8) + [0, 0, 0, 0] + Bytes.le64(UInt64(offsets[i])) + Bytes.le64(UInt64(s.count))
            table += Bytes.le64(XXHash64.hash(s)) + [UInt8](repeating: 0, count: 16)
        }
        var header = Array(bytes[0..<64])
        header.replaceSubrange(16..<24, with: Bytes.le64(UInt64(cursor)))
        header.replaceSubrange(40..<48, with: Bytes.le64(XXHash64.hash(Array(header[0..<40]) + table)))
        var out = header + table
        for (i, s) in sections.enumerated() { out += [UInt8](repeating: 0, count: offsets[i] - out.count) + s }
        return out
    }

    func refusal(_ bytes: [UInt8]) -> String {
        do { _ = try ModelReader.decode(bytes, path: "m.bin"); return "accepted" } catch { return "\(error)" }
    }

    /// A format 1.0 file (weights inside the convolutions, no parameters) whose conv has a
    /// one-value dilation: the migration to 2.0 chose the conv's algorithm before anything was
    /// verified and indexed dilation[1], a trap (found by libFuzzer through FuzzModel). Now the
    /// conv is left for the verifier, which names it.
    func testALegacyModelWithAMalformedConvIsRefusedNotTrapped() throws {
        func legacy(dilation: String) throws -> [UInt8] {
            var b = try model { json in
                var j = json.replacingOccurrences(of: ",{\"node\":\"c1.weight\",\"output\":0},{\"node\":\"c1.bias\",\"output\":0}", with: "")
                    .replacingOccurrences(of: "\"dilation\":[1,1]", with: "\"dilation\":\(dilation)")
                let start = j.range(of: "\"parameters\":[")!, end = j.range(of: "],\"symbols\"")!
                j.replaceSubrange(start.upperBound..<end.lowerBound, with: "")
                return j
            }
            b.replaceSubrange(8..<12, with: [1, 0, 0, 0])  // format 1.0
            b.replaceSubrange(40..<48, with: Bytes.le64(XXHash64.hash(Array(b[0..<40]) + Array(b[64..<(64 + 4 * 48)]))))
            return b
        }
        XCTAssertEqual(refusal(try legacy(dilation: "[1,1]")), "accepted")  // the same file, well formed, migrates
        for dilation in ["[131]", "[]", "[2,2,2]"] {
            let m = refusal(try legacy(dilation: dilation))
            XCTAssertTrue(m.contains("the stored graph does not verify"), m)
            XCTAssertTrue(m.contains("dilation must be in 1...256, got \(dilation.replacingOccurrences(of: ",", with: ", "))"), m)
        }
    }

    func testAbsurdNumbersInAStoredGraphAreRefusedNotTrapped() throws {
        let cases: [(String, String, String)] = [
            ("{\"fixed\":{\"_0\":3}}", "{\"fixed\":{\"_0\":4611686018427387904}}", "fixed dimensions must be in 1...65536"),
            ("{\"symbol\":{\"_0\":\"H\"}}", "{\"fixed\":{\"_0\":-9223372036854775808}}", "fixed dimensions must be in 1...65536"),
            ("\"count\":2", "\"count\":4611686018427387904", "concat takes 1...65536 inputs, got 4611686018427387904"),
            ("\"scaleDen\":1", "\"scaleDen\":0", "scale must be in 1/64...64, got 2/0"),
            ("\"scaleNum\":2", "\"scaleNum\":-9223372036854775808", "scale must be in 1/64...64"),
            ("\"outChannels\":8", "\"outChannels\":4611686018427387904", "out must be in 1...65536"),
        ]
        for (from, to, expected) in cases {
            let m = refusal(try model { $0.replacingOccurrences(of: from, with: to, options: [], range: $0.range(of: from)) })
            XCTAssertTrue(m.contains(expected), "\(to): \(m)")
            XCTAssertTrue(m.contains("the stored graph does not verify") && m.contains("(a node compiled from tiny.yaml:") || !m.contains("tiny.yaml"), m)
        }
    }

    func testStoredGraphErrorsAreTheModelsNotAYAMLFile() throws {
        let m = refusal(try model { $0.replacingOccurrences(of: "\"node\":\"c1\"", with: "\"node\":\"c2\"") })
        XCTAssertTrue(m.contains("m.bin, section GRPH"), m)
        XCTAssertTrue(m.contains("unknown value 'c2'") && m.contains("(a node compiled from tiny.yaml:"), m)
        XCTAssertTrue(m.contains("hint: the file was damaged or edited after graphc wrote it; compile it again"), m)
        XCTAssertFalse(m.hasPrefix("tiny.yaml"), "blamed the YAML file: \(m)")
    }

    func testNamesWithTerminalEscapesAreRefused() throws {
        // From YAML: not a name, and the message shows the escape, not the raw byte.
        let text = Self.tiny.replacingOccurrences(of: "name: y,", with: "name: \"y\\e[2J\",")
        XCTAssertThrowsError(try GraphLoader.load(text: text, file: "t.yaml")) {
            XCTAssertTrue("\($0)".contains("found 'y\\u{1b}[2J'"), "\($0)")
            XCTAssertFalse("\($0)".contains("\u{1B}"))
        }
        // From a stored graph, which the YAML rules never saw: the verifier refuses it.
        var graph = try GraphLoader.load(text: Self.tiny, file: "t.yaml").graph
        graph.nodes[3].name = "y\u{1B}[2J"
        graph.outputs[0].value = ValueRef("y\u{1B}[2J")
        XCTAssertThrowsError(try Verifier.verify(graph)) {
            XCTAssertTrue("\($0)".contains("the name 'y?[2J' contains control characters (shown as ?)"), "\($0)")
            XCTAssertFalse("\($0)".contains("\u{1B}"))
        }
    }

    func testDeepYAMLNestingFailsFast() {
        let text = "fillgraph: 1\nname: x\nnodes: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        let start = Date()
        XCTAssertThrowsError(try GraphLoader.load(text: text, file: "deep.yaml")) {
            XCTAssertTrue("\($0)".contains("deep.yaml:3:72: error: YAML nested too deeply: more than 64 levels"), "\($0)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        // Quotes the scan could misread must not hide brackets from it: a '"' inside a plain
        // scalar, a lone '"' in a block scalar, a '#' inside a quoted string (found by the corpus).
        let open = String(repeating: "[", count: 200_000)
        for (name, body, expected) in [("plain", "params:\n  a: [x\", \(open)\n", "more than 64 levels"),
                                       ("block", "params:\n  a: |\n    \"\n  b: \(open)\n", "more than 256 unclosed [ and {"),
                                       ("comment", "params:\n  a: [\"x #\", \(open)\n", "more than 64 levels")] {
            let t0 = Date()
            XCTAssertThrowsError(try GraphLoader.load(text: "fillgraph: 1\nname: x\n" + body, file: "\(name).yaml")) {
                XCTAssertTrue("\($0)".contains("error: YAML nested too deeply: \(expected)"), "\(name): \($0)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(t0), 1, name)
        }
    }

    /// Thirty blocks each using the one below twice would be 2^30 nodes: one error at 100,000.
    func testBlockExpansionIsCapped() {
        var text = "fillgraph: 1\nname: e\nsymbols: {H: ~, W: ~}\ninputs: {x: [3, H, W]}\nblocks:\n"
        text += "  b0:\n    in: x\n    nodes:\n      - {name: r, op: relu, in: x}\n    out: r\n"
        for i in 1...30 {
            text += "  b\(i):\n    in: x\n    nodes:\n      - {name: l, use: b\(i - 1), in: x}\n      - {name: r, use: b\(i - 1), in: l}\n    out: r\n"
        }
        text += "nodes:\n  - {name: top, use: b30, in: x}\noutputs: {y: top}\n"
        XCTAssertThrowsError(try GraphLoader.load(text: text, file: "e.yaml")) {
            let m = "\($0)"
            XCTAssertTrue(m.contains("error: the graph expands to more than 100000 nodes"), m)
            XCTAssertEqual(m.components(separatedBy: "error:").count, 2, "one diagnostic: \(m.prefix(500))")
        }
    }

    /// A value concatenated with itself 64 times along a symbolic axis: refused at 2^52, where
    /// it used to overflow (found by the corpus).
    func testSymbolicSizesThatOverflowAreRefused() throws {
        var text = "fillgraph: 1\nname: g\nsymbols: {H: ~, W: ~}\ninputs: {x: [3, H, W]}\nnodes:\n"
        text += "  - {name: c0, op: concat, in: [x, x], axis: width}\n"
        for i in 1..<64 { text += "  - {name: c\(i), op: concat, in: [c\(i - 1), c\(i - 1)], axis: width}\n" }
        text += "outputs: {y: c63}\n"
        let graph = try GraphLoader.load(text: text, file: "g.yaml").graph
        XCTAssertThrowsError(try Verifier.verify(graph)) {
            XCTAssertTrue("\($0)".contains("g.yaml:57:5: error: node 'c51' (concat): a dimension grows beyond 2^52"), "\($0)")
        }
        // Sizes bound at run time: a value of more than 1 TiB is refused before anything multiplies.
        var small = "fillgraph: 1\nname: g\nsymbols: {H: ~, W: ~}\ninputs: {x: [3, H, W]}\nnodes:\n"
        small += "  - {name: u0, op: resize_nearest, in: x, scale: 64}\n  - {name: u1, op: resize_nearest, in: u0, scale: 64}\n"
        small += "  - {name: u2, op: resize_nearest, in: u1, scale: 64}\noutputs: {y: u2}\n"
        let g2 = try GraphLoader.load(text: small, file: "s.yaml").graph
        XCTAssertNoThrow(try Verifier.verify(g2))
        XCTAssertThrowsError(try Verifier.verify(g2, bindings: ["N": 1, "H": 64, "W": 64])) {
            XCTAssertTrue("\($0)".contains("node 'u2' (resize_nearest): its output float32[1, 3, 16777216, 16777216] would need 3377699720527872 bytes, more than the 1 TiB"), "\($0)")
        }
    }

    /// 5,000 references to nothing: a bounded report in bounded time (was 15 s and 400 KB).
    func testAFloodOfUnknownReferencesIsBounded() throws {
        var text = "fillgraph: 1\nname: flood\nsymbols: {H: {}, W: {}}\ninputs: {x: [3, H, W]}\nnodes:\n"
        for i in 0..<5000 { text += "  - {name: n\(i), op: relu, in: missing_value_number_\(i)}\n" }
        text += "outputs: {y: n0}\n"
        let start = Date()
        do { _ = try Verifier.verify(try GraphLoader.load(text: text, file: "flood.yaml").graph); XCTFail("accepted") } catch {
            let lines = "\(error)".split(separator: "\n")
            XCTAssertLessThanOrEqual(lines.count, 2 * DiagnosticList.shown + 1)
            XCTAssertTrue(lines.last!.hasPrefix("... and 4950 more problems"), String(lines.last!))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
    }

    // MARK: TensorFlow checkpoints

    func tfCheckpoint(_ entries: [(String, [UInt8])], dataSize: Int, in dir: URL) throws -> String {
        let prefix = dir.appendingPathComponent("ckpt").path
        try Data(TableBuilder.table([("", TableBuilder.header)] + entries)).write(to: URL(fileURLWithPath: prefix + ".index"))
        FileManager.default.createFile(atPath: prefix + ".data-00000-of-00001", contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: prefix + ".data-00000-of-00001"))
        try h.truncate(atOffset: UInt64(dataSize))  // sparse
        try h.close()
        return prefix
    }

    func testAbsurdTensorShapesDoNotReachArithmetic() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-tf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let huge = Int(Int32.max)
        let prefix = try tfCheckpoint([("inpaint_net/conv17/kernel", TableBuilder.entry(shape: [3, huge, huge, huge], offset: 0, size: 16))],
                                      dataSize: 16, in: dir)
        let graph = Fixtures.fixture("import/graphs/deepfill_v2_cnum8.yaml")
        do { _ = try Compiler.compile(graphPath: graph, weights: .file(path: prefix), planSizes: []); XCTFail("accepted") } catch {
            XCTAssertTrue("\(error)".contains("conv17.weight"), "\(error)")
        }
    }

    /// A FIFO where the data shard should be is refused, not waited on.
    func testAFIFOAsTheDataShardDoesNotBlock() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-tf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let prefix = try tfCheckpoint([("inpaint_net/conv1/bias", TableBuilder.entry(shape: [4], offset: 0, size: 16))], dataSize: 16, in: dir)
        try FileManager.default.removeItem(atPath: prefix + ".data-00000-of-00001")
        XCTAssertEqual(mkfifo(prefix + ".data-00000-of-00001", 0o600), 0)
        let start = Date()
        XCTAssertThrowsError(try WeightFile.open(prefix)) { XCTAssertTrue("\($0)".contains("is a FIFO (named pipe), not a checkpoint data file"), "\($0)") }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    /// An unused tensor in a huge sparse shard is CRC-checked a megabyte at a time.
    func testUnusedTensorsInHugeShardsAreStreamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-tf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = 512 << 20
        var entry = TableBuilder.entry(shape: [size / 4], offset: 0, size: size)
        entry += [0x35] + Bytes.le32(Int(TableBuilder.mask(TableBuilder.crc32c([]) ^ 1)))  // a wrong checksum: it must be read to tell
        let prefix = try tfCheckpoint([("unused/slot", entry)], dataSize: size, in: dir)
        var message = ""
        let peak = PeakMemory.measure {
            do { _ = try WeightFile.open(prefix) } catch { message = "\(error)" }
        }
        XCTAssertTrue(message.contains("unused/slot: CRC-32C mismatch"), message)
        XCTAssertLessThan(peak, 64 << 20, "peak \(peak)")
    }
}
