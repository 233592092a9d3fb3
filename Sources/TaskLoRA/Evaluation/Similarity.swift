/// Cosine similarities of L2-normalized float32 embeddings, computed in Double, and the rankings
/// every evaluation shares: higher score first, equal scores by lower index.
public enum Similarity {
    /// Rows `rows` of an (N, d) tensor as Double, row-major.
    public static func double(_ t: Tensor, rows: Range<Int>? = nil) -> [Double] {
        let d = t.shape[1]
        let r = rows ?? 0..<t.shape[0]
        var out = [Double](repeating: 0, count: r.count * d)
        let src = t.data + r.lowerBound * d
        for i in 0..<out.count { out[i] = Double(src[i]) }
        return out
    }

    /// (m, n) = a (m, d) · bᵀ (n, d) in Double.
    public static func scores(_ a: [Double], rows m: Int, _ b: [Double], count n: Int, dim d: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        guard m > 0, n > 0 else { return c }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(transB: true, m: m, n: n, k: d, a: pa.baseAddress!, lda: d, b: pb.baseAddress!, ldb: d,
                              c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }

    /// Indices of the k highest scores, best first; equal scores keep the lower index first.
    public static func topK(_ s: UnsafePointer<Double>, count n: Int, k: Int, excluding: Int? = nil) -> [Int] {
        var order = Array(0..<n)
        if let e = excluding { order.remove(at: e) }
        if k >= order.count {
            order.sort { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }
            return order
        }
        // Partial selection: keep a sorted buffer of the best k.
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        func better(_ i: Int, _ j: Int) -> Bool { s[i] != s[j] ? s[i] > s[j] : i < j }
        for i in order {
            if best.count == k, !better(i, best[k - 1]) { continue }
            var lo = 0, hi = best.count
            while lo < hi { let mid = (lo + hi) / 2; if better(best[mid], i) { lo = mid + 1 } else { hi = mid } }
            best.insert(i, at: lo)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// Index of the highest score (lowest index among equals).
    public static func argmax(_ s: UnsafePointer<Double>, count n: Int) -> Int {
        var best = 0
        for i in 1..<max(n, 1) where s[i] > s[best] { best = i }
        return best
    }
}
