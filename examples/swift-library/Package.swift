// swift-tools-version:6.0
import PackageDescription

// A package of your own that uses Topiary as a library. Outside this repository, replace
// the `path:` line with the one a user writes:
//     .package(url: "https://…/topiary.git", from: "0.1.0"),
// (the package identity is then the URL's last component, "topiary", as named below).
let package = Package(
    name: "PruneYourOwn",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "topiary", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "PruneYourOwn",
            dependencies: [.product(name: "Topiary", package: "topiary")]),
    ],
    swiftLanguageModes: [.v6]
)
