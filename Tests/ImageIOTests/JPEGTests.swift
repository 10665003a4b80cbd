import ImageIO
import TestSupport
import XCTest

/// JPEG through libjpeg-turbo: round trips within JPEG's loss, orientation, the format chosen by
/// extension, and every kind of damage as an ImageIOError, never a crash or a grey half-photo.
final class JPEGTests: XCTestCase {
    /// A smooth picture (JPEG's loss is small on it) with some colour in every channel.
    func smooth(width: Int, height: Int, channels: Int) -> Image {
        var image = Image(width: width, height: height, channels: channels, bitDepth: 8)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels { image[x, y, c] = UInt16(x * 150 / max(1, width - 1) + y * (c + 1) * 30 / max(1, height - 1)) }
            }
        }
        return image
    }

    func maxDifference(_ a: Image, _ b: Image) -> Int {
        zip(a.samples, b.samples).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    func testRoundTripKeepsSizeAndIsCloseAtHighQuality() throws {
        for (w, h, channels) in [(64, 48, 3), (37, 21, 3), (1, 1, 3), (33, 17, 1)] {
            let original = smooth(width: w, height: h, channels: channels)
            let decoded = try ImageFile.decode(try JPEG.encode(original, quality: 95), name: "rt.jpg")
            XCTAssertEqual([decoded.width, decoded.height, decoded.channels, decoded.bitDepth], [w, h, channels, 8])
            XCTAssertLessThanOrEqual(maxDifference(original, decoded), 6, "\(w)x\(h)x\(channels)")
            // Lower quality loses more: the encoder really applies it.
            let rough = try ImageFile.decode(try JPEG.encode(original, quality: 10), name: "rough.jpg")
            if w > 8 { XCTAssertGreaterThan(maxDifference(original, rough), maxDifference(original, decoded)) }
        }
    }

    func testAlphaAndSixteenBitsAreDroppedAndRounded() throws {
        var rgba = Image(width: 16, height: 16, channels: 4, bitDepth: 16, fill: 0)
        for p in 0..<256 { rgba.samples[p * 4] = 65535; rgba.samples[p * 4 + 1] = 32896; rgba.samples[p * 4 + 3] = 1000 }
        let decoded = try JPEG.decode(try JPEG.encode(rgba), name: "a.jpg")
        XCTAssertEqual(decoded.channels, 3)
        XCTAssertEqual(Int(decoded[5, 5, 0]), 255, accuracy: 2)
        XCTAssertEqual(Int(decoded[5, 5, 1]), 128, accuracy: 2)  // 32896 / 257 = 128
        XCTAssertEqual(Int(decoded[5, 5, 2]), 0, accuracy: 2)
    }

    func testWriteChoosesTheFormatByExtension() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-jpeg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = smooth(width: 20, height: 10, channels: 3)
        for name in ["a.jpg", "b.JPEG", "c.png"] {
            try ImageFile.write(image, to: "\(dir)/\(name)")
            let bytes = [UInt8](FileManager.default.contents(atPath: "\(dir)/\(name)")!)
            XCTAssertEqual(Array(bytes.prefix(2)), name.hasSuffix("png") ? [0x89, 0x50] : [0xFF, 0xD8], name)
        }
        XCTAssertEqual(try ImageFile.read(path: "\(dir)/c.png"), image, "PNG stays lossless")
        let e = assertImageIOError(.writeFailed) { try ImageFile.write(image, to: "\(dir)/d.tiff") }
        XCTAssertEqual(e?.hint, "end it in .png (lossless) or .jpg")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/d.tiff"))
    }

    /// An APP1 Exif segment with one IFD0 entry: Orientation = value (big- or little-endian TIFF).
    func withOrientation(_ jpeg: [UInt8], _ value: UInt16, bigEndian: Bool) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 255)] : [UInt8(v & 255), UInt8(v >> 8)] }
        func u32(_ v: UInt32) -> [UInt8] { bigEndian ? [24, 16, 8, 0].map { UInt8((v >> $0) & 255) } : [0, 8, 16, 24].map { UInt8((v >> $0) & 255) } }
        var tiff: [UInt8] = bigEndian ? Array("MM".utf8) + [0, 42] : Array("II".utf8) + [42, 0]
        tiff += u32(8) + u16(1) + u16(0x0112) + u16(3) + u32(1) + u16(value) + [0, 0] + u32(0)
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let length = UInt16(payload.count + 2)
        return [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 255)] + payload + jpeg.dropFirst(2)
    }

    func testExifOrientationTurnsThePhotoUpright() throws {
        // A 4x2 picture with one distinct corner survives JPEG well enough at quality 100.
        var image = Image(width: 16, height: 8, channels: 1, bitDepth: 8, fill: 20)
        for y in 0..<4 { for x in 0..<4 { image[x, y, 0] = 230 } }  // bright top-left block
        let plain = try JPEG.encode(image, quality: 100)
        func brightCorner(_ i: Image) -> String {
            let corners = [("top-left", i[1, 1, 0]), ("top-right", i[i.width - 2, 1, 0]),
                           ("bottom-left", i[1, i.height - 2, 0]), ("bottom-right", i[i.width - 2, i.height - 2, 0])]
            return corners.max { $0.1 < $1.1 }!.0
        }
        let expected: [UInt16: (String, Int, Int)] = [1: ("top-left", 16, 8), 2: ("top-right", 16, 8), 3: ("bottom-right", 16, 8),
                                                      4: ("bottom-left", 16, 8), 5: ("top-left", 8, 16), 6: ("top-right", 8, 16),
                                                      7: ("bottom-right", 8, 16), 8: ("bottom-left", 8, 16)]
        for (value, (corner, w, h)) in expected {
            for big in [false, true] {
                let decoded = try JPEG.decode(withOrientation(plain, value, bigEndian: big), name: "o\(value).jpg")
                XCTAssertEqual([decoded.width, decoded.height], [w, h], "orientation \(value)")
                XCTAssertEqual(brightCorner(decoded), corner, "orientation \(value)")
            }
        }
        // A damaged Exif block (offsets past its end) is ignored, not trusted.
        var broken = withOrientation(plain, 6, bigEndian: false)
        broken[16] = 0xFF  // IFD0 offset far beyond the segment
        XCTAssertEqual(try JPEG.decode(broken, name: "b.jpg").width, 16)
    }

    func testDamagedFilesAreErrorsNotGreyPhotos() throws {
        let bytes = try JPEG.encode(smooth(width: 64, height: 64, channels: 3), quality: 90)
        // Truncated in the entropy-coded data: libjpeg would pad with grey; we refuse.
        let e = assertImageIOError(.corrupt) { try ImageFile.decode(Array(bytes.prefix(bytes.count * 2 / 3)), name: "t.jpg") }
        XCTAssertTrue(e?.detail.hasPrefix("truncated") ?? false, "\(String(describing: e))")
        assertImageIOError(.corrupt) { try ImageFile.decode(Array(bytes.prefix(40)), name: "h.jpg") }
        assertImageIOError(.corrupt) { try ImageFile.decode([0xFF, 0xD8, 0xFF], name: "soi.jpg") }
        // Every prefix and a sweep of byte flips: an error or a photo, never a crash.
        var rng = SeededRandom(seed: 17)
        for cut in stride(from: 0, to: bytes.count, by: 97) { _ = try? ImageFile.decode(Array(bytes.prefix(cut)), name: "p.jpg") }
        for _ in 0..<300 {
            var damaged = bytes
            for _ in 0..<3 { damaged[Int.random(in: 2..<damaged.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
            _ = try? ImageFile.decode(damaged, name: "d.jpg")
        }
    }

    func testHugeDeclaredSizeIsRefusedBeforeDecoding() throws {
        var bytes = try JPEG.encode(smooth(width: 8, height: 8, channels: 3), quality: 90)
        // SOF0's height and width fields follow FF C0, length (2) and precision (1).
        let sof = try XCTUnwrap((0..<bytes.count - 1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        bytes[sof + 5] = 0xFF; bytes[sof + 6] = 0xD0; bytes[sof + 7] = 0xFF; bytes[sof + 8] = 0xD0  // 65488 x 65488
        let e = assertImageIOError(.tooLarge) { try ImageFile.decode(bytes, name: "huge.jpg", maxPixels: 1 << 26) }
        XCTAssertTrue(e?.detail.contains("65488x65488") ?? false, "\(String(describing: e))")
    }

    func testUnknownFormatsNameWhatTheyAre() {
        let e = assertImageIOError(.notPNG) { try ImageFile.decode(Array("GIF89a....".utf8), name: "x.gif") }
        XCTAssertEqual(e?.description, "x.gif: not a PNG or JPEG: first bytes are 47 49 46 38 39 61 2E 2E (this looks like a GIF); convert the image to PNG or JPEG first")
    }
}
