import XCTest
import ImageIO

/// Decodes the fixtures made by Tests/Fixtures/png/make_fixtures.py and
/// compares every sample with the formula that generated it.
final class FixtureTests: XCTestCase {
    /// Reads fixture `name`, checks its shape, and checks every pixel against `expected(x, y)`.
    func check(_ name: String, width: Int, height: Int, channels: Int, bitDepth: Int,
               file: StaticString = #filePath, line: UInt = #line,
               _ expected: (Int, Int) -> [Int]) throws {
        let image = try PNG.read(path: pngFixture(name))
        XCTAssertEqual(image.width, width, name, file: file, line: line)
        XCTAssertEqual(image.height, height, name, file: file, line: line)
        XCTAssertEqual(image.channels, channels, name, file: file, line: line)
        XCTAssertEqual(image.bitDepth, bitDepth, name, file: file, line: line)
        XCTAssertEqual(image.samples.count, width * height * channels, name, file: file, line: line)
        guard image.width == width, image.height == height, image.channels == channels else { return }
        var mismatches = 0
        for y in 0..<height {
            for x in 0..<width {
                let want = expected(x, y)
                let got = (0..<channels).map { Int(image[x, y, $0]) }
                if got != want {
                    mismatches += 1
                    if mismatches <= 5 {
                        XCTFail("\(name) pixel (\(x), \(y)): got \(got), expected \(want)", file: file, line: line)
                    }
                }
            }
        }
        XCTAssertEqual(mismatches, 0, "\(name): \(mismatches) pixels differ", file: file, line: line)
        // The same bytes decode identically from memory, and re-encode losslessly.
        let bytes = try fixtureBytes(name)
        XCTAssertEqual(try PNG.decode(bytes, name: name), image, file: file, line: line)
        XCTAssertEqual(try PNG.decode(PNG.encode(image), name: name), image, file: file, line: line)
    }

    func testLowBitGrayExpandsToEightBits() throws {
        try check("gray1.png", width: 13, height: 7, channels: 1, bitDepth: 8) { x, y in [((3 * x + y) % 2) * 255] }
        try check("gray2.png", width: 13, height: 7, channels: 1, bitDepth: 8) { x, y in [((x + 2 * y) % 4) * 85] }
        try check("gray4.png", width: 13, height: 7, channels: 1, bitDepth: 8) { x, y in [((x + 3 * y) % 16) * 17] }
    }

    func testPaletteExpandsToRGB() throws {
        try check("palette8.png", width: 9, height: 5, channels: 3, bitDepth: 8) { x, y in
            let i = (x + y) % 6
            return [i * 40, 255 - i * 30, i * 7 + 3]
        }
    }

    func testPaletteWithTRNSExpandsToRGBA() throws {
        let alphas = [0, 64, 128, 192]  // entries past the tRNS list are opaque
        try check("palette4_trns.png", width: 11, height: 6, channels: 4, bitDepth: 8) { x, y in
            let i = (2 * x + y) % 10
            return [i * 25, i * 11, 250 - i * 20, i < alphas.count ? alphas[i] : 255]
        }
    }

    func testInterlacedOneBitPalette() throws {
        try check("palette1_interlaced.png", width: 10, height: 10, channels: 3, bitDepth: 8) { x, y in
            (x / 2 + y) % 2 == 0 ? [255, 0, 0] : [0, 0, 255]
        }
    }

    func testGrayTRNSBecomesAlpha() throws {
        try check("gray8_trns.png", width: 8, height: 4, channels: 2, bitDepth: 8) { x, y in
            let v = (32 * x + 8 * y) % 256
            return [v, v == 64 ? 0 : 255]
        }
    }

    func testRGBTRNSBecomesAlpha() throws {
        try check("rgb8_trns.png", width: 6, height: 5, channels: 4, bitDepth: 8) { x, y in
            (x + y) % 3 == 0 ? [10, 20, 30, 0] : [x * 40, y * 50, 200, 255]
        }
    }

    func testSixteenBitGrayTRNSKeepsSixteenBits() throws {
        try check("gray16_trns.png", width: 5, height: 4, channels: 2, bitDepth: 16) { x, y in
            let v = (x * 13107 + y * 257) & 0xFFFF
            return [v, v == 13107 + 257 ? 0 : 65535]
        }
    }

    func testSixteenBitRGBHostOrder() throws {
        try check("rgb16.png", width: 7, height: 3, channels: 3, bitDepth: 16) { x, y in
            [(x * 9000 + 0x12) & 0xFFFF, (y * 20000 + 0x3400) & 0xFFFF, 0xFEDC - x * y * 100]
        }
        // Spot check one value whose bytes differ, in case the formula and decoder shared a mistake.
        let image = try PNG.read(path: pngFixture("rgb16.png"))
        XCTAssertEqual(image[0, 0, 0], 0x0012)
        XCTAssertEqual(image[0, 0, 2], 0xFEDC)
    }

    func testInterlacedImages() throws {
        try check("gray2_interlaced.png", width: 10, height: 10, channels: 1, bitDepth: 8) { x, y in [((x * y + x) % 4) * 85] }
        try check("rgba8_interlaced.png", width: 11, height: 9, channels: 4, bitDepth: 8) { x, y in
            [x * 23 % 256, y * 29 % 256, x * y * 7 % 256, 255 - x * y]
        }
        try check("rgba16_interlaced.png", width: 9, height: 9, channels: 4, bitDepth: 16) { x, y in
            [x * 7000, y * 7000, x * y * 997 & 0xFFFF, 65535 - x * y * 600]
        }
    }

    func testAncillaryChunksAndSplitIDAT() throws {
        try check("ga8_multi_idat.png", width: 10, height: 8, channels: 2, bitDepth: 8) { x, y in
            [(x * 25 + y) % 256, y * 36 % 256]
        }
    }

    func testTrailingBytesAfterIENDAreIgnored() throws {
        let bytes = try fixtureBytes("palette8.png")
        let image = try PNG.decode(bytes, name: "a.png")
        XCTAssertEqual(try PNG.decode(bytes + [1, 2, 3, 4, 5], name: "b.png"), image)
    }
}
