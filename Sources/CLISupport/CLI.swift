// Shared entry point of the executables: exit code 0 on success (and for --help), 2 for any bad
// input — a wrong argument, an unreadable or malformed file, a graph or model that does not
// verify, an image the model cannot take — with the message on stderr. The libraries throw
// only for such inputs; an internal bug is a precondition failure, not an exit code.
import ArgumentParser
import Foundation

public enum CLI {
    public static func run<Command: ParsableCommand>(_ type: Command.Type, arguments: [String]? = nil) -> Never {
        do {
            var command = try type.parseAsRoot(arguments)
            try command.run()
            exit(0)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            let code = type.exitCode(for: error)
            if code == .success {
                print(type.fullMessage(for: error))
                exit(0)
            }
            let isParseError = code == .validationFailure
            var message = isParseError ? type.fullMessage(for: error) : String(describing: error)
            if !message.lowercased().contains("error:") { message = "error: " + message }
            FileHandle.standardError.write(Data(printable(message.hasSuffix("\n") ? message : message + "\n").utf8))
            exit(2)
        }
    }

    public static func note(_ text: String) {
        FileHandle.standardError.write(Data(printable(text + "\n").utf8))
    }

    /// Control characters from file contents or names never reach the terminal raw: an escape
    /// sequence in a hostile name could rewrite what the user sees. Newlines and tabs stay.
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value) }) else { return text }
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars {
            if (u.value < 0x20 && u != "\n" && u != "\t") || (0x7F...0x9F).contains(u.value) {
                out.append(contentsOf: "\\u{\(String(u.value, radix: 16))}".unicodeScalars)
            } else { out.append(u) }
        }
        return String(out)
    }
}
