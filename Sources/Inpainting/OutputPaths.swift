// An output must never replace an input. Paths are compared as files, not strings: a symlinked
// directory, `./`, `/proc/self/cwd/...` or a hard link all name the same (device, inode).
import Foundation

public enum OutputPaths {
    /// The (device, inode) of an existing file, or nil.
    static func identity(_ path: String) -> (UInt64, UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    static func parent(_ path: String) -> String {
        let p = (path as NSString).deletingLastPathComponent
        return p.isEmpty ? "." : p
    }

    /// Refuses, before any work, an output that is one of the inputs, an existing directory, or
    /// in a directory that does not exist or cannot be written.
    public static func checkWritable(_ output: String, inputs: [String], flag: String = "--output") throws {
        let dir = parent(output)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw InpaintError("\(flag) \(output): directory \(dir) does not exist; create it first")
        }
        guard access(dir, W_OK) == 0 else { throw InpaintError("\(flag) \(output): directory \(dir) is not writable") }
        guard let target = identity(output) else { return }
        if inputs.contains(where: { identity($0).map { $0 == target } ?? false }) {
            throw InpaintError("\(flag) \(output) would overwrite an input file; choose another path")
        }
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDir), isDir.boolValue {
            throw InpaintError("\(flag) \(output) is a directory; give a file name such as \(output)/out.png")
        }
    }

    /// A directory the run will create or fill: an existing directory, or a new name in an
    /// existing, writable parent.
    public static func checkDirectory(_ dir: String, flag: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            guard isDir.boolValue else { throw InpaintError("\(flag) \(dir) is a file, not a directory") }
            guard access(dir, W_OK) == 0 else { throw InpaintError("\(flag) \(dir) is not writable") }
            return
        }
        let up = parent(dir)
        guard FileManager.default.fileExists(atPath: up, isDirectory: &isDir), isDir.boolValue else {
            throw InpaintError("\(flag) \(dir): its parent directory \(up) does not exist; create it first")
        }
        guard access(up, W_OK) == 0 else { throw InpaintError("\(flag) \(dir): directory \(up) is not writable") }
    }
}
