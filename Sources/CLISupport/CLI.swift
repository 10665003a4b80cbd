// Shared entry point of the executables: exit code 0 on success (and for --help), 2 for any bad
// input — a wrong argument, an unreadable or malformed file, a graph or model that does not
// verify, an image the model cannot take — with the message on stderr. The libraries throw
// only for such inputs; an internal bug is a precondition failure, not an exit code.
import ArgumentParser
import Foundation

public enum CLI {
    public static func run<Command: ParsableCommand>(_ type: Command.Type, arguments: [String]? = nil) -> Never {
        var parsed: ParsableCommand?
        do {
            var command = try type.parseAsRoot(arguments)
            parsed = command
            try command.run()
            exit(0)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch let error as ValidationError where parsed != nil {
            // A check between options made once parsing is done: the subcommand's help applies.
            let root = type.configuration.commandName ?? "\(type)"
            let sub = parsed.map { Swift.type(of: $0) }.flatMap { $0 == type ? nil : $0._commandName }
            let help = [root, sub].compactMap { $0 }.joined(separator: " ")
            FileHandle.standardError.write(Data(printable("Error: \(error.message)\n  See '\(help) --help' for more information.\n").utf8))
            exit(2)
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

    /// Parses a size written as image tools write it, width first: "600x400" is 600 wide and
    /// 400 high. Returns (height, width), each in 1...limit.
    public static func parseSize(_ text: String, limit: Int = 1 << 16) -> (height: Int, width: Int)? {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), (1...limit).contains(h), (1...limit).contains(w) else { return nil }
        return (h, w)
    }

    /// A duration as a clock reads it: m:ss, or h:mm:ss from an hour.
    public static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
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
