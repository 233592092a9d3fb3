/// A loss over one batch of L2-normalized embeddings held as the rows of a single (B, d) matrix, in
/// a row layout the conforming type defines (e.g. [anchors; positives; negatives]). The trainer
/// encodes all B texts in one encoder pass, pools them to (B, H), and `Matryoshka` truncates,
/// normalizes and hands the rows here at each dimension d.
///
/// Conformers: `InfoNCEBatch` (`InfoNCE.batch`), `CoSENTBatch` (`CoSENT.batch`),
/// `SeparationBatch` (`CoSENT.separationBatch`).
public protocol EmbeddingLoss {
    /// B, the number of embedding rows the loss reads.
    var rows: Int { get }
    /// embeddings (B, d), unit rows → loss; gradient (B, d) += ∂loss/∂embeddings when non-nil.
    func loss<S: Real>(embeddings: UnsafePointer<S>, dim: Int, gradient: UnsafeMutablePointer<S>?) throws -> S
}

/// Matryoshka representation learning over pooled, unnormalized embeddings:
///     L = Σ_m w_m · inner(TruncateNormalize(pooled, d_m))
/// a weighted SUM over the dims (no averaging), exactly as sentence-transformers' MatryoshkaLoss
/// (`loss += weight * self.loss(...)` for every dim, weights default 1). Its `n_dims_per_step`
/// (random subset of dims per step) is not implemented: every dim runs every step.
/// Truncation takes the first d components, then renormalizes (cosine in the inner loss is then a
/// dot product; sentence-transformers' cos_sim renormalizes too, which changes nothing).
public struct Matryoshka: Sendable, Equatable {
    public let dims: [Int]
    public let weights: [Double]

    /// Throws unless every dim is positive and there is one finite weight per dim (nil → all 1).
    public init(dims: [Int], weights: [Double]? = nil) throws {
        guard !dims.isEmpty else { throw TaskLoRAError("Matryoshka needs at least one dimension") }
        guard dims.allSatisfy({ $0 > 0 }) else { throw TaskLoRAError("Matryoshka dimensions must be > 0, got \(dims)") }
        let w = weights ?? Array(repeating: 1, count: dims.count)
        guard w.count == dims.count else {
            throw TaskLoRAError("Matryoshka: \(w.count) weights for \(dims.count) dimensions")
        }
        guard w.allSatisfy(\.isFinite) else { throw TaskLoRAError("Matryoshka weights must be finite, got \(w)") }
        self.dims = dims
        self.weights = w
    }

    /// Default dims for hidden size H: the powers of two from 32 below H, then H itself, all weight 1
    /// (H = 1024 → 32, 64, 128, 256, 512, 1024; H = 384 → 32, 64, 128, 256, 384; H ≤ 32 → H).
    public init(hiddenSize h: Int) throws {
        try self.init(dims: Matryoshka.defaultDims(hiddenSize: h))
    }

    public static func defaultDims(hiddenSize h: Int) -> [Int] {
        var dims: [Int] = []
        var d = 32
        while d < h {
            dims.append(d)
            d *= 2
        }
        return dims + [h]
    }

    /// pooled (B, H), unnormalized → L. dPooled (B, H) += ∂L/∂pooled when given (forward only when nil).
    public func loss<S: Real, L: EmbeddingLoss>(_ inner: L, pooled: UnsafePointer<S>, rows: Int, hiddenSize h: Int,
                                                dPooled: UnsafeMutablePointer<S>? = nil) throws -> S {
        guard rows >= 1 else { throw TaskLoRAError("Matryoshka: empty batch") }
        guard rows == inner.rows else {
            throw TaskLoRAError("Matryoshka: the loss reads \(inner.rows) rows but the batch has \(rows)")
        }
        if let bad = dims.first(where: { $0 > h }) {
            throw TaskLoRAError("Matryoshka dimension \(bad) exceeds the embedding size \(h)")
        }
        let maxDim = dims.max()!
        var y = [S](repeating: 0, count: rows * maxDim)
        var dy = [S](repeating: 0, count: dPooled == nil ? 0 : rows * maxDim)
        var total: S = 0
        for (d, weight) in zip(dims, weights) {
            try y.withUnsafeMutableBufferPointer { yb in
                let yp = yb.baseAddress!
                // y (B, d) = rows of pooled[:, :d] at unit norm
                TruncateNormalize.forward(pooled: pooled, rows: rows, hiddenSize: h, dim: d, out: yp)
                guard let dPooled else {
                    total += S(weight) * (try inner.loss(embeddings: yp, dim: d, gradient: nil))
                    return
                }
                try dy.withUnsafeMutableBufferPointer { db in
                    let g = db.baseAddress!
                    g.update(repeating: 0, count: rows * d)
                    total += S(weight) * (try inner.loss(embeddings: yp, dim: d, gradient: g))
                    VectorMath.scale(g, by: S(weight), count: rows * d)
                    TruncateNormalize.backward(dout: g, out: yp, pooled: pooled, rows: rows, hiddenSize: h,
                                               dim: d, dpooled: dPooled)
                }
            }
        }
        return total
    }
}
