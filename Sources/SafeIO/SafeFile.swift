// Reading files that may be hostile or simply wrong: only regular files are read (a FIFO, a
// device such as /dev/zero, a socket or a directory is refused before any read, and opening
// never blocks), every read is bounded by the file's size and a caller's limit, and every
// error names the file and says what to do. Every parser in Fillgraph reads through here.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct FileAccessError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var detail: String
    public var hint: String?

    public init(_ path: String, _ detail: String, hint: String? = nil) {
        self.path = path
        self.detail = detail
        self.hint = hint
    }

    public var description: String { "\(Printable.path(path)): \(detail)" + (hint.map { "; \($0)" } ?? "") }
}

/// An open regular file, read with pread at explicit offsets.
public final class SafeFile: @unchecked Sendable {
    public let path: String
    public let size: Int
    private let fd: Int32

    /// Opens `path` for reading. `what` names the expected content for messages ("a PNG file").
    public init(_ path: String, what: String = "a file") throws {
        self.path = path
        guard !path.isEmpty else { throw FileAccessError(path, "cannot open: the path is empty") }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        if fd < 0 {
            let code = errno
            switch code {
            case ENOENT:
                let dir = Self.directory(of: path)
                var info = stat()
                if stat(dir, &info) != 0 || (info.st_mode & S_IFMT) != S_IFDIR {
                    throw FileAccessError(path, "cannot open: directory \(Printable.path(dir)) does not exist")
                }
                throw FileAccessError(path, "cannot open: no such file")
            case EACCES: throw FileAccessError(path, "cannot open: permission denied")
            case ENOTDIR: throw FileAccessError(path, "cannot open: a component of the path is not a directory")
            case ELOOP: throw FileAccessError(path, "cannot open: too many levels of symbolic links")
            default: throw FileAccessError(path, "cannot open: \(String(cString: strerror(code)))")
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw FileAccessError(path, "cannot stat: \(String(cString: strerror(code)))")
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            close(fd)
            let kind: String
            switch type {
            case S_IFDIR: kind = "a directory"
            case S_IFIFO: kind = "a FIFO (named pipe)"
            case S_IFCHR: kind = "a character device"
            case S_IFBLK: kind = "a block device"
            case S_IFSOCK: kind = "a socket"
            default: kind = "not a regular file"
            }
            throw FileAccessError(path, "is \(kind), not \(what)", hint: "give the path of a regular file")
        }
        self.fd = fd
        size = Int(info.st_size)
    }

    deinit { close(fd) }

    /// (device, inode): two paths name the same file exactly when these agree.
    public var identity: (UInt64, UInt64) {
        var info = stat()
        _ = fstat(fd, &info)
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// `count` bytes at `offset`; both must lie inside the file.
    public func read(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw FileAccessError(path, "a read of \(count) bytes at offset \(offset) lies outside the file's \(size) bytes")
        }
        // Not zeroed first: pread fills every byte or the read fails (a 16 MB model was memset for nothing).
        guard count > 0 else { return [] }
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                if n == 0 { throw FileAccessError(path, "the file shrank while being read (\(offset + done) of \(size) bytes)") }
                throw FileAccessError(path, "read error at byte \(offset + done): \(String(cString: strerror(errno)))")
            }
            initialized = count
        }
    }

    /// The whole file, refused above `limit` bytes before anything is read.
    public func readAll(limit: Int, what: String = "file") throws -> [UInt8] {
        guard size <= limit else {
            throw FileAccessError(path, "is \(size) bytes; a \(what) is limited to \(limit) bytes",
                                  hint: "is this the right file?")
        }
        return try read(at: 0, count: size)
    }

    /// Reads a whole regular file (at most `limit` bytes).
    public static func read(_ path: String, limit: Int, what: String = "a file") throws -> [UInt8] {
        try SafeFile(path, what: what).readAll(limit: limit, what: String(what.drop(while: { $0 != " " }).dropFirst()))
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// (device, inode) of whatever `path` names now, following symbolic links; nil if nothing.
    public static func identity(of path: String) -> (UInt64, UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}

/// Text from files and file names made safe to print: control characters (terminal escape
/// sequences among them) are shown as \u{..} escapes, and absurdly long names are cut.
public enum Printable {
    public static func text(_ s: String, limit: Int = 200) -> String {
        var out = ""
        for scalar in s.unicodeScalars.prefix(limit) {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return s.unicodeScalars.count > limit ? out + "…" : out
    }

    public static func path(_ p: String) -> String { text(p, limit: 400) }
}
