import Foundation

/// Splits element-wise work (layer norm, GELU, softmax rows, RoPE) across the machine's cores.
/// BLAS calls are never made from inside these loops, so OpenBLAS threads and ours never overlap.
public enum Parallel {
    public static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body(range)` on disjoint chunks covering `0..<count`; runs inline when the work is small.
    @inline(__always)
    public static func forEachChunk(_ count: Int, minChunk: Int = 16, _ body: (Range<Int>) -> Void) {
        let chunks = min(cores, max(1, count / max(minChunk, 1)))
        if chunks <= 1 { body(0..<count); return }
        let per = (count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per, hi = min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }
}
