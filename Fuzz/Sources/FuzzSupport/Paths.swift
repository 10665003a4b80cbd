// Where the harnesses find the repository (for YAML `extends` and the model template): the
// directory this package was built from, or FILLGRAPH_ROOT.
import Foundation

public enum Paths {
    public static let repository: String = {
        if let root = ProcessInfo.processInfo.environment["FILLGRAPH_ROOT"] { return root }
        // …/Fuzz/Sources/FuzzSupport/Paths.swift
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()
}

