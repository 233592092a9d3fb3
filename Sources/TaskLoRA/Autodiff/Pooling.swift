/// Sentence pooling over each packed sequence.
public enum Pooling: String, Codable, Sendable, CaseIterable {
    case mean, cls

    /// hidden (T, H) → pooled (B, H).
    public func forward<S: Real>(hidden: UnsafePointer<S>, batch: TokenBatch, hiddenSize h: Int,
                                 pooled: UnsafeMutablePointer<S>) {
        for b in 0..<batch.sequenceCount {
            let out = pooled.advanced(by: b * h)
            let start = batch.offsets[b], len = batch.length(b)
            switch self {
            case .cls:
                out.update(from: hidden.advanced(by: start * h), count: h)
            case .mean:
                out.update(repeating: 0, count: h)
                for t in start..<(start + len) { VectorMath.add(out, hidden.advanced(by: t * h), count: h) }
                VectorMath.scale(out, by: 1 / S(max(len, 1)), count: h)
            }
        }
    }

    /// dhidden (T, H) += the pooled gradient dpooled (B, H) spread back over each sequence's tokens.
    public func backward<S: Real>(dpooled: UnsafePointer<S>, batch: TokenBatch, hiddenSize h: Int,
                                  dhidden: UnsafeMutablePointer<S>) {
        for b in 0..<batch.sequenceCount {
            let g = dpooled.advanced(by: b * h)
            let start = batch.offsets[b], len = batch.length(b)
            switch self {
            case .cls:
                VectorMath.add(dhidden.advanced(by: start * h), g, count: h)
            case .mean:
                let w = 1 / S(max(len, 1))
                for t in start..<(start + len) { VectorMath.axpy(w, g, dhidden.advanced(by: t * h), count: h) }
            }
        }
    }
}

/// Keep the first `dim` components of each row and scale the row to unit L2 norm
/// (truncate first, then normalize, as Matryoshka embeddings require).
public enum TruncateNormalize {
    /// Same guard as torch.nn.functional.normalize.
    static let eps = 1e-12

    /// pooled (B, H) → out (B, dim)
    public static func forward<S: Real>(pooled: UnsafePointer<S>, rows: Int, hiddenSize h: Int, dim: Int,
                                        out: UnsafeMutablePointer<S>) {
        for r in 0..<rows {
            let src = pooled.advanced(by: r * h), dst = out.advanced(by: r * dim)
            let norm = VectorMath.dot(src, src, count: dim).squareRoot()
            let inv = 1 / max(norm, S(eps))
            for i in 0..<dim { dst[i] = src[i] * inv }
        }
    }

    /// dpooled (B, H)[:, :dim] += (dy − y (y · dy)) / ‖x[:dim]‖ with y the forward output.
    public static func backward<S: Real>(dout: UnsafePointer<S>, out: UnsafePointer<S>, pooled: UnsafePointer<S>,
                                         rows: Int, hiddenSize h: Int, dim: Int, dpooled: UnsafeMutablePointer<S>) {
        for r in 0..<rows {
            let src = pooled.advanced(by: r * h), y = out.advanced(by: r * dim), dy = dout.advanced(by: r * dim)
            let norm = VectorMath.dot(src, src, count: dim).squareRoot()
            guard norm > S(eps) else {
                // Below the guard the op is linear with slope 1/eps.
                VectorMath.axpy(1 / S(eps), dy, dpooled.advanced(by: r * h), count: dim)
                continue
            }
            let yDotDy = VectorMath.dot(y, dy, count: dim), inv = 1 / norm
            let g = dpooled.advanced(by: r * h)
            for i in 0..<dim { g[i] += (dy[i] - y[i] * yDotDy) * inv }
        }
    }
}
