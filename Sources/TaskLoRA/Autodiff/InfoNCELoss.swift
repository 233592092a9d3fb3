/// InfoNCE with temperature τ over L2-normalized embeddings, as in jina-embeddings-v3, with the
/// two sentence-transformers forms as options. With s(a, b) = a · b (cosine, rows are unit norm):
///
/// Forward (anchor → candidates), for anchor i with candidate set C_i:
///     ℓ_i = −log( exp(s(q_i, p_i)/τ) / Σ_{c ∈ C_i} exp(s(q_i, c)/τ) )
///   `inBatchNegatives` true:  C_i = all positives p_1…p_N, then all N·k hard negatives of all anchors
///                             (= MultipleNegativesRankingLoss, candidates = cat(positives, negatives)).
///   `inBatchNegatives` false: C_i = {p_i} ∪ anchor i's own k negatives (jina's classification form).
/// Reverse (positive → anchors), for positive i:
///     r_i = −log( exp(s(p_i, q_i)/τ) / Σ_{j=1..N} exp(s(p_i, q_j)/τ) )     (no hard negatives)
///
/// L_fwd = mean_i ℓ_i, L_rev = mean_i r_i, and
///     L = L_fwd                    reverse = false, symmetric = false
///     L = L_fwd + L_rev            reverse = true  (jina's extended / bidirectional InfoNCE: a plain sum)
///     L = (L_fwd + L_rev) / 2      symmetric = true, whatever `reverse` says
///                                  (= MultipleNegativesSymmetricRankingLoss, i.e. MNRL with
///                                  directions (query_to_doc, doc_to_query), partition_mode per_direction)
/// sentence-transformers' `scale` is 1/τ (its default 20 is τ = 0.05).
public struct InfoNCE: Sendable, Equatable {
    public var temperature: Double
    public var reverse: Bool
    public var symmetric: Bool
    public var inBatchNegatives: Bool

    public init(temperature: Double = 0.05, reverse: Bool = false, symmetric: Bool = false,
                inBatchNegatives: Bool = true) {
        self.temperature = temperature
        self.reverse = reverse
        self.symmetric = symmetric
        self.inBatchNegatives = inBatchNegatives
    }

    /// jina-embeddings-v3 retrieval: in-batch + hard negatives, both directions summed, τ = 0.05.
    public static let retrieval = InfoNCE(temperature: 0.05, reverse: true)
    /// jina-embeddings-v3 classification: own positive vs own negatives only (1 + 7), τ = 0.02.
    public static let classification = InfoNCE(temperature: 0.02, reverse: false, inBatchNegatives: false)

    /// Weights of (L_fwd, L_rev) in L.
    public var directionWeights: (forward: Double, reverse: Double) {
        symmetric ? (0.5, 0.5) : (1, reverse ? 1 : 0)
    }

    /// Throws for settings that have no meaning; `k` is the number of hard negatives per anchor.
    public func validate(n: Int, k: Int, d: Int) throws {
        guard temperature > 0, temperature.isFinite else {
            throw TaskLoRAError("InfoNCE temperature must be a positive number, got \(temperature)")
        }
        guard n >= 1, d >= 1 else { throw TaskLoRAError("InfoNCE needs at least one pair and d ≥ 1 (n \(n), d \(d))") }
        guard k >= 0 else { throw TaskLoRAError("InfoNCE hard negatives per anchor must be ≥ 0, got \(k)") }
        if !inBatchNegatives {
            // Without in-batch candidates the reverse softmax has one entry (loss ≡ 0), and with k = 0
            // so does the forward one: both are configuration mistakes, not losses.
            guard !reverse, !symmetric else {
                throw TaskLoRAError("InfoNCE reverse/symmetric terms need in-batch negatives")
            }
            guard k >= 1 else {
                throw TaskLoRAError("InfoNCE without in-batch negatives needs at least one hard negative per anchor")
            }
        }
    }

