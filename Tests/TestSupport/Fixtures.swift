// Where the tests' files are: the repository, Tests/Fixtures and the shipped graphs, found from
// this source file so that tests run from any working directory.
import Foundation

public enum Fixtures {
    /// The repository root (this file is Tests/TestSupport/Fixtures.swift).
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// Tests/Fixtures.
    public static let directory = repository.appendingPathComponent("Tests/Fixtures")

    /// A path under Tests/Fixtures, e.g. `fixture("oracle/generator.npz")`.
    public static func fixture(_ relative: String) -> String { directory.appendingPathComponent(relative).path }
    /// A shipped graph under Graphs/, e.g. `graph("deepfill_v2.yaml")`.
    public static func graph(_ name: String) -> String { repository.appendingPathComponent("Graphs/\(name)").path }
    /// Any other file of the repository, e.g. `file("Docs/import.md")`.
    public static func file(_ relative: String) -> String { repository.appendingPathComponent(relative).path }
}
