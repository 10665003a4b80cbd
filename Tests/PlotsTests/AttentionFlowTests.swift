// Attention-flow pictures: the Middlebury wheel's colours, the offset arithmetic from argmax
// indices, the hole mask, the official axis order, resizing and the legend.
import ImageIO
import Plots
import XCTest

final class AttentionFlowTests: XCTestCase {
    let cyan = RGB(0, 209, 255)  // wheel entry 27, half way round: 255 − floor(255·2/11) = 209

    func testWheel() {
        let wheel = AttentionFlow.colourWheel
        XCTAssertEqual(wheel.count, 55)
        XCTAssertEqual(wheel[0], RGB(255, 0, 0))
        XCTAssertEqual(wheel[1], RGB(255, 17, 0))          // floor(255/15)
        XCTAssertEqual(wheel[15], RGB(255, 255, 0))        // yellow starts the second segment
        XCTAssertEqual(wheel[21], RGB(0, 255, 0))          // green
        XCTAssertEqual(wheel[25], RGB(0, 255, 255))        // cyan
        XCTAssertEqual(wheel[27], cyan)
        XCTAssertEqual(wheel[36], RGB(0, 0, 255))          // blue
        XCTAssertEqual(wheel[49], RGB(255, 0, 255))        // magenta
        XCTAssertEqual(wheel[54], RGB(255, 0, 43))         // 255 − floor(255·5/6)

        XCTAssertEqual(AttentionFlow.colour(u: 0, v: 0), .white)
        XCTAssertEqual(AttentionFlow.colour(u: 1, v: 0), RGB(255, 0, 0))
        XCTAssertEqual(AttentionFlow.colour(u: 1, v: -0.0), RGB(255, 0, 0), "the sign of zero does not matter")
        XCTAssertEqual(AttentionFlow.colour(u: -1, v: 0), cyan)
        XCTAssertEqual(AttentionFlow.colour(u: 0.5, v: 0), RGB(255, 127, 127), "half length is half way to white")
        XCTAssertEqual(AttentionFlow.colour(u: 2, v: 0), RGB(191, 0, 0), "beyond 1 darkens to 75%")
        XCTAssertEqual(AttentionFlow.colour(u: .nan, v: 0), .black)
        // Down (+v) lies between entries 13 and 14: (255, (221 + 238) / 2, 0).
        XCTAssertEqual(AttentionFlow.colour(u: 0, v: 1), RGB(255, 229, 0))
    }

    func testSelfAttentionIsWhite() {
        let (h, w) = (5, 7)
        let image = AttentionFlow.image(argmax: (0..<Int32(h * w)).map { $0 }, height: h, width: w)
        XCTAssertEqual(image.width, w)
        XCTAssertEqual(image.height, h)
        XCTAssertEqual(image.channels, 3)
        XCTAssertTrue(image.samples.allSatisfy { $0 == 255 })
    }

    func testHorizontalFlows() {
        // 1×3 grid: position 0 copies from 2 (+2 in x), 1 from itself, 2 from 0 (−2 in x).
        let offsets = AttentionFlow.offsets(argmax: [2, 1, 0], height: 1, width: 3)
        XCTAssertEqual(offsets.map { $0!.dx }, [2, 0, -2])
        XCTAssertEqual(offsets.map { $0!.dy }, [0, 0, 0])
        let image = AttentionFlow.image(argmax: [2, 1, 0], height: 1, width: 3)
        XCTAssertEqual(image.rgb(x: 0, y: 0), RGB(255, 0, 0), "+x is the wheel's first colour")
        XCTAssertEqual(image.rgb(x: 1, y: 0), .white)
        XCTAssertEqual(image.rgb(x: 2, y: 0), cyan, "−x is cyan")

        // Rows: on a 3×2 grid, (0, 0) copying from (2, 1) is dy 2, dx 1.
        let o = AttentionFlow.offsets(argmax: [5, 1, 2, 3, 4, 5], height: 3, width: 2)[0]!
        XCTAssertEqual([o.dy, o.dx], [2, 1])
        // Shorter flows are paler: normalisation is by the longest.
        let mixed = AttentionFlow.image(argmax: [1, 1, 3, 3], height: 1, width: 4)  // dx 1, 0, 1, 0
        XCTAssertEqual(mixed.rgb(x: 0, y: 0), RGB(255, 0, 0))
        let paler = AttentionFlow.image(argmax: [1, 1, 0, 3], height: 1, width: 4)  // dx 1, 0, −2, 0
        XCTAssertEqual(paler.rgb(x: 0, y: 0), AttentionFlow.colour(u: 0.5, v: 0))
        XCTAssertEqual(paler.rgb(x: 2, y: 0), cyan)
    }

