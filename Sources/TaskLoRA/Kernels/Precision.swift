/// The arithmetic of the frozen base's linear layers (the four projections of every layer). It is a
/// property of the frozen weights and of the GEMM that reads them, not a second encoder: everything
/// else — layer norm, softmax, GELU, residuals, RoPE, pooling, attention's own products and every
/// LoRA matrix — stays float32 at every precision. See docs/precision.md.
public enum Precision: String, CaseIterable, Codable, Sendable {
    /// float32 weights, OpenBLAS `sgemm`: the reference and the default.
    case fp32
    /// bf16 weights pre-packed for oneDNN; activations rounded to bf16 at the GEMM's input;
    /// products accumulated and written in float32.
    case bf16
    /// Per-output-channel symmetric int8 weights, per-token asymmetric u8 activations, oneDNN's
    /// VNNI GEMM with int32 accumulation, rescaled to float32. Inference only.
    case int8
}
