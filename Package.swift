// swift-tools-version:6.0
import PackageDescription

// Release builds target Haswell (AVX2 + FMA), the floor of every machine we run on;
// see ../shared/NOTES-platform.md for why the default SSE2 target is too slow.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-target-cpu", "haswell"])]

let package = Package(
    name: "tasklora",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TaskLoRA", targets: ["TaskLoRA"]),
        .executable(name: "tasklora", targets: ["tasklora"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        // oneDNN for the bf16 and int8 frozen GEMMs. Debian's libdnnl-dev has no pkg-config file;
        // its header and library are on the default paths.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // Open MPI for data-parallel runs (docs/distributed.md); only initialized under a launcher.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .target(
            name: "TaskLoRA",
            dependencies: ["CBLAS", "CHDF5", "CDNNL", "CMPI", .product(name: "Yams", package: "Yams")],
            swiftSettings: fastMath),
        .executableTarget(
            name: "tasklora",
            dependencies: ["TaskLoRA", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fastMath),
        .executableTarget(
            name: "tasklora-bench",
            dependencies: ["TaskLoRA"],
            path: "bench/tasklora-bench",
            swiftSettings: fastMath),
        .testTarget(
            name: "TaskLoRATests",
            dependencies: ["TaskLoRA"],
            exclude: ["../Fixtures"],
            swiftSettings: fastMath),
    ],
    // Swift 5 mode: the kernels pass raw pointers into concurrentPerform, which strict
    // Sendable checking rejects without making the code any safer.
    swiftLanguageModes: [.v5]
)
