// Every problem with a checkpoint file is an ImportError: the file, where in it (an archive
// entry, a byte offset, a tensor name) and what to do. graphc turns it into exit code 2.
public struct ImportError: Error, CustomStringConvertible {
    public var path: String
    public var detail: String

    public init(_ path: String, _ detail: String) {
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(detail)" }
}
