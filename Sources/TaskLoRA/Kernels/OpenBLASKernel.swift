import CBLAS
import Foundation

/// Makes sure OpenBLAS runs its kernel for this CPU rather than its generic fallback.
///
/// OpenBLAS picks a kernel from cpuid when the library is loaded, before `main`, and a release
/// that does not know a CPU model falls back to `Prescott` (SSE3): Debian's 0.3.21 on a
/// virtualised Sapphire Rapids ("Intel(R) Xeon(R) Processor", AVX-512 with bf16 and fp16) ran
/// sgemm at 33 GFLOP/s per core there instead of ~100, and every fp32 training step 3× slower.
/// The choice can only be changed through `OPENBLAS_CORETYPE` before the library loads, so the
/// executables call `reexecIfGeneric` first thing: when OpenBLAS reports a generic kernel on a CPU
/// whose flags name a better one, the process re-executes itself once with `OPENBLAS_CORETYPE`
/// set to the OpenBLAS target those flags support. A user's own `OPENBLAS_CORETYPE` always
/// wins. See docs/performance.md.
public enum OpenBLASKernel {
    /// The kernel OpenBLAS chose, e.g. `Cooperlake`, `Haswell`, `Prescott`.
    public static var current: String { String(cString: openblas_get_corename()) }

    /// The OpenBLAS core type for a CPU with these /proc/cpuinfo `flags`, or nil when none of the
    /// AVX targets applies. AVX-512 gets SkylakeX, whose sgemm kernel Cooperlake also uses (0.3.21
    /// accepts `COOPERLAKE` only after a "Core not found" detour).
    public static func coreType(forFlags flags: Set<String>) -> String? {
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SKYLAKEX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "HASWELL" }
        return nil
    }

    static let generic: Set<String> = ["prescott", "core2", "penryn", "nehalem", "atom", "katmai", "coppermine",
                                       "northwood", "banias", "generic", "unknown"]

    /// Re-executes this process with a better `OPENBLAS_CORETYPE` when OpenBLAS chose a generic
    /// kernel (see the type's comment). Returns normally when nothing is to be done or the
    /// re-execution fails (the process then runs as before, only slower).
    public static func reexecIfGeneric() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment["TASKLORA_OPENBLAS_REEXEC"] == nil,
              generic.contains(current.lowercased()),
              let flags = cpuFlags(), let core = coreType(forFlags: flags) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("TASKLORA_OPENBLAS_REEXEC", "1", 1)   // once, even if the new kernel reports generic too
        let arguments = CommandLine.arguments
        var argv = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        // execv returned: it failed. Carry on with the generic kernel.
        for p in argv { free(p) }
    }

    /// The `flags` of the first processor in /proc/cpuinfo.
    static func cpuFlags() -> Set<String>? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
