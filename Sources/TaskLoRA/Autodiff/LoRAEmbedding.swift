/// The LoRA update of an embedding table as jina-embeddings-v3 stores it: E' = E + s · A · B with
/// A (V, r) and B (r, H); for token id i the row gains s · A[i] · B.
public enum LoRAEmbedding {
    /// ids (T) → xa (T, r) = A[ids] saved for backward; y (T, H) += s · xa · B.
    public static func forward<S: Real>(ids: UnsafePointer<Int32>, rows: Int, hidden: Int, rank: Int,
                                        a: UnsafePointer<S>, b: UnsafePointer<S>, scale: S,
                                        xa: UnsafeMutablePointer<S>, y: UnsafeMutablePointer<S>) {
        for t in 0..<rows { xa.advanced(by: t * rank).update(from: a.advanced(by: Int(ids[t]) * rank), count: rank) }
        BLAS.gemm(m: rows, n: hidden, k: rank, alpha: scale, a: xa, lda: rank, b: b, ldb: hidden,
                  beta: 1, c: y, ldc: hidden)
    }

    /// dB (r, H) += s · xaᵀ · dy; dA[ids[t]] += s · dy[t] · Bᵀ. `dxa` (T, r) is scratch.
    public static func backward<S: Real>(dy: UnsafePointer<S>, ids: UnsafePointer<Int32>, rows: Int, hidden: Int,
                                         rank: Int, b: UnsafePointer<S>, scale: S, xa: UnsafePointer<S>,
                                         da: UnsafeMutablePointer<S>, db: UnsafeMutablePointer<S>,
                                         dxa: UnsafeMutablePointer<S>) {
        BLAS.gemm(transA: true, m: rank, n: hidden, k: rows, alpha: scale, a: xa, lda: rank, b: dy, ldb: hidden,
                  beta: 1, c: db, ldc: hidden)
        BLAS.gemm(transB: true, m: rows, n: rank, k: hidden, alpha: scale, a: dy, lda: hidden, b: b, ldb: hidden,
                  c: dxa, ldc: rank)
        // Scatter-add: repeated ids accumulate.
        for t in 0..<rows {
            VectorMath.add(da.advanced(by: Int(ids[t]) * rank), dxa.advanced(by: t * rank), count: rank)
        }
    }
}
