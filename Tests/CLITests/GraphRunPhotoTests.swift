import Foundation
import ImageIO
import XCTest

/// graphrun on real-use inputs: JPEG, holes in the alpha channel, folders, strategies, and the
/// evaluation commands, each with its bad-input cases (exit 2, nothing half-written).
final class GraphRunPhotoTests: CLIBase {
    static var model: String { GraphRunTests.model }

    func photo(_ name: String, width: Int = 48, height: Int = 40, channels: Int = 3, jpeg: Bool = false) throws -> String {
        var image = Image(width: width, height: height, channels: channels, bitDepth: 8)
        for y in 0..<height { for x in 0..<width { for c in 0..<channels { image[x, y, c] = UInt16((x * 5 + y * 3 + c * 70) % 256) } } }
        if channels == 4 { for y in 0..<height { for x in 0..<width { image[x, y, 3] = 255 } } }
        let p = path(name)
        try ImageFile.write(image, to: p)
        XCTAssertEqual(jpeg, ImageFile.format(ofPath: p) == .jpeg)
        return p
    }

    func squareMask(_ name: String, width: Int = 48, height: Int = 40, box: (Int, Int, Int, Int) = (10, 8, 12, 10)) throws -> String {
        try writePNG(name, width: width, height: height, channels: 1) { x, y, _ in
            x >= box.0 && x < box.0 + box.2 && y >= box.1 && y < box.1 + box.3 ? 255 : 0
        }
    }

