import JPEGCodec

/// JPEG reading and writing (libjpeg-turbo through the JPEGCodec C shim). Decoded photos are
/// 8-bit gray or RGB (CMYK files are converted), turned upright by their EXIF orientation, as
/// photo viewers show them; that is the frame a mask is drawn in.
public enum JPEG {
    public static let defaultQuality = 95

    public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = 1 << 28) throws -> Image {
        try bytes.withUnsafeBufferPointer { buffer -> Image in
            var message = [CChar](repeating: 0, count: Int(JPEGC_MESSAGE_CAPACITY))
            var decoder: OpaquePointer?
            var info = jpegc_info()
            let opened = jpegc_decoder_open(buffer.baseAddress, buffer.count, UInt64(max(0, maxPixels)), &decoder, &info,
                                            &message, message.count)
            guard opened == JPEGC_OK, let decoder else { throw decodeError(opened, message, name: name) }
            defer { jpegc_decoder_close(decoder) }
            // The profile's markers are freed when decoding ends: copy it first.
            var iccPointer: UnsafeMutablePointer<UInt8>?
            let iccLength = jpegc_decoder_icc(decoder, &iccPointer)
            var profile: [UInt8]? = nil
            if let iccPointer, iccLength > 0 {
                profile = Array(UnsafeBufferPointer(start: iccPointer, count: iccLength))
                jpegc_free(iccPointer)
            }
            let count = Int(info.width) * Int(info.height) * Int(info.channels)
            var status = JPEGC_INVALID_ARGUMENT
            let bytes = [UInt8](unsafeUninitializedCapacity: count) { storage, initialized in
                status = jpegc_decoder_read(decoder, storage.baseAddress, count, &message, message.count)
                initialized = status == JPEGC_OK ? count : 0
            }
            guard status == JPEGC_OK else { throw decodeError(status, message, name: name) }
            var image = Image(width: Int(info.width), height: Int(info.height), channels: Int(info.channels), bitDepth: 8,
                              samples: bytes.map(UInt16.init))
            var kept = ImageMetadata()
            kept.iccProfile = profile
            if info.has_density != 0, info.x_density > 0, info.y_density > 0, (1...2).contains(info.density_unit) {
                let perMetre = info.density_unit == 1 ? 1 / 0.0254 : 100
                kept.resolution = .init(x: Double(info.x_density) * perMetre, y: Double(info.y_density) * perMetre, perMetre: true)
            }
            image = Orientation.upright(image, exif: Int(info.orientation))
            if var r = kept.resolution, info.orientation >= 5 { swap(&r.x, &r.y); kept.resolution = r }
            image.metadata = kept.orNil
            return image
        }
    }

    /// Width, height (upright) and decoded channels from the header alone.
    static func header(_ bytes: [UInt8], name: String) throws -> (Int, Int, Int) {
        try bytes.withUnsafeBufferPointer { buffer in
            var message = [CChar](repeating: 0, count: Int(JPEGC_MESSAGE_CAPACITY))
            var decoder: OpaquePointer?
            var info = jpegc_info()
            let opened = jpegc_decoder_open(buffer.baseAddress, buffer.count, UInt64.max, &decoder, &info, &message, message.count)
            guard opened == JPEGC_OK, let decoder else { throw decodeError(opened, message, name: name) }
            jpegc_decoder_close(decoder)
            let (w, h) = (Int(info.width), Int(info.height))
            return info.orientation >= 5 ? (h, w, Int(info.channels)) : (w, h, Int(info.channels))
        }
    }

    /// Baseline JPEG. Alpha is dropped and 16-bit samples are rounded to 8 bits (JPEG holds
    /// neither); callers that care say so to the user.
    public static func encode(_ image: Image, quality: Int = defaultQuality, name: String = PNG.inMemoryName,
                              metadata: ImageMetadata? = nil) throws -> [UInt8] {
        try PNG.validate(image, name: name)
        let colour = image.colorChannels, stride = image.channels
        var samples = [UInt8](repeating: 0, count: image.width * image.height * colour)
        let scale = image.bitDepth == 16 ? 257 : 1
        for p in 0..<image.width * image.height {
            for c in 0..<colour { samples[p * colour + c] = UInt8((Int(image.samples[p * stride + c]) + scale / 2) / scale) }
        }
        var message = [CChar](repeating: 0, count: Int(JPEGC_MESSAGE_CAPACITY))
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let icc = metadata?.iccProfile ?? []
        // JFIF density in dots per inch, when the resolution is a real one.
        let dpi = metadata?.resolution.flatMap { r -> (Int32, Int32)? in
            guard r.perMetre else { return nil }
            let x = (r.x * 0.0254).rounded(), y = (r.y * 0.0254).rounded()
            return x >= 1 && y >= 1 && x <= 65535 && y <= 65535 ? (Int32(x), Int32(y)) : nil
        }
        let status = samples.withUnsafeBufferPointer { s in
            icc.withUnsafeBufferPointer { p in
                jpegc_encode_with(s.baseAddress, s.count, UInt32(image.width), UInt32(image.height), Int32(colour), Int32(quality),
                                  icc.isEmpty ? nil : p.baseAddress, icc.count, dpi == nil ? 0 : 1, dpi?.0 ?? 0, dpi?.1 ?? 0,
                                  &output, &size, &message, message.count)
            }
        }
        guard status == JPEGC_OK, let output else {
            throw ImageIOError(kind: .writeFailed, path: name,
                               detail: "cannot encode JPEG: " + PNG.messageString(message, fallback: "status \(status.rawValue)"))
        }
        defer { jpegc_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    static func decodeError(_ status: jpegc_status, _ message: [CChar], name: String) -> ImageIOError {
        let detail = PNG.messageString(message, fallback: "JPEG decoding failed (status \(status.rawValue))")
        switch status {
        case JPEGC_NOT_JPEG: return ImageIOError(kind: .notPNG, path: name, detail: detail)
        case JPEGC_TOO_LARGE, JPEGC_NO_MEMORY: return ImageIOError(kind: .tooLarge, path: name, detail: detail, hint: "downscale the image")
        case JPEGC_UNSUPPORTED: return ImageIOError(kind: .unsupported, path: name, detail: detail, hint: "convert it to an 8-bit JPEG or a PNG")
        default:
            return ImageIOError(kind: .corrupt, path: name, detail: detail,
                                hint: detail.hasPrefix("truncated") ? "the file is incomplete; re-download or re-export it"
                                    : "the file is damaged; re-download or re-export it")
        }
    }
}

/// EXIF orientation (TIFF tag 0x0112): how the stored pixels must be turned to stand upright.
enum Orientation {
    static func upright(_ image: Image, exif: Int) -> Image {
        guard (2...8).contains(exif) else { return image }
        let w = image.width, h = image.height, cc = image.channels
        let swaps = exif >= 5  // 5...8 transpose the axes
        var out = Image(width: swaps ? h : w, height: swaps ? w : h, channels: cc, bitDepth: image.bitDepth)
        for y in 0..<out.height {
            for x in 0..<out.width {
                // The stored pixel shown at (x, y) of the upright picture.
                let (sx, sy): (Int, Int)
                switch exif {
                case 2: (sx, sy) = (w - 1 - x, y)
                case 3: (sx, sy) = (w - 1 - x, h - 1 - y)
                case 4: (sx, sy) = (x, h - 1 - y)
                case 5: (sx, sy) = (y, x)
                case 6: (sx, sy) = (y, h - 1 - x)
                case 7: (sx, sy) = (w - 1 - y, h - 1 - x)
                default: (sx, sy) = (w - 1 - y, x)  // 8
                }
                let from = (sy * w + sx) * cc, to = (y * out.width + x) * cc
                for c in 0..<cc { out.samples[to + c] = image.samples[from + c] }
            }
        }
        return out
    }
}
