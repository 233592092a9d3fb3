import Foundation
import TaskLoRA

/// The machine's single-precision matrix-multiply peak, the yardstick of a training step's
/// GFLOP/s: C = A·B for square n × n Float matrices (2n³ FLOPs), three ways:
///   - `openblas-1`: `cblas_sgemm` with OpenBLAS on 1 thread;
///   - `openblas-N`: `cblas_sgemm` with OpenBLAS's own N threads (N = the machine's cores);
///   - `tasklora-N`: `BLAS.gemm`, tasklora's scheme: OpenBLAS on 1 thread, row blocks on our pool.
/// Each is timed `repeats` times after one warm-up call; the best and the median are reported.
func sgemmPeak(sizes: [Int], repeats: Int) throws {
    let cores = Parallel.cores
    var results: [[String: Any]] = []
    for n in sizes {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        var rng = SplitMix64(seed: 3)
        for i in 0..<(n * n) {
            a[i] = Float(rng.nextUnit() - 0.5)
            b[i] = Float(rng.nextUnit() - 0.5)
            c[i] = 0
        }
        let variants: [(String, Int, Bool)] = [("openblas-1", 1, false), ("openblas-\(cores)", cores, false),
                                               ("tasklora-\(cores)", 1, true)]
        for (name, threads, split) in variants {
            func once() -> Double {
                let t0 = Profiler.now()
                if split {
                    BLAS.gemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n)
                } else {
                    Float.gemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a, lda: n, b: b, ldb: n,
                               beta: 0, c: c, ldc: n)
                }
                return Profiler.now() - t0
            }
            if split { _ = once() }          // BLAS.gemm pins OpenBLAS to 1 thread on first use
            BLAS.threads = threads
            _ = once()
            let times = (0..<repeats).map { _ in once() }
            let flops = 2 * Double(n) * Double(n) * Double(n)
            results.append(["variant": name, "n": n, "openblas_threads": BLAS.threads, "threads": split ? cores : threads,
                            "best_gflops": flops / times.min()! / 1e9, "median_gflops": flops / median(times) / 1e9,
                            "seconds": times])
        }
    }
    BLAS.threads = 1
    try printJSON(["cores": cores, "results": results, "peak_rss_mib": peakRSSMiB()])
}
