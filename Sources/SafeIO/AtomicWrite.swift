// Writing an output so that it appears whole or not at all: the bytes go to a temporary file in
// the same directory, are flushed to disk, and the file is renamed over the target. A failure
// (missing directory, disk full, permissions) removes the temporary file and names the cause.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum AtomicWrite {
    /// Splits "a/b/c.png" into ("a/b", "c.png"); "c.png" into (".", "c.png").
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        return (directory, String(path[path.index(after: slash)...]))
    }

    static func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes to a temporary file next to `path`, then renames it over `path`.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        func fail(_ detail: String, hint: String? = nil) -> FileAccessError { FileAccessError(path, detail, hint: hint) }
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
        var failure: FileAccessError?
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

@inline(__always)
private func sysWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
