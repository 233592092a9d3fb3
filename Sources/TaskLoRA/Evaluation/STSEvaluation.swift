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
        var index: [String: Int] = [:]
        var texts: [String] = []
        func id(_ s: String) -> Int {
            if let i = index[s] { return i }
            index[s] = texts.count
            texts.append(s)
            return texts.count - 1
        }
        let ids = pairs.map { (id($0.0), id($0.1)) }
        let pooled = try embedder.pooled(texts, options: options).embeddings
        let gold = pairs.map(\.2)
        return try dims.map { dim in
            let e = try normalized(pooled, dim: dim)
            let cos = ids.map { Double(VectorMath.dot(e.data + $0.0 * dim, e.data + $0.1 * dim, count: dim)) }
            return Result(dim: dim, spearman: 100 * Correlation.spearman(cos, gold),
                          pearson: 100 * Correlation.pearson(cos, gold))
        }
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
