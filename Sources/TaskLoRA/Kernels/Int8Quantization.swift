/// The int8 formats of the frozen GEMM (`Precision.int8`) and their exact dequantization.
///
/// Weights: per output channel n, symmetric: W[n, k] ≈ s_n · q[n, k], q ∈ [−L, L],
/// s_n = max_k |W[n, k]| / L, so |W − s_n q| ≤ s_n / 2; L = `weightLevels`.
/// Activations: per token (row) m, asymmetric u8 with an integer zero point z_m ∈ [0, 255]:
/// x[m, k] ≈ s_m · (u[m, k] − z_m), the range [min(0, min x), max(0, max x)] spread over 256 levels,
/// so |x − s_m (u − z_m)| ≤ s_m / 2 and 0 is exact. Asymmetric because half the GEMM inputs (the
/// GELU outputs) are almost one-signed: a symmetric s8 grid would waste half its levels on them.
/// Product: Σ_k x·W ≈ s_m s_n (Σ_k u q − z_m Σ_k q[n, k]); the column sums Σ_k q are made at load.
public enum Int8Quantization {
    /// L: 127 on CPUs with VNNI (`vpdpbusd` sums u8 · s8 products in int32). Without VNNI oneDNN's
    /// int8 kernels add pairs of u8 · s8 products in int16 (`vpmaddubsw`), which saturates above
    /// 32,767: 2 · 255 · 127 = 64,770 would, 2 · 255 · 63 = 32,130 does not, so weights get 7 bits
    /// there (measured with ONEDNN_MAX_CPU_ISA=AVX2: lowest cosine to fp32 0.955 with L = 127).
    public static var weightLevels: Int { OneDNN.hasVNNI ? 127 : 63 }

    /// Quantizes W (out, in) row by row: q (out, in), scale (out), channelSum (out) = Σ_k q[n, k].
    public static func quantizeWeights(_ w: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int,
                                       q: UnsafeMutablePointer<Int8>, scale: UnsafeMutablePointer<Float>,
                                       channelSum: UnsafeMutablePointer<Float>) {
        let levels = Float(weightLevels)
        for n in 0..<outFeatures {
            let row = w + n * inFeatures
            var largest: Float = 0
            for k in 0..<inFeatures { largest = max(largest, abs(row[k])) }
            let s: Float = largest > 0 ? largest / levels : 1
            var sum: Int = 0
            for k in 0..<inFeatures {
                let v = Int8(max(-levels, min(levels, (row[k] / s).rounded())))
                q[n * inFeatures + k] = v
                sum += Int(v)
            }
            scale[n] = s
            // Exact in float32: |sum| ≤ 127 · in < 2²⁴ for every in < 132,000.
            channelSum[n] = Float(sum)
        }
    }

    /// Quantizes x (rows, cols) · diag(columnScale) per row: u (rows, cols), scale (rows), zero (rows,
    /// integral values). `columnScale` (cols), when given, is SmoothQuant's 1/s (`Int8Smoothing`):
    /// applied inside both passes, so the smoothed activations are never written out.
    @inline(__always)
    public static func quantizeActivations(_ x: UnsafePointer<Float>, rows: Int, cols: Int,
                                           columnScale: UnsafePointer<Float>? = nil,
                                           u: UnsafeMutablePointer<UInt8>, scale: UnsafeMutablePointer<Float>,
                                           zero: UnsafeMutablePointer<Float>) {
        if let columnScale {
            quantizeActivations(x, rows: rows, cols: cols, u: u, scale: scale, zero: zero) { c in
                UnsafeRawPointer(columnScale + c).loadUnaligned(as: SIMD16<Float>.self)
            } scalar: { columnScale[$0] }
        } else {
            quantizeActivations(x, rows: rows, cols: cols, u: u, scale: scale, zero: zero) { _ in
                SIMD16<Float>(repeating: 1)
            } scalar: { _ in 1 }
        }
    }

