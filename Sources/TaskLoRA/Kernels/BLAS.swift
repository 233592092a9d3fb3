import CBLAS

/// Every matrix product in tasklora goes through `BLAS.gemm` (OpenBLAS `cblas_sgemm`/`dgemm`).
///
/// Threads: OpenBLAS runs single-threaded and large products are split into row (or column) blocks
/// that our own threads (`Parallel`) hand to it. One pool owns the cores, so OpenBLAS's idle
/// workers never spin (`sched_yield`) while our element-wise loops run — measured as ~18 % of a
/// training step when both pools were active.
public enum BLAS {
    /// Products smaller than this many multiply-adds run on the calling thread.
    public static let splitThreshold = 1 << 18

    private static let singleThreaded: Void = { openblas_set_num_threads(1) }()

    /// C (m, n) = alpha · op(A) · op(B) + beta · C, row-major.
    /// `transA`: A is stored (k, m) and used transposed; otherwise stored (m, k). Same for B with (n, k) / (k, n).
    @inline(__always)
    public static func gemm<S: Real>(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: S = 1, a: UnsafePointer<S>, lda: Int,
        b: UnsafePointer<S>, ldb: Int,
        beta: S = 0, c: UnsafeMutablePointer<S>, ldc: Int
    ) {
        _ = singleThreaded
        let parts = Parallel.cores
        if parts == 1 || m * n * k < splitThreshold {
            S.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                   b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if m >= n || m >= 64 * parts {
            // Row blocks of C: rows r of op(A).
            Parallel.forEachChunk(m, minChunk: max(1, m / parts)) { rows in
                let aBlock = transA ? a + rows.lowerBound : a + rows.lowerBound * lda
                S.gemm(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: alpha, a: aBlock, lda: lda,
                       b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
            }
        } else {
            // Column blocks of C: columns j of op(B).
            Parallel.forEachChunk(n, minChunk: max(1, n / parts)) { cols in
                let bBlock = transB ? b + cols.lowerBound * ldb : b + cols.lowerBound
                S.gemm(transA: transA, transB: transB, m: m, n: cols.count, k: k, alpha: alpha, a: a, lda: lda,
                       b: bBlock, ldb: ldb, beta: beta, c: c + cols.lowerBound, ldc: ldc)
            }
        }
    }

    /// OpenBLAS's own thread count (1 under tasklora's scheme; exposed for benchmarks).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