    /// anchors q (N, D), positives p (N, D), negatives (N·k, D) anchor-major (row i·k + c is the
    /// c-th hard negative of anchor i; nil when k = 0) → L. When given, dAnchors (N, D),
    /// dPositives (N, D), dNegatives (N·k, D) += ∂L/∂(that input); all nil → forward only.
    public func loss<S: Real>(anchors: UnsafePointer<S>, positives: UnsafePointer<S>, negatives: UnsafePointer<S>?,
                              n: Int, k: Int, d: Int,
                              dAnchors: UnsafeMutablePointer<S>? = nil, dPositives: UnsafeMutablePointer<S>? = nil,
                              dNegatives: UnsafeMutablePointer<S>? = nil) throws -> S {
        try validate(n: n, k: k, d: d)
        if k > 0, negatives == nil { throw TaskLoRAError("InfoNCE: k = \(k) hard negatives per anchor but no negatives") }
        let wantsGradient = dAnchors != nil || dPositives != nil || dNegatives != nil
        return inBatchNegatives
            ? inBatch(q: anchors, p: positives, neg: negatives, n: n, k: k, d: d, wantsGradient: wantsGradient,
                      dq: dAnchors, dp: dPositives, dneg: dNegatives)
            : ownCandidates(q: anchors, p: positives, neg: negatives!, n: n, k: k, d: d, wantsGradient: wantsGradient,
                            dq: dAnchors, dp: dPositives, dneg: dNegatives)
    }

    /// Logits (N, N + N·k) = [q pᵀ | q negᵀ] / τ; the forward softmax runs along rows, the reverse one
    /// down the first N columns (column i = p_i against every anchor), so one matrix serves both.
    private func inBatch<S: Real>(q: UnsafePointer<S>, p: UnsafePointer<S>, neg: UnsafePointer<S>?,
                                  n: Int, k: Int, d: Int, wantsGradient: Bool,
                                  dq: UnsafeMutablePointer<S>?, dp: UnsafeMutablePointer<S>?,
                                  dneg: UnsafeMutablePointer<S>?) -> S {
        let cols = n + n * k
        let invT = S(1 / temperature)
        let (wf, wr) = directionWeights
        var logits = [S](repeating: 0, count: n * cols)
        // ∂L/∂logits (N, N + N·k), later scaled to ∂L/∂similarities.
        var grad = [S](repeating: 0, count: wantsGradient ? n * cols : 0)
        var forwardSum: S = 0, reverseSum: S = 0
        logits.withUnsafeMutableBufferPointer { lb in
            grad.withUnsafeMutableBufferPointer { gb in
                // An empty array's baseAddress can be non-nil (the shared empty storage): never write there.
                let l = lb.baseAddress!, g = wantsGradient ? gb.baseAddress : nil
                CosineSimilarity.forward(e1: q, e2: p, n: n, m: n, d: d, s: l, lds: cols)
                if k > 0 { CosineSimilarity.forward(e1: q, e2: neg!, n: n, m: n * k, d: d, s: l + n, lds: cols) }
                VectorMath.scale(l, by: invT, count: n * cols)

                let rowWeight = S(wf) / S(n)
                for i in 0..<n {
                    let row = l + i * cols
                    let lse = LogSumExp.of(row, count: cols, stride: 1)
                    forwardSum += lse - row[i]
                    if let g {
                        let gr = g + i * cols
                        for c in 0..<cols { gr[c] += rowWeight * S.exp(row[c] - lse) }
                        gr[i] -= rowWeight
                    }
                }
                guard wr > 0 else { return }
                let colWeight = S(wr) / S(n)
                for i in 0..<n {
                    let col = l + i
                    let lse = LogSumExp.of(col, count: n, stride: cols)
                    reverseSum += lse - col[i * cols]
                    if let g {
                        for j in 0..<n { g[j * cols + i] += colWeight * S.exp(col[j * cols] - lse) }
                        g[i * cols + i] -= colWeight
                    }
                }
            }
        }
        if wantsGradient {
            grad.withUnsafeMutableBufferPointer { gb in
                let g = gb.baseAddress!
                // logits = similarities / τ
                VectorMath.scale(g, by: invT, count: n * cols)
                CosineSimilarity.backward(ds: g, e1: q, e2: p, n: n, m: n, d: d, ldds: cols, dE1: dq, dE2: dp)
                if k > 0 {
                    CosineSimilarity.backward(ds: g + n, e1: q, e2: neg!, n: n, m: n * k, d: d, ldds: cols,
                                              dE1: dq, dE2: dneg)
                }
            }
        }
        return (S(wf) * forwardSum + S(wr) * reverseSum) / S(n)
    }

