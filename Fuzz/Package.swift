// swift-tools-version:6.0
// libFuzzer targets for Fillgraph's input parsers, one executable per parser. A separate package
// so the main build never sees the sanitizer flags; build and run with Tools/fuzz.sh, which
// passes -sanitize=fuzzer,address to every Swift module (the parsers included, not only the
// harness) and -fsanitize=fuzzer-no-link,address to the C shims.
import Foundation
import PackageDescription

/// The main package is a path dependency, so its identity is its directory's name, whatever the
/// clone is called ("main", "fillgraph", "Fillgraph"...).
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()
let parsers = Target.Dependency.product(name: "FillgraphParsers", package: mainPackage)

let targets = ["FuzzPickle", "FuzzZip", "FuzzNpy", "FuzzTFIndex", "FuzzModel", "FuzzYAML", "FuzzImage"]

let package = Package(
    name: "FillgraphFuzz",
    products: targets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(path: "..")],
    targets: [
        // What several harnesses share: temp files, checksum repair (CRC-32, CRC-32C, xxh64 fix-ups).
        .target(name: "FuzzSupport", dependencies: [parsers]),
    ] + targets.map {
        .executableTarget(name: $0, dependencies: ["FuzzSupport", parsers])
    },
    swiftLanguageModes: [.v5]
)
