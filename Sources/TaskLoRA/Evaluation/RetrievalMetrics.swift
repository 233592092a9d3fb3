/// Ranking metrics as trec_eval / pytrec_eval define them (BEIR's conventions): linear gains for
/// nDCG, relevance = grade > 0 for MRR, recall and MAP, ties broken by document index.
public struct RetrievalMetrics: Codable, Equatable, Sendable {
    public var ndcg10 = 0.0, mrr10 = 0.0, recall1 = 0.0, recall10 = 0.0, recall100 = 0.0, map100 = 0.0
    public var queries = 0

    public enum CodingKeys: String, CodingKey {
        case ndcg10 = "ndcg@10", mrr10 = "mrr@10", recall1 = "recall@1", recall10 = "recall@10"
        case recall100 = "recall@100", map100 = "map@100", queries
    }

    /// queries (Q, d) and documents (D, d), both L2-normalized; `qrels[q]` maps document index → grade.
    /// Queries without any relevant document are skipped (as pytrec_eval does).
    public static func evaluate(queries: Tensor, documents: Tensor, qrels: [[Int: Int]]) -> RetrievalMetrics {
        var ignored: [Double] = []
        return evaluate(queries: queries, documents: documents, qrels: qrels, perQueryNDCG: &ignored)
    }

    /// The same, and each scored query's nDCG@10 in query order (their mean is `ndcg10`): the
    /// per-item scores a paired comparison with the base resamples (`PairedBootstrap`).
    public static func evaluate(queries: Tensor, documents: Tensor, qrels: [[Int: Int]],
                                perQueryNDCG: inout [Double]) -> RetrievalMetrics {
        perQueryNDCG.removeAll(keepingCapacity: true)
        let q = queries.shape[0], n = documents.shape[0], d = queries.shape[1]
        precondition(qrels.count == q && documents.shape[1] == d)
        var m = RetrievalMetrics()
        // Scores in Double from the float32 embeddings, in blocks of queries: an independent
        // float64 implementation (scripts/reference/check_metrics.py) then ranks identically.
        let docs = Similarity.double(documents)
        let block = 256
        for start in Swift.stride(from: 0, to: q, by: block) {
            let rows = start..<min(start + block, q)
            let scores = Similarity.scores(Similarity.double(queries, rows: rows), rows: rows.count, docs, count: n, dim: d)
            scores.withUnsafeBufferPointer { s in
                for (r, qi) in rows.enumerated() {
                    let rel = qrels[qi].filter { $0.value > 0 }
                    guard !rel.isEmpty else { continue }
                    perQueryNDCG.append(m.add(ranked: Similarity.topK(s.baseAddress! + r * n, count: n, k: 100), relevant: rel))
                }
            }
        }
        m.finish()
        return m
    }

    /// Adds one query's metrics; returns its nDCG@10.
    @discardableResult
    mutating func add(ranked: [Int], relevant: [Int: Int]) -> Double {
        var dcg = 0.0, firstHit: Int? = nil, hits = 0, precisionSum = 0.0
        for (i, doc) in ranked.enumerated() {
            guard let grade = relevant[doc] else { continue }
            if i < 10 { dcg += Double(grade) / log2(Double(i + 2)) }
            if firstHit == nil { firstHit = i }
            hits += 1
            precisionSum += Double(hits) / Double(i + 1)
        }
        let ideal = relevant.values.sorted(by: >).prefix(10).enumerated()
            .reduce(0.0) { $0 + Double($1.element) / log2(Double($1.offset + 2)) }
        let ndcg = ideal > 0 ? dcg / ideal : 0
        ndcg10 += ndcg
        if let f = firstHit, f < 10 { mrr10 += 1 / Double(f + 1) }
        func recall(_ k: Int) -> Double {
            Double(ranked.prefix(k).filter { relevant[$0] != nil }.count) / Double(relevant.count)
        }
        recall1 += recall(1); recall10 += recall(10); recall100 += recall(100)
        map100 += precisionSum / Double(relevant.count)
        queries += 1
        return ndcg
    }

    mutating func finish() {
        guard queries > 0 else { return }
        let n = Double(queries)
        ndcg10 /= n; mrr10 /= n; recall1 /= n; recall10 /= n; recall100 /= n; map100 /= n
    }
}

@inline(__always) private func log2(_ x: Double) -> Double { Double.log(x) / Double.log(2) }
