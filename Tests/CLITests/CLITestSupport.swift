import Foundation
import ImageIO
import XCTest

/// Runs the built graphc / graphrun executables, as a user would.
struct Command {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Tool {
    /// The directory holding the built products (next to the .xctest bundle).
    static let products: URL = {
        var url = Bundle(for: CLIBase.self).bundleURL
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("graphc").path) && url.path != "/" {
            url = url.deletingLastPathComponent()
        }
        return url
    }()

    /// Runs a tool to completion; one still running after `timeout` seconds is killed and the
    /// call fails (a hang is a bug, not a slow test).
    static func run(_ tool: String, _ arguments: [String], in directory: URL? = nil, timeout: Double = 600,
                    environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> Command {
        let process = Process()
        process.executableURL = products.appendingPathComponent(tool)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { process.currentDirectoryURL = directory }
        let tmp = FileManager.default.temporaryDirectory
        let out = tmp.appendingPathComponent("fillgraph-out-\(UUID().uuidString)"), err = tmp.appendingPathComponent("fillgraph-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            XCTFail("\(tool) \(arguments.joined(separator: " ")) still ran after \(timeout) s", file: file, line: line)
        }
        process.waitUntilExit()
        return Command(status: process.terminationStatus,
                       stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
                       stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }
}

class CLIBase: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fillgraph-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Asserts exit code 2 and that stderr contains every fragment.
    @discardableResult
    func assertBadInput(_ tool: String, _ args: [String], _ fragments: [String], timeout: Double = 600,
                        file: StaticString = #filePath, line: UInt = #line) throws -> Command {
        let r = try Tool.run(tool, args, timeout: timeout, file: file, line: line)
        XCTAssertEqual(r.status, 2, "exit status; stderr:\n\(r.stderr)", file: file, line: line)
        for f in fragments { XCTAssertTrue(r.stderr.contains(f), "stderr lacks '\(f)':\n\(r.stderr)", file: file, line: line) }
        XCTAssertFalse(r.stderr.contains("Fatal error"), "crashed:\n\(r.stderr)", file: file, line: line)
        return r
    }

    func writePNG(_ name: String, width: Int, height: Int, channels: Int, bitDepth: Int = 8,
                  _ sample: (Int, Int, Int) -> Int) throws -> String {
        var samples: [UInt16] = []
        for y in 0..<height { for x in 0..<width { for c in 0..<channels { samples.append(UInt16(sample(x, y, c))) } } }
        let p = path(name)
        try PNG.write(Image(width: width, height: height, channels: channels, bitDepth: bitDepth, samples: samples), to: p)
        return p
    }
}
