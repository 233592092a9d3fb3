/// Reductions and element-wise helpers with SIMD accumulators (plain float loops are never
/// auto-vectorized, see NOTES-platform.md). Generic so the Double gradient checks run the same code.
public enum VectorMath {
    @inline(__always)
    public static func sum<S: Real>(_ x: UnsafePointer<S>, count n: Int) -> S {
        var acc = SIMD16<S>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<S>.self)
            i += 16
        }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    @inline(__always)
    public static func dot<S: Real>(_ x: UnsafePointer<S>, _ y: UnsafePointer<S>, count n: Int) -> S {
        var acc = SIMD16<S>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<S>.self)
            let b = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<S>.self)
            acc += a * b
            i += 16
        }
        var s = acc.sum()
        while i < n { s += x[i] * y[i]; i += 1 }
        return s
    }

    @inline(__always)
    public static func sumOfSquaredDeviations<S: Real>(_ x: UnsafePointer<S>, mean: S, count n: Int) -> S {
        var acc = SIMD16<S>(repeating: 0)
        let m = SIMD16<S>(repeating: mean)
        var i = 0
        while i + 16 <= n {
            let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<S>.self) - m
            acc += d * d
            i += 16
        }
        var s = acc.sum()
        while i < n { let d = x[i] - mean; s += d * d; i += 1 }
        return s
    }

    /// x += y
    @inline(__always)
    public static func add<S: Real>(_ x: UnsafeMutablePointer<S>, _ y: UnsafePointer<S>, count n: Int) {
        for i in 0..<n { x[i] += y[i] }
    }

    /// x += a · y
    @inline(__always)
    public static func axpy<S: Real>(_ a: S, _ y: UnsafePointer<S>, _ x: UnsafeMutablePointer<S>, count n: Int) {
        for i in 0..<n { x[i] += a * y[i] }
    }

    /// x *= a
    @inline(__always)
    public static func scale<S: Real>(_ x: UnsafeMutablePointer<S>, by a: S, count n: Int) {
        for i in 0..<n { x[i] *= a }
    }
}
