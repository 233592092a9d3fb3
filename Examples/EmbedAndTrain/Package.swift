// swift-tools-version:6.0
// The TaskLoRA library used from another package: load a checkpoint, embed with an adapter at a
// Matryoshka dimension, train a small adapter from code, use it. docs/library.md walks through it.
import PackageDescription

let package = Package(
    name: "embed-and-train",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "tasklora", path: "../..")],
    targets: [
        .executableTarget(name: "embed-and-train", dependencies: [.product(name: "TaskLoRA", package: "tasklora")]),
    ],
    swiftLanguageModes: [.v5]
)
