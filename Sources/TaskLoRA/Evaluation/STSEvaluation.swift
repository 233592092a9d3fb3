/// Semantic textual similarity: Spearman and Pearson correlation (×100) between the cosine of the
/// two sentences' embeddings and the gold score, for every requested Matryoshka dimension from a
/// single encoder pass.
public enum STSEvaluation {
    public struct Result: Codable, Equatable, Sendable {
        public var dim: Int
        public var spearman: Double
        public var pearson: Double
    }

    /// `pairs`: (sentence1, sentence2, gold score). Identical texts are embedded once.
    public static func evaluate(embedder: SentenceEmbedder, pairs: [(String, String, Double)], dims: [Int],
                                options: SentenceEmbedder.Options) throws -> [Result] {
        guard pairs.count >= 2 else { throw TaskLoRAError("STS evaluation needs at least 2 pairs, got \(pairs.count)") }
        let (texts, ids) = uniqueTexts(pairs)
        let pooled = try embedder.pooled(texts, options: options).embeddings
        return try dims.map { try evaluate(embeddings: normalized(pooled, dim: $0), ids: ids, gold: pairs.map(\.2)) }
    }

    /// The distinct texts of `pairs` in first-seen order, and each pair's two rows among them.
    public static func uniqueTexts(_ pairs: [(String, String, Double)]) -> (texts: [String], ids: [(Int, Int)]) {
        var index: [String: Int] = [:]
        var texts: [String] = []
        func id(_ s: String) -> Int {
            if let i = index[s] { return i }
            index[s] = texts.count
            texts.append(s)
            return texts.count - 1
        }
        let ids = pairs.map { (id($0.0), id($0.1)) }
        return (texts, ids)
    }

    /// Correlations for normalized embeddings (N, d); cosines are computed in Double.
    public static func evaluate(embeddings e: Tensor, ids: [(Int, Int)], gold: [Double]) -> Result {
        evaluate(cosines: cosines(embeddings: e, ids: ids), gold: gold, dim: e.shape[1])
    }

    /// Correlations of the pairs' cosines with the gold scores.
    public static func evaluate(cosines cos: [Double], gold: [Double], dim: Int) -> Result {
        Result(dim: dim, spearman: 100 * Correlation.spearman(cos, gold), pearson: 100 * Correlation.pearson(cos, gold))
    }

    /// Each pair's cosine from normalized embeddings (N, d), in Double.
    public static func cosines(embeddings e: Tensor, ids: [(Int, Int)]) -> [Double] {
        let dim = e.shape[1]
        return ids.map { pair -> Double in
            var s = 0.0
            let a = e.data + pair.0 * dim, b = e.data + pair.1 * dim
            for j in 0..<dim { s += Double(a[j]) * Double(b[j]) }
            return s
        }
    }

    /// Spearman ×100 of the adapter's per-pair cosines minus the base's, on the same pairs, with a
    /// paired bootstrap over the pairs (each resample recomputes both correlations; 1,000
    /// resamples, as a rank correlation is not a mean of per-pair scores).
    public static func pairedSpearman(adapterCosines a: [Double], baseCosines b: [Double], gold: [Double],
                                      resamples: Int = 1_000) -> PairedDifference {
        precondition(a.count == gold.count && b.count == gold.count, "paired STS scores need one cosine per gold score")
        func spearman(_ cos: [Double]) -> ([Int]) -> Double {
            { items in 100 * Correlation.spearman(items.map { cos[$0] }, items.map { gold[$0] }) }
        }
        return PairedBootstrap.statisticDifference(items: gold.count, adapter: spearman(a), base: spearman(b),
                                                   resamples: resamples)
    }

    /// pooled (N, H) → (N, dim), truncated then L2-normalized.
    public static func normalized(_ pooled: Tensor, dim: Int) throws -> Tensor {
        let n = pooled.shape[0], h = pooled.shape[1]
        guard (1...h).contains(dim) else { throw TaskLoRAError("Matryoshka dim \(dim) is out of range 1...\(h)") }
        let out = Tensor(zeros: [n, dim])
        TruncateNormalize.forward(pooled: pooled.data, rows: n, hiddenSize: h, dim: dim, out: out.data)
        return out
    }
}
