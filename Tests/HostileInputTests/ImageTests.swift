import Compiler
import Foundation
import ImageIO
import Inpainting
import Masks
import ModelFormat
import Runtime
import SafeIO
import TestSupport
import XCTest

/// Pictures that are bombs or not files at all.
final class ImageTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-hostile-img-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Text chunks, each under any per-chunk cap, that inflate to gigabytes together.
    func testCompressedTextChunksCannotAddUp() throws {
        let text = Array("Comment".utf8) + [0, 0] + Bytes.deflate([UInt8](repeating: 0x41, count: 60 << 20))
        let png = PNGBuilder.file(width: 8, height: 8, extra: [[UInt8]](repeating: PNGBuilder.chunk("zTXt", text), count: 20))
        XCTAssertLessThan(png.count, 2 << 20, "20 chunks of 60 MB each in under 2 MB")
        var image: Image?
        let peak = try PeakMemory.measure { image = try ImageFile.decode(png, name: "text.png") }
        XCTAssertEqual(image?.width, 8)
        XCTAssertLessThan(peak, 64 << 20, "peak \(peak)")
    }

    func testOnlyRegularFilesAreRead() throws {
        XCTAssertEqual(mkfifo(path("fifo"), 0o600), 0)
        for (p, kind) in [(path("fifo"), "is a FIFO (named pipe), not an image file"), ("/dev/zero", "is a character device, not an image file"),
                          (dir.path, "is a directory, not an image file")] {
            let start = Date()
            XCTAssertThrowsError(try ImageFile.read(path: p)) { XCTAssertTrue("\($0)".contains(kind), "\($0)") }
            XCTAssertLessThan(Date().timeIntervalSince(start), 1, p)
        }
        XCTAssertThrowsError(try SafeFile(path("fifo"), what: "a weight file")) { XCTAssertTrue("\($0)".contains("is a FIFO")) }
        XCTAssertThrowsError(try ModelReader.read(path: "/dev/zero")) { XCTAssertTrue("\($0)".contains("is a character device, not a model file")) }
    }

    /// A huge mask with a small photo is refused from the headers, before either is decoded;
    /// a huge photo from its header against the memory limit.
    func testHugePicturesAreRefusedFromTheirHeaders() throws {
        let huge = PNGBuilder.file(width: 8192, height: 8192)  // 64 MB of gray pixels in 64 KB
        try Data(huge).write(to: URL(fileURLWithPath: path("huge.png")))
        XCTAssertLessThan(huge.count, 1 << 20)
        try ImageFile.write(Image(width: 64, height: 64, channels: 3, bitDepth: 8), to: path("small.png"))
        let (m, _) = try Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"), weights: .random(seed: 1), planSizes: [])
        try ModelWriter.write(m, to: path("m.bin"))
        var message = ""
        var request = InpaintRequest(modelPath: path("m.bin"), photoPath: path("small.png"), holes: .maskFile(path("huge.png")), outputPath: path("o.png"))
        let peak = PeakMemory.measure { do { _ = try Inpainter.run(request) } catch { message = "\(error)" } }
        XCTAssertTrue(message.contains("huge.png is 8192x8192 but"), message)
        XCTAssertLessThan(peak, 100 << 20, "peak \(peak): the mask was decoded")
        request = InpaintRequest(modelPath: path("m.bin"), photoPath: path("huge.png"), holes: .maskFile(path("huge.png")), outputPath: path("o.png"))
        request.options.memoryLimit = 2 << 30
        let peak2 = PeakMemory.measure { do { _ = try Inpainter.run(request) } catch { message = "\(error)" } }
        XCTAssertTrue(message.contains("this run needs about") && message.contains("the limit is 2.0 GiB"), message)
        XCTAssertLessThan(peak2, 100 << 20, "peak \(peak2)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.png")))
    }
}
