import CBLAS

/// Every matrix product in tasklora goes through `Real.gemm` (OpenBLAS `cblas_sgemm`/`dgemm`);
/// this namespace adds argument labels with defaults and the process-wide thread setting.
public enum BLAS {
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
        S.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
               b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// The OpenBLAS thread count is process-global; tasklora owns the cores and sets it once.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
