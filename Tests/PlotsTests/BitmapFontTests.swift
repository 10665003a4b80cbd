// The font's glyphs land on the pixels the table says, scale into blocks, measure consistently
// and never trap on characters or positions it cannot draw.
import ImageIO
import Plots
import XCTest

final class BitmapFontTests: XCTestCase {
    /// Which pixels of `image` are not white, as rows of "#" and ".".
    func inked(_ image: Image) -> [String] {
        (0..<image.height).map { y in String((0..<image.width).map { x in image.rgb(x: x, y: y) == .white ? "." : "#" }) }
    }

    func testDigitOneDrawsItsPattern() {
        var image = Image(width: 7, height: 9, channels: 3, bitDepth: 8, fill: 255)
        BitmapFont.draw("1", into: &image, x: 1, y: 1, colour: .black)
        // "1" is 04 0C 04 04 04 04 0E: a flag at the top left, a stem in column 2, a foot.
        XCTAssertEqual(inked(image), [
            ".......",
            "...#...",
            "..##...",
            "...#...",
            "...#...",
            "...#...",
            "...#...",
            "..###..",
            ".......",
        ])
        XCTAssertEqual(image.rgb(x: 3, y: 1), .black)
        XCTAssertEqual(image.rgb(x: 1, y: 1), .white)
    }

    func testZeroHasItsSlash() {
        var image = Image(width: 5, height: 7, channels: 3, bitDepth: 8, fill: 255)
        BitmapFont.draw("0", into: &image, x: 0, y: 0, colour: RGB(200, 0, 0))
        XCTAssertEqual(inked(image), [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."])
        XCTAssertEqual(image.rgb(x: 2, y: 3), RGB(200, 0, 0))
        XCTAssertEqual(image.rgb(x: 2, y: 2), .white, "only set pixels are painted")
    }

    func testScaleDrawsBlocks() {
        var image = Image(width: 12, height: 16, channels: 3, bitDepth: 8, fill: 255)
        BitmapFont.draw("1", into: &image, x: 0, y: 0, colour: .black, scale: 2)
        // Font pixel (2, 0) becomes the block x 4...5, y 0...1.
        for (x, y) in [(4, 0), (5, 0), (4, 1), (5, 1)] { XCTAssertEqual(image.rgb(x: x, y: y), .black, "(\(x), \(y))") }
        XCTAssertEqual(image.rgb(x: 3, y: 0), .white)
        XCTAssertEqual(image.rgb(x: 6, y: 0), .white)
        // The foot 0E covers font columns 1...3, so pixels 2...7 of rows 12...13.
        XCTAssertEqual((0..<12).filter { image.rgb(x: $0, y: 13) == .black }, Array(2...7))
    }

    func testWidthAndHeight() {
        XCTAssertEqual(BitmapFont.width(of: ""), 0)
        XCTAssertEqual(BitmapFont.width(of: "7"), 5)
        XCTAssertEqual(BitmapFont.width(of: "1e-3"), 4 * 6 - 1)
        XCTAssertEqual(BitmapFont.width(of: "12", scale: 3), 33)
        XCTAssertEqual(BitmapFont.height(), 7)
        XCTAssertEqual(BitmapFont.height(scale: 2), 14)
        // Drawn text covers exactly the measured width.
        var image = Image(width: 40, height: 7, channels: 3, bitDepth: 8, fill: 255)
        BitmapFont.draw("H1-H", into: &image, x: 0, y: 0, colour: .black)
        let columns = (0..<40).filter { x in (0..<7).contains { image.rgb(x: x, y: $0) != .white } }
        XCTAssertEqual(columns.first, 0)
        XCTAssertEqual(columns.last, BitmapFont.width(of: "H1-H") - 1, "H reaches its last column")
    }

    func testCharacterSetAndFallbacks() {
        for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.,-+:%/()=_ e" {
            XCTAssertTrue(BitmapFont.hasGlyph(c), "missing \(c)")
        }
        XCTAssertEqual(BitmapFont.glyph(for: "e"), BitmapFont.glyph(for: "E"), "lower case draws as upper case")
        XCTAssertEqual(BitmapFont.glyph(for: "z"), BitmapFont.glyph(for: "Z"))
        for c: Character in ["€", "ß", "😀", "\n", "\t", "~"] { XCTAssertFalse(BitmapFont.hasGlyph(c), "\(c)") }
        XCTAssertNotEqual(BitmapFont.glyph(for: "O"), BitmapFont.glyph(for: "€"), "the box differs from O and 0")
        XCTAssertNotEqual(BitmapFont.glyph(for: "0"), BitmapFont.glyph(for: "€"))

        var image = Image(width: 5, height: 7, channels: 3, bitDepth: 8, fill: 255)
        BitmapFont.draw("😀", into: &image, x: 0, y: 0, colour: .black)
        XCTAssertEqual(inked(image), [".....", "#####", "#...#", "#...#", "#...#", "#####", "....."])
    }

    func testOffImageAndOtherFormatsDoNotTrap() {
        var image = Image(width: 10, height: 10, channels: 3, bitDepth: 8, fill: 255)
        for (x, y) in [(-3, -3), (8, 8), (-1000, 0), (Int.max / 2, 0), (0, Int.min / 2)] {
            BitmapFont.draw("HELLO 123 ünïcode", into: &image, x: x, y: y, colour: .black, scale: 3)
        }
        BitmapFont.draw("X", into: &image, x: 0, y: 0, colour: .black, scale: 0)
        XCTAssertEqual(image.rgb(x: 0, y: 0), .black, "scale below 1 draws at 1")
        var empty = Image(width: 0, height: 0, channels: 3, bitDepth: 8)
        BitmapFont.draw("1", into: &empty, x: 0, y: 0, colour: .black)

        // A 16-bit gray+alpha image gets luma × 257 and opaque alpha.
        var gray = Image(width: 5, height: 7, channels: 2, bitDepth: 16, fill: 0)
        BitmapFont.draw("1", into: &gray, x: 0, y: 0, colour: .white)
        XCTAssertEqual(gray[2, 0, 0], 65535)
        XCTAssertEqual(gray[2, 0, 1], 65535)
        XCTAssertEqual(gray[0, 0, 0], 0)
        XCTAssertEqual(gray[0, 0, 1], 0, "unpainted pixels keep their alpha")
    }
}
