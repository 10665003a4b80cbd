// How a photo is filled (after IOPaint's HD strategies). `full` runs the network on the whole
// photo: exact, but contextual attention grows with the square of the area. `crop` runs it on
// each hole's bounding box plus a margin; `resize` runs it on a copy shrunk to a size limit and
// pastes the enlarged fill. Whatever the strategy, only hole pixels change: every other sample
// of the output is the input's own.
import Foundation
import GraphIR
import ImageIO
import Masks
import Runtime

public enum FillStrategy: Equatable, Sendable {
    case full
    /// Each group of holes on its own, in its bounding box grown by `margin` pixels a side.
    case crop(margin: Int)
    /// The whole photo, shrunk so its longer side is at most `limit` pixels (larger ones only).
    case resize(limit: Int)
}

public struct FillOutcome {
    public var image: Image
    /// The regions the network ran on, and the size of each run (equal to the region's for
    /// full and crop; the shrunk size for resize).
    public var runs: [(region: Box, width: Int, height: Int)] = []
    public var seconds = 0.0
    public var estimatedPeakBytes = 0
    public var nodeSeconds: [NodeTiming] = []
    /// Every graph output of a full run (for --save-raw), with its padded run size.
    public var rawOutputs: [String: HostTensor]?
    public var paddedSize = (height: 0, width: 0)
}

extension InpaintModel {
    /// More regions than this are one region: a mask of scattered specks would otherwise mean
    /// thousands of tiny runs.
    static let maxCropRegions = 64

    /// `holeAware` (full and crop): each run computes only what the hole pixels depend on, with
    /// the same result (WindowPlan.swift); off, every graph output is computed whole.
    public func fill(photo: Image, holes: Mask, strategy: FillStrategy, order: ChannelOrder,
                     options: RunOptions, holeAware: Bool = true) throws -> FillOutcome {
        precondition(photo.width == holes.width && photo.height == holes.height)
        var outcome = FillOutcome(image: photo)
        let whole = Box(x: 0, y: 0, width: photo.width, height: photo.height)
        switch strategy {
        case .full:
            let run = try self.run(photo: photo, holes: holes, order: order, options: options, holeAware: holeAware)
            record(run, region: whole, size: (photo.width, photo.height), into: &outcome)
            outcome.rawOutputs = holeAware ? nil : run.outputs
            outcome.paddedSize = run.padded
            paste(run, region: whole, holes: holes, order: order, into: &outcome.image)
        case .crop(let margin):
            for region in Self.cropRegions(holes, margin: margin) {
                let piece = crop(photo, region), pieceHoles = crop(holes, region)
                let run = try self.run(photo: piece, holes: pieceHoles, order: order, options: options, holeAware: holeAware)
                record(run, region: region, size: (region.width, region.height), into: &outcome)
                paste(run, region: region, holes: holes, order: order, into: &outcome.image)
            }
        case .resize(let limit):
            let longer = max(photo.width, photo.height)
            guard longer > limit else { return try fill(photo: photo, holes: holes, strategy: .full, order: order, options: options, holeAware: holeAware) }
            let scale = Double(limit) / Double(longer)
            let w = max(1, Int((Double(photo.width) * scale).rounded())), h = max(1, Int((Double(photo.height) * scale).rounded()))
            let small = Resample.area(photo, width: w, height: h), smallHoles = Resample.anyHole(holes, width: w, height: h)
            let run = try self.run(photo: small, holes: smallHoles, order: order, options: options)
            record(run, region: whole, size: (w, h), into: &outcome)
            guard let completed = run.outputs[pictureOutput]?.floats else { throw InpaintError("\(path): the run produced no '\(pictureOutput)' output") }
            let plane = run.padded.height * run.padded.width
            completed.withUnsafeBufferPointer { t in
                let base = t.baseAddress!
                func at(_ c: Int, _ x: Int, _ y: Int) -> Float {
                    Resample.bilinear(base + c * plane, width: w, height: h, stride: run.padded.width, x: x, y: y,
                                      toWidth: photo.width, toHeight: photo.height)
                }
                Conversion.composite(into: &outcome.image, holes: holes, region: whole) { x, y in
                    order == .rgb ? (at(0, x, y), at(1, x, y), at(2, x, y)) : (at(2, x, y), at(1, x, y), at(0, x, y))
                }
            }
        }
        return outcome
    }

