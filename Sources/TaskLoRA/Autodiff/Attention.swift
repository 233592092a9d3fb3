/// Multi-head softmax attention over packed variable-length sequences: each sequence attends only
/// to its own tokens, which is exactly a padding mask without computing the padding.
///
/// Backward recomputes the probabilities from q and k instead of storing the (L, L) matrices, so
/// the activations kept for training grow linearly with sequence length.
public enum Attention {
    /// Query rows handled at once: score buffers are (rowBlock, L), so attention memory grows
    /// linearly with the sequence length L (each block still sees every key, so the softmax is exact).
    public static let rowBlock = 256

    /// qkv (T, 3H) rows [q | k | v], heads of size d → context (T, H).
    public static func forward<S: Real>(qkv: UnsafePointer<S>, context: UnsafeMutablePointer<S>,
                                        batch: TokenBatch, heads: Int, headDim d: Int) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.attention, profiled) }
        let h = heads * d, stride = 3 * h
        let scale = 1 / S(d).squareRoot()
        perHead(batch: batch, heads: heads, scratchRows: 1) { (b: Int, head: Int, len: Int, scratch: UnsafeMutablePointer<S>) in
            let start = batch.offsets[b]
            let q = qkv + start * stride + head * d, k = q + h, v = q + 2 * h
            for r0 in Swift.stride(from: 0, to: len, by: rowBlock) {
                let rows = min(rowBlock, len - r0)
                probabilities(q: q + r0 * stride, rows: rows, k: k, stride: stride, len: len, d: d, scale: scale, p: scratch)
                // context rows (rows, d) = P v
                BLAS.gemm(m: rows, n: d, k: len, a: scratch, lda: len, b: v, ldb: stride,
                          c: context + (start + r0) * h + head * d, ldc: h)
            }
        }
    }

    /// Mirrors `forward`: dqkv (T, 3H) += gradients for q, k, v given dcontext (T, H).
    public static func backward<S: Real>(dcontext: UnsafePointer<S>, qkv: UnsafePointer<S>,
                                         dqkv: UnsafeMutablePointer<S>, batch: TokenBatch, heads: Int, headDim d: Int) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.attention, profiled) }
        let h = heads * d, stride = 3 * h
        let scale = 1 / S(d).squareRoot()
        perHead(batch: batch, heads: heads, scratchRows: 2) { (b: Int, head: Int, len: Int, scratch: UnsafeMutablePointer<S>) in
            let start = batch.offsets[b]
            let q = qkv + start * stride + head * d, k = q + h, v = q + 2 * h
            let dq = dqkv + start * stride + head * d, dk = dq + h, dv = dq + 2 * h
            for r0 in Swift.stride(from: 0, to: len, by: rowBlock) {
                let rows = min(rowBlock, len - r0)
                let p = scratch, dp = scratch + min(rowBlock, len) * len
                let dout = dcontext + (start + r0) * h + head * d
                probabilities(q: q + r0 * stride, rows: rows, k: k, stride: stride, len: len, d: d, scale: scale, p: p)
                // dV += Pᵀ dO
                BLAS.gemm(transA: true, m: len, n: d, k: rows, a: p, lda: len, b: dout, ldb: h, beta: 1, c: dv, ldc: stride)
                // dP = dO Vᵀ
                BLAS.gemm(transB: true, m: rows, n: len, k: d, a: dout, lda: h, b: v, ldb: stride, c: dp, ldc: len)
                // dS = P ⊙ (dP − rowsum(P ⊙ dP))
                for r in 0..<rows {
                    let pr = p + r * len, dpr = dp + r * len
                    let s = VectorMath.dot(pr, dpr, count: len)
                    for c in 0..<len { dpr[c] = pr[c] * (dpr[c] - s) }
                }
                // dQ += scale · dS K ; dK += scale · dSᵀ Q
                BLAS.gemm(m: rows, n: d, k: len, alpha: scale, a: dp, lda: len, b: k, ldb: stride, beta: 1,
                          c: dq + r0 * stride, ldc: stride)
                BLAS.gemm(transA: true, m: len, n: d, k: rows, alpha: scale, a: dp, lda: len, b: q + r0 * stride,
                          ldb: stride, beta: 1, c: dk, ldc: stride)
            }
        }
    }

    /// P (rows, L) = softmax_rows(scale · q kᵀ) for `rows` query rows.
    @inline(__always)
    static func probabilities<S: Real>(q: UnsafePointer<S>, rows: Int, k: UnsafePointer<S>, stride: Int, len: Int, d: Int,
                                       scale: S, p: UnsafeMutablePointer<S>) {
        BLAS.gemm(transB: true, m: rows, n: len, k: d, alpha: scale, a: q, lda: stride, b: k, ldb: stride,
                  c: p, ldc: len)
        for r in 0..<rows { Softmax.row(p + r * len, count: len) }
    }

    /// Runs `body(sequence, head, length, scratch)` for every (sequence, head) pair on our threads;
    /// scratch holds `scratchRows` buffers of (min(rowBlock, L), L).
    static func perHead<S: Real>(batch: TokenBatch, heads: Int, scratchRows: Int,
                                 _ body: (Int, Int, Int, UnsafeMutablePointer<S>) -> Void) {
        let tasks = batch.sequenceCount * heads
        Parallel.forEachChunk(tasks, minChunk: 1) { range in
            var capacity = 0
            var scratch: UnsafeMutablePointer<S>? = nil
            defer { scratch?.deallocate() }
            for task in range {
                let b = task / heads, head = task % heads
                let len = batch.length(b)
                if len == 0 { continue }
                let need = scratchRows * min(rowBlock, len) * len
                if need > capacity {
                    scratch?.deallocate()
                    scratch = .allocate(capacity: need)
                    capacity = need
                }
                body(b, head, len, scratch!)
            }
        }
    }
}

public enum Softmax {
    /// In-place numerically stable softmax of one row.
    @inline(__always)
    public static func row<S: Real>(_ x: UnsafeMutablePointer<S>, count n: Int) {
        var m = -S.infinity
        for i in 0..<n where x[i] > m { m = x[i] }
        for i in 0..<n { x[i] -= m }
        if S.self == Float.self {
            let f = UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self)
            FastMath.exp(f, f, count: n)
        } else {
            for i in 0..<n { x[i] = S.exp(x[i]) }
        }
        let inv = 1 / VectorMath.sum(x, count: n)
        VectorMath.scale(x, by: inv, count: n)
    }
}
