/// Exact GELU: y = x · Φ(x) = ½ x (1 + erf(x / √2)), BERT's "gelu".
public enum GELU {
    static let invSqrt2 = 0.70710678118654752440
    static let invSqrt2Pi = 0.39894228040143267794

    /// x (n) → y (n); may be in place.
    public static func forward<S: Real>(x: UnsafePointer<S>, y: UnsafeMutablePointer<S>, count: Int) {
        let k = S(invSqrt2)
        Parallel.forEachChunk(count, minChunk: 4096) { range in
            for i in range {
                let v = x[i]
                y[i] = 0.5 * v * (1 + S.erf(v * k))
            }
        }
    }

    /// dx (n) += dy ⊙ (Φ(x) + x φ(x))
    public static func backward<S: Real>(dy: UnsafePointer<S>, x: UnsafePointer<S>, dx: UnsafeMutablePointer<S>,
                                         count: Int) {
        let k = S(invSqrt2), c = S(invSqrt2Pi)
        Parallel.forEachChunk(count, minChunk: 4096) { range in
            for i in range {
                let v = x[i]
                let cdf = 0.5 * (1 + S.erf(v * k))
                let pdf = c * S.exp(-0.5 * v * v)
                dx[i] += dy[i] * (cdf + v * pdf)
            }
        }
    }
}
