// Inputs that the parsers only take as files (zip archives, weight files, TF checkpoints) are
// written to a per-process directory on tmpfs (/dev/shm when it exists), overwritten for each
// input and removed at exit.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum ScratchFiles {
    /// The per-process directory, created on first use.
    public static let directory: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = "\(base)/fillgraph-fuzz-\(getpid())"
        mkdir(dir, 0o700)
        atexit {
            if let names = try? FileManager.default.contentsOfDirectory(atPath: ScratchFiles.directory) {
                for n in names { unlink("\(ScratchFiles.directory)/\(n)") }
            }
            rmdir(ScratchFiles.directory)
        }
        return dir
    }()

    /// Writes `bytes` to `name` in the scratch directory (replacing it) and returns its path.
    @discardableResult
    public static func write(_ bytes: [UInt8], name: String) -> String {
        let path = "\(directory)/\(name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "cannot create \(path): \(String(cString: strerror(errno)))")
        var done = 0
        bytes.withUnsafeBytes { b in
            while done < b.count {
                let n = Glibc.write(fd, b.baseAddress! + done, b.count - done)
                precondition(n > 0, "cannot write \(path)")
                done += n
            }
        }
        close(fd)
        return path
    }
}
