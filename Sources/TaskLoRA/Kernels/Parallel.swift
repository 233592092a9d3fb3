import Foundation

/// Splits element-wise work (layer norm, GELU, softmax rows, RoPE) across the machine's cores.
/// BLAS calls are never made from inside these loops, so OpenBLAS threads and ours never overlap.
public enum Parallel {
    /// Worker threads: the machine's cores, shared among the ranks a launcher started on this
    /// machine (`mpirun` sets OMPI_COMM_WORLD_LOCAL_SIZE, Slurm SLURM_CPUS_PER_TASK), so that N
    /// data-parallel ranks on one machine do not each start a thread per core. TASKLORA_THREADS
    /// overrides it.
    public static let cores = threads(ProcessInfo.processInfo.environment, machine: ProcessInfo.processInfo.activeProcessorCount)

    static func threads(_ environment: [String: String], machine: Int) -> Int {
        let all = max(1, machine)
        if let n = environment["TASKLORA_THREADS"].flatMap(Int.init), n >= 1 { return n }
        if environment["SLURM_PROCID"] != nil, let n = environment["SLURM_CPUS_PER_TASK"].flatMap(Int.init), n >= 1 {
            return min(n, all)
        }
        if let local = (environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? environment["MPI_LOCALNRANKS"]).flatMap(Int.init), local > 1 {
            return max(1, all / local)
        }
        return all
    }

    /// Calls `body(range)` on disjoint chunks covering `0..<count`; runs inline when the work is small.
    @inline(__always)
    public static func forEachChunk(_ count: Int, minChunk: Int = 16, _ body: (Range<Int>) -> Void) {
        let chunks = min(cores, max(1, count / max(minChunk, 1)))
        if chunks <= 1 { body(0..<count); return }
        let per = (count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per, hi = min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }
}
