import ArgumentParser
import Foundation
import TaskLoRA

/// Reads an HDF5 file's structure in a child process before this process opens it. libhdf5 1.10
/// can segfault, hang or allocate gigabytes on a corrupt or hostile file (the `checkpoint` fuzzer
/// found all three; docs/reliability.md); a child that dies that way becomes one error line here,
/// and this process never runs libhdf5 on a file the child could not read.
enum HDF5Probe {
    static let subcommand = "probe-hdf5"
    /// Longest a structure read may take (a checkpoint's metadata reads in milliseconds);
    /// `TASKLORA_HDF5_PROBE_TIMEOUT` (seconds) overrides it, e.g. for tests.
    static let timeout: TimeInterval = ProcessInfo.processInfo.environment["TASKLORA_HDF5_PROBE_TIMEOUT"]
        .flatMap(TimeInterval.init).flatMap { $0 > 0 ? $0 : nil } ?? 60
    /// Address-space limit of the child: metadata never needs more; a hostile size field does.
    static let addressSpaceLimit: rlim_t = 4 << 30

    /// Installs the probe for every HDF5 file this process opens (not inside the probe itself).
    static func install(arguments: [String] = CommandLine.arguments) {
        guard arguments.dropFirst().first != subcommand else { return }
        HDF5File.openGuard = { try check($0) }
    }

    static func check(_ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = [subcommand, path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        // No crash report from the Swift runtime: it is noise here, and slow.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        do {
            try process.run()
        } catch {
            return  // cannot spawn (e.g. no /proc): fall back to reading in this process
        }
        // Poll rather than block: a hanging child must not hang this process. Its stderr holds at
        // most a line, far below the pipe's buffer, so it never blocks on writing.
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw TaskLoRAError.file(path, "reading its HDF5 structure did not finish in \(Int(timeout)) s; the file is corrupt or hostile")
            }
            usleep(2_000)
        }
        let stderrText = errors.fileHandleForReading.readDataToEndOfFile()
        if process.terminationReason == .uncaughtSignal {
            let signal = process.terminationStatus
            if signal == SIGINT || signal == SIGTERM || signal == SIGHUP {
                throw TaskLoRAError.file(path, "interrupted while checking the file (signal \(signal))")
            }
            throw TaskLoRAError.file(path, "the HDF5 library crashed (signal \(signal)) reading its structure; the file is corrupt or hostile")
        }
        guard process.terminationStatus == 0 else {
            // The child's one-line error, as the reader in this process would have given it.
            let line = String(decoding: stderrText, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            let message = line.hasPrefix("Error: ") ? String(line.dropFirst("Error: ".count)) : line
            throw TaskLoRAError(message.isEmpty ? "\(path): cannot read it as an HDF5 checkpoint" : message)
        }
    }
}

/// `tasklora probe-hdf5 FILE` (hidden): reads a checkpoint's structure, nothing else, for `HDF5Probe`.
struct ProbeHDF5Command: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: HDF5Probe.subcommand, shouldDisplay: false)

    @Argument var path: String

    func run() throws {
        var limit = rlimit(rlim_cur: HDF5Probe.addressSpaceLimit, rlim_max: HDF5Probe.addressSpaceLimit)
        _ = withUnsafePointer(to: &limit) { setrlimit(Int32(RLIMIT_AS.rawValue), $0) }
        _ = try Checkpoint.read(path: path, loadWeights: false)
    }
}
