import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The built `tasklora` executable run as a child process, for the tests that kill, interrupt or
/// starve a real training process.
final class CLIProcess {
    /// `tasklora` next to the test bundle (`.build*/release/tasklora`); nil when it was not built.
    static let executable: String? = {
        var candidates: [URL] = []
        if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        candidates.append(Bundle.main.bundleURL)
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(argv0.deletingLastPathComponent())
        for dir in candidates {
            let path = dir.appendingPathComponent("tasklora").path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: path) {
                return path
            }
        }
        return nil
    }()

    /// The executable, or a test failure explaining that it must be built first.
    static func requireExecutable(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let path = executable else {
            XCTFail("the tasklora executable is not next to the test bundle (\(Bundle.main.bundlePath)); "
                    + "`swift test` builds it, `swift build --build-tests` too", file: file, line: line)
            throw XCTSkip("no tasklora executable")
        }
        return path
    }

    let process = Process()
    private let stdoutURL: URL, stderrURL: URL

    /// Starts `tasklora arguments…`; output goes to files read by `stdout` and `stderr`.
    /// `fileSizeLimit` (bytes) runs it under `ulimit -f`, with SIGXFSZ ignored so that a write
    /// past the limit fails with EFBIG instead of killing the process. `directory` is its working
    /// directory (default: the test's). `launcher` (e.g. `mpirun -np 2`) starts the executable.
    init(_ arguments: [String], fileSizeLimit: Int? = nil, directory: String? = nil, launcher: [String] = [],
         environment extra: [String: String] = [:]) throws {
        let exe = try CLIProcess.requireExecutable()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tasklora-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        stdoutURL = dir.appendingPathComponent("stdout")
        stderrURL = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        if let limit = fileSizeLimit {
            // `trap '' XFSZ` makes the shell and the process it execs ignore SIGXFSZ;
            // `ulimit -f` counts 1024-byte blocks.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "trap '' XFSZ; ulimit -f \(max(1, limit / 1024)); exec \"$0\" \"$@\"", exe] + arguments
        } else if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(launcher.dropFirst()) + [exe] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: exe)
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func send(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the process to end (at most `timeout` seconds, then SIGKILL and a test failure).
    @discardableResult
    func wait(timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(2_000) }
        if process.isRunning {
            XCTFail("tasklora \(process.arguments ?? []) still running after \(timeout) s; killed", file: file, line: line)
            send(SIGKILL)
            process.waitUntilExit()
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Whether the process ended by a signal (then `wait()` returns the signal number).
    var endedBySignal: Bool { process.terminationReason == .uncaughtSignal }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Runs `tasklora arguments…` to the end (a death by signal fails the test); returns (exit status, stdout, stderr).
    static func run(_ arguments: [String], fileSizeLimit: Int? = nil, directory: String? = nil, timeout: Double = 60,
                    launcher: [String] = [], environment: [String: String] = [:],
                    file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try CLIProcess(arguments, fileSizeLimit: fileSizeLimit, directory: directory, launcher: launcher,
                                   environment: environment)
        let status = child.wait(timeout: timeout, file: file, line: line)
        // An error must be an exit, never a crash (a trap, or a library's exit handler faulting).
        XCTAssertFalse(child.endedBySignal, "tasklora \(arguments) died of signal \(status): \(child.stderr.suffix(2000))",
                       file: file, line: line)
        return (status, child.stdout, child.stderr)
    }
}
