/// CoSENT: a ranking loss on cosine scores. For items with cosine s_i and gold score y_i,
///     L = log(1 + Σ_{(i, j): y_i > y_j} exp((s_j − s_i) / τ))
/// a sum (not a mean) over every ordered pair whose gold scores differ; tied pairs add nothing.
/// sentence-transformers' CoSENTLoss is this with scale = 1/τ (its default 20 is τ = 0.05).
///
/// Two ways to form the items:
/// - `loss(e1:e2:scores:…)`: text matching. Item i is the pair (e1_i, e2_i), s_i = e1_i · e2_i.
/// - `separationLoss(x:labels:…)`: jina's separation (clustering) form. Items are all pairs i < j of
///   the rows of X, s_ij = x_i · x_j, gold 1 when labels match and 0 otherwise, so the loss pushes
///   every same-label pair above every different-label pair.
///
/// Embeddings must be L2-normalized rows (`TruncateNormalize`), so the cosine is a dot product.
/// The sum is evaluated in O(m log m) for m items: sorted by gold, Σ_{y_i > y_j} exp(z_j − z_i)
/// = Σ_j exp(z_j) · Σ_{i: y_i > y_j} exp(−z_i), with suffix/prefix log-sum-exps, never forming pairs.
public struct CoSENT: Sendable, Equatable {
    public var temperature: Double

    public init(temperature: Double = 0.05) { self.temperature = temperature }

    /// jina-embeddings-v3 text matching (STS): τ = 0.05.
    public static let textMatching = CoSENT(temperature: 0.05)
    /// jina-embeddings-v3 separation (clustering, reranking): τ = 0.02.
    public static let separation = CoSENT(temperature: 0.02)

    func validate() throws {
        guard temperature > 0, temperature.isFinite else {
            throw TaskLoRAError("CoSENT temperature must be a positive number, got \(temperature)")
        }
    }

    /// e1 (N, D), e2 (N, D), scores (N) gold → L. dE1, dE2 (N, D) += ∂L/∂e1, ∂L/∂e2 when given.
    public func loss<S: Real>(e1: UnsafePointer<S>, e2: UnsafePointer<S>, scores: [Double], d: Int,
                              dE1: UnsafeMutablePointer<S>? = nil, dE2: UnsafeMutablePointer<S>? = nil) throws -> S {
        try validate()
        let n = scores.count
        guard n >= 1 else { throw TaskLoRAError("CoSENT: empty batch") }
        guard d >= 1 else { throw TaskLoRAError("CoSENT: embedding dimension must be ≥ 1, got \(d)") }
        guard scores.allSatisfy(\.isFinite) else { throw TaskLoRAError("CoSENT: gold scores must be finite") }
        var s = [S](repeating: 0, count: n)
        s.withUnsafeMutableBufferPointer { CosineSimilarity.pairwiseForward(e1: e1, e2: e2, n: n, d: d, s: $0.baseAddress!) }
        let wantsGradient = dE1 != nil || dE2 != nil
        let (l, ds) = ranked(similarities: s, gold: scores, gradient: wantsGradient)
        if wantsGradient {
            ds.withUnsafeBufferPointer {
                CosineSimilarity.pairwiseBackward(ds: $0.baseAddress!, e1: e1, e2: e2, n: n, d: d, dE1: dE1, dE2: dE2)
            }
        }
        return l
    }

    /// Separation form: x (N, D), labels (N) → CoSENT over the N(N−1)/2 pairs i < j.
    /// dX (N, D) += ∂L/∂x when given.
    public func separationLoss<S: Real>(x: UnsafePointer<S>, labels: [Int], d: Int,
                                        dX: UnsafeMutablePointer<S>? = nil) throws -> S {
        try validate()
        let n = labels.count
        guard n >= 1 else { throw TaskLoRAError("CoSENT separation: empty batch") }
        guard d >= 1 else { throw TaskLoRAError("CoSENT separation: embedding dimension must be ≥ 1, got \(d)") }
        // Gram matrix (N, N) = X Xᵀ; only its strict upper triangle are items.
        var gram = [S](repeating: 0, count: n * n)
        gram.withUnsafeMutableBufferPointer { CosineSimilarity.forward(e1: x, e2: x, n: n, m: n, d: d, s: $0.baseAddress!) }
        var s: [S] = [], gold: [Double] = []
        s.reserveCapacity(n * (n - 1) / 2)
        gold.reserveCapacity(n * (n - 1) / 2)
        for i in 0..<n {
            for j in (i + 1)..<max(i + 1, n) {
                s.append(gram[i * n + j])
                gold.append(labels[i] == labels[j] ? 1 : 0)
            }
        }
        guard let dX else { return ranked(similarities: s, gold: gold, gradient: false).loss }
        let (l, ds) = ranked(similarities: s, gold: gold, gradient: true)
        // Scatter back into dGram's upper triangle; dX += dGram X + dGramᵀ X covers both rows of each pair.
        var dGram = [S](repeating: 0, count: n * n)
        var item = 0
        for i in 0..<n {
            for j in (i + 1)..<max(i + 1, n) {
                dGram[i * n + j] = ds[item]
                item += 1
            }
        }
        dGram.withUnsafeBufferPointer {
            CosineSimilarity.backward(ds: $0.baseAddress!, e1: x, e2: x, n: n, m: n, d: d, dE1: dX, dE2: dX)
        }
        return l
    }

