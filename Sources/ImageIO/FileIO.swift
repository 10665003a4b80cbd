import SafeIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// POSIX file reading and atomic writing with errors that name the file.
enum FileIO {
    static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// Splits "a/b/c.png" into ("a/b", "c.png"); "c.png" into (".", "c.png").
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        return (directory, String(path[path.index(after: slash)...]))
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

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

    /// Writes to a temporary file next to `path`, then renames it over `path`.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        func fail(_ detail: String, hint: String? = nil) -> ImageIOError {
            ImageIOError(kind: .writeFailed, path: path, detail: detail, hint: hint)
        }
        let (directory, name) = split(path)
        if name.isEmpty { throw fail("cannot write: the path names a directory, not a file") }
        if isDirectory(path) { throw fail("cannot write: the path is an existing directory") }

        let shortName = String(name.prefix(100))
        let temporary = "\(directory)/.\(shortName).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        if fd < 0 {
            let code = errno
            switch code {
            case ENOENT: throw fail("cannot write: directory \(directory) does not exist",
                                    hint: "create the directory first")
            case ENOTDIR: throw fail("cannot write: \(directory) is not a directory")
            case EACCES, EPERM: throw fail("cannot write: permission denied creating a file in \(directory)")
            case EROFS: throw fail("cannot write: \(directory) is on a read-only file system")
            default: throw fail("cannot create a temporary file in \(directory): \(errnoText(code))")
            }
        }
        var failure: ImageIOError?
        var written = 0
        bytes.withUnsafeBufferPointer { buffer in
            while written < buffer.count {
                let n = sysWrite(fd, buffer.baseAddress! + written, buffer.count - written)
                if n > 0 { written += n; continue }
                if n < 0 && errno == EINTR { continue }
                let code = n < 0 ? errno : EIO
                failure = fail("write error after \(written) of \(buffer.count) bytes: \(errnoText(code))",
                               hint: code == ENOSPC ? "free some disk space" : nil)
                break
            }
        }
        if failure == nil && fsync(fd) != 0 && errno != EINVAL && errno != EROFS {
            failure = fail("cannot flush the data to disk: \(errnoText(errno))")
        }
        if close(fd) != 0 && failure == nil {
            failure = fail("cannot close the temporary file: \(errnoText(errno))")
        }
        if failure == nil && rename(temporary, path) != 0 {
            let code = errno
            failure = fail(code == EISDIR ? "cannot write: the path is an existing directory"
                           : "cannot rename the temporary file into place: \(errnoText(code))")
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }
}

// libc write under a name that cannot clash with anything in scope.
@inline(__always)
private func sysWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
