/// Cosine similarity between two sets of L2-normalized embeddings: S = E1 · E2ᵀ, one GEMM.
/// The rows must already have unit norm (`TruncateNormalize`); this op does not normalize, so its
/// gradient is the plain bilinear one and the normalization's Jacobian stays in `TruncateNormalize`.
public enum CosineSimilarity {
    /// e1 (N, D), e2 (M, D) → s (N, M) with row stride `lds` (≥ M; a larger stride writes S into
    /// the left columns of a wider logits matrix).
    public static func forward<S: Real>(e1: UnsafePointer<S>, e2: UnsafePointer<S>, n: Int, m: Int, d: Int,
                                        s: UnsafeMutablePointer<S>, lds: Int? = nil) {
        BLAS.gemm(transB: true, m: n, n: m, k: d, a: e1, lda: d, b: e2, ldb: d, c: s, ldc: lds ?? m)
    }

    /// dE1 (N, D) += dS · E2 and dE2 (M, D) += dSᵀ · E1, with ds (N, M) of row stride `ldds`.
    /// dE1 and dE2 may be the same buffer (S = X · Xᵀ): the two products run one after the other.
    public static func backward<S: Real>(ds: UnsafePointer<S>, e1: UnsafePointer<S>, e2: UnsafePointer<S>,
                                         n: Int, m: Int, d: Int, ldds: Int? = nil,
                                         dE1: UnsafeMutablePointer<S>?, dE2: UnsafeMutablePointer<S>?) {
        let ld = ldds ?? m
        if let dE1 {
            BLAS.gemm(m: n, n: d, k: m, a: ds, lda: ld, b: e2, ldb: d, beta: 1, c: dE1, ldc: d)
        }
        if let dE2 {
            BLAS.gemm(transA: true, m: m, n: d, k: n, a: ds, lda: ld, b: e1, ldb: d, beta: 1, c: dE2, ldc: d)
        }
    }

    /// Row-wise cosine of paired rows: s (N) = Σ_c e1[i, c] · e2[i, c].
    public static func pairwiseForward<S: Real>(e1: UnsafePointer<S>, e2: UnsafePointer<S>, n: Int, d: Int,
                                                s: UnsafeMutablePointer<S>) {
        for i in 0..<n { s[i] = VectorMath.dot(e1 + i * d, e2 + i * d, count: d) }
    }

    /// dE1[i] += ds[i] · e2[i] and dE2[i] += ds[i] · e1[i] for ds (N).
    public static func pairwiseBackward<S: Real>(ds: UnsafePointer<S>, e1: UnsafePointer<S>, e2: UnsafePointer<S>,
                                                 n: Int, d: Int,
                                                 dE1: UnsafeMutablePointer<S>?, dE2: UnsafeMutablePointer<S>?) {
        for i in 0..<n {
            if let dE1 { VectorMath.axpy(ds[i], e2 + i * d, dE1 + i * d, count: d) }
            if let dE2 { VectorMath.axpy(ds[i], e1 + i * d, dE2 + i * d, count: d) }
        }
    }
}