    private func record(_ run: NetworkRun, region: Box, size: (Int, Int), into outcome: inout FillOutcome) {
        outcome.runs.append((region, size.0, size.1))
        outcome.seconds += run.seconds
        outcome.estimatedPeakBytes = max(outcome.estimatedPeakBytes, run.estimatedPeakBytes)
        outcome.nodeSeconds += run.nodeSeconds
    }

    /// The network's picture output (`completed` by default) into the hole pixels of `region`.
    private func paste(_ run: NetworkRun, region: Box, holes: Mask, order: ChannelOrder, into image: inout Image) {
        guard let completed = run.outputs[pictureOutput]?.floats else { return }
        let held = run.windows[pictureOutput] ?? .whole(run.padded.height, run.padded.width)
        let pw = held.width, plane = held.height * pw
        Conversion.composite(into: &image, holes: holes, region: region) { x, y in
            Conversion.colour(completed, x - region.x - held.x0, y - region.y - held.y0, paddedWidth: pw, plane: plane, order: order)
        }
    }

    /// Bounding boxes of the 8-connected groups of hole pixels, grown by `margin` and clipped to
    /// the photo; overlapping boxes are merged until none overlap.
    public static func cropRegions(_ holes: Mask, margin: Int) -> [Box] {
        let w = holes.width, h = holes.height
        var seen = [Bool](repeating: false, count: w * h)
        var boxes: [Box] = []
        var stack: [Int] = []
        for start in 0..<w * h where holes.pixels[start] != 0 && !seen[start] {
            var (x0, y0, x1, y1) = (start % w, start / w, start % w, start / w)
            seen[start] = true
            stack.append(start)
            while let p = stack.popLast() {
                let px = p % w, py = p / w
                x0 = min(x0, px); x1 = max(x1, px); y0 = min(y0, py); y1 = max(y1, py)
                for ny in max(0, py - 1)...min(h - 1, py + 1) {
                    for nx in max(0, px - 1)...min(w - 1, px + 1) {
                        let q = ny * w + nx
                        if holes.pixels[q] != 0 && !seen[q] { seen[q] = true; stack.append(q) }
                    }
                }
            }
            boxes.append(Box(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1).expanded(by: margin, within: w, h))
        }
        if boxes.count > maxCropRegions { return [boxes.dropFirst().reduce(boxes[0]) { $0.union($1) }] }
        var merged = true
        while merged {
            merged = false
            outer: for i in boxes.indices {
                for j in boxes.indices where j > i && boxes[i].intersects(boxes[j]) {
                    boxes[i] = boxes[i].union(boxes[j])
                    boxes.remove(at: j)
                    merged = true
                    break outer
                }
            }
        }
        return boxes.sorted { ($0.y, $0.x) < ($1.y, $1.x) }
    }

    func crop(_ image: Image, _ box: Box) -> Image {
        var out = Image(width: box.width, height: box.height, channels: image.channels, bitDepth: image.bitDepth)
        let cc = image.channels
        for y in 0..<box.height {
            let from = ((box.y + y) * image.width + box.x) * cc
            out.samples.replaceSubrange(y * box.width * cc..<(y + 1) * box.width * cc, with: image.samples[from..<from + box.width * cc])
        }
        return out
    }

    func crop(_ mask: Mask, _ box: Box) -> Mask {
        var out = Mask(width: box.width, height: box.height)
        for y in 0..<box.height {
            let from = (box.y + y) * mask.width + box.x
            out.pixels.replaceSubrange(y * box.width..<(y + 1) * box.width, with: mask.pixels[from..<from + box.width])
        }
        return out
    }
}
