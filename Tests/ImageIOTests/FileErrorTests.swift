import XCTest
import ImageIO

final class FileErrorTests: XCTestCase {
    func testMissingFile() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir + "/nope.png"
        let e = assertImageIOError(.unreadable) { try PNG.read(path: path) }
        XCTAssertEqual(e?.path, path)
        XCTAssertEqual(e?.detail, "cannot open: no such file")
        XCTAssertEqual(e?.description, "\(path): cannot open: no such file")
    }

    func testMissingDirectory() throws {
        let dir = try makeTemporaryDirectory(self)
        let e = assertImageIOError(.unreadable) { try PNG.read(path: dir + "/missing/x.png") }
        XCTAssertEqual(e?.detail, "cannot open: directory \(dir)/missing does not exist")
    }

    func testDirectoryPath() throws {
        let dir = try makeTemporaryDirectory(self)
        let e = assertImageIOError(.unreadable) { try PNG.read(path: dir) }
        XCTAssertEqual(e?.detail, "is a directory, not a PNG file")
        XCTAssertTrue(e?.description.hasPrefix(dir + ": ") ?? false)
    }

    func testEmptyPath() {
        assertImageIOError(.unreadable) { try PNG.read(path: "") }
    }

    func testReadNonPNGFileNamesIt() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir + "/really.jpg.png"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([0xFF, 0xD8, 0xFF, 0xDB, 0, 0x43])))
        let e = assertImageIOError(.notPNG) { try PNG.read(path: path) }
        XCTAssertEqual(e?.description, "\(path): PNG signature missing: first bytes are FF D8 FF DB 00 43 (this looks like a JPEG); convert the image to PNG first")
        let empty = dir + "/empty.png"
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        assertImageIOError(.notPNG) { try PNG.read(path: empty) }
    }

    func testReadLargerThanOneBufferFile() throws {
        // Incompressible data: the file is bigger than the 64 KiB first read.
        let image = randomImage(width: 300, height: 200, channels: 4, bitDepth: 8, seed: 77)
        let dir = try makeTemporaryDirectory(self)
        try PNG.write(image, to: dir + "/big.png")
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: dir + "/big.png")[.size] as? Int)
        XCTAssertGreaterThan(size, 1 << 16)
        XCTAssertEqual(try PNG.read(path: dir + "/big.png"), image)
    }

    func testWriteIntoNonexistentDirectory() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir + "/missing/out.png"
        let image = randomImage(width: 2, height: 2, channels: 1, bitDepth: 8, seed: 1)
        let e = assertImageIOError(.writeFailed) { try PNG.write(image, to: path) }
        XCTAssertEqual(e?.path, path)
        XCTAssertEqual(e?.detail, "cannot write: directory \(dir)/missing does not exist")
        XCTAssertTrue(e?.description.hasPrefix(path + ": ") ?? false)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "no temp file left behind")
    }

    func testWriteOverADirectoryFailsCleanly() throws {
        let dir = try makeTemporaryDirectory(self)
        try FileManager.default.createDirectory(atPath: dir + "/taken.png", withIntermediateDirectories: false)
        let image = randomImage(width: 2, height: 2, channels: 3, bitDepth: 16, seed: 2)
        let e = assertImageIOError(.writeFailed) { try PNG.write(image, to: dir + "/taken.png") }
        XCTAssertEqual(e?.detail, "cannot write: the path is an existing directory")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["taken.png"])
        assertImageIOError(.writeFailed) { try PNG.write(image, to: dir + "/") }
    }

    func testWriteUnderAFileFails() throws {
        let dir = try makeTemporaryDirectory(self)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/plain", contents: Data([1])))
        let image = randomImage(width: 2, height: 2, channels: 3, bitDepth: 8, seed: 2)
        let e = assertImageIOError(.writeFailed) { try PNG.write(image, to: dir + "/plain/out.png") }
        XCTAssertEqual(e?.detail, "cannot write: \(dir)/plain is not a directory")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["plain"])
    }
}
