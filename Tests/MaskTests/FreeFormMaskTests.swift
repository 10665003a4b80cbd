import Masks
import Randomness
import XCTest

/// The official mask generator's coverage statistics (spec §6.2, 2,000 masks at 256²) and the
/// geometry of each part.
final class FreeFormMaskTests: XCTestCase {
    func coverages(_ kind: MaskKind, count: Int = 2000, size: Int = 256, seed: UInt64 = 11) -> [Double] {
        (0..<count).map { i in
            var rng = SplitMix64(seed, UInt64(i))
            return FreeFormMask.generate(kind, height: size, width: size, rng: &rng).coverage * 100
        }.sorted()
    }

    func percentile(_ sorted: [Double], _ p: Double) -> Double { sorted[Int((Double(sorted.count - 1) * p).rounded())] }
    func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }

    func testUnionMatchesTheSpecStatistics() {
        let c = coverages(.rectBrush)
        XCTAssertEqual(mean(c), 31.0, accuracy: 1.0)
        XCTAssertEqual(percentile(c, 0.5), 30.5, accuracy: 1.5)
        XCTAssertEqual(percentile(c, 0.05), 20.6, accuracy: 1.5)
        XCTAssertEqual(percentile(c, 0.95), 43.2, accuracy: 1.5)
    }

    func testPartsMatchTheSpecStatistics() {
        let brush = coverages(.brush), rect = coverages(.rect)
        XCTAssertEqual(mean(brush), 15.3, accuracy: 1.0)
        XCTAssertEqual(percentile(brush, 0.05), 3.5, accuracy: 1.0)
        XCTAssertEqual(percentile(brush, 0.95), 29.3, accuracy: 1.5)
        XCTAssertEqual(mean(rect), 19.1, accuracy: 0.3)
        XCTAssertEqual(percentile(rect, 0.05), 15.3, accuracy: 0.8)
        XCTAssertEqual(percentile(rect, 0.95), 23.4, accuracy: 0.8)
    }

    /// Every rectangle is one solid box of 96–128 pixels a side inside a 256² image.
    func testRectangleIsOneBoxOfTheOfficialSize() {
        for i in 0..<200 {
            var rng = SplitMix64(5, UInt64(i))
            let m = FreeFormMask.rectangle(height: 256, width: 256, rng: &rng)
            let rows = (0..<256).filter { y in (0..<256).contains { m.pixels[y * 256 + $0] == 1 } }
            let cols = (0..<256).filter { x in (0..<256).contains { m.pixels[$0 * 256 + x] == 1 } }
            XCTAssert((96...128).contains(rows.count) && (96...128).contains(cols.count), "box \(rows.count)x\(cols.count)")
            XCTAssertEqual(rows.last! - rows.first! + 1, rows.count)
            XCTAssertEqual(m.pixels.reduce(0) { $0 + Int($1) }, rows.count * cols.count, "not a solid box")
        }
    }

    func testSameSeedSameMaskAndNonSquareSizesStayInside() {
        var a = SplitMix64(3, 7), b = SplitMix64(3, 7), c = SplitMix64(3, 8)
        let ma = FreeFormMask.generate(.rectBrush, height: 256, width: 256, rng: &a)
        XCTAssertEqual(ma, FreeFormMask.generate(.rectBrush, height: 256, width: 256, rng: &b))
        XCTAssertNotEqual(ma, FreeFormMask.generate(.rectBrush, height: 256, width: 256, rng: &c))
        // The swapped-bounds quirk puts vertices outside a non-square image: no trap, still a mask.
        for i in 0..<100 {
            var rng = SplitMix64(9, UInt64(i))
            let m = FreeFormMask.generate(.rectBrush, height: 96, width: 400, rng: &rng)
            XCTAssertEqual(m.pixels.count, 96 * 400)
            XCTAssertGreaterThan(m.coverage, 0)
        }
    }

    /// A horizontal segment of width 10 covers exactly the rows within 5 of it, between its ends.
    func testSegmentRasterisation() {
        var m = Mask(width: 40, height: 20)
        FreeFormMask.drawSegment(&m, (5, 10), (30, 10), width: 10)
        for y in 0..<20 {
            for x in 0..<40 {
                XCTAssertEqual(m.pixels[y * 40 + x], (5...30).contains(x) && abs(y - 10) <= 5 ? 1 : 0, "(\(x), \(y))")
            }
        }
    }
}
