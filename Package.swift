// swift-tools-version:6.0
import PackageDescription

// -Ounchecked drops overflow and bounds checks in the numeric kernels; allowed here
// because this is the root package (DESIGN.md).
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

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
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .target(name: "Tensor", dependencies: ["CBLAS", .product(name: "Numerics", package: "swift-numerics")], swiftSettings: fast),
        .target(name: "NN", dependencies: ["Tensor", "CDNNL"], swiftSettings: fast),
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