    /// The core over items: similarities (m), gold (m) → L and, when `gradient`, ∂L/∂s (m) (else empty).
    /// With z = s/τ, lower_i = log Σ_{y_j < y_i} exp(z_j), higher_i = log Σ_{y_j > y_i} exp(−z_j),
    /// log Z = log(1 + Σ_i exp(z_i + higher_i)) = L and
    ///     ∂L/∂z_i = exp(z_i + higher_i − log Z) − exp(−z_i + lower_i − log Z).
    func ranked<S: Real>(similarities: [S], gold: [Double], gradient: Bool) -> (loss: S, dSimilarities: [S]) {
        let m = similarities.count
        let invT = S(1 / temperature)
        let z = similarities.map { $0 * invT }
        let order = (0..<m).sorted { gold[$0] < gold[$1] }
        // Runs of equal gold in `order`: [start, end).
        var runs: [Range<Int>] = []
        var start = 0
        while start < m {
            var end = start + 1
            while end < m, gold[order[end]] == gold[order[start]] { end += 1 }
            runs.append(start..<end)
            start = end
        }
        var lower = [S](repeating: -S.infinity, count: m), higher = [S](repeating: -S.infinity, count: m)
        var acc = -S.infinity
        for run in runs {
            var groupSum = -S.infinity
            for r in run {
                lower[order[r]] = acc
                groupSum = LogSumExp.pair(groupSum, z[order[r]])
            }
            acc = LogSumExp.pair(acc, groupSum)
        }
        acc = -S.infinity
        for run in runs.reversed() {
            var groupSum = -S.infinity
            for r in run {
                higher[order[r]] = acc
                groupSum = LogSumExp.pair(groupSum, -z[order[r]])
            }
            acc = LogSumExp.pair(acc, groupSum)
        }
        var logZ: S = 0  // the "1 +" term: log exp(0)
        for i in 0..<m { logZ = LogSumExp.pair(logZ, z[i] + higher[i]) }
        guard gradient else { return (logZ, []) }
        let ds = (0..<m).map { i in
            (S.exp(z[i] + higher[i] - logZ) - S.exp(-z[i] + lower[i] - logZ)) * invT
        }
        return (logZ, ds)
    }

    /// This loss over the rows of one (2N, D) matrix laid out [e1 (N); e2 (N)], for `Matryoshka`.
    public func batch(scores: [Double]) -> CoSENTBatch { CoSENTBatch(cosent: self, scores: scores) }

    /// The separation form over the rows of one (N, D) matrix, for `Matryoshka`.
    public func separationBatch(labels: [Int]) -> SeparationBatch { SeparationBatch(cosent: self, labels: labels) }
}

/// `CoSENT` bound to gold scores: rows [e1 (N); e2 (N)].
public struct CoSENTBatch: EmbeddingLoss, Sendable, Equatable {
    public var cosent: CoSENT
    public var scores: [Double]

    public init(cosent: CoSENT, scores: [Double]) {
        self.cosent = cosent
        self.scores = scores
    }

    public var rows: Int { 2 * scores.count }

    public func loss<S: Real>(embeddings e: UnsafePointer<S>, dim d: Int, gradient g: UnsafeMutablePointer<S>?) throws -> S {
        let n = scores.count
        return try cosent.loss(e1: e, e2: e + n * d, scores: scores, d: d, dE1: g, dE2: g.map { $0 + n * d })
    }
}

/// `CoSENT.separationLoss` bound to class labels: rows X (N).
public struct SeparationBatch: EmbeddingLoss, Sendable, Equatable {
    public var cosent: CoSENT
    public var labels: [Int]

    public init(cosent: CoSENT, labels: [Int]) {
        self.cosent = cosent
        self.labels = labels
    }

    public var rows: Int { labels.count }

    public func loss<S: Real>(embeddings e: UnsafePointer<S>, dim d: Int, gradient g: UnsafeMutablePointer<S>?) throws -> S {
        try cosent.separationLoss(x: e, labels: labels, d: d, dX: g)
    }
}
