import Foundation

/// Runs a checkpoint read in a forked child before this process does it.
///
/// libhdf5 1.10 can segfault, abort, hang or allocate gigabytes on a corrupt or hostile file (the
/// `checkpoint` fuzzer found all four; docs/reliability.md). `Checkpoint.read` therefore first does
/// the same read in a child — every group, attribute and dataset header, and all data libhdf5 has to
/// interpret (chunked, compressed) — under a memory allowance and a time limit. A child that dies,
/// overruns or fails becomes one `TaskLoRAError` here, and this process never gives libhdf5 a file
/// the child could not read.
///
/// A fork (not an exec) keeps this in the library, so every program built on TaskLoRA gets it, not
/// only the CLI. The child runs on the forking thread alone: it calls only the reader, writes its
/// error to a pipe and leaves with `_exit`, never running the parent's exit handlers or flushing
/// the parent's open files.
public enum HDF5Sandbox {
    /// Off only for files this program wrote itself and trusts (`TASKLORA_HDF5_SANDBOX=0` also turns it off).
    nonisolated(unsafe) public static var isEnabled = ProcessInfo.processInfo.environment["TASKLORA_HDF5_SANDBOX"] != "0"

    /// Time for a read without weights (metadata reads in milliseconds); a read with weights gets
    /// one more second per 20 MB. `TASKLORA_HDF5_SANDBOX_TIMEOUT` (seconds) overrides the base, e.g. for tests.
    static var baseTimeout: TimeInterval {
        ProcessInfo.processInfo.environment["TASKLORA_HDF5_SANDBOX_TIMEOUT"]
            .flatMap(TimeInterval.init).flatMap { $0 > 0 ? $0 : nil } ?? 60
    }

    /// Address space the child may add to what it inherits: 1 GiB for metadata
    /// (`TASKLORA_HDF5_SANDBOX_MEMORY_MB` overrides it), plus four times the file when it reads the
    /// weights (their stored size, with room for bf16 → fp32 and compression).
    static func memoryAllowance(fileSize: UInt64, weights: Bool) -> UInt64 {
        let base = ProcessInfo.processInfo.environment["TASKLORA_HDF5_SANDBOX_MEMORY_MB"]
            .flatMap(UInt64.init).map { $0 << 20 } ?? 1 << 30
        return base &+ (weights ? 4 &* fileSize : 0)
    }

    private static let lock = NSLock()
    /// Files already read safely: path, size and modification time → whether weights were read too.
    nonisolated(unsafe) private static var passed: [String: Bool] = [:]
    /// True inside the child, so its own read does not fork again.
    nonisolated(unsafe) private static var isChild = false

    /// Throws the error the child met, or a description of how it died; returns when the child
    /// read `path` without trouble (at once when it already did).
    static func check(_ path: String, weights: Bool, read: () throws -> Void) throws {
        guard isEnabled, !isChild else { return }
        var info = stat()
        // A missing or unreadable file needs no child: the read itself reports it.
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return }
        let key = "\(path)|\(info.st_size)|\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        lock.lock()
        let done = passed[key]
        lock.unlock()
        if let done, done || !weights { return }

        let size = UInt64(max(info.st_size, 0))
        try runChild(path, allowance: memoryAllowance(fileSize: size, weights: weights),
                     timeout: baseTimeout + (weights ? Double(size) / 20e6 : 0), read: read)
        lock.lock()
        passed[key] = weights || (passed[key] ?? false)
        lock.unlock()
    }

    /// Exit status of a child whose read threw; its message is on the pipe.
    private static let readFailed: Int32 = 3

    private static func runChild(_ path: String, allowance: UInt64, timeout: TimeInterval, read: () throws -> Void) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }  // no pipe (descriptor limit): read in this process
        let pid = fork()
        if pid == 0 { child(writingTo: fds[1], closing: fds[0], allowance: allowance, read: read) }
        close(fds[1])
        defer { close(fds[0]) }
        guard pid > 0 else { return }  // cannot fork (process limit): read in this process

        // Poll rather than block: a hanging child must not hang this process.
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { return }  // reaped elsewhere: nothing to report
            if Date() > deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                throw TaskLoRAError.file(path, "reading it did not finish in \(Int(timeout)) s; the file is corrupt or hostile")
            }
            usleep(1_000)
        }
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        let signal = status & 0x7f
        if exited && code == 0 { return }
        if exited && code == readFailed {
            // The child's error, as the read in this process would have thrown it.
            let message = readAll(fds[0])
            throw TaskLoRAError(message.isEmpty ? "\(path): cannot read it as a tasklora checkpoint" : message)
        }
        if !exited && (signal == SIGINT || signal == SIGTERM || signal == SIGHUP) {
            throw TaskLoRAError.file(path, "interrupted while checking the file (signal \(signal))")
        }
        let how = exited ? "exit status \(code)" : "signal \(signal)"
        throw TaskLoRAError.file(path, "the HDF5 library crashed (\(how)) or ran past its memory allowance of \(allowance >> 20) MiB reading it; the file is corrupt or hostile")
    }

    /// The forked child: default crash handling, no output, a memory limit, the read, `_exit`.
    private static func child(writingTo out: Int32, closing other: Int32, allowance: UInt64, read: () throws -> Void) -> Never {
        isChild = true
        close(other)
        // Crash handlers inherited from the parent (the Swift runtime's backtracer, a sanitizer,
        // libFuzzer) would report the parent's state or write crash files: the child just dies.
        for sig in [SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGTRAP, SIGSYS] { signal(sig, nil) }
        clearSanitizerDeathCallback()
        let null = open("/dev/null", O_WRONLY)
        if null >= 0 { dup2(null, 1); dup2(null, 2) }
        // The allowance comes on top of what the parent had mapped (the child shares its pages).
        let limit = currentAddressSpace() &+ allowance
        var rl = rlimit(rlim_cur: rlim_t(limit), rlim_max: rlim_t(limit))
        _ = setrlimit(Int32(RLIMIT_AS.rawValue), &rl)
        do {
            try read()
            _exit(0)
        } catch {
            let bytes = Array("\(error)".utf8.prefix(4096))
            _ = bytes.withUnsafeBytes { write(out, $0.baseAddress, $0.count) }
            _exit(readFailed)
        }
    }

    /// Bytes of address space mapped now (`/proc/self/statm`'s first field, in pages).
    private static func currentAddressSpace() -> UInt64 {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return 0 }
        let pages = buffer.prefix(n).prefix { $0 != UInt8(ascii: " ") }.reduce(UInt64(0)) { $0 &* 10 &+ UInt64($1 &- 48) }
        return pages &* UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Under AddressSanitizer and libFuzzer a sanitizer report ends in a "death callback" that
    /// writes the fuzzer's current input as a crash file; in the child that would be a false find.
    private static func clearSanitizerDeathCallback() {
        typealias SetDeathCallback = @convention(c) (UnsafeRawPointer?) -> Void
        guard let symbol = dlsym(nil, "__sanitizer_set_death_callback") else { return }
        unsafeBitCast(symbol, to: SetDeathCallback.self)(nil)
    }

    private static func readAll(_ fd: Int32) -> String {
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while data.count < 8192 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { data += chunk.prefix(n) } else if n < 0 && errno == EINTR { continue } else { break }
        }
        return String(decoding: data, as: UTF8.self)
    }
}
