import CDNNL

/// A frozen linear weight W (out, in) converted once, at load, for a low-precision oneDNN GEMM:
/// bf16, or per-channel int8 (`Int8Quantization`), in oneDNN's packed layout so that no call
/// reorders a weight. `forward` is the frozen layer's y = x · Wᵀ + b at that precision; the
/// activations are converted per call, accumulation and output stay float32.
public final class PackedLinear: @unchecked Sendable {
    public let precision: Precision
    public let outFeatures: Int, inFeatures: Int
    /// The weights in oneDNN's layout (bf16 or s8), opaque.
    private let packed: UnsafeMutableRawPointer
    private let packedDesc: dnnl_memory_desc_t
    private let types: OneDNN.Types
    /// int8 only: (out) per-channel scales s_n and (out) Σ_k q[n, k].
    private let channelScale: [Float], channelSum: [Float]
    /// oneDNN's kernel for this weight, e.g. `brg:avx512_core_bf16` or `brg:avx512_core_vnni`.
    public let implementation: String

    /// Converts W (out, in), row-major float32. `precision` must be `.bf16` or `.int8`.
    public init(weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int, precision: Precision) throws {
        self.precision = precision
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        let packing: (data: UnsafeMutableRawPointer, desc: dnnl_memory_desc_t, implementation: String)
        switch precision {
        case .fp32:
            throw TaskLoRAError("PackedLinear: fp32 weights stay with OpenBLAS and are not packed")
        case .bf16:
            types = .bf16
            channelScale = []
            channelSum = []
            // The reorder rounds float32 to bf16 (nearest even) while packing.
            packing = try OneDNN.pack(weight, sourceType: dnnl_f32, k: inFeatures, n: outFeatures, types: types)
        case .int8:
            types = .int8
            let q = UnsafeMutablePointer<Int8>.allocate(capacity: outFeatures * inFeatures)
            defer { q.deallocate() }
            var scale = [Float](repeating: 0, count: outFeatures), sum = [Float](repeating: 0, count: outFeatures)
            Int8Quantization.quantizeWeights(weight, outFeatures: outFeatures, inFeatures: inFeatures, q: q,
                                             scale: &scale, channelSum: &sum)
            channelScale = scale
            channelSum = sum
            packing = try OneDNN.pack(q, sourceType: dnnl_s8, k: inFeatures, n: outFeatures, types: types)
        }
        packed = packing.data
        packedDesc = packing.desc
        implementation = packing.implementation
    }

    deinit { packed.deallocate() }

    /// y (rows, out) = x (rows, in) · Wᵀ + bias (out). `y` must not alias `x`.
    ///
    /// Large products are split into row blocks across `Parallel`, each run by oneDNN on its
    /// worker's thread alone (see `OneDNN`); small ones run on the calling thread.
    public func forward(x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        let parts = Parallel.cores
        if parts == 1 || rows * inFeatures * outFeatures < BLAS.splitThreshold {
            forwardBlock(x: x, rows: rows, bias: bias, y: y)
            return
        }
        Parallel.forEachChunk(rows, minChunk: max(1, rows / parts)) { block in
            forwardBlock(x: x + block.lowerBound * inFeatures, rows: block.count, bias: bias,
                         y: y + block.lowerBound * outFeatures)
        }
    }

    private func forwardBlock(x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        let k = inFeatures, n = outFeatures
        switch precision {
        case .fp32:
            preconditionFailure("PackedLinear is never fp32")
        case .bf16:
            let source = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * k)
            defer { source.deallocate() }
            BFloat16Rounding.round(x, count: rows * k, into: source)
            OneDNN.matmul(rows: rows, k: k, n: n, types: types, hasBias: bias != nil, packedWeights: packedDesc)
                .execute(source: source, weights: packed, bias: bias, destination: y)
        case .int8:
            let source = UnsafeMutablePointer<UInt8>.allocate(capacity: rows * k)
            let rowScale = UnsafeMutablePointer<Float>.allocate(capacity: 2 * rows)
            defer { source.deallocate(); rowScale.deallocate() }
            let rowZero = rowScale + rows
            Int8Quantization.quantizeActivations(x, rows: rows, cols: k, u: source, scale: rowScale, zero: rowZero)
            OneDNN.matmul(rows: rows, k: k, n: n, types: types, hasBias: false, packedWeights: packedDesc)
                .execute(source: source, weights: packed, bias: nil, destination: y)
            channelScale.withUnsafeBufferPointer { s in
                channelSum.withUnsafeBufferPointer { c in
                    Int8Quantization.dequantize(y, rows: rows, n: n, rowScale: rowScale, rowZero: rowZero,
                                                channelScale: s.baseAddress!, channelSum: c.baseAddress!, bias: bias)
                }
            }
        }
    }
}