    /// The two passes, with the column factor as a closure so that the unscaled case compiles to
    /// the plain loops (the closures are inlined and the multiply by 1 folded away).
    @inline(__always)
    private static func quantizeActivations(_ x: UnsafePointer<Float>, rows: Int, cols: Int,
                                            u: UnsafeMutablePointer<UInt8>, scale: UnsafeMutablePointer<Float>,
                                            zero: UnsafeMutablePointer<Float>,
                                            factor: (Int) -> SIMD16<Float>, scalar: (Int) -> Float) {
        let raw = UnsafeRawPointer(x)
        // Adding 1.5 · 2²³ leaves round-to-nearest-even of a value in [0, 2²²) in the low mantissa bits.
        let magic = SIMD16<Float>(repeating: 12_582_912)
        for m in 0..<rows {
            let row = m * cols
            var lo = SIMD16<Float>(repeating: 0), hi = SIMD16<Float>(repeating: 0)
            var c = 0
            while c + 16 <= cols {
                let v = raw.loadUnaligned(fromByteOffset: 4 * (row + c), as: SIMD16<Float>.self) * factor(c)
                lo.replace(with: v, where: v .< lo)
                hi.replace(with: v, where: v .> hi)
                c += 16
            }
            var low: Float = 0, high: Float = 0
            for i in 0..<16 { low = min(low, lo[i]); high = max(high, hi[i]) }
            for i in c..<cols {
                let v = x[row + i] * scalar(i)
                low = min(low, v); high = max(high, v)
            }
            let s: Float = high > low ? (high - low) / 255 : 1
            let z = (-low / s).rounded()
            scale[m] = s
            zero[m] = z
            let inv = 1 / s
            c = 0
            while c + 16 <= cols {
                var v = raw.loadUnaligned(fromByteOffset: 4 * (row + c), as: SIMD16<Float>.self) * factor(c) * inv + z
                v.replace(with: 0, where: v .< 0)
                v.replace(with: 255, where: v .> 255)
                let bits = unsafeBitCast(v + magic, to: SIMD16<UInt32>.self)
                UnsafeMutableRawPointer(u + row + c).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: bits),
                                                                 as: SIMD16<UInt8>.self)
                c += 16
            }
            while c < cols {
                u[row + c] = UInt8(max(0, min(255, (x[row + c] * scalar(c) * inv + z).rounded(.toNearestOrEven))))
                c += 1
            }
        }
    }

    /// y (rows, n) holds Σ_k u[m, k] q[n, k] (as float32) and becomes
    /// s_m s_n (Σ_k u q − z_m Σ_k q[n, k]) + bias_n.
    ///
    /// float32 holds the int32 sums exactly below 2²⁴ and rounds them by at most 2⁻²⁴ relative above;
    /// that error is under 10⁻⁴ of the activation rounding error bound (s_m / 2 per element).
    @inline(__always)
    public static func dequantize(_ y: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                                  rowScale: UnsafePointer<Float>, rowZero: UnsafePointer<Float>,
                                  channelScale: UnsafePointer<Float>, channelSum: UnsafePointer<Float>,
                                  bias: UnsafePointer<Float>?) {
        let sRaw = UnsafeRawPointer(channelScale), cRaw = UnsafeRawPointer(channelSum)
        for m in 0..<rows {
            let out = y + m * n
            let sm = rowScale[m], zm = rowZero[m]
            var j = 0
            while j + 16 <= n {
                let acc = UnsafeRawPointer(out + j).loadUnaligned(as: SIMD16<Float>.self)
                let sn = sRaw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD16<Float>.self)
                let cn = cRaw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD16<Float>.self)
                var v = (acc - zm * cn) * (sn * sm)
                if let bias { v += UnsafeRawPointer(bias + j).loadUnaligned(as: SIMD16<Float>.self) }
                UnsafeMutableRawPointer(out + j).storeBytes(of: v, as: SIMD16<Float>.self)
                j += 16
            }
            while j < n {
                out[j] = (out[j] - zm * channelSum[j]) * (channelScale[j] * sm) + (bias?[j] ?? 0)
                j += 1
            }
        }
    }
}
