import Foundation

/// SmoothQuant's migration of activation outliers into the weights (Xiao et al., 2023), for the int8
/// frozen GEMM: y = x · Wᵀ = (x · diag(1/s)) · (W · diag(s))ᵀ for any per-input-channel s > 0.
/// Transformer activations carry a few channels far larger than the rest (LayerNorm outputs in
/// BERT-family models); with one scale per token those channels set the grid and every other
/// channel is rounded coarsely. Dividing channel c by s_c = max|x_c|^α / max_n|W[n, c]|^(1−α)
/// evens the activation ranges and moves the difficulty into the weights, which are quantized per
/// output channel and tolerate it. α = 0.5 (the paper's default, and the best of 0.3 / 0.5 / 0.7
/// measured on all-MiniLM-L6-v2, docs/precision.md).
///
/// max|x_c| comes from a calibration pass (`Int8Calibration`): the model run once, unsmoothed, on a
/// few texts, each `PackedLinear` recording its input's per-channel maxima.
public enum Int8Smoothing {
    public static let alpha: Float = 0.5

    /// (in) s_c = max|x_c|^α / max_n|W[n, c]|^(1−α) for W (out, in); 1 for a channel that never
    /// fired or whose weights are all zero (nothing to balance).
    public static func factors(activationAbsMax: [Float], weight: UnsafePointer<Float>, outFeatures: Int,
                               inFeatures: Int, alpha: Float = alpha) -> [Float] {
        precondition(activationAbsMax.count == inFeatures, "Int8Smoothing: one maximum per input channel")
        var weightAbsMax = [Float](repeating: 0, count: inFeatures)
        for n in 0..<outFeatures {
            let row = weight + n * inFeatures
            for c in 0..<inFeatures { weightAbsMax[c] = max(weightAbsMax[c], abs(row[c])) }
        }
        return (0..<inFeatures).map { c in
            let x = activationAbsMax[c], w = weightAbsMax[c]
            guard x > 0, w > 0 else { return 1 }
            let s = Float(Foundation.pow(Double(x), Double(alpha)) / Foundation.pow(Double(w), Double(1 - alpha)))
            return s.isFinite && s > 0 ? s : 1
        }
    }

    /// absMax (cols) = max(absMax, max over rows of |x[·, c]|) for x (rows, cols).
    public static func accumulateColumnAbsMax(_ x: UnsafePointer<Float>, rows: Int, cols: Int,
                                              into absMax: UnsafeMutablePointer<Float>) {
        for m in 0..<rows {
            let row = x + m * cols
            for c in 0..<cols { absMax[c] = max(absMax[c], abs(row[c])) }
        }
    }
}
