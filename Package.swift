// swift-tools-version:6.0
import PackageDescription

// No unsafe flags: SwiftPM refuses them in a package used as a versioned dependency, and
// Topiary is one (CHANGELOG.md). The kernels get the speed -Ounchecked used to give from
// unsafe buffer pointers and wrapping arithmetic where it is provably safe
// (Benchmarks/ab-unchecked.sh measures the difference). Release builds already compile each
// module whole (-wmo is SwiftPM's default there, and not a safe setting to spell out).
let fast: [SwiftSetting] = []

let package = Package(
    name: "Topiary",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "topiary", targets: ["topiary"]),
        .library(name: "Topiary", targets: ["Tensor", "NN", "Data", "Schedules", "Pruning", "Interop", "Experiments"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // `swift package generate-documentation` (the DocC catalogs under Sources/*/*.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // Topiary's own vector kernels, one copy per instruction-set level, chosen at run time.
        .target(name: "CKernels"),
        .target(name: "Tensor", dependencies: ["CBLAS", "CDNNL", "CKernels", .product(name: "Numerics", package: "swift-numerics")], swiftSettings: fast),
        .target(name: "NN", dependencies: ["Tensor", "CKernels", "CDNNL"], swiftSettings: fast),
        .target(name: "Data", dependencies: ["Tensor", "CZlib"], swiftSettings: fast),
        .target(name: "Schedules", swiftSettings: fast),
        .target(name: "Pruning", dependencies: ["Tensor", "NN"], swiftSettings: fast),
        .target(name: "Interop", dependencies: ["Tensor", "NN"], swiftSettings: fast),
        .target(name: "Experiments", dependencies: ["Tensor", "NN", "Data", "Schedules", "Pruning", "Interop", "Yams"], swiftSettings: fast),
        .target(name: "Cluster", dependencies: ["Experiments", "NN", "Data", "Tensor"], swiftSettings: fast),
        .executableTarget(
            name: "topiary",
            dependencies: ["Cluster", "Experiments", "NN", "Data", "Tensor", "Schedules", "Pruning", "Interop",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fast),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "Tensor"]),
        .testTarget(name: "SchedulesTests", dependencies: ["Schedules"]),
        .testTarget(name: "PruningTests", dependencies: ["Pruning", "NN", "Tensor"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "Experiments"]),
        .testTarget(name: "InteropTests", dependencies: ["Interop", "NN", "Tensor"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Pruning", "Schedules", "Data", "NN", "Tensor"]),
    ],
    swiftLanguageModes: [.v6]
)
