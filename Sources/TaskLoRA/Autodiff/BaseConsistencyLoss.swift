/// Base consistency: keeps the adapter's embeddings near the frozen base model's on the training
/// batch (`loss.base_consistency: weight`),
///     L = weight · (1/B) Σ_i (1 − cos(e_i, b_i))²
/// with e_i the adapter's pooled embedding of text i and b_i the base's (adapters off, no dropout,
/// a constant: the gradient flows only through the adapter side). Computed on the first `dim`
/// components of the pooled rows; the trainer uses the full embedding, whose prefixes the
/// Matryoshka dims are, so that one term covers them all.
///
/// Gradient: with n_e = |e|, n_b = |b|, c = e·b / (n_e n_b),
///     ∂c/∂e = b / (n_e n_b) − c e / n_e²,   ∂L/∂e_i = −2 weight (1 − c_i) ∂c_i/∂e_i / B.
public enum BaseConsistencyLoss {
    /// pooled (rows, H) and base (rows, H), rows of stride `hiddenSize`, compared on columns
    /// 0..<dim. Returns L; when `gradient` (rows, H) is non-nil adds ∂L/∂pooled to it.
    public static func loss<S: Real>(pooled: UnsafePointer<S>, base: UnsafePointer<S>, rows: Int, hiddenSize: Int,
                                     dim: Int, weight: S, gradient: UnsafeMutablePointer<S>?) -> S {
        precondition(rows > 0 && dim > 0 && dim <= hiddenSize)
        var total: S = 0
        let invRows = 1 / S(rows)
        for i in 0..<rows {
            let e = pooled + i * hiddenSize, b = base + i * hiddenSize
            let ee = VectorMath.dot(e, e, count: dim), bb = VectorMath.dot(b, b, count: dim), eb = VectorMath.dot(e, b, count: dim)
            // A zero row has no direction: it contributes nothing and gets no gradient.
            guard ee > 0, bb > 0 else { continue }
            let ne = ee.squareRoot(), nb = bb.squareRoot()
            let c = eb / (ne * nb)
            let distance = 1 - c
            total += distance * distance
            guard let gradient else { continue }
            // dL/dc for this row, then dc/de = b / (ne nb) − c e / ne².
            let dc = -2 * weight * distance * invRows
            VectorMath.axpy(dc / (ne * nb), b, gradient + i * hiddenSize, count: dim)
            VectorMath.axpy(-dc * c / ee, e, gradient + i * hiddenSize, count: dim)
        }
        return weight * total * invRows
    }
}
