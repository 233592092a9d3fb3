/// Post-LayerNorm as in BERT: y = γ ⊙ x̂ + β with x̂ = (z − μ) / √(σ² + ε), z = x (+ residual).
/// γ and β are frozen: backward gives only dz.
public enum LayerNorm {
    /// x (T, C) is overwritten with y; `residual` (T, C), when given, is added first.
    /// `xhat` (T, C) and `rstd` (T), when given, keep what backward needs.
    public static func forward<S: Real>(x: UnsafeMutablePointer<S>, residual: UnsafePointer<S>?,
                                        gamma: UnsafePointer<S>, beta: UnsafePointer<S>, rows: Int, cols: Int, eps: S,
                                        xhat: UnsafeMutablePointer<S>? = nil, rstd: UnsafeMutablePointer<S>? = nil) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.layerNorm, profiled) }
        Parallel.forEachChunk(rows, minChunk: 8) { range in
            for r in range {
                let row = x.advanced(by: r * cols)
                if let residual { VectorMath.add(row, residual.advanced(by: r * cols), count: cols) }
                let mu = VectorMath.sum(row, count: cols) / S(cols)
                let variance = VectorMath.sumOfSquaredDeviations(row, mean: mu, count: cols) / S(cols)
                let inv = 1 / (variance + eps).squareRoot()
                rstd?[r] = inv
                let saved = xhat?.advanced(by: r * cols)
                for c in 0..<cols {
                    let n = (row[c] - mu) * inv
                    saved?[c] = n
                    row[c] = n * gamma[c] + beta[c]
                }
            }
        }
    }

    /// dz (T, C) += rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)) with g = dy ⊙ γ.
    public static func backward<S: Real>(dy: UnsafePointer<S>, xhat: UnsafePointer<S>, rstd: UnsafePointer<S>,
                                         gamma: UnsafePointer<S>, rows: Int, cols: Int,
                                         dz: UnsafeMutablePointer<S>) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.layerNorm, profiled) }
        Parallel.forEachChunk(rows, minChunk: 8) { range in
            for r in range {
                let g = dy.advanced(by: r * cols), n = xhat.advanced(by: r * cols), out = dz.advanced(by: r * cols)
                var sumG: S = 0, sumGN: S = 0
                for c in 0..<cols {
                    let gc = g[c] * gamma[c]
                    sumG += gc
                    sumGN += gc * n[c]
                }
                let meanG = sumG / S(cols), meanGN = sumGN / S(cols), inv = rstd[r]
                for c in 0..<cols { out[c] += inv * (g[c] * gamma[c] - meanG - n[c] * meanGN) }
            }
        }
    }

    /// Float convenience over `Tensor` parameters (inference).
    public static func forward(x: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                               gamma: Tensor, beta: Tensor, rows: Int, cols: Int, eps: Float) {
        forward(x: x, residual: residual, gamma: UnsafePointer(gamma.data), beta: UnsafePointer(beta.data),
                rows: rows, cols: cols, eps: eps)
    }
}
