/// Explains files that do not start with the PNG signature.
enum FormatSniffer {
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// nil when `bytes` starts with the PNG signature (or is a truncated prefix
    /// of it, which the C decoder reports as truncation).
    /// `readable` names the formats the caller reads, for the message and the hint.
    static func signatureError(_ bytes: [UInt8], name: String, readable: String = "PNG") -> ImageIOError? {
        if bytes.isEmpty {
            return ImageIOError(kind: .notPNG, path: name, detail: "the file is empty (0 bytes)",
                                hint: "an empty file usually comes from a failed download or export")
        }
        let head = Array(bytes.prefix(8))
        if head == Array(pngSignature.prefix(head.count)) { return nil }
        let hex = head.map { hexByte($0) }.joined(separator: " ")

        if bytes.count >= 4, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 {  // "?PNG"
            var detail = "PNG signature is damaged: first bytes are \(hex), expected 89 50 4E 47 0D 0A 1A 0A"
            if bytes[0] == 0x09 {
                detail += " (the high bit of the first byte was stripped, as by a 7-bit transfer)"
            } else if bytes[0] == 0x89 {
                detail += " (line endings were converted, as by a text-mode transfer)"
            }
            return ImageIOError(kind: .corrupt, path: name, detail: detail,
                                hint: "transfer the file again in binary mode")
        }

        if bytes.starts(with: Array("version https://git-lfs".utf8)) {
            return ImageIOError(kind: .notPNG, path: name,
                                detail: "PNG signature missing: this is a Git LFS pointer file, not the image itself",
                                hint: "run `git lfs pull` to fetch the real file")
        }
        var detail = readable == "PNG" ? "PNG signature missing: first bytes are \(hex)" : "not a \(readable): first bytes are \(hex)"
        if let format = guessFormat(bytes) { detail += " (this looks like \(format))" }
        return ImageIOError(kind: .notPNG, path: name, detail: detail, hint: "convert the image to \(readable) first")
    }

    /// A human name for common formats ("a JPEG", "a GIF", ...), or nil.
    static func guessFormat(_ b: [UInt8]) -> String? {
        func at(_ offset: Int, _ s: String) -> Bool {
            let pattern = Array(s.utf8)
            return b.count >= offset + pattern.count && Array(b[offset..<offset + pattern.count]) == pattern
        }
        func bytes(_ offset: Int, _ pattern: [UInt8]) -> Bool {
            b.count >= offset + pattern.count && Array(b[offset..<offset + pattern.count]) == pattern
        }
        if bytes(0, [0xFF, 0xD8, 0xFF]) { return "a JPEG" }
        if at(0, "GIF87a") || at(0, "GIF89a") || at(0, "GIF8") { return "a GIF" }
        if at(0, "RIFF") && at(8, "WEBP") { return "a WebP" }
        if at(0, "II*\u{0}") || at(0, "MM\u{0}*") { return "a TIFF" }
        if at(0, "BM") { return "a BMP" }
        if at(4, "ftyp") {
            if at(8, "avif") || at(8, "avis") { return "an AVIF" }
            if at(8, "heic") || at(8, "heix") || at(8, "mif1") || at(8, "msf1") { return "a HEIC/HEIF" }
            return "an ISO media file (MP4/HEIF family)"
        }
        if bytes(0, [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || bytes(0, [0xFF, 0x4F, 0xFF, 0x51]) { return "a JPEG 2000" }
        if at(0, "qoif") { return "a QOI image" }
        if at(0, "8BPS") { return "a Photoshop PSD" }
        if bytes(0, [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) { return "a NumPy .npy array" }
        if bytes(0, [0x50, 0x4B, 0x03, 0x04]) { return "a ZIP archive (for example a NumPy .npz)" }
        if bytes(0, [0x1F, 0x8B]) { return "gzip-compressed data" }
        if b.count >= 3, b[0] == 0x50, (0x31...0x37).contains(b[1]), [0x20, 0x09, 0x0A, 0x0D].contains(b[2]) {
            return "a Netpbm (PBM/PGM/PPM/PAM) image"
        }
        let head = b.prefix(256)
        if head.allSatisfy({ (0x20...0x7E).contains($0) || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            let text = String(decoding: head, as: UTF8.self).lowercased()
            if text.contains("<html") || text.contains("<!doctype html") { return "an HTML page (a failed download?)" }
            if text.contains("<svg") { return "an SVG image" }
            return "a text file"
        }
        return nil
    }

    static func hexByte(_ v: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(v >> 4)], digits[Int(v & 15)]])
    }
}
