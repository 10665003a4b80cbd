import SafeIO

/// Reading and atomic writing through SafeIO, with errors as ImageIOError.
enum FileIO {
    /// "a/b/c.png" -> "c.png" (and its directory).
    static func split(_ path: String) -> (directory: String, name: String) { AtomicWrite.split(path) }

    // MARK: Reading

    /// The largest image file read (a 64-megapixel 16-bit RGBA PNG is about 512 MB raw).
    static let maxFileBytes = 1 << 30

    /// A whole regular file; FIFOs, devices and directories are refused before any read.
    static func readAll(_ path: String, what: String = "a PNG file") throws -> [UInt8] {
        do { return try SafeFile.read(path, limit: maxFileBytes, what: what) } catch let e as FileAccessError {
            throw ImageIOError(kind: .unreadable, path: path, detail: e.detail, hint: e.hint)
        }
    }

    // MARK: Writing

    /// Writes through a temporary file and a rename (SafeIO's), as an ImageIOError on failure.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        do { try AtomicWrite.write(bytes, to: path) } catch let e as FileAccessError {
            throw ImageIOError(kind: .writeFailed, path: path, detail: e.detail, hint: e.hint)
        }
    }
}
