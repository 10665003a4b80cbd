import XCTest
import ImageIO
import TestSupport

final class BadInputTests: XCTestCase {
    /// A small valid PNG made by our encoder (one IDAT).
    func smallPNG() throws -> (bytes: [UInt8], image: Image) {
        let image = randomImage(width: 7, height: 3, channels: 3, bitDepth: 8, seed: 42)
        return (try PNG.encode(image), image)
    }

    // MARK: - not PNG

    func testEmptyFile() {
        let e = assertImageIOError(.notPNG) { try PNG.decode([], name: "empty.png") }
        XCTAssertEqual(e?.detail, "the file is empty (0 bytes)")
        XCTAssertTrue(e?.description.hasPrefix("empty.png: the file is empty") ?? false)
    }

    func testOtherFormatsAreNamed() {
        let cases: [(String, [UInt8], String)] = [
            ("photo.jpg", [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46], "FF D8 FF E0 00 10 4A 46 (this looks like a JPEG)"),
            ("anim.gif", Array("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8), "47 49 46 38 39 61 01 00 (this looks like a GIF)"),
            ("old.gif", Array("GIF87a".utf8), "47 49 46 38 37 61 (this looks like a GIF)"),
            ("pic.bmp", Array("BM6\u{0}\u{0}\u{0}\u{0}\u{0}".utf8), "(this looks like a BMP)"),
            ("pic.webp", Array("RIFF\u{10}\u{0}\u{0}\u{0}WEBPVP8 ".utf8), "(this looks like a WebP)"),
            ("scan.tif", [0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0], "(this looks like a TIFF)"),
            ("scan2.tif", [0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8], "(this looks like a TIFF)"),
            ("arr.npy", [0x93] + Array("NUMPY\u{1}\u{0}".utf8), "(this looks like a NumPy .npy array)"),
            ("page.png", Array("<!DOCTYPE html><html>".utf8), "(this looks like an HTML page (a failed download?))"),
            ("notes.png", Array("hello world\n".utf8), "(this looks like a text file)"),
        ]
        for (name, bytes, expected) in cases {
            let e = assertImageIOError(.notPNG, name) { try PNG.decode(bytes, name: name) }
            XCTAssertTrue(e?.detail.hasPrefix("PNG signature missing: first bytes are ") ?? false, e?.detail ?? "")
            XCTAssertTrue(e?.detail.hasSuffix(expected) ?? false, "\(e?.detail ?? "") should end with \(expected)")
            XCTAssertEqual(e?.path, name)
            XCTAssertTrue(e?.description.hasPrefix("\(name): PNG signature missing") ?? false)
        }
        let unknown = assertImageIOError(.notPNG) { try PNG.decode([0x00, 0x01, 0x02, 0xFE], name: "x") }
        XCTAssertEqual(unknown?.detail, "PNG signature missing: first bytes are 00 01 02 FE")
    }

    func testGitLFSPointer() {
        let text = "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n"
        let e = assertImageIOError(.notPNG) { try PNG.decode(Array(text.utf8), name: "lfs.png") }
        XCTAssertTrue(e?.detail.contains("Git LFS pointer") ?? false)
        XCTAssertTrue(e?.description.contains("git lfs pull") ?? false)
    }

    func testTextModeDamagedSignature() throws {
        let (bytes, _) = try smallPNG()
        // CRLF -> LF conversion: 0D 0A becomes 0A.
        let damaged = Array(bytes[0..<4]) + Array(bytes[5...])
        let e = assertImageIOError(.corrupt) { try PNG.decode(damaged, name: "ftp.png") }
        XCTAssertTrue(e?.detail.contains("PNG signature is damaged") ?? false, e?.detail ?? "")
        XCTAssertTrue(e?.detail.contains("text-mode") ?? false, e?.detail ?? "")
    }

    // MARK: - truncation

    func testEveryPrefixThrows() throws {
        let (small, _) = try smallPNG()
        for bytes in [small, try fixtureBytes("rgba8_interlaced.png"), try fixtureBytes("ga8_multi_idat.png")] {
            for length in 0..<bytes.count {
                let prefix = Array(bytes.prefix(length))
                let e = assertImageIOError(length == 0 ? .notPNG : .corrupt, "prefix \(length)") {
                    try PNG.decode(prefix, name: "cut.png")
                }
                if length > 0 {
                    XCTAssertTrue(e?.detail.hasPrefix("truncated") ?? false, "prefix \(length): \(e?.detail ?? "")")
                }
            }
            XCTAssertNoThrow(try PNG.decode(bytes, name: "whole.png"))
        }
    }

    func testTruncationMessagesNameTheChunk() throws {
        let (bytes, _) = try smallPNG()
        let idat = try XCTUnwrap(chunkLayout(bytes).first { $0.type == "IDAT" })
        var e = assertImageIOError(.corrupt) { try PNG.decode(Array(bytes.prefix(idat.offset + 8 + idat.length / 2)), name: "t.png") }
        XCTAssertTrue(e?.detail.hasPrefix("truncated: the file ends in IDAT chunk") ?? false, e?.detail ?? "")
        XCTAssertTrue(e?.description.contains("re-download") ?? false)
        // Everything but IEND.
        e = assertImageIOError(.corrupt) { try PNG.decode(Array(bytes.prefix(bytes.count - 12)), name: "t.png") }
        XCTAssertTrue(e?.detail.hasPrefix("truncated: the file ends after the IDAT chunk") ?? false, e?.detail ?? "")
        e = assertImageIOError(.corrupt) { try PNG.decode(Array(bytes.prefix(5)), name: "t.png") }
        XCTAssertEqual(e?.detail, "truncated: the file is only 5 bytes; the PNG signature alone is 8")
    }

    // MARK: - bit flips

    /// One flipped bit inside each chunk's data (or CRC, for empty chunks): always .corrupt,
    /// and for chunks whose data libpng does not interpret early, a CRC error naming the chunk.
    func testOneFlippedBitInEachChunkIsCorrupt() throws {
        for bytes in [try smallPNG().bytes, try fixtureBytes("ga8_multi_idat.png"), try fixtureBytes("palette4_trns.png")] {
            let chunks = chunkLayout(bytes)
            XCTAssertGreaterThanOrEqual(chunks.count, 3)
            for chunk in chunks {
                let target = chunk.length > 0 ? chunk.offset + 8 + chunk.length / 2 : chunk.offset + 8
                var damaged = bytes
                damaged[target] ^= 0x10
                let e = assertImageIOError(.corrupt, "flip in \(chunk.type)") { try PNG.decode(damaged, name: "flip.png") }
                if chunk.type != "IDAT" {
                    XCTAssertTrue(e?.detail.hasPrefix("CRC error in \(chunk.type) chunk") ?? false, e?.detail ?? "")
                }
                // A flip in the CRC itself is always reported as a CRC error.
                var badCRC = bytes
                badCRC[chunk.offset + 8 + chunk.length + 3] ^= 0x01
                let c = assertImageIOError(.corrupt, "CRC flip in \(chunk.type)") { try PNG.decode(badCRC, name: "crc.png") }
                XCTAssertTrue(c?.detail.hasPrefix("CRC error in \(chunk.type) chunk") ?? false, c?.detail ?? "")
            }
        }
    }

    /// Every bit of every byte, flipped one at a time: never crashes, never decodes.
    func testEveryBitFlipThrows() throws {
        for bytes in [try smallPNG().bytes, try fixtureBytes("palette1_interlaced.png")] {
            for offset in 0..<bytes.count {
                for bit in 0..<8 {
                    var damaged = bytes
                    damaged[offset] ^= UInt8(1 << bit)
                    // Bytes 1-3 ("PNG") changed: not a PNG any more; other signature bytes: damaged PNG.
                    let kind: ImageIOError.Kind = (1...3).contains(offset) ? .notPNG : .corrupt
                    assertImageIOError(kind, "offset \(offset) bit \(bit)") { try PNG.decode(damaged, name: "f.png") }
                }
            }
        }
    }

    // MARK: - header problems

    func testAbsurdDimensionsAreTooLarge() {
        let e = assertImageIOError(.tooLarge) { try PNG.decode(handBuiltPNG(width: 100_000, height: 100_000), name: "huge.png") }
        XCTAssertEqual(e?.detail, "image is 100000×100000 = 10 gigapixels; the limit is 268 megapixels")
        XCTAssertTrue(e?.description.hasPrefix("huge.png: image is 100000×100000") ?? false)
        XCTAssertTrue(e?.description.contains("maxPixels") ?? false)

        let e2 = assertImageIOError(.tooLarge) { try PNG.decode(handBuiltPNG(width: 40_000, height: 40_000), name: "h.png") }
        XCTAssertEqual(e2?.detail, "image is 40000×40000 = 1.6 gigapixels; the limit is 268 megapixels")

        // Few pixels, but one side over the per-side limit.
        let e3 = assertImageIOError(.tooLarge) { try PNG.decode(handBuiltPNG(width: 40_000, height: 1), name: "wide.png") }
        XCTAssertEqual(e3?.detail, "image is 40000×1; each side is limited to 32768 pixels")
    }

    func testCallerPixelLimit() throws {
        let image = randomImage(width: 33, height: 17, channels: 1, bitDepth: 8, seed: 3)
        let bytes = try PNG.encode(image)
        let e = assertImageIOError(.tooLarge) { try PNG.decode(bytes, name: "p.png", maxPixels: 500) }
        XCTAssertEqual(e?.detail, "image is 33×17 = 561 pixels; the limit is 500 pixels")
        XCTAssertEqual(try PNG.decode(bytes, name: "p.png", maxPixels: 561), image)
        assertImageIOError(.tooLarge) { try PNG.decode(bytes, name: "p.png", maxPixels: 0) }
        assertImageIOError(.tooLarge) { try PNG.read(path: pngFixture("gray1.png"), maxPixels: 90) }
    }

    func testInvalidHeaders() {
        var e = assertImageIOError(.corrupt) { try PNG.decode(handBuiltPNG(width: 0, height: 5), name: "z.png") }
        XCTAssertEqual(e?.detail, "IHDR declares a 0×5 image; width and height must be at least 1")
        e = assertImageIOError(.corrupt) { try PNG.decode(handBuiltPNG(width: 5, height: 0), name: "z.png") }
        XCTAssertTrue(e?.detail.contains("5×0") ?? false)
        e = assertImageIOError(.corrupt) { try PNG.decode(handBuiltPNG(width: 0x8000_0000, height: 1), name: "z.png") }
        XCTAssertTrue(e?.detail.contains("2147483648×1") ?? false, e?.detail ?? "")
        // bit depth 3 does not exist
        e = assertImageIOError(.corrupt) { try PNG.decode(handBuiltPNG(width: 4, height: 4, bitDepth: 3, colorType: 0), name: "d.png") }
        XCTAssertTrue(e?.detail.lowercased().contains("bit depth") ?? false, e?.detail ?? "")
        // color type 5 does not exist
        assertImageIOError(.corrupt) { try PNG.decode(handBuiltPNG(width: 4, height: 4, bitDepth: 8, colorType: 5), name: "c.png") }
        // palette without PLTE
        assertImageIOError(.corrupt) { try PNG.decode(handBuiltPNG(width: 4, height: 4, bitDepth: 8, colorType: 3), name: "p.png") }
        // IDAT too short for the declared image
        e = assertImageIOError(.corrupt) { try PNG.decode(handBuiltPNG(width: 4, height: 4), name: "s.png") }
        XCTAssertFalse(e?.detail.isEmpty ?? true)
    }

    func testFirstChunkMustBeIHDR() {
        let bytes = pngSignature + pngChunk("tEXt", Array("a\u{0}b".utf8)) + handBuiltPNG(width: 1, height: 1).dropFirst(8)
        let e = assertImageIOError(.corrupt) { try PNG.decode(bytes, name: "o.png") }
        XCTAssertEqual(e?.detail, "the first chunk is tEXt, but a PNG must start with IHDR")
    }

    /// A chunk whose length field claims ~2 GB: rejected without allocating it.
    func testHugeDeclaredChunkLength() throws {
        let valid = try fixtureBytes("gray1.png")
        for type in ["tEXt", "zTXt", "iCCP", "eXIf", "prVt", "IDAT"] {
            let bytes = Array(valid.prefix(33)) + bigEndian(0x7FFF_FFF0) + Array(type.utf8) + Array(repeating: 0x41, count: 40)
            assertImageIOError(.corrupt, type) { try PNG.decode(bytes, name: "len.png") }
        }
    }

    func testGarbageAfterSignature() {
        var rng = SeededRandom(seed: 7)
        for n in [1, 10, 30, 100, 1000] {
            let bytes = pngSignature + (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            assertImageIOError(.corrupt, "\(n) random bytes") { try PNG.decode(bytes, name: "g.png") }
        }
    }

    func testRandomMutationsNeverCrash() throws {
        var rng = SeededRandom(seed: 11)
        let sources = [try smallPNG().bytes, try fixtureBytes("rgba16_interlaced.png"), try fixtureBytes("gray4.png")]
        var decoded = 0
        for i in 0..<3000 {
            var bytes = sources[i % sources.count]
            var touched = Set<Int>()
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let offset = Int.random(in: 8..<bytes.count, using: &rng)
                guard touched.insert(offset).inserted else { continue }
                bytes[offset] ^= UInt8.random(in: 1...255, using: &rng)  // always changes the byte
            }
            if let image = try? PNG.decode(bytes, name: "m.png") {
                decoded += 1
                XCTAssertEqual(image.samples.count, image.width * image.height * image.channels)
            }
        }
        XCTAssertEqual(decoded, 0, "CRCs should catch every random mutation")
    }
}
