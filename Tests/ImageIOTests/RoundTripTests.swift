import XCTest
import ImageIO

final class RoundTripTests: XCTestCase {
    let sizes = [(1, 1), (7, 3), (33, 17), (2, 40)]

    func testEveryChannelCountAndBitDepthRoundTrips() throws {
        var seed: UInt64 = 1
        for channels in 1...4 {
            for bitDepth in [8, 16] {
                for (w, h) in sizes {
                    seed += 1
                    let image = randomImage(width: w, height: h, channels: channels, bitDepth: bitDepth, seed: seed)
                    let bytes = try PNG.encode(image)
                    let decoded = try PNG.decode(bytes, name: "roundtrip.png")
                    XCTAssertEqual(decoded.width, w)
                    XCTAssertEqual(decoded.height, h)
                    XCTAssertEqual(decoded.channels, channels)
                    XCTAssertEqual(decoded.bitDepth, bitDepth)
                    XCTAssertEqual(decoded.samples, image.samples, "\(w)×\(h)×\(channels) @\(bitDepth)")
                    XCTAssertEqual(decoded, image)
                }
            }
        }
    }

    func testEncodedHeaderMatchesImage() throws {
        // color types: 1 -> 0 (gray), 2 -> 4 (gray+alpha), 3 -> 2 (RGB), 4 -> 6 (RGBA)
        let colorTypes: [Int: UInt8] = [1: 0, 2: 4, 3: 2, 4: 6]
        for channels in 1...4 {
            for bitDepth in [8, 16] {
                let image = Image(width: 300, height: 2, channels: channels, bitDepth: bitDepth, fill: 7)
                let bytes = try PNG.encode(image)
                XCTAssertEqual(Array(bytes.prefix(8)), pngSignature)
                XCTAssertEqual(String(decoding: bytes[12..<16], as: UTF8.self), "IHDR")
                XCTAssertEqual(Array(bytes[16..<24]), bigEndian(300) + bigEndian(2))
                XCTAssertEqual(bytes[24], UInt8(bitDepth))
                XCTAssertEqual(bytes[25], colorTypes[channels])
                XCTAssertEqual(bytes[28], 0, "written non-interlaced")
                XCTAssertEqual(chunkLayout(bytes).last?.type, "IEND")
            }
        }
    }

    /// A 16-bit sample is written big-endian in the file, as PNG requires.
    func testSixteenBitSamplesAreBigEndianInTheFile() throws {
        let image = Image(width: 1, height: 1, channels: 1, bitDepth: 16, samples: [0x1234])
        let bytes = try PNG.encode(image)
        let idat = try XCTUnwrap(chunkLayout(bytes).first { $0.type == "IDAT" })
        let compressed = Array(bytes[(idat.offset + 8)..<(idat.offset + 8 + idat.length)])
        let raw = try XCTUnwrap(inflateZlib(compressed))
        XCTAssertEqual(raw.count, 3, "filter byte + 2 sample bytes")
        // On a one-pixel first row every filter predicts 0, so the stored bytes are the sample itself.
        XCTAssertEqual(Array(raw[1...]), [0x12, 0x34])
    }

    func testLargerImageSpansSeveralIDATChunksAndRoundTrips() throws {
        let image = randomImage(width: 401, height: 257, channels: 3, bitDepth: 16, seed: 99)
        let bytes = try PNG.encode(image)
        XCTAssertGreaterThan(chunkLayout(bytes).filter { $0.type == "IDAT" }.count, 1)
        XCTAssertEqual(try PNG.decode(bytes, name: "big.png"), image)
    }

    func testSmoothImageCompresses() throws {
        var image = Image(width: 256, height: 256, channels: 3, bitDepth: 8)
        for y in 0..<256 { for x in 0..<256 { image[x, y, 0] = UInt16(x); image[x, y, 1] = UInt16(y) } }
        let bytes = try PNG.encode(image)
        XCTAssertLessThan(bytes.count, 256 * 256 * 3 / 10)
        XCTAssertEqual(try PNG.decode(bytes, name: "smooth.png"), image)
    }

