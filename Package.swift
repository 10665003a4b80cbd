// swift-tools-version:6.0
// Fillgraph: a dataflow-graph compiler (graphc) and CPU executor (graphrun) for
// image-inpainting networks such as DeepFill v2. Each target's dependencies are exactly the
// modules it imports, and they flow one way (Docs/architecture.md lists them all):
//   Kernels <- GraphIR (each op names its kernel) <- GraphYAML, GraphPasses, ModelFormat;
//   GraphIR + ModelFormat + Kernels <- Runtime;
//   GraphYAML + GraphPasses + ModelFormat + WeightImport + Runtime <- Compiler <- graphc, Training;
//   Compiler + Training <- graphbench, graphtrain;
//   Runtime + Kernels + ImageIO + NumpyIO + Masks <- Inpainting <- Evaluation <- graphrun;
//   ImageIO <- Plots (loss charts and attention-flow pictures).
// Kernels, ImageIO, NumpyIO, WeightImport (checkpoint readers on NumpyIO), Randomness, Masks and
// Plots know nothing of the IR.
import PackageDescription

let package = Package(
    name: "Fillgraph",
    products: [
        .executable(name: "graphc", targets: ["graphc"]),
        .executable(name: "graphrun", targets: ["graphrun"]),
        .executable(name: "graphbench", targets: ["graphbench"]),
        .executable(name: "graphtrain", targets: ["graphtrain"]),
        // The input parsers, for the libFuzzer targets in Fuzz/ (a separate package): nothing else uses it.
        .library(name: "FillgraphParsers", targets: ["SafeIO", "NumpyIO", "WeightImport", "ModelFormat", "GraphIR", "GraphYAML", "ImageIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // System libraries, found with pkg-config (Debian: libopenblas-dev libpng-dev libyaml-dev).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLibPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CLibYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "SystemZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        // libpng reports errors with longjmp, which Swift cannot survive; this C shim catches them.
        .target(name: "PNGCodec", dependencies: ["CLibPNG"]),
        // The same for libjpeg-turbo, whose fatal errors also longjmp.
        .target(name: "JPEGCodec", dependencies: ["CLibJPEG"]),

        .target(name: "Randomness"),
        // Bounded, non-blocking reads of regular files and a hardened zip reader: every parser's input.
        .target(name: "SafeIO", dependencies: ["SystemZlib"]),
        .target(name: "Masks", dependencies: ["Randomness"]),
        .target(name: "GraphIR", dependencies: ["Kernels", .product(name: "HeapModule", package: "swift-collections")]),
        .target(name: "GraphYAML", dependencies: ["GraphIR", "CLibYAML", "SafeIO"]),
        .target(name: "GraphPasses", dependencies: ["GraphIR", "Kernels"]),
        .target(name: "NumpyIO", dependencies: ["SafeIO", "ZIPFoundation"]),
        .target(name: "ModelFormat", dependencies: ["GraphIR", "SafeIO"]),
        .target(name: "WeightImport", dependencies: ["NumpyIO", "SafeIO"]),
        // Elementwise math built for both AVX2+FMA and the baseline ISA, chosen at load time.
        .target(name: "CKernels"),
        .target(name: "Kernels", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "ImageIO", dependencies: ["PNGCodec", "JPEGCodec", "SafeIO"]),
        .target(name: "Runtime", dependencies: ["GraphIR", "ModelFormat", "Kernels"]),
        .target(name: "Compiler", dependencies: ["GraphIR", "GraphYAML", "GraphPasses", "ModelFormat", "NumpyIO", "WeightImport", "Runtime", "Randomness", "SafeIO"]),
        // Line charts and contextual-attention flow images, drawn with a built-in bitmap font.
        .target(name: "Plots", dependencies: ["ImageIO"]),
        .target(name: "Inpainting", dependencies: ["GraphIR", "ModelFormat", "Runtime", "Kernels", "ImageIO", "NumpyIO", "Masks"]),

        // Step graphs (losses + autodiff) and the gradient step of the DeepFill v2 recipe.
        .target(name: "Training", dependencies: ["GraphIR", "GraphYAML", "GraphPasses", "Compiler", "ModelFormat", "Runtime", "Kernels", "ImageIO",
                                               "SafeIO", "Masks", "Randomness", "NumpyIO"]),
        .target(name: "Evaluation", dependencies: ["Inpainting", "ImageIO", "Masks", "ModelFormat", "Randomness", "Runtime"]),

        .target(name: "CLISupport", dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "graphc", dependencies: [
            "Compiler", "GraphIR", "GraphPasses", "ModelFormat", "CLISupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "graphbench", dependencies: [
            "Compiler", "GraphIR", "ModelFormat", "Runtime", "Kernels", "Training", "CLISupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "graphtrain", dependencies: [
            "Training", "Compiler", "GraphPasses", "Runtime", "ModelFormat", "NumpyIO", "ImageIO", "SafeIO", "Kernels", "CLISupport",
            "Evaluation", "Masks", "Randomness", "Plots",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "graphrun", dependencies: [
            "Inpainting", "Evaluation", "Masks", "GraphIR", "ImageIO", "Runtime", "Kernels", "CLISupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // What the test targets share: fixture paths, the seeded generator, the oracle tolerances.
        .target(name: "TestSupport", dependencies: ["Randomness"], path: "Tests/TestSupport"),
        .testTarget(name: "GraphIRTests", dependencies: ["GraphIR", "GraphYAML", "GraphPasses", "TestSupport"]),
        .testTarget(name: "ModelFormatTests", dependencies: ["ModelFormat", "Compiler", "NumpyIO", "ZIPFoundation", "TestSupport"]),
        .testTarget(name: "KernelTests", dependencies: ["Kernels", "CKernels", "TestSupport"]),
        .testTarget(name: "WeightImportTests", dependencies: ["WeightImport", "Compiler", "NumpyIO", "ZIPFoundation", "TestSupport"]),

        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "TestSupport"]),
        .testTarget(name: "PlotsTests", dependencies: ["Plots", "ImageIO", "TestSupport"]),
        .testTarget(name: "MaskTests", dependencies: ["Masks", "Randomness"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Masks"]),
        .testTarget(name: "InpaintingTests", dependencies: ["Inpainting", "Compiler", "GraphIR", "ImageIO", "Masks", "ModelFormat", "Runtime", "TestSupport"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Kernels", "Compiler", "Inpainting", "NumpyIO", "ImageIO", "TestSupport"]),
        .testTarget(name: "HostileInputTests", dependencies: [
            "SafeIO", "SystemZlib", "NumpyIO", "WeightImport", "ModelFormat", "GraphIR", "GraphYAML", "ImageIO", "Inpainting", "Compiler", "Runtime",
            "TestSupport",
        ]),
        .testTarget(name: "GradientTests", dependencies: ["GraphIR", "GraphPasses", "Kernels", "ModelFormat", "Runtime", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Runtime", "ModelFormat", "NumpyIO", "Kernels", "GraphIR", "GraphPasses", "GraphYAML", "Compiler",
                                                        "ImageIO", "Masks", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["NumpyIO", "ImageIO", "ModelFormat", "graphc", "graphrun", "graphtrain", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
