import Foundation
import ImageIO
import Inpainting
import Masks
import Runtime
import XCTest

/// Hole-aware runs (Runtime/WindowPlan.swift) on the oracle's DeepFill weights: the same
/// picture as computing every pixel, up to float rounding, for far less work when the hole is
/// small; holes at the photo's edges and several holes included.
final class HoleAwareTests: XCTestCase {
    func compare(width: Int, height: Int, boxes: [Box], maxWorkShare: Double, file: StaticString = #filePath, line: UInt = #line) throws {
        let p = StrategyTests.photo(width: width, height: height), h = StrategyTests.holes(width: width, height: height, boxes: boxes)
        let options = RunOptions(threads: 2)
        let all = try StrategyTests.model.fill(photo: p, holes: h, strategy: .full, order: .rgb, options: options, holeAware: false)
        let aware = try StrategyTests.model.fill(photo: p, holes: h, strategy: .full, order: .rgb, options: options, holeAware: true)
        StrategyTests.assertKnownPixelsKept(aware.image, p, h, file: file, line: line)
        // Hole samples: equal, or one level apart where float rounding crossed a step.
        var different = 0, holeSamples = 0
        for i in 0..<p.samples.count where h.pixels[i / 3] != 0 {
            holeSamples += 1
            let d = abs(Int(aware.image.samples[i]) - Int(all.image.samples[i]))
            XCTAssertLessThanOrEqual(d, 1, "sample \(i)", file: file, line: line)
            if d != 0 { different += 1 }
        }
        XCTAssertLessThanOrEqual(Double(different), 0.01 * Double(holeSamples), file: file, line: line)
        let work = { (o: FillOutcome) in o.nodeSeconds.reduce(0.0) { $0 + Double($1.macs) } }
        XCTAssertLessThan(work(aware), maxWorkShare * work(all), "multiply-adds, hole-aware vs whole", file: file, line: line)
        XCTAssertNil(aware.rawOutputs)
        XCTAssertNotNil(all.rawOutputs)
    }

    func testASmallHoleInALargerPhotoNeedsAFractionOfTheWork() throws {
        try compare(width: 456, height: 304, boxes: [Box(x: 300, y: 40, width: 20, height: 14)], maxWorkShare: 0.6)
    }

    func testHolesAtTheEdgesAndSeveralHoles() throws {
        try compare(width: 200, height: 136, boxes: [Box(x: 0, y: 0, width: 9, height: 7), Box(x: 190, y: 128, width: 10, height: 8)],
                    maxWorkShare: 1.0001)
    }

    func testAnOddSizedPhotoIsPaddedAndCroppedBack() throws {
        try compare(width: 171, height: 99, boxes: [Box(x: 80, y: 45, width: 13, height: 11)], maxWorkShare: 1.0001)
    }
}