    func testWriteThenReadFile() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir + "/out.png"
        let first = randomImage(width: 33, height: 17, channels: 4, bitDepth: 8, seed: 5)
        try PNG.write(first, to: path)
        XCTAssertEqual(try PNG.read(path: path), first)
        // Overwriting replaces the file and leaves nothing else behind.
        let second = randomImage(width: 7, height: 3, channels: 2, bitDepth: 16, seed: 6)
        try PNG.write(second, to: path)
        XCTAssertEqual(try PNG.read(path: path), second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out.png"])
    }

    func testRelativePathWrite() throws {
        let dir = try makeTemporaryDirectory(self)
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        let image = randomImage(width: 3, height: 2, channels: 1, bitDepth: 8, seed: 8)
        try PNG.write(image, to: "plain.png")
        XCTAssertEqual(try PNG.read(path: dir + "/plain.png"), image)
    }

    func testConcurrentDecoding() throws {
        let images = (0..<8).map { randomImage(width: 20 + $0, height: 9, channels: 1 + $0 % 4, bitDepth: $0 % 2 == 0 ? 8 : 16, seed: UInt64(100 + $0)) }
        let encoded = try images.map { try PNG.encode($0) }
        let results = UnsafeMutableBufferPointer<Image?>.allocate(capacity: images.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: images.count) { i in
            results[i] = try? PNG.decode(encoded[i], name: "t\(i).png")
        }
        for i in images.indices { XCTAssertEqual(results[i], images[i]) }
    }

    func testImageAccessors() {
        var image = Image(width: 3, height: 2, channels: 4, bitDepth: 16)
        XCTAssertEqual(image.samples.count, 24)
        XCTAssertTrue(image.hasAlpha)
        XCTAssertEqual(image.colorChannels, 3)
        XCTAssertEqual(image.maxValue, 65535)
        image[2, 1, 3] = 500
        XCTAssertEqual(image.samples[(1 * 3 + 2) * 4 + 3], 500)
        XCTAssertEqual(image[2, 1, 3], 500)
        let gray = Image(width: 1, height: 1, channels: 1, bitDepth: 8, samples: [9])
        XCTAssertFalse(gray.hasAlpha)
        XCTAssertEqual(gray.colorChannels, 1)
        XCTAssertEqual(gray.maxValue, 255)
        XCTAssertEqual(Image(width: 1, height: 1, channels: 2, bitDepth: 8).colorChannels, 1)
    }

    // MARK: - encode validation

    func testEncodeRejectsInvalidImages() {
        var e = assertImageIOError(.unsupported) {
            try PNG.encode(Image(width: 2, height: 2, channels: 5, bitDepth: 8, samples: .init(repeating: 0, count: 20)))
        }
        XCTAssertTrue(e?.detail.contains("5 channels") ?? false, e?.detail ?? "")
        XCTAssertEqual(e?.path, PNG.inMemoryName)

        e = assertImageIOError(.unsupported) {
            try PNG.encode(Image(width: 2, height: 2, channels: 1, bitDepth: 12, samples: .init(repeating: 0, count: 4)))
        }
        XCTAssertTrue(e?.detail.contains("bit depth 12") ?? false, e?.detail ?? "")

        e = assertImageIOError(.writeFailed) {
            try PNG.encode(Image(width: 7, height: 3, channels: 3, bitDepth: 8, samples: .init(repeating: 0, count: 62)))
        }
        XCTAssertTrue(e?.detail.contains("samples.count is 62") ?? false, e?.detail ?? "")
        XCTAssertTrue(e?.detail.contains("7×3×3 = 63") ?? false, e?.detail ?? "")

        e = assertImageIOError(.writeFailed) {
            try PNG.encode(Image(width: 0, height: 5, channels: 1, bitDepth: 8, samples: []))
        }
        XCTAssertTrue(e?.detail.contains("0×5") ?? false, e?.detail ?? "")

        var bad = Image(width: 4, height: 3, channels: 2, bitDepth: 8)
        bad[3, 2, 1] = 256
        e = assertImageIOError(.writeFailed) { try PNG.encode(bad) }
        XCTAssertTrue(e?.detail.contains("x=3 y=2 channel 1 is 256") ?? false, e?.detail ?? "")

        e = assertImageIOError(.writeFailed) {
            try PNG.encode(Image(width: Int.max / 2, height: 4, channels: 1, bitDepth: 8, samples: []))
        }
    }

