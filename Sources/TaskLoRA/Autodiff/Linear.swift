/// Frozen linear layer over packed tokens: y = x · Wᵀ + b with W stored (out, in) as in PyTorch.
/// Its backward computes only the input gradient: base weights never get a gradient.
public enum Linear {
    /// x (T, in), weight (out, in), bias (out) → y (T, out). `y` must not alias `x`.
    public static func forward<S: Real>(x: UnsafePointer<S>, rows: Int, inFeatures: Int, outFeatures: Int,
                                        weight: UnsafePointer<S>, bias: UnsafePointer<S>?,
                                        y: UnsafeMutablePointer<S>) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.linear, profiled) }
        if let bias {
            // Seed every row with the bias and let GEMM accumulate onto it (beta = 1).
            for r in 0..<rows { y.advanced(by: r * outFeatures).update(from: bias, count: outFeatures) }
        }
        BLAS.gemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: x, lda: inFeatures, b: weight, ldb: inFeatures,
                  beta: bias == nil ? 0 : 1, c: y, ldc: outFeatures)
    }

    /// The encoder's frozen projection at its weights' precision: x (T, in), weight (out, in),
    /// bias (out) → y (T, out), through OpenBLAS over `weight` when `packed` is nil (fp32), else
    /// through oneDNN over `packed` (bf16 or int8, see `Precision`). One of the two is non-nil.
    public static func forward(x: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int,
                               weight: UnsafePointer<Float>?, packed: PackedLinear?, bias: UnsafePointer<Float>?,
                               y: UnsafeMutablePointer<Float>) {
        guard let packed else {
            guard let weight else { preconditionFailure("Linear.forward: neither float32 nor packed weights") }
            forward(x: x, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, weight: weight, bias: bias, y: y)
            return
        }
        let profiled = Profiler.begin()
        defer { Profiler.end(.linear, profiled) }
        packed.forward(x: x, rows: rows, bias: bias, y: y)
    }

    /// dx (T, in) += dy (T, out) · W
    public static func backward<S: Real>(dy: UnsafePointer<S>, rows: Int, inFeatures: Int, outFeatures: Int,
                                         weight: UnsafePointer<S>, dx: UnsafeMutablePointer<S>) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.linear, profiled) }
        BLAS.gemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures,
                  b: weight, ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
    }

    /// The frozen projection's backward at its weights' precision: dx (T, in) += dy (T, out) · W,
    /// through oneDNN in bf16 when the weights are bf16 (`PackedLinear`), else through OpenBLAS in
    /// float32 (fp32; and int8, which has no low-precision backward: a taped int8 forward gets the
    /// float32 input gradient). `weight` is nil only when the weights live packed alone (a bf16
    /// checkpoint at bf16), and then the backward is bf16's.
    public static func backward(dy: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int,
                                weight: UnsafePointer<Float>?, packed: PackedLinear?, dx: UnsafeMutablePointer<Float>) {
        guard let packed, packed.precision == .bf16 else {
            guard let weight else { preconditionFailure("Linear.backward: int8 weights held without a float32 copy") }
            backward(dy: dy, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, weight: weight, dx: dx)
            return
        }
        let profiled = Profiler.begin()
        defer { Profiler.end(.linear, profiled) }
        packed.backward(dy: dy, rows: rows, dx: dx)
    }

    /// Float convenience over `Tensor` weights.
    public static func forward(x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
                               weight: Tensor, bias: Tensor?, y: UnsafeMutablePointer<Float>) {
        forward(x: x, rows: rows, inFeatures: inFeatures, outFeatures: weight.shape[0],
                weight: UnsafePointer(weight.data), bias: bias.map { UnsafePointer($0.data) }, y: y)
    }
}
