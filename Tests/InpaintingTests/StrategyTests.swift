import Compiler
import Foundation
import ImageIO
import Inpainting
import Masks
import ModelFormat
import Runtime
import TestSupport
import XCTest

/// The fill strategies on the oracle's DeepFill weights: crop and resize keep every known pixel,
/// equal the full run when their region is the whole photo, and run where they say they do.
final class StrategyTests: XCTestCase {
    static let model: InpaintModel = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-strategy-\(getpid()).bin").path
        let (m, _) = try! Compiler.compile(graphPath: Fixtures.graph("deepfill_v2.yaml"),
                                           weights: .file(path: Fixtures.fixture("oracle/generator.npz")),
                                           planSizes: [])
        try! ModelWriter.write(m, to: path)
        return try! InpaintModel(path: path, needsCompleted: true)
    }()

    static func photo(width: Int, height: Int, channels: Int = 3) -> Image {
        var image = Image(width: width, height: height, channels: channels, bitDepth: 8)
        for y in 0..<height { for x in 0..<width { for c in 0..<channels { image[x, y, c] = UInt16((x * 7 + y * 13 + c * 60 + (x * y) % 23) % 256) } } }
        return image
    }

    static func holes(width: Int, height: Int, boxes: [Box]) -> Mask {
        var m = Mask(width: width, height: height)
        for b in boxes { for y in b.y..<b.y + b.height { for x in b.x..<b.x + b.width { m.pixels[y * width + x] = 1 } } }
        return m
    }

    func fill(_ p: Image, _ h: Mask, _ s: FillStrategy) throws -> FillOutcome {
        try Self.model.fill(photo: p, holes: h, strategy: s, order: .rgb, options: RunOptions(threads: 2))
    }

    static func assertKnownPixelsKept(_ out: Image, _ input: Image, _ h: Mask, file: StaticString = #filePath, line: UInt = #line) {
        var changed = 0
        for p in 0..<h.pixels.count {
            for c in 0..<input.channels {
                let i = p * input.channels + c
                if h.pixels[p] == 0 { XCTAssertEqual(out.samples[i], input.samples[i], file: file, line: line) } else if out.samples[i] != input.samples[i] { changed += 1 }
            }
        }
        XCTAssertGreaterThan(changed, 0, "the hole was not filled", file: file, line: line)
    }

    func testCropAndResizeEqualFullWhenTheirRegionIsTheWholePhoto() throws {
        let p = Self.photo(width: 70, height: 45), h = Self.holes(width: 70, height: 45, boxes: [Box(x: 20, y: 10, width: 12, height: 9)])
        let full = try fill(p, h, .full)
        Self.assertKnownPixelsKept(full.image, p, h)
        XCTAssertEqual(try fill(p, h, .crop(margin: 100)).image, full.image)
        XCTAssertEqual(try fill(p, h, .resize(limit: 70)).image, full.image)
    }

    func testCropRunsOnEachHoleBoxPlusMarginAndKeepsKnownPixels() throws {
        let p = Self.photo(width: 120, height: 80)
        let h = Self.holes(width: 120, height: 80, boxes: [Box(x: 5, y: 6, width: 4, height: 3), Box(x: 100, y: 60, width: 6, height: 5)])
        let out = try fill(p, h, .crop(margin: 8))
        XCTAssertEqual(out.runs.map(\.region), [Box(x: 0, y: 0, width: 17, height: 17), Box(x: 92, y: 52, width: 22, height: 21)])
        Self.assertKnownPixelsKept(out.image, p, h)
        // A larger margin makes the boxes overlap: one merged run.
        XCTAssertEqual(try fill(p, h, .crop(margin: 50)).runs.map(\.region), [Box(x: 0, y: 0, width: 120, height: 80)])
    }

    func testResizeRunsSmallAndPastesAnEnlargedFill() throws {
        let p = Self.photo(width: 96, height: 64, channels: 4), h = Self.holes(width: 96, height: 64, boxes: [Box(x: 40, y: 20, width: 16, height: 16)])
        let out = try fill(p, h, .resize(limit: 48))
        XCTAssertEqual(out.runs.map { [$0.width, $0.height] }, [[48, 32]])
        Self.assertKnownPixelsKept(out.image, p, h)
        // Filled pixels are opaque; known ones keep their alpha.
        for y in 20..<36 { for x in 40..<56 { XCTAssertEqual(out.image[x, y, 3], 255) } }
        // The small run sees the photo at half size: its fill is near the full run's, not equal.
        let full = try fill(p, h, .full)
        XCTAssertNotEqual(out.image, full.image)
    }

    func testCropRegionsOfComponents() {
        let w = 50, h = 40
        // An L-shaped group (8-connected through a diagonal) and a lone pixel.
        var m = Mask(width: w, height: h)
        for p in [(10, 10), (11, 11), (12, 11), (12, 12), (40, 30)] { m.pixels[p.1 * w + p.0] = 1 }
        XCTAssertEqual(InpaintModel.cropRegions(m, margin: 0), [Box(x: 10, y: 10, width: 3, height: 3), Box(x: 40, y: 30, width: 1, height: 1)])
        XCTAssertEqual(InpaintModel.cropRegions(m, margin: 2), [Box(x: 8, y: 8, width: 7, height: 7), Box(x: 38, y: 28, width: 5, height: 5)])
        XCTAssertEqual(InpaintModel.cropRegions(m, margin: 20), [Box(x: 0, y: 0, width: 50, height: 40)])
        // Scattered specks: one region, not hundreds of runs.
        var specks = Mask(width: 200, height: 200)
        for i in 0..<100 { specks.pixels[(i * 2) * 200 + (i * 37) % 200] = 1 }
        XCTAssertEqual(InpaintModel.cropRegions(specks, margin: 0).count, 1)
    }

    func testAreaShrinkAndAnyHole() {
        let image = Image(width: 4, height: 2, channels: 1, bitDepth: 8, samples: [0, 10, 20, 30, 40, 50, 60, 71])
        XCTAssertEqual(Resample.area(image, width: 2, height: 1).samples, [25, 45])  // (0+10+40+50)/4, (20+30+60+71)/4 = 45.25
        // 3 -> 2: each target pixel covers 1.5 source pixels.
        let row = Image(width: 3, height: 1, channels: 1, bitDepth: 8, samples: [0, 100, 200])
        XCTAssertEqual(Resample.area(row, width: 2, height: 1).samples, [33, 167])  // (0 + 0.5·100)/1.5, (0.5·100 + 200)/1.5
        var m = Mask(width: 6, height: 2)
        m.pixels[5] = 1
        XCTAssertEqual(Resample.anyHole(m, width: 3, height: 1).pixels, [0, 0, 1])
    }
}
