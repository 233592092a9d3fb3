/// Vectorized exp and erf for Float, 16 lanes at a time. Scalar libm `expf`/`erff` are not
/// vectorized and cost ~5 ns an element (NOTES-platform.md); these run at arithmetic speed using
/// only operations this toolchain's SIMD library compiles well (masked replace, the magic-number
/// rounding trick, bit casts). Relative error of exp ≈ 2e-7, absolute error of erf ≤ 2e-7.
public enum FastMath {
    public typealias V = SIMD16<Float>

    @inline(__always)
    public static func exp(_ x: V) -> V {
        var x = x
        x.replace(with: 88.3, where: x .> 88.3)
        x.replace(with: -87.3, where: x .< -87.3)
        let magic: Float = 12_582_912  // 1.5 · 2^23: adding it rounds to an integer in the low mantissa bits
        let shifted = x * 1.442_695_04 + V(repeating: magic)
        let n = shifted - V(repeating: magic)
        let r = x - n * 0.693_359_375 - n * -2.121_944_4e-4
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let y = p * r * r + r + 1
        // 2^n from the integer sitting in the shifted value's mantissa.
        let bits = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- Int32(bitPattern: magic.bitPattern)
        let scale = unsafeBitCast((bits &+ 127) &<< 23, to: V.self)
        return y * scale
    }

    /// Abramowitz & Stegun 7.1.26.
    @inline(__always)
    public static func erf(_ x: V) -> V {
        var a = x
        a.replace(with: -x, where: x .< 0)
        let t = 1 / (1 + 0.327_591_1 * a)
        var p = V(repeating: 1.061_405_429)
        p = p * t - 1.453_152_027
        p = p * t + 1.421_413_741
        p = p * t - 0.284_496_736
        p = p * t + 0.254_829_592
        var y = 1 - p * t * exp(-a * a)
        y.replace(with: -y, where: x .< 0)
        return y
    }

    /// y = exp(x) over a buffer (may be in place).
    @inline(__always)
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: exp(v), as: V.self)
            i += 16
        }
        if i < n {
            var v = V(repeating: 0)
            for j in 0..<(n - i) { v[j] = x[i + j] }
            let e = exp(v)
            for j in 0..<(n - i) { y[i + j] = e[j] }
        }
    }
}
