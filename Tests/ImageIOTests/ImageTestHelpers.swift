import Foundation
import ImageIO
import TestSupport
import XCTest

/// Tests/Fixtures/png/`name`.
func pngFixture(_ name: String) -> String { Fixtures.fixture("png/\(name)") }

func fixtureBytes(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
    let data = try XCTUnwrap(FileManager.default.contents(atPath: pngFixture(name)),
                             "missing fixture \(pngFixture(name))", file: file, line: line)
    return [UInt8](data)
}

func randomImage(width: Int, height: Int, channels: Int, bitDepth: Int, seed: UInt64) -> Image {
    var rng = SeededRandom(seed: seed)
    let maxValue: UInt16 = bitDepth == 16 ? 65535 : 255
    var samples = (0..<(width * height * channels)).map { _ in UInt16.random(in: 0...maxValue, using: &rng) }
    // Make sure the extremes appear.
    samples[0] = 0
    samples[samples.count - 1] = maxValue
    return Image(width: width, height: height, channels: channels, bitDepth: bitDepth, samples: samples)
}

/// Runs `body`, requires an ImageIOError of `kind`, and returns it for further checks.
@discardableResult
func assertImageIOError<T>(_ kind: ImageIOError.Kind, _ message: @autoclosure () -> String = "",
                           file: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> T) -> ImageIOError? {
    do {
        _ = try body()
        XCTFail("expected ImageIOError.\(kind), but nothing was thrown. \(message())", file: file, line: line)
        return nil
    } catch let error as ImageIOError {
        XCTAssertEqual(error.kind, kind, "\(error) \(message())", file: file, line: line)
        return error
    } catch {
        XCTFail("expected ImageIOError.\(kind), got \(error). \(message())", file: file, line: line)
        return nil
    }
}

// MARK: - Hand-built PNGs

func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }
    return crc ^ 0xFFFF_FFFF
}

func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
}

func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let typeBytes = Array(type.utf8)
    return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc32(typeBytes + data))
}

let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

/// Signature + IHDR (correct CRC) + a tiny IDAT + IEND.
func handBuiltPNG(width: UInt32, height: UInt32, bitDepth: UInt8 = 8, colorType: UInt8 = 2) -> [UInt8] {
    let ihdr = bigEndian(width) + bigEndian(height) + [bitDepth, colorType, 0, 0, 0]
    // zlib stream of a single 0 byte (stored block): enough for libpng to start.
    let idat: [UInt8] = [0x78, 0x01, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x01]
    return pngSignature + pngChunk("IHDR", ihdr) + pngChunk("IDAT", idat) + pngChunk("IEND", [])
}

/// (offset, length, type) of every chunk.
func chunkLayout(_ png: [UInt8]) -> [(offset: Int, length: Int, type: String)] {
    var result: [(Int, Int, String)] = []
    var p = 8
    while p + 12 <= png.count {
        let length = Int(png[p]) << 24 | Int(png[p + 1]) << 16 | Int(png[p + 2]) << 8 | Int(png[p + 3])
        let type = String(decoding: png[(p + 4)..<(p + 8)], as: UTF8.self)
        result.append((p, length, type))
        p += 12 + length
    }
    return result
}

/// A fresh empty directory, removed at the end of the test.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("ImageIOTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}
