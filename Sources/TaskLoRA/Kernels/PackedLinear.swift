import CDNNL
import Foundation

/// A frozen linear weight W (out, in) converted once, at load, for a low-precision oneDNN GEMM:
/// bf16, or per-channel int8 (`Int8Quantization`), in oneDNN's packed layout so that no call
/// reorders a weight. `forward` is the frozen layer's y = x · Wᵀ + b at that precision; the
/// activations are converted per call, accumulation and output stay float32.
///
/// At bf16 it also runs the layer's backward, dx += dy · W (training with `precision: bf16`): W is
/// packed a second time, as the (out, in) weight of that product, on the first backward call, so
/// inference never holds the second copy.
///
/// At int8 made with `calibrating: true` it keeps its source weights and records the per-channel
/// maxima of its inputs until `finishCalibration()` re-quantizes W with SmoothQuant factors
/// (`Int8Smoothing`) and frees the source; `Int8Calibration` drives that for a whole model.
/// Calibration is a load-time phase: no other thread may call `forward` while it finishes.
public final class PackedLinear: @unchecked Sendable {
    public let precision: Precision
    public let outFeatures: Int, inFeatures: Int
    /// The weights in oneDNN's layout (bf16 or s8), opaque. Replaced once by `finishCalibration`.
    private var packed: UnsafeMutableRawPointer
    private var packedDesc: dnnl_memory_desc_t
    private let types: OneDNN.Types
    /// int8 only: (out) per-channel scales s_n and (out) Σ_k q[n, k].
    private var channelScale: [Float], channelSum: [Float]
    /// int8 only, after calibration: (in) 1 / s_c, applied to every input row before it is quantized.
    private var inverseSmoothing: [Float] = []
    /// int8 only, while calibrating: the source weights and (in) max |x_c| seen so far.
    private var calibration: (source: OwnedSource, absMax: [Float])?
    private let calibrationLock = NSLock()
    /// Whether `calibration` is set; read by concurrent forwards, written only by init and finish.
    public private(set) var isCalibrating = false
    /// oneDNN's kernel for this weight, e.g. `brg:avx512_core_bf16` or `brg:avx512_core_vnni`.
    public let implementation: String
    /// bf16 only, made at the first `backward`: W packed as the (out, in) weight of dx = dy · W.
    private var backwardPacked: (data: UnsafeMutableRawPointer, desc: dnnl_memory_desc_t)?
    private let backwardLock = NSLock()

    /// Converts W (out, in), row-major float32. `precision` must be `.bf16` or `.int8`;
    /// `calibrating` (int8 only) keeps a copy of W for `finishCalibration`.
    public convenience init(weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int, precision: Precision,
                            calibrating: Bool = false) throws {
        try self.init(source: .float32(weight), outFeatures: outFeatures, inFeatures: inFeatures, precision: precision,
                      calibrating: calibrating)
    }

    /// Converts W (out, in), row-major bf16 bit patterns (a bf16 checkpoint): at bf16 packed as it
    /// is, never widened; at int8 widened one matrix at a time to be quantized.
    public convenience init(bfloat16Weight weight: UnsafePointer<UInt16>, outFeatures: Int, inFeatures: Int,
                            precision: Precision, calibrating: Bool = false) throws {
        try self.init(source: .bfloat16(weight), outFeatures: outFeatures, inFeatures: inFeatures, precision: precision,
                      calibrating: calibrating)
    }

    private enum Source {
        case float32(UnsafePointer<Float>), bfloat16(UnsafePointer<UInt16>)
    }

    /// A copy of the source weights held while calibrating, in the format they came in.
    private enum OwnedSource {
        case float32([Float]), bfloat16([UInt16])

        init(_ source: Source, count: Int) {
            switch source {
            case .float32(let w): self = .float32(Array(UnsafeBufferPointer(start: w, count: count)))
            case .bfloat16(let w): self = .bfloat16(Array(UnsafeBufferPointer(start: w, count: count)))
            }
        }

        /// W (out, in) in float32.
        var float32: [Float] {
            switch self {
            case .float32(let w): return w
            case .bfloat16(let w):
                return [Float](unsafeUninitializedCapacity: w.count) { out, n in
                    w.withUnsafeBufferPointer { BFloat16Tensor.widen($0.baseAddress!, count: w.count, into: out.baseAddress!) }
                    n = w.count
                }
            }
        }
    }

