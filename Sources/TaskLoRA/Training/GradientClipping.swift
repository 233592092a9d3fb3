import Foundation

/// Global-norm gradient clipping over the flat gradient buffer, as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// L2 norm of `count` floats, accumulated in Double so a million small squares lose nothing.
    /// Infinite or NaN when any element is.
    public static func norm(_ values: UnsafePointer<Float>, count: Int) -> Double {
        let chunks = max(1, min(Parallel.cores, count / (1 << 16)))
        let per = (count + chunks - 1) / max(chunks, 1)
        var partial = [Double](repeating: 0, count: chunks)
        partial.withUnsafeMutableBufferPointer { sums in
            let sums = sums.baseAddress!
            Parallel.forEachChunk(chunks, minChunk: 1) { range in
                for c in range {
                    let lo = c * per, hi = min(count, lo + per)
                    // Four accumulators break the add dependency chain.
                    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                    var i = lo
                    while i + 4 <= hi {
                        let a = Double(values[i]), b = Double(values[i + 1])
                        let d = Double(values[i + 2]), e = Double(values[i + 3])
                        s0 += a * a; s1 += b * b; s2 += d * d; s3 += e * e
                        i += 4
                    }
                    while i < hi { let a = Double(values[i]); s0 += a * a; i += 1 }
                    sums[c] = (s0 + s1) + (s2 + s3)
                }
            }
        }
        return partial.reduce(0, +).squareRoot()
    }

    /// Scales the gradients in place so their global norm is at most `maxNorm` and returns the
    /// norm before clipping. Like torch, the scale is `maxNorm / (norm + 1e-6)`, applied only when
    /// below 1. `maxNorm` 0 turns clipping off (the norm is still returned, for logging). A
    /// non-finite norm leaves the gradients untouched: the caller should skip the step.
    @discardableResult
    public static func clip(_ gradients: UnsafeMutablePointer<Float>, count: Int, maxNorm: Double) -> Double {
        let total = norm(gradients, count: count)
        guard maxNorm > 0, total.isFinite else { return total }
        let coefficient = maxNorm / (total + 1e-6)
        if coefficient < 1 { scale(gradients, count: count, by: Float(coefficient)) }
        return total
    }

    /// True when every element is finite (no NaN, no ±infinity).
    public static func allFinite(_ values: UnsafePointer<Float>, count: Int) -> Bool {
        // A squared finite float never overflows a Double, so the norm is finite exactly when
        // every element is.
        norm(values, count: count).isFinite
    }

    static func scale(_ values: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        Parallel.forEachChunk(count, minChunk: 1 << 16) { range in
            var i = range.lowerBound
            let f = SIMD16<Float>(repeating: factor)
            while i + 16 <= range.upperBound {
                let p = UnsafeMutableRawPointer(values + i)
                p.storeBytes(of: p.loadUnaligned(as: SIMD16<Float>.self) * f, as: SIMD16<Float>.self)
                i += 16
            }
            while i < range.upperBound { values[i] *= factor; i += 1 }
        }
    }
}
