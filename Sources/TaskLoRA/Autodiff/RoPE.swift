import Foundation

/// Rotary position embedding in rotate-half form over the full head dimension d:
/// dim j pairs with j + d/2, angle = position · base^(−2j/d), positions from 0 in each sequence.
public enum RoPE {
    /// cos and sin tables, each (L, d/2), for positions 0..<L (inverse frequencies in float32 like transformers).
    public static func tables<S: Real>(length: Int, headDim d: Int, base: Float, as _: S.Type = S.self)
        -> (cos: [S], sin: [S]) {
        let half = d / 2
        var cosT = [S](repeating: 0, count: length * half)
        var sinT = [S](repeating: 0, count: length * half)
        for j in 0..<half {
            let invFreq = 1 / Foundation.pow(base, Float(2 * j) / Float(d))
            for p in 0..<length {
                let angle = S(Float(p) * invFreq)
                cosT[p * half + j] = S.cos(angle)
                sinT[p * half + j] = S.sin(angle)
            }
        }
        return (cosT, sinT)
    }

    /// Rotates, in place, `heads` heads of size d at the start of each row of x (T, stride);
    /// row t of sequence b has position t − offsets[b]. `inverse` applies the transpose rotation,
    /// which is the backward pass (dx = Rᵀ dy).
    public static func apply<S: Real>(x: UnsafeMutablePointer<S>, stride: Int, heads: Int, headDim d: Int,
                                      batch: TokenBatch, cos: [S], sin: [S], inverse: Bool = false) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.rope, profiled) }
        let half = d / 2
        let sign: S = inverse ? -1 : 1
        cos.withUnsafeBufferPointer { cosT in
            sin.withUnsafeBufferPointer { sinT in
                let cosP = cosT.baseAddress!, sinP = sinT.baseAddress!
                Parallel.forEachChunk(batch.sequenceCount, minChunk: 1) { seqs in
                    for b in seqs {
                        let start = batch.offsets[b]
                        for p in 0..<batch.length(b) {
                            let row = x.advanced(by: (start + p) * stride)
                            let c = cosP.advanced(by: p * half), s = sinP.advanced(by: p * half)
                            for h in 0..<heads {
                                let v = row.advanced(by: h * d)
                                for j in 0..<half {
                                    let x1 = v[j], x2 = v[j + half], sj = sign * s[j]
                                    v[j] = x1 * c[j] - x2 * sj
                                    v[j + half] = x2 * c[j] + x1 * sj
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