    func testHoleMaskWhitensTheRest() {
        // 2×3 grid; only (0, 0) and (1, 2) are in the hole. Everything outside points far away but
        // must stay white and must not set the normalisation.
        let argmax: [Int32] = [1, 5, 0, 0, 0, 5]  // (0,0) → (0,1): +x;  (1,2) → (1,2): none
        let hole = [true, false, false, false, false, true]
        let image = AttentionFlow.image(argmax: argmax, height: 2, width: 3, hole: hole)
        XCTAssertEqual(image.rgb(x: 0, y: 0), RGB(255, 0, 0), "normalised by the hole's longest flow (1)")
        XCTAssertEqual(image.rgb(x: 2, y: 1), .white)
        for (x, y) in [(1, 0), (2, 0), (0, 1), (1, 1)] { XCTAssertEqual(image.rgb(x: x, y: y), .white, "(\(x), \(y))") }
        // Without the mask the same argmax gets different colours outside.
        let unmasked = AttentionFlow.image(argmax: argmax, height: 2, width: 3)
        XCTAssertNotEqual(unmasked.rgb(x: 1, y: 0), .white)
    }

    func testInvalidIndicesDrawBlack() {
        let image = AttentionFlow.image(argmax: [-1, 1, 99, Int32.max], height: 2, width: 2)
        XCTAssertEqual(image.rgb(x: 0, y: 0), .black)
        XCTAssertEqual(image.rgb(x: 1, y: 0), .white)
        XCTAssertEqual(image.rgb(x: 0, y: 1), .black)
        XCTAssertEqual(image.rgb(x: 1, y: 1), .black)
        XCTAssertEqual(AttentionFlow.image(argmax: [], height: 0, width: 0).samples.count, 0)
    }

    func testOfficialAxisOrder() {
        // The official code feeds [dy, dx] as (u, v): a +x flow then looks like +v (orange-yellow).
        let official = AttentionFlow.image(argmax: [1, 1], height: 1, width: 2, axes: .deepfillOfficial)
        XCTAssertEqual(official.rgb(x: 0, y: 0), AttentionFlow.colour(u: 0, v: 1))
        XCTAssertEqual(official.rgb(x: 0, y: 0), RGB(255, 229, 0))
        // And a +y flow looks red.
        let down = AttentionFlow.image(argmax: [1, 1], height: 2, width: 1, axes: .deepfillOfficial)
        XCTAssertEqual(down.rgb(x: 0, y: 0), RGB(255, 0, 0))
    }

    func testResizing() {
        // 1×2 grid to 8×4: each cell becomes a 4×4 block.
        let image = AttentionFlow.image(argmax: [1, 1], height: 1, width: 2, size: (width: 8, height: 4))
        XCTAssertEqual(image.width, 8)
        XCTAssertEqual(image.height, 4)
        for y in 0..<4 {
            for x in 0..<8 { XCTAssertEqual(image.rgb(x: x, y: y), x < 4 ? RGB(255, 0, 0) : .white, "(\(x), \(y))") }
        }
        let odd = AttentionFlow.image(argmax: [1, 1], height: 1, width: 2, size: (width: 5, height: 3))
        XCTAssertEqual(odd.width, 5)
        XCTAssertEqual(odd.rgb(x: 0, y: 2), RGB(255, 0, 0))
        XCTAssertEqual(odd.rgb(x: 4, y: 0), .white)
    }

    func testLegend() {
        let legend = AttentionFlow.wheelLegend(size: 65)
        XCTAssertEqual(legend.width, 65)
        XCTAssertEqual(legend.rgb(x: 32, y: 32), .white, "zero flow in the centre")
        XCTAssertEqual(legend.rgb(x: 64, y: 32), RGB(255, 0, 0), "right edge: +x")
        XCTAssertEqual(legend.rgb(x: 0, y: 32), cyan, "left edge: −x")
        XCTAssertEqual(legend.rgb(x: 0, y: 0), .white, "outside the circle")
        XCTAssertEqual(legend.rgb(x: 32, y: 64), AttentionFlow.colour(u: 0, v: 1), "bottom: +y")
        let official = AttentionFlow.wheelLegend(size: 65, axes: .deepfillOfficial)
        XCTAssertEqual(official.rgb(x: 32, y: 64), RGB(255, 0, 0), "bottom: +y, red in the official order")
        XCTAssertEqual(AttentionFlow.wheelLegend(size: 0).width, 1)
    }
}
