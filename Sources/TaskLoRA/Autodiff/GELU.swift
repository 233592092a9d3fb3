/// Exact GELU: y = x · Φ(x) = ½ x (1 + erf(x / √2)), BERT's "gelu".
/// Float runs a 16-lane erf/exp (FastMath); Double (the gradient checks) uses libm.
public enum GELU {
    static let invSqrt2 = 0.70710678118654752440
    static let invSqrt2Pi = 0.39894228040143267794

    /// x (n) → y (n); may be in place.
    public static func forward<S: Real>(x: UnsafePointer<S>, y: UnsafeMutablePointer<S>, count: Int) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.gelu, profiled) }
        if S.self == Float.self {
            forwardFloat(x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                         y: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), count: count)
            return
        }
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
        let profiled = Profiler.begin()
        defer { Profiler.end(.gelu, profiled) }
        if S.self == Float.self {
            backwardFloat(dy: UnsafeRawPointer(dy).assumingMemoryBound(to: Float.self),
                          x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                          dx: UnsafeMutableRawPointer(dx).assumingMemoryBound(to: Float.self), count: count)
            return
        }
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

    typealias V = FastMath.V

    static func forwardFloat(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count / 16, minChunk: 256) { range in
            for b in range {
                let v = UnsafeRawPointer(x + 16 * b).loadUnaligned(as: V.self)
                let out = 0.5 * v * (1 + FastMath.erf(v * Float(invSqrt2)))
                UnsafeMutableRawPointer(y + 16 * b).storeBytes(of: out, as: V.self)
            }
        }
        for i in (count / 16 * 16)..<count { y[i] = 0.5 * x[i] * (1 + Float.erf(x[i] * Float(invSqrt2))) }
    }

    static func backwardFloat(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count / 16, minChunk: 256) { range in
            for b in range {
                let v = UnsafeRawPointer(x + 16 * b).loadUnaligned(as: V.self)
                let g = UnsafeRawPointer(dy + 16 * b).loadUnaligned(as: V.self)
                let cdf = 0.5 * (1 + FastMath.erf(v * Float(invSqrt2)))
                let pdf = Float(invSqrt2Pi) * FastMath.exp(-0.5 * v * v)
                let old = UnsafeRawPointer(dx + 16 * b).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(dx + 16 * b).storeBytes(of: old + g * (cdf + v * pdf), as: V.self)
            }
        }
        for i in (count / 16 * 16)..<count {
            let v = x[i]
            let cdf = 0.5 * (1 + Float.erf(v * Float(invSqrt2)))
            dx[i] += dy[i] * (cdf + v * Float(invSqrt2Pi) * Float.exp(-0.5 * v * v))
        }
    }
}
