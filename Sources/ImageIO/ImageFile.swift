/// Photos and masks by content (PNG or JPEG, whatever the name says) and outputs by the file
/// name's extension, so `--output out.jpg` writes a JPEG and `out.png` a lossless PNG.
public enum ImageFile {
    public enum Format: String, Sendable {
        case png = "PNG", jpeg = "JPEG"
    }

    /// The extensions written, by format.
    public static let extensions: [String: Format] = ["png": .png, "jpg": .jpeg, "jpeg": .jpeg]

    public static func format(ofPath path: String) -> Format? {
        let name = FileIO.split(path).name
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        return extensions[name[name.index(after: dot)...].lowercased()]
    }

    /// What a file's header says, read without decoding any pixel.
    public struct Header: Equatable, Sendable {
        public var format: Format
        public var width: Int
        public var height: Int
        /// After decoding: 1–4 for PNG (palettes and tRNS expanded), 1 or 3 for JPEG.
        public var channels: Int
        public var bitDepth: Int
        /// Bytes the decoded samples take (Image holds a UInt16 per sample).
        public var decodedBytes: Int { width * height * channels * 2 }
    }

    /// The file's header: size and layout, for checks before anything is decoded. The JPEG
    /// size is after EXIF orientation, as `read` returns it.
    public static func header(path: String) throws -> Header {
        let bytes = try FileIO.readAll(path, what: "an image file")
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            let (w, h, channels) = try JPEG.header(bytes, name: path)
            return Header(format: .jpeg, width: w, height: h, channels: channels, bitDepth: 8)
        }
        if let error = FormatSniffer.signatureError(bytes, name: path, readable: "PNG or JPEG") { throw error }
        guard bytes.count >= 33, Array(bytes[12..<16]) == Array("IHDR".utf8) else {
            throw ImageIOError(kind: .corrupt, path: path, detail: "the PNG has no IHDR chunk where it must start", hint: "the file is damaged")
        }
        func be32(_ i: Int) -> Int { (0..<4).reduce(0) { $0 << 8 | Int(bytes[i + $1]) } }
        let depth = Int(bytes[24]), type = Int(bytes[25])
        // Channels after expansion: gray, (palette →) RGB, gray+alpha, RGB+alpha; tRNS may add alpha,
        // so count the larger.
        let channels = [0: 2, 2: 4, 3: 4, 4: 2, 6: 4][type] ?? 4
        return Header(format: .png, width: be32(16), height: be32(20), channels: channels, bitDepth: depth == 16 ? 16 : 8)
    }

    public static func read(path: String, maxPixels: Int = 1 << 28) throws -> Image {
        let bytes = try FileIO.readAll(path, what: "an image file")
        return try decode(bytes, name: path, maxPixels: maxPixels)
    }

    public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = 1 << 28) throws -> Image {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return try JPEG.decode(bytes, name: name, maxPixels: maxPixels) }
        if let error = FormatSniffer.signatureError(bytes, name: name, readable: "PNG or JPEG") { throw error }
        return try PNG.decode(bytes, name: name, maxPixels: maxPixels)
    }

    /// Encodes by `path`'s extension and writes atomically (a temporary file renamed into place),
    /// with the image's colour profile and resolution. A profile the encoder refuses is left
    /// out rather than losing the picture; the returned notes say so.
    @discardableResult
    public static func write(_ image: Image, to path: String, jpegQuality: Int = JPEG.defaultQuality) throws -> [String] {
        guard let format = format(ofPath: path) else {
            throw ImageIOError(kind: .writeFailed, path: path, detail: "cannot tell the image format from the file name",
                               hint: "end it in .png (lossless) or .jpg")
        }
        func encode(_ metadata: ImageMetadata?) throws -> [UInt8] {
            format == .png ? try PNG.encode(image, name: path, metadata: metadata)
                : try JPEG.encode(image, quality: jpegQuality, name: path, metadata: metadata)
        }
        var notes: [String] = []
        let bytes: [UInt8]
        if let metadata = image.metadata {
            do { bytes = try encode(metadata) } catch let e as ImageIOError where e.kind != .unsupported {
                bytes = try encode(ImageMetadata(resolution: metadata.resolution))
                notes.append("\(path): the photo's colour profile could not be copied (\(e.detail)); the output has none")
            }
        } else {
            bytes = try encode(nil)
        }
        try FileIO.writeAtomically(bytes, to: path)
        return notes
    }
}
