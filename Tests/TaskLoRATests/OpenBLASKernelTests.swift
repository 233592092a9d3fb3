import Foundation
import XCTest
@testable import TaskLoRA

/// `OpenBLASKernel`: the core type chosen from CPU flags, and the `tasklora` executable ending up
/// on a non-generic OpenBLAS kernel on this CPU without any environment help.
final class OpenBLASKernelTests: XCTestCase {
    func testCoreTypeFromFlags() {
        let avx512: Set<String> = ["fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"]
        XCTAssertEqual(OpenBLASKernel.coreType(forFlags: avx512), "SKYLAKEX")
        XCTAssertEqual(OpenBLASKernel.coreType(forFlags: ["fma", "avx2", "avx512f"]), "HASWELL", "AVX-512F alone is not SkylakeX")
        XCTAssertEqual(OpenBLASKernel.coreType(forFlags: ["fma", "avx2"]), "HASWELL")
        XCTAssertNil(OpenBLASKernel.coreType(forFlags: ["sse3", "ssse3"]))
    }

    /// The executable, started with neither OPENBLAS_CORETYPE nor the re-exec marker, reports a
    /// non-generic kernel (directly, or after re-executing itself) on any CPU with AVX2 or better.
    func testExecutableRunsANonGenericKernel() throws {
        guard let flags = OpenBLASKernel.cpuFlags(), OpenBLASKernel.coreType(forFlags: flags) != nil else {
            throw XCTSkip("this CPU has no AVX2: OpenBLAS's generic kernel is the right one")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CLIProcess.requireExecutable())
        process.arguments = ["--help"]
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = nil
        environment["TASKLORA_OPENBLAS_REEXEC"] = nil
        environment["OPENBLAS_VERBOSE"] = "2"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        let cores = output.split(separator: "\n").filter { $0.hasPrefix("Core: ") }.map { $0.dropFirst(6).lowercased() }
        let last = try XCTUnwrap(cores.last, "OpenBLAS printed no kernel: \(output.prefix(300))")
        XCTAssertFalse(OpenBLASKernel.generic.contains(String(last)), "tasklora runs OpenBLAS's generic kernel \(last)")
    }
}
