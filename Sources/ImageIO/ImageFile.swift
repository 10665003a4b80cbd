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

    public static func read(path: String, maxPixels: Int = 1 << 28) throws -> Image {
        let bytes = try FileIO.readAll(path)
        return try decode(bytes, name: path, maxPixels: maxPixels)
    }

    public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = 1 << 28) throws -> Image {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return try JPEG.decode(bytes, name: name, maxPixels: maxPixels) }
        if let error = FormatSniffer.signatureError(bytes, name: name, readable: "PNG or JPEG") { throw error }
        return try PNG.decode(bytes, name: name, maxPixels: maxPixels)
    }

    /// Encodes by `path`'s extension and writes atomically (a temporary file renamed into place).
    public static func write(_ image: Image, to path: String, jpegQuality: Int = JPEG.defaultQuality) throws {
        guard let format = format(ofPath: path) else {
            throw ImageIOError(kind: .writeFailed, path: path, detail: "cannot tell the image format from the file name",
                               hint: "end it in .png (lossless) or .jpg")
        }
        let bytes = format == .png ? try PNG.encode(image, name: path) : try JPEG.encode(image, quality: jpegQuality, name: path)
        try FileIO.writeAtomically(bytes, to: path)
    }
}
