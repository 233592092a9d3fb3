import CBLAS

/// Every matrix product in tasklora goes through these wrappers over OpenBLAS `cblas_sgemm`.
public enum BLAS {
    /// C (m, n) = alpha · op(A) · op(B) + beta · C, row-major.
    /// `transA`: A is stored (k, m) and used transposed; otherwise stored (m, k). Same for B with (n, k) / (k, n).
    @inline(__always)
    public static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The OpenBLAS thread count is process-global; tasklora owns the cores and sets it once.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