    /// W (out, in) quantized per output channel and packed for oneDNN.
    private static func quantizedInt8(_ weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int) throws
        -> (packing: (data: UnsafeMutableRawPointer, desc: dnnl_memory_desc_t, implementation: String),
            scale: [Float], sum: [Float]) {
        let q = UnsafeMutablePointer<Int8>.allocate(capacity: outFeatures * inFeatures)
        defer { q.deallocate() }
        var scale = [Float](repeating: 0, count: outFeatures), sum = [Float](repeating: 0, count: outFeatures)
        Int8Quantization.quantizeWeights(weight, outFeatures: outFeatures, inFeatures: inFeatures, q: q,
                                         scale: &scale, channelSum: &sum)
        let packing = try OneDNN.pack(q, sourceType: dnnl_s8, k: inFeatures, n: outFeatures, types: .int8)
        return (packing, scale, sum)
    }

    private init(source: Source, outFeatures: Int, inFeatures: Int, precision: Precision, calibrating: Bool) throws {
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
            switch source {
            case .float32(let w):
                // The reorder rounds float32 to bf16 (nearest even) while packing.
                packing = try OneDNN.pack(w, sourceType: dnnl_f32, k: inFeatures, n: outFeatures, types: types)
            case .bfloat16(let w):
                packing = try OneDNN.pack(w, sourceType: dnnl_bf16, k: inFeatures, n: outFeatures, types: types)
            }
        case .int8:
            types = .int8
            let count = outFeatures * inFeatures
            var widened: UnsafeMutablePointer<Float>? = nil
            defer { widened?.deallocate() }
            let weight: UnsafePointer<Float>
            switch source {
            case .float32(let w): weight = w
            case .bfloat16(let w):
                widened = .allocate(capacity: count)
                BFloat16Tensor.widen(w, count: count, into: widened!)
                weight = UnsafePointer(widened!)
            }
            let quantized = try Self.quantizedInt8(weight, outFeatures: outFeatures, inFeatures: inFeatures)
            channelScale = quantized.scale
            channelSum = quantized.sum
            packing = quantized.packing
            if calibrating {
                calibration = (OwnedSource(source, count: count), [Float](repeating: 0, count: inFeatures))
                isCalibrating = true
            }
        }
        packed = packing.data
        packedDesc = packing.desc
        implementation = packing.implementation
    }

    deinit {
        packed.deallocate()
        backwardPacked?.data.deallocate()
    }

    /// y (rows, out) = x (rows, in) · Wᵀ + bias (out). `y` must not alias `x`.
    ///
    /// Large products are split into row blocks across `Parallel`, each run by oneDNN on its
    /// worker's thread alone (see `OneDNN`); small ones run on the calling thread.
    public func forward(x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        inRowBlocks(rows) { block in
            forwardBlock(x: x + block.lowerBound * inFeatures, rows: block.count, bias: bias,
                         y: y + block.lowerBound * outFeatures)
        }
    }

    /// Runs `work` over `0..<rows` whole on the calling thread when the product is small, else in
    /// row blocks across `Parallel`, each block on one worker (oneDNN on a team of one).
    private func inRowBlocks(_ rows: Int, _ work: (Range<Int>) -> Void) {
        guard rows > 0 else { return }
        let parts = Parallel.cores
        if parts == 1 || rows * inFeatures * outFeatures < BLAS.splitThreshold {
            work(0..<rows)
            return
        }
        Parallel.forEachChunk(rows, minChunk: max(1, rows / parts), work)
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
            if isCalibrating { record(x, rows: rows) }
            inverseSmoothing.withUnsafeBufferPointer {
                // Empty before calibration or with `--calibration none`: plain per-token quantization.
                // (An empty array's buffer may still have a base address, hence the explicit test.)
                Int8Quantization.quantizeActivations(x, rows: rows, cols: k,
                                                     columnScale: inverseSmoothing.isEmpty ? nil : $0.baseAddress,
                                                     u: source, scale: rowScale, zero: rowZero)
            }
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

    // MARK: - int8 calibration (SmoothQuant)

    /// Folds x (rows, in)'s per-channel maxima into the calibration record.
    private func record(_ x: UnsafePointer<Float>, rows: Int) {
        var local = [Float](repeating: 0, count: inFeatures)
        Int8Smoothing.accumulateColumnAbsMax(x, rows: rows, cols: inFeatures, into: &local)
        calibrationLock.withLock {
            guard calibration != nil else { return }
            for c in 0..<inFeatures { calibration!.absMax[c] = max(calibration!.absMax[c], local[c]) }
        }
    }

    /// Re-quantizes W · diag(s) with the SmoothQuant factors of the inputs seen since the layer was
    /// made, keeps 1/s for the inputs, and frees the source weights. A layer that saw no input
    /// keeps its plain quantization. Not concurrent with `forward`.
    public func finishCalibration(alpha: Float = Int8Smoothing.alpha) throws {
        guard let (source, absMax) = calibration else { return }
        calibration = nil
        isCalibrating = false
        guard absMax.contains(where: { $0 > 0 }) else { return }
        var w = source.float32
        let s = w.withUnsafeBufferPointer {
            Int8Smoothing.factors(activationAbsMax: absMax, weight: $0.baseAddress!, outFeatures: outFeatures,
                                  inFeatures: inFeatures, alpha: alpha)
        }
        for n in 0..<outFeatures {
            for c in 0..<inFeatures { w[n * inFeatures + c] *= s[c] }
        }
        let quantized = try w.withUnsafeBufferPointer {
            try Self.quantizedInt8($0.baseAddress!, outFeatures: outFeatures, inFeatures: inFeatures)
        }
        packed.deallocate()
        packed = quantized.packing.data
        packedDesc = quantized.packing.desc
        channelScale = quantized.scale
        channelSum = quantized.sum
        inverseSmoothing = s.map { 1 / $0 }
    }

    // MARK: - backward (bf16 training)

    /// dx (rows, in) += dy (rows, out) · W, with dy rounded to bf16 and the products accumulated
    /// in float32 onto dx. The first call packs W for this product from the forward packing (no
    /// float32 copy of W is needed, so a bf16 checkpoint trains without one). bf16 only
    /// (`Linear.backward` sends int8 to OpenBLAS).
    public func backward(dy: UnsafePointer<Float>, rows: Int, dx: UnsafeMutablePointer<Float>) {
        precondition(precision == .bf16, "PackedLinear.backward runs at bf16 only")
        guard rows > 0 else { return }
        let w = backwardWeights()
        inRowBlocks(rows) { block in
            backwardBlock(dy: dy + block.lowerBound * outFeatures, rows: block.count, w: w,
                          dx: dx + block.lowerBound * inFeatures)
        }
    }

    private func backwardWeights() -> (data: UnsafeMutableRawPointer, desc: dnnl_memory_desc_t) {
        backwardLock.lock()
        defer { backwardLock.unlock() }
        if let w = backwardPacked { return w }
        // Unpacked to plain (out, in) bf16 (exact: the values are already bf16), then packed as the
        // (k = out, n = in) weight of dx = dy · W. Same shapes and types as the forward packing,
        // which succeeded at load, so a failure here is a bug.
        let plain = try! OneDNN.unpackBFloat16(packed, desc: packedDesc, k: inFeatures, n: outFeatures)
        defer { plain.deallocate() }
        let p = try! OneDNN.pack(plain, sourceType: dnnl_bf16, k: outFeatures, n: inFeatures, types: types, transposed: true)
        backwardPacked = (p.data, p.desc)
        return (p.data, p.desc)
    }

    private func backwardBlock(dy: UnsafePointer<Float>, rows: Int, w: (data: UnsafeMutableRawPointer, desc: dnnl_memory_desc_t),
                               dx: UnsafeMutablePointer<Float>) {
        let source = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * outFeatures)
        defer { source.deallocate() }
        BFloat16Rounding.round(dy, count: rows * outFeatures, into: source)
        OneDNN.matmul(rows: rows, k: outFeatures, n: inFeatures, types: types, hasBias: false, accumulate: true,
                      packedWeights: w.desc)
            .execute(source: source, weights: w.data, bias: nil, destination: dx)
    }
}