    func testWriteOfInvalidImageCreatesNoFile() throws {
        let dir = try makeTemporaryDirectory(self)
        let e = assertImageIOError(.writeFailed) {
            try PNG.write(Image(width: 2, height: 2, channels: 3, bitDepth: 8, samples: [1, 2, 3]), to: dir + "/x.png")
        }
        XCTAssertEqual(e?.path, dir + "/x.png")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }
}

/// A minimal zlib inflater for stored and fixed-Huffman blocks (what zlib emits
/// for tiny inputs), so the test above can inspect the encoder's raw bytes
/// without going through libpng. Returns nil for dynamic-Huffman blocks.
func inflateZlib(_ data: [UInt8]) -> [UInt8]? {
    var reader = BitReader(bytes: Array(data.dropFirst(2)))
    var out: [UInt8] = []
    while true {
        guard let final = reader.bits(1), let type = reader.bits(2) else { return nil }
        switch type {
        case 0:
            reader.alignToByte()
            guard let len = reader.bits(16), reader.bits(16) != nil else { return nil }
            for _ in 0..<len { guard let b = reader.bits(8) else { return nil }; out.append(UInt8(b)) }
        case 1:
            while true {
                guard let symbol = reader.fixedLiteral() else { return nil }
                if symbol < 256 { out.append(UInt8(symbol)); continue }
                if symbol == 256 { break }
                // Lengths/distances (back-references)
                let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
                let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
                let li = symbol - 257
                guard li < lengthBase.count, let le = reader.bits(lengthExtra[li]) else { return nil }
                let length = lengthBase[li] + le
                guard let dcode = reader.bitsReversed(5) else { return nil }
                let distBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
                let distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
                guard dcode < distBase.count, let de = reader.bits(distExtra[dcode]) else { return nil }
                let distance = distBase[dcode] + de
                guard distance <= out.count else { return nil }
                for _ in 0..<length { out.append(out[out.count - distance]) }
            }
        default:
            return nil
        }
        if final == 1 { return out }
    }
}

struct BitReader {
    let bytes: [UInt8]
    var position = 0  // in bits
    init(bytes: [UInt8]) { self.bytes = bytes }
    mutating func bit() -> Int? {
        guard position / 8 < bytes.count else { return nil }
        let b = Int(bytes[position / 8] >> UInt8(position % 8)) & 1
        position += 1
        return b
    }
    /// LSB-first value of `n` bits.
    mutating func bits(_ n: Int) -> Int? {
        var v = 0
        for i in 0..<n { guard let b = bit() else { return nil }; v |= b << i }
        return v
    }
    /// MSB-first (Huffman code order) value of `n` bits.
    mutating func bitsReversed(_ n: Int) -> Int? {
        var v = 0
        for _ in 0..<n { guard let b = bit() else { return nil }; v = (v << 1) | b }
        return v
    }
    mutating func alignToByte() { position = (position + 7) / 8 * 8 }
    mutating func fixedLiteral() -> Int? {
        guard let seven = bitsReversed(7) else { return nil }
        if seven <= 0b0010111 { return 256 + seven }
        guard let b8 = bit() else { return nil }
        let eight = (seven << 1) | b8
        if eight >= 0b0011_0000 && eight <= 0b1011_1111 { return eight - 0b0011_0000 }
        if eight >= 0b1100_0000 && eight <= 0b1100_0111 { return 280 + eight - 0b1100_0000 }
        guard let b9 = bit() else { return nil }
        let nine = (eight << 1) | b9
        return 144 + nine - 0b1_1001_0000
    }
}
