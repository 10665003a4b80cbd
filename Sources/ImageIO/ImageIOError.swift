/// An image could not be read, decoded, encoded or written. Always names the file.
public struct ImageIOError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The file could not be opened or read (missing, a directory, permission denied, I/O error).
        case unreadable
        /// The bytes are not a PNG (no PNG signature); `detail` names the format when recognised.
        case notPNG
        /// A damaged PNG: truncated, bad CRC, invalid header or compressed data.
        case corrupt
        /// Over the pixel-count or per-side limit, or not enough memory.
        case tooLarge
        /// A valid request this codec does not handle (e.g. 5 channels, 12-bit samples).
        case unsupported
        /// Encoding or writing failed (invalid image fields, missing directory, disk full...).
        case writeFailed
    }

    public var kind: Kind
    /// The file (or, for in-memory encoding, a description of the buffer) involved.
    public var path: String
    /// What went wrong, e.g. "CRC error in IDAT chunk".
    public var detail: String
    /// How to fix it, when there is something useful to say.
    public var hint: String?

    public init(kind: Kind, path: String, detail: String, hint: String? = nil) {
        self.kind = kind
        self.path = path
        self.detail = detail
        self.hint = hint
    }

    /// "<path>: <detail>", followed by "; <hint>" when there is one.
    public var description: String {
        if let hint { return "\(path): \(detail); \(hint)" }
        return "\(path): \(detail)"
    }
}
