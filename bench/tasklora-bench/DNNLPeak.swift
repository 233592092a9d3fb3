import Foundation
import TaskLoRA

/// The machine's oneDNN matrix-multiply peak at the precisions of the frozen base, the yardstick of a
/// bf16 training step's GFLOP/s: y (M, N) = x (M, K) · Wᵀ for each `M×K×N` shape (2MKN FLOPs), through
/// the project's own path — `PackedLinear` (W packed once, x rounded or quantized per call, row blocks
/// over `Parallel`, oneDNN on a team of one per block) — and `BLAS.gemm` at float32 for reference:
///   - `sgemm`: `BLAS.gemm` (OpenBLAS on 1 thread, row blocks on the pool), float32;
///   - `bf16-forward`: `PackedLinear(.bf16).forward` (x rounded to bf16, bf16 × bf16 → f32);
///   - `bf16-backward`: `PackedLinear(.bf16).backward`, dx (M, N) += dy (M, K) · W with W (K, N): the
///     product a bf16 training step runs for every frozen input gradient;
///   - `int8-forward`: `PackedLinear(.int8).forward` (u8 × s8 → f32 VNNI, per-token quantization and
///     dequantization included).
/// Each is timed `repeats` times after one warm-up call; the best and the median are reported.
func dnnlPeak(shapes: [(m: Int, k: Int, n: Int)], repeats: Int) throws {
    var results: [[String: Any]] = []
    for (m, k, n) in shapes {
        var rng = SplitMix64(seed: 5)
        func random(_ count: Int, scale: Float) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            for i in 0..<count { p[i] = Float(rng.nextUnit() - 0.5) * scale }
            return p
        }
        let x = random(m * k, scale: 2), w = random(n * k, scale: 0.1), bias = random(n, scale: 0.1)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        let wt = random(k * n, scale: 0.1)            // (out = K, in = N): the backward's dx (M, N) += dy (M, K) · W
        defer { [x, w, bias, y, wt].forEach { $0.deallocate() } }
        y.initialize(repeating: 0, count: m * n)
        let bf16 = try PackedLinear(weight: w, outFeatures: n, inFeatures: k, precision: .bf16)
        let bf16Backward = try PackedLinear(weight: wt, outFeatures: k, inFeatures: n, precision: .bf16)
        let int8 = try PackedLinear(weight: w, outFeatures: n, inFeatures: k, precision: .int8)
        let variants: [(String, String, () -> Void)] = [
            ("sgemm", "", { BLAS.gemm(transB: true, m: m, n: n, k: k, a: x, lda: k, b: w, ldb: k, c: y, ldc: n) }),
            ("bf16-forward", bf16.implementation, { bf16.forward(x: x, rows: m, bias: bias, y: y) }),
            ("bf16-backward", bf16Backward.implementation, { bf16Backward.backward(dy: x, rows: m, dx: y) }),
            ("int8-forward", int8.implementation, { int8.forward(x: x, rows: m, bias: bias, y: y) }),
        ]
        for (name, implementation, call) in variants {
            call()
            let times = (0..<repeats).map { _ -> Double in
                let t0 = Profiler.now()
                call()
                return Profiler.now() - t0
            }
            let flops = 2 * Double(m) * Double(k) * Double(n)
            results.append(["variant": name, "m": m, "k": k, "n": n, "implementation": implementation,
                            "best_gflops": flops / times.min()! / 1e9, "median_gflops": flops / median(times) / 1e9,
                            "seconds": times])
        }
    }
    try printJSON(["threads": Parallel.cores, "results": results, "peak_rss_mib": peakRSSMiB()])
}

/// "4096x384x1536,4096x1024x4096" → [(m, k, n)].
func parseShapes(_ text: String) throws -> [(m: Int, k: Int, n: Int)] {
    try text.split(separator: ",").map { shape in
        let v = shape.split(separator: "x").compactMap { Int($0) }
        guard v.count == 3, v.allSatisfy({ $0 > 0 }) else { throw TaskLoRAError("--shapes wants MxKxN[,MxKxN…], got \(shape)") }
        return (v[0], v[1], v[2])
    }
}
