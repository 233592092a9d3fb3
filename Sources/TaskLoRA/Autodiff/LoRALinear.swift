/// The LoRA update of a linear layer: y[:, col ..< col+out] += s · (x Aᵀ) Bᵀ with A (r, in), B (out, r).
/// Done as two thin GEMMs; B·A is never materialized during training.
public enum LoRALinear {
    /// x (T, in) → xa (T, r) saved for backward; y (T, ldy) accumulated at columns [0, out) of `y`.
    public static func forward<S: Real>(x: UnsafePointer<S>, rows: Int, inFeatures: Int, outFeatures: Int, rank: Int,
                                        a: UnsafePointer<S>, b: UnsafePointer<S>, scale: S,
                                        xa: UnsafeMutablePointer<S>, y: UnsafeMutablePointer<S>, ldy: Int) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.lora, profiled) }
        BLAS.gemm(transB: true, m: rows, n: rank, k: inFeatures, a: x, lda: inFeatures, b: a, ldb: inFeatures,
                  c: xa, ldc: rank)
        BLAS.gemm(transB: true, m: rows, n: outFeatures, k: rank, alpha: scale, a: xa, lda: rank,
                  b: b, ldb: rank, beta: 1, c: y, ldc: ldy)
    }

    /// Mirrors `forward`: given dy (T, ldy), accumulates dA (r, in), dB (out, r) and, when given, dx (T, in).
    /// `dxa` (T, r) is scratch.
    public static func backward<S: Real>(dy: UnsafePointer<S>, ldy: Int, x: UnsafePointer<S>, rows: Int,
                                         inFeatures: Int, outFeatures: Int, rank: Int,
                                         a: UnsafePointer<S>, b: UnsafePointer<S>, scale: S, xa: UnsafePointer<S>,
                                         da: UnsafeMutablePointer<S>, db: UnsafeMutablePointer<S>,
                                         dx: UnsafeMutablePointer<S>?, dxa: UnsafeMutablePointer<S>) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.lora, profiled) }
        // dB += s · dyᵀ · xa
        BLAS.gemm(transA: true, m: outFeatures, n: rank, k: rows, alpha: scale, a: dy, lda: ldy,
                  b: xa, ldb: rank, beta: 1, c: db, ldc: rank)
        // dxa = s · dy · B
        BLAS.gemm(m: rows, n: rank, k: outFeatures, alpha: scale, a: dy, lda: ldy, b: b, ldb: rank,
                  c: dxa, ldc: rank)
        // dA += dxaᵀ · x
        BLAS.gemm(transA: true, m: rank, n: inFeatures, k: rows, a: dxa, lda: rank, b: x, ldb: inFeatures,
                  beta: 1, c: da, ldc: inFeatures)
        // dx += dxa · A
        if let dx {
            BLAS.gemm(m: rows, n: inFeatures, k: rank, a: dxa, lda: rank, b: a, ldb: inFeatures,
                      beta: 1, c: dx, ldc: inFeatures)
        }
    }
}

/// Inverted dropout on the LoRA input: y = x ⊙ mask, mask ∈ {0, 1/(1−p)} drawn once per step.
public enum Dropout {
    /// Fills `mask` (n) from `rng` and writes y = x ⊙ mask.
    public static func forward<S: Real>(x: UnsafePointer<S>, count n: Int, p: Double, rng: inout SplitMix64,
                                        mask: UnsafeMutablePointer<S>, y: UnsafeMutablePointer<S>) {
        let keep = S(1 / (1 - p))
        for i in 0..<n {
            let m: S = rng.nextUnit() < p ? 0 : keep
            mask[i] = m
            y[i] = x[i] * m
        }
    }

    /// dx (n) += dy ⊙ mask
    public static func backward<S: Real>(dy: UnsafePointer<S>, mask: UnsafePointer<S>, count n: Int,
                                         dx: UnsafeMutablePointer<S>) {
        for i in 0..<n { dx[i] += dy[i] * mask[i] }
    }
}