    /// Logits (N, 1 + k): column 0 = q_i · p_i, columns 1…k = q_i · (anchor i's negatives), target 0.
    private func ownCandidates<S: Real>(q: UnsafePointer<S>, p: UnsafePointer<S>, neg: UnsafePointer<S>,
                                        n: Int, k: Int, d: Int, wantsGradient: Bool,
                                        dq: UnsafeMutablePointer<S>?, dp: UnsafeMutablePointer<S>?,
                                        dneg: UnsafeMutablePointer<S>?) -> S {
        let cols = 1 + k
        let invT = S(1 / temperature)
        var logits = [S](repeating: 0, count: cols)
        var grad = [S](repeating: 0, count: cols)
        var sum: S = 0
        logits.withUnsafeMutableBufferPointer { lb in
            grad.withUnsafeMutableBufferPointer { gb in
                let l = lb.baseAddress!, g = gb.baseAddress!
                for i in 0..<n {
                    let qi = q + i * d, pi = p + i * d, ni = neg + i * k * d
                    l[0] = VectorMath.dot(qi, pi, count: d)
                    // (1, k) = q_i (1, D) · n_iᵀ (D, k)
                    CosineSimilarity.forward(e1: qi, e2: ni, n: 1, m: k, d: d, s: l + 1)
                    VectorMath.scale(l, by: invT, count: cols)
                    let lse = LogSumExp.of(l, count: cols, stride: 1)
                    sum += lse - l[0]
                    guard wantsGradient else { continue }
                    // ∂ℓ_i/∂similarities = (softmax − onehot₀) / (N τ)
                    let w = invT / S(n)
                    for c in 0..<cols { g[c] = w * S.exp(l[c] - lse) }
                    g[0] -= w
                    if let dq { VectorMath.axpy(g[0], pi, dq + i * d, count: d) }
                    if let dp { VectorMath.axpy(g[0], qi, dp + i * d, count: d) }
                    CosineSimilarity.backward(ds: g + 1, e1: qi, e2: ni, n: 1, m: k, d: d,
                                              dE1: dq.map { $0 + i * d }, dE2: dneg.map { $0 + i * k * d })
                }
            }
        }
        return sum / S(n)
    }

    /// This loss over the rows of one (B, D) matrix laid out [anchors N; positives N; negatives N·k],
    /// the order the trainer encodes them in, for `Matryoshka`.
    public func batch(pairs n: Int, negativesPerAnchor k: Int) -> InfoNCEBatch {
        InfoNCEBatch(infoNCE: self, pairs: n, negativesPerAnchor: k)
    }
}

/// `InfoNCE` bound to a batch layout: rows [anchors (N); positives (N); negatives (N·k) anchor-major].
public struct InfoNCEBatch: EmbeddingLoss, Sendable, Equatable {
    public var infoNCE: InfoNCE
    public var pairs: Int
    public var negativesPerAnchor: Int

    public init(infoNCE: InfoNCE, pairs: Int, negativesPerAnchor: Int) {
        self.infoNCE = infoNCE
        self.pairs = pairs
        self.negativesPerAnchor = negativesPerAnchor
    }

    public var rows: Int { pairs * (2 + negativesPerAnchor) }

    public func loss<S: Real>(embeddings e: UnsafePointer<S>, dim d: Int, gradient g: UnsafeMutablePointer<S>?) throws -> S {
        let n = pairs, k = negativesPerAnchor
        return try infoNCE.loss(anchors: e, positives: e + n * d, negatives: k > 0 ? e + 2 * n * d : nil,
                                n: n, k: k, d: d,
                                dAnchors: g, dPositives: g.map { $0 + n * d },
                                dNegatives: k > 0 ? g.map { $0 + 2 * n * d } : nil)
    }
}

/// Numerically stable log Σ exp over a strided vector: the maximum is factored out first.
enum LogSumExp {
    /// x[0], x[stride], … (count values) → log Σ exp(x).
    @inline(__always)
    static func of<S: Real>(_ x: UnsafePointer<S>, count: Int, stride: Int) -> S {
        var m = -S.infinity
        for i in 0..<count { m = max(m, x[i * stride]) }
        guard m.isFinite else { return m }
        var s: S = 0
        for i in 0..<count { s += S.exp(x[i * stride] - m) }
        return m + S.log(s)
    }

    /// log(exp(a) + exp(b)), with −∞ as the empty sum.
    @inline(__always)
    static func pair<S: Real>(_ a: S, _ b: S) -> S {
        if a == -S.infinity { return b }
        if b == -S.infinity { return a }
        let m = max(a, b)
        return m + S.log(S.exp(a - m) + S.exp(b - m))
    }
}
