import PNGCodec

/// PNG reading and writing (libpng through the PNGCodec C shim, which turns
/// libpng's longjmp errors into status codes).
public enum PNG {
    /// Name used in errors from `encode`, which has no file.
    public static let inMemoryName = "(in-memory PNG)"

    /// Reads and decodes the PNG file at `path`.
    /// - Throws: `ImageIOError` (.unreadable for a missing file, a directory or
    ///   permission problems; otherwise as `decode`).
    public static func read(path: String, maxPixels: Int = 1 << 28) throws -> Image {
        let bytes = try FileIO.readAll(path)
        return try decode(bytes, name: path, maxPixels: maxPixels)
    }

    /// Decodes PNG bytes. `name` is used in error messages.
    /// Images with more than `maxPixels` pixels (width × height) are rejected
    /// with `.tooLarge` before any pixel memory is allocated; so are images
    /// wider or taller than 32768 pixels.
    public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = 1 << 28) throws -> Image {
        if let error = FormatSniffer.signatureError(bytes, name: name) { throw error }
        return try bytes.withUnsafeBufferPointer { buffer -> Image in
            var message = [CChar](repeating: 0, count: Int(PNGC_MESSAGE_CAPACITY))
            var decoder: OpaquePointer?
            var info = pngc_info()
            let opened = pngc_decoder_open(buffer.baseAddress, buffer.count, UInt64(max(0, maxPixels)),
                                           &decoder, &info, &message, message.count)
            guard opened == PNGC_OK, let decoder else {
                throw decodeError(opened, message, name: name)
            }
            defer { pngc_decoder_close(decoder) }
            let count = Int(info.width) * Int(info.height) * Int(info.channels)
            var status = PNGC_INTERNAL
            let samples = [UInt16](unsafeUninitializedCapacity: count) { storage, initialized in
                status = pngc_decoder_read(decoder, storage.baseAddress, count, &message, message.count)
                initialized = status == PNGC_OK ? count : 0
            }
            guard status == PNGC_OK else { throw decodeError(status, message, name: name) }
            var image = Image(width: Int(info.width), height: Int(info.height), channels: Int(info.channels),
                              bitDepth: Int(info.bit_depth), samples: samples)
            var meta = pngc_metadata()
            pngc_decoder_metadata(decoder, &meta)
            var kept = ImageMetadata()
            if let icc = meta.icc, meta.icc_size > 0 {
                kept.iccProfile = Array(UnsafeBufferPointer(start: icc, count: meta.icc_size))
                kept.iccName = meta.icc_name.map { String(cString: $0) }
            }
            if meta.has_phys != 0, meta.phys_x > 0, meta.phys_y > 0 {
                kept.resolution = .init(x: Double(meta.phys_x), y: Double(meta.phys_y), perMetre: meta.phys_unit == 1)
            }
            image.metadata = kept.orNil
            return image
        }
    }

    /// Encodes an 8- or 16-bit gray, gray+alpha, RGB or RGBA image as PNG bytes.
    /// - Throws: `ImageIOError` (.unsupported for channel counts or bit depths
    ///   PNG cannot hold, .writeFailed for inconsistent fields or out-of-range samples).
    public static func encode(_ image: Image) throws -> [UInt8] {
        try encode(image, name: inMemoryName)
    }

    /// Encodes `image` and writes it to `path` atomically: the data goes to a
    /// temporary file in the same directory, which is then renamed over `path`,
    /// so a failure never leaves a partial file behind.
    public static func write(_ image: Image, to path: String) throws {
        let bytes = try encode(image, name: path)
        try FileIO.writeAtomically(bytes, to: path)
    }

    // MARK: - Internals

    /// With `metadata`; throws `.unsupported` "... colour profile ..." when libpng drops the profile.
    static func encode(_ image: Image, name: String, metadata: ImageMetadata? = nil) throws -> [UInt8] {
        try validate(image, name: name)
        var message = [CChar](repeating: 0, count: Int(PNGC_MESSAGE_CAPACITY))
        var output: UnsafeMutablePointer<UInt8>?
        var outputSize = 0
        let icc = metadata?.iccProfile ?? []
        var dropped: Int32 = 0
        let iccName = Array((metadata?.iccName ?? "ICC profile").utf8.prefix(79)) + [0]
        let status = image.samples.withUnsafeBufferPointer { samples in
            icc.withUnsafeBufferPointer { profile in
                iccName.withUnsafeBufferPointer { nameBytes in
                    nameBytes.withMemoryRebound(to: CChar.self) { cName in
                        var meta = pngc_metadata()
                        if !icc.isEmpty { meta.icc = profile.baseAddress; meta.icc_size = icc.count; meta.icc_name = cName.baseAddress }
                        if let r = metadata?.resolution, r.x >= 1, r.y >= 1, r.x < 4e9, r.y < 4e9 {
                            meta.has_phys = 1
                            meta.phys_x = UInt32(r.x.rounded())
                            meta.phys_y = UInt32(r.y.rounded())
                            meta.phys_unit = r.perMetre ? 1 : 0
                        }
                        return withUnsafePointer(to: &meta) { metaPointer in
                            pngc_encode_with(samples.baseAddress, samples.count, UInt32(image.width), UInt32(image.height),
                                             Int32(image.channels), Int32(image.bitDepth), metadata == nil ? nil : metaPointer,
                                             &dropped, &output, &outputSize, &message, message.count)
                        }
                    }
                }
            }
        }
        guard status == PNGC_OK, let output else {
            let detail = messageString(message, fallback: "encoding failed (status \(status.rawValue))")
            throw ImageIOError(kind: status == PNGC_UNSUPPORTED ? .unsupported : .writeFailed, path: name,
                               detail: "cannot encode PNG: \(detail)")
        }
        defer { pngc_free(output) }
        if dropped != 0 {
            throw ImageIOError(kind: .writeFailed, path: name, detail: "libpng refused the colour profile as invalid")
        }
        return Array(UnsafeBufferPointer(start: output, count: outputSize))
    }

    static func validate(_ image: Image, name: String) throws {
        func fail(_ kind: ImageIOError.Kind, _ detail: String, hint: String? = nil) -> ImageIOError {
            ImageIOError(kind: kind, path: name, detail: "cannot encode PNG: \(detail)", hint: hint)
        }
        guard (1...4).contains(image.channels) else {
            throw fail(.unsupported, "the image has \(image.channels) channels; PNG supports 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)")
        }
        guard image.bitDepth == 8 || image.bitDepth == 16 else {
            throw fail(.unsupported, "bit depth \(image.bitDepth) is not supported; use 8 or 16")
        }
        guard image.width >= 1, image.height >= 1 else {
            throw fail(.writeFailed, "the image is \(image.width)×\(image.height); width and height must be at least 1")
        }
        guard image.width <= Int(Int32.max), image.height <= Int(Int32.max) else {
            throw fail(.writeFailed, "the image is \(image.width)×\(image.height); PNG allows at most 2147483647 per side")
        }
        let (pixels, o1) = image.width.multipliedReportingOverflow(by: image.height)
        let (expected, o2) = pixels.multipliedReportingOverflow(by: image.channels)
        guard !o1, !o2, image.samples.count == expected else {
            throw fail(.writeFailed, "samples.count is \(image.samples.count) but width×height×channels is "
                       + "\(image.width)×\(image.height)×\(image.channels)" + (o1 || o2 ? " (overflows)" : " = \(expected)"))
        }
        if image.bitDepth == 8, let i = image.samples.firstIndex(where: { $0 > 255 }) {
            let pixel = i / image.channels
            throw fail(.writeFailed, "sample at x=\(pixel % image.width) y=\(pixel / image.width) channel \(i % image.channels) "
                       + "is \(image.samples[i]), above 255, the maximum for 8-bit images",
                       hint: "set bitDepth to 16 or scale the samples to 0...255")
        }
    }

    static func messageString(_ message: [CChar], fallback: String) -> String {
        let text = message.withUnsafeBufferPointer { buffer -> String in
            guard let base = buffer.baseAddress, buffer.contains(0) else { return "" }
            return String(cString: base)
        }
        return text.isEmpty ? fallback : text
    }

    static func decodeError(_ status: pngc_status, _ message: [CChar], name: String) -> ImageIOError {
        let detail = messageString(message, fallback: "PNG decoding failed (status \(status.rawValue))")
        switch status {
        case PNGC_NOT_PNG:
            return ImageIOError(kind: .notPNG, path: name, detail: detail, hint: "convert the image to PNG first")
        case PNGC_TOO_LARGE:
            let hint = detail.contains("the limit is")
                ? "downscale the image, or raise the maxPixels limit if you have the memory"
                : "downscale the image"
            return ImageIOError(kind: .tooLarge, path: name, detail: detail, hint: hint)
        case PNGC_NO_MEMORY:
            return ImageIOError(kind: .tooLarge, path: name, detail: detail, hint: "downscale the image or free memory")
        case PNGC_UNSUPPORTED:
            return ImageIOError(kind: .unsupported, path: name, detail: detail)
        default:
            let hint = detail.hasPrefix("truncated")
                ? "the file is incomplete; re-download or re-export it"
                : "the file is damaged; re-download or re-export it"
            return ImageIOError(kind: .corrupt, path: name, detail: detail, hint: hint)
        }
    }
}