    func testJPEGInAndOut() throws {
        let input = try photo("p.jpg", jpeg: true), mask = try squareMask("m.png")
        let r = try Tool.run("graphrun", [Self.model, "-i", input, "-m", mask, "-o", path("out.jpg")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("out.jpg"))))
        XCTAssertEqual(Array(bytes.prefix(2)), [0xFF, 0xD8], "a .jpg output is a JPEG")
        // A PNG output from a JPEG photo keeps the decoded known pixels exactly.
        XCTAssertEqual(try Tool.run("graphrun", [Self.model, "--image", input, "--mask", mask, "--output", path("out.png")]).status, 0)
        let decoded = try ImageFile.read(path: input), out = try ImageFile.read(path: path("out.png")), m = try ImageFile.read(path: mask)
        for p in 0..<48 * 40 where m.samples[p] == 0 { for c in 0..<3 { XCTAssertEqual(out.samples[p * 3 + c], decoded.samples[p * 3 + c]) } }
        // A damaged JPEG is exit 2 naming the damage; nothing is written.
        try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: path("cut.jpg")))
        try assertBadInput("graphrun", [Self.model, "-i", path("cut.jpg"), "-m", mask, "-o", path("cut_out.png")], [path("cut.jpg"), "truncated"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("cut_out.png")))
        try assertBadInput("graphrun", [Self.model, "-i", input, "-m", mask, "-o", path("out.tif")], ["--output \(path("out.tif")): end the name in .png (lossless) or .jpg"])
    }

    func testMaskFromAlphaFillsTheTransparentPixelsOpaquely() throws {
        var image = try ImageFile.read(path: try photo("rgba.png", channels: 4))
        for y in 20..<30 { for x in 5..<15 { image[x, y, 3] = 0 } }
        try ImageFile.write(image, to: path("erased.png"))
        let r = try Tool.run("graphrun", [Self.model, "-i", path("erased.png"), "--mask-from-alpha", "-o", path("filled.png")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("filled 100 hole pixels"), r.stdout)
        let out = try ImageFile.read(path: path("filled.png"))
        for y in 0..<40 {
            for x in 0..<48 {
                let hole = (20..<30).contains(y) && (5..<15).contains(x)
                XCTAssertEqual(out[x, y, 3], 255)
                if !hole { for c in 0..<3 { XCTAssertEqual(out[x, y, c], image[x, y, c]) } }
            }
        }
        try assertBadInput("graphrun", [Self.model, "-i", try photo("rgb.png"), "--mask-from-alpha", "-o", path("x.png")],
                           ["has no alpha channel, so --mask-from-alpha finds no hole"])
        try assertBadInput("graphrun", [Self.model, "-i", path("rgba.png"), "--mask-from-alpha", "-o", path("x.png")], ["is opaque everywhere"])
        try assertBadInput("graphrun", [Self.model, "-i", path("rgba.png"), "-o", path("x.png")],
                           ["give --mask MASK, or --mask-from-alpha to take the hole from the photo's transparency"])
        // A mask drawn only in its alpha channel: the message says where the hole went.
        let alphaMask = try writePNG("alpha_mask.png", width: 48, height: 40, channels: 2) { x, _, c in c == 1 && x < 6 ? 255 : 0 }
        try assertBadInput("graphrun", [Self.model, "-i", path("rgb.png"), "-m", alphaMask, "-o", path("x.png")],
                           ["marks no pixel as a hole", "its alpha channel is opaque on 240 pixels"])
    }

    func testLargeHolesWarnAboutInvertedMasks() throws {
        let mask = try squareMask("big.png", box: (0, 0, 48, 30))
        let r = try Tool.run("graphrun", [Self.model, "-i", try photo("p.png"), "-m", mask, "-o", path("o.png")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: the hole covers 75 % of the photo; if the mask is inverted (black = hole), invert it"), r.stderr)
        let small = try Tool.run("graphrun", [Self.model, "-i", path("p.png"), "-m", try squareMask("s.png"), "-o", path("o2.png")])
        XCTAssertFalse(small.stderr.contains("warning"), small.stderr)
    }

    func testFolderModeGoesOnPastABadPhotoAndExitsOne() throws {
        let photos = path("photos"), masks = path("masks"), out = path("out")
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: masks, withIntermediateDirectories: true)
        _ = try photo("photos/a.png")
        _ = try photo("photos/b.jpg", jpeg: true)
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: path("photos/c.png")))
        for name in ["a.png", "b_mask.png", "c.png"] { _ = try squareMask("masks/\(name)") }
        let r = try Tool.run("graphrun", [Self.model, "-i", photos, "-m", masks, "-o", out])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: c.png: \(path("photos/c.png")): not a PNG or JPEG"), r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("filled 2 of 3 photos into \(out) in "), r.stdout)
        XCTAssertTrue(r.stdout.contains("1 failed (listed above)"), r.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), ["a.png", "b.jpg"], "whole files only, no temporaries")
        // One mask for all photos and --format: every output a PNG.
        let one = try Tool.run("graphrun", [Self.model, "-i", photos, "-m", path("masks/a.png"), "-o", path("out2"), "--format", "png"])
        XCTAssertEqual(one.status, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("out2")).sorted(), ["a.png", "b.png"])
    }

    func testFolderModeRefusesBadRequestsBeforeWorking() throws {
        let photos = path("photos"), masks = path("masks")
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: masks, withIntermediateDirectories: true)
        try assertBadInput("graphrun", [Self.model, "-i", photos, "-m", masks, "-o", path("o1")], ["--input \(photos) holds no photos"])
        _ = try photo("photos/a.png")
        _ = try photo("photos/b.png")
        _ = try squareMask("masks/a.png")
        try assertBadInput("graphrun", [Self.model, "-i", photos, "-m", masks, "-o", path("o2")],
                           ["--mask \(masks) has no mask for 1 of 2 photos: b.png", "photo_mask.png"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o2/a.png")), "nothing is filled when a mask is missing")
        try assertBadInput("graphrun", [Self.model, "-i", photos, "-m", masks, "-o", photos], ["is an input directory"])
        try assertBadInput("graphrun", [Self.model, "-i", photos, "-m", masks, "-o", path("no/such/o3")], ["cannot create the directory"])
        try assertBadInput("graphrun", [Self.model, "-i", photos, "-m", masks, "-o", path("o4"), "--save-raw", path("r")],
                           ["--save-raw works on one photo, not a folder"])
    }

    func testStrategies() throws {
        let input = try photo("p.png", width: 96, height: 64), mask = try squareMask("m.png", width: 96, height: 64, box: (70, 40, 8, 6))
        let crop = try Tool.run("graphrun", [Self.model, "-i", input, "-m", mask, "-o", path("crop.png"), "--strategy", "crop", "--crop-margin", "16"])
        XCTAssertEqual(crop.status, 0, crop.stderr)
        XCTAssertTrue(crop.stderr.contains("note: crop strategy (margin 16): 1 run (40x38)"), crop.stderr)
        let resize = try Tool.run("graphrun", [Self.model, "-i", input, "-m", mask, "-o", path("resize.png"), "--strategy", "resize", "--resize-limit", "48"])
        XCTAssertEqual(resize.status, 0, resize.stderr)
        XCTAssertTrue(resize.stderr.contains("note: resize strategy (limit 48): 1 run (48x32)"), resize.stderr)
        try assertBadInput("graphrun", [Self.model, "-i", input, "-m", mask, "-o", path("z.png"), "--strategy", "zoom"], ["zoom"])
        try assertBadInput("graphrun", [Self.model, "-i", input, "-m", mask, "-o", path("z.png"), "--strategy", "crop", "--save-raw", path("raw")],
                           ["use it with --strategy full"])
    }

    func testOutputsNeverReplaceInputsThroughAliases() throws {
        let input = try photo("p.png"), mask = try squareMask("m.png")
        try FileManager.default.createSymbolicLink(atPath: path("alias"), withDestinationPath: dir.path)
        try assertBadInput("graphrun", [Self.model, "-i", input, "-m", mask, "-o", path("alias/p.png")], ["would overwrite an input file"])
        try FileManager.default.linkItem(atPath: mask, toPath: path("hard.png"))
        try assertBadInput("graphrun", [Self.model, "-i", input, "-m", mask, "-o", path("hard.png")], ["would overwrite an input file"])
        XCTAssertEqual(try ImageFile.read(path: input).width, 48)
    }

    func testEvalAndScoreAgree() throws {
        let photos = path("photos")
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        _ = try photo("photos/one.png", width: 80, height: 60)
        _ = try photo("photos/two.jpg", width: 50, height: 70, jpeg: true)
        let out = path("eval")
        let r = try Tool.run("graphrun", ["eval", Self.model, "--photos", photos, "--size", "64", "--count", "3", "--masks", "rect+brush", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("masks: rect+brush, seed 1, 3 cases, mask hash "), r.stderr)
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/results.json"))) as! [String: Any]
        let cases = results["cases"] as! [[String: Any]]
        XCTAssertEqual(cases.map { $0["id"] as! String }, ["000_one", "001_two", "002_one"])
        for dir in ["inputs", "masks", "fills"] { XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(out)/\(dir)").count, 3) }
        XCTAssertEqual(try ImageFile.read(path: out + "/grid.png").width, 3 * 64 + 4 * 4)
        // Scoring the same fills again gives the same numbers and the same mask hash.
        let s = try Tool.run("graphrun", ["score", "--truth", out + "/inputs", "--masks", out + "/masks", "--fills", out + "/fills", "--out", path("score")])
        XCTAssertEqual(s.status, 0, s.stderr)
        let scored = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("score/results.json")))) as! [String: Any]
        XCTAssertEqual(scored["maskHash"] as? String, results["maskHash"] as? String)
        let a = results["overall"] as! [String: Double], b = scored["overall"] as! [String: Double]
        for key in ["l1Percent", "l2Percent", "psnr", "psnrHole", "ssim", "ssimHole", "holePercent"] { XCTAssertEqual(a[key]!, b[key]!, accuracy: 1e-12, key) }
        // Same seed, same masks; another seed, other masks.
        let again = try Tool.run("graphrun", ["eval", Self.model, "--photos", photos, "--size", "64", "--count", "3", "--masks", "rect+brush", "--out", path("eval2"), "--seed", "2"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let other = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("eval2/results.json")))) as! [String: Any]
        XCTAssertNotEqual(other["maskHash"] as? String, results["maskHash"] as? String)
        // Bad requests.
        try assertBadInput("graphrun", ["eval", Self.model, "--photos", photos, "--masks", "blobs", "--out", path("e3")],
                           ["--masks must be brush, rect+brush, rect or a folder of masks, got 'blobs'"])
        try assertBadInput("graphrun", ["eval", Self.model, "--photos", path("nothere"), "--out", path("e4")], ["--photos \(path("nothere")): no such directory"])
        try FileManager.default.removeItem(atPath: out + "/masks/001_two.png")
        try assertBadInput("graphrun", ["score", "--truth", out + "/inputs", "--masks", out + "/masks", "--fills", out + "/fills", "--out", path("s2")],
                           ["has no 001_two.png"])
    }
}
