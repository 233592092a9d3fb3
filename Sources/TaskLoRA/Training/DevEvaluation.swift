import Foundation

/// One dev set's scores at each evaluated Matryoshka dim.
public struct DevScores: Codable, Equatable, Sendable {
    public var name: String
    /// The metric selection and comparison follow: "spearman" (×100) for STS, "ndcg@10" for retrieval.
    public var metric: String
    /// dim → metric name → value.
    public var byDim: [Int: [String: Double]]
    /// dim → each item's score behind the metric: a retrieval set's per-query nDCG@10, an STS set's
    /// per-pair cosine. What a paired comparison with the base resamples (`paired(against:dim:)`).
    /// Kept in memory only: not in checkpoints or metrics.jsonl, and not compared by `==`.
    public var items: [Int: [Double]] = [:]
    /// An STS set's gold scores, pair by pair (the other half of its Spearman); empty for retrieval.
    public var gold: [Double] = []

    public init(name: String, metric: String, byDim: [Int: [String: Double]]) {
        self.name = name
        self.metric = metric
        self.byDim = byDim
    }

    /// Equal scores (the per-item details are not compared: a resumed run has the scores, not them).
    public static func == (a: DevScores, b: DevScores) -> Bool {
        a.name == b.name && a.metric == b.metric && a.byDim == b.byDim
    }

    /// This set's score minus `base`'s at `dim`, with a paired bootstrap over the items both were
    /// scored on; nil when either side lacks the per-item scores (e.g. after a resume).
    public func paired(against base: DevScores, dim: Int) -> PairedDifference? {
        guard let a = items[dim], let b = base.items[dim], a.count == b.count, !a.isEmpty else { return nil }
        if metric == "spearman" {
            guard gold.count == a.count else { return nil }
            return STSEvaluation.pairedSpearman(adapterCosines: a, baseCosines: b, gold: gold)
        }
        return PairedBootstrap.meanDifference(adapter: a, base: b)
    }

    /// The selection metric at `dim`.
    public func value(_ dim: Int) -> Double? { byDim[dim]?[metric] }

    public var dims: [Int] { byDim.keys.sorted() }

    enum CodingKeys: String, CodingKey { case name, metric, dims }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        metric = try c.decode(String.self, forKey: .metric)
        var byDim: [Int: [String: Double]] = [:]
        for (k, v) in try c.decode([String: [String: Double]].self, forKey: .dims) {
            guard let d = Int(k) else {
                throw DecodingError.dataCorruptedError(forKey: .dims, in: c, debugDescription: "dim \(k) is not an integer")
            }
            byDim[d] = v
        }
        self.byDim = byDim
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(metric, forKey: .metric)
        try c.encode(Dictionary(uniqueKeysWithValues: byDim.map { (String($0.key), $0.value) }), forKey: .dims)
    }

    /// `[DevScores]` as compact JSON (checkpoint attributes) and back.
    static func json(_ scores: [DevScores]) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return String(decoding: try e.encode(scores), as: UTF8.self)
    }

    static func decode(json: String, source: String) throws -> [DevScores] {
        do {
            return try JSONDecoder().decode([DevScores].self, from: Data(json.utf8))
        } catch {
            throw TaskLoRAError.file(source, "holds dev scores that do not read back: \(error)")
        }
    }

    /// For metrics.jsonl: {"name", "metric", "dims": {"384": {…}}}.
    var jsonObject: [String: Any] {
        var dims: [String: [String: Double]] = [:]
        for (d, m) in byDim { dims[String(d)] = m }
        return ["name": name, "metric": metric, "dims": dims]
    }
}

/// Scores dev sets with one embedder: every distinct text is embedded once per (prompt, adapter)
/// across all sets, one encoder pass serving every Matryoshka dim.
public enum DevEvaluation {
    /// How one side of the data is embedded: with which prompt, through which adapter (nil: none).
    public struct Side: Hashable, Sendable {
        public var prefix: String
        public var adapter: Int?
        public init(prefix: String, adapter: Int?) {
            self.prefix = prefix
            self.adapter = adapter
        }
    }

    /// Queries, passages, and both sentences of STS pairs.
    public struct Sides: Sendable {
        public var query: Side, passage: Side, symmetric: Side
        public init(query: Side, passage: Side, symmetric: Side) {
            self.query = query
            self.passage = passage
            self.symmetric = symmetric
        }
    }

    /// The metric a dev set is judged by.
    public static func metric(of set: DevSet) -> String {
        switch set {
        case .sts: return "spearman"
        case .retrieval: return "ndcg@10"
        }
    }

    public static func evaluate(_ sets: [NamedDevSet], sides: Sides, embedder: SentenceEmbedder, dims: [Int],
                                maxLength: Int) throws -> [DevScores] {
        // The distinct texts each side embeds.
        var texts: [Side: [String]] = [:], rows: [Side: [String: Int]] = [:]
        func row(_ side: Side, _ text: String) -> Int {
            if let r = rows[side]?[text] { return r }
            let r = texts[side, default: []].count
            texts[side, default: []].append(text)
            rows[side, default: [:]][text] = r
            return r
        }
        for entry in sets {
            switch entry.set {
            case .sts(let pairs, _):
                for p in pairs { _ = row(sides.symmetric, p.0); _ = row(sides.symmetric, p.1) }
            case .retrieval(let queries, let corpus, _, _):
                for q in queries { _ = row(sides.query, q) }
                for c in corpus { _ = row(sides.passage, c) }
            }
        }
        // One pass per side; then each dim's normalized table.
        var normalized: [Side: [Int: Tensor]] = [:]
        for (side, list) in texts {
            let pooled = try embedder.pooled(list, options: .init(prefix: side.prefix, batchSize: 32, maxLength: maxLength,
                                                                  adapter: side.adapter)).embeddings
            for d in dims { normalized[side, default: [:]][d] = try STSEvaluation.normalized(pooled, dim: d) }
        }
        return try sets.map { entry in
            var byDim: [Int: [String: Double]] = [:], items: [Int: [Double]] = [:], gold: [Double] = []
            switch entry.set {
            case .sts(let pairs, _):
                guard pairs.count >= 2 else {
                    throw TaskLoRAError("dev set \(entry.name): STS evaluation needs at least 2 pairs, got \(pairs.count)")
                }
                let ids = pairs.map { (row(sides.symmetric, $0.0), row(sides.symmetric, $0.1)) }
                gold = pairs.map(\.2)
                for d in dims {
                    let cos = STSEvaluation.cosines(embeddings: normalized[sides.symmetric]![d]!, ids: ids)
                    let r = STSEvaluation.evaluate(cosines: cos, gold: gold, dim: d)
                    byDim[d] = ["spearman": r.spearman, "pearson": r.pearson]
                    items[d] = cos
                }
            case .retrieval(let queries, let corpus, let qrels, _):
                let q = queries.map { row(sides.query, $0) }, c = corpus.map { row(sides.passage, $0) }
                for d in dims {
                    var perQuery: [Double] = []
                    let m = RetrievalMetrics.evaluate(queries: gather(normalized[sides.query]![d]!, q),
                                                      documents: gather(normalized[sides.passage]![d]!, c), qrels: qrels,
                                                      perQueryNDCG: &perQuery)
                    items[d] = perQuery
                    byDim[d] = ["ndcg@10": m.ndcg10, "mrr@10": m.mrr10, "recall@1": m.recall1, "recall@10": m.recall10,
                                "recall@100": m.recall100, "map@100": m.map100]
                }
            }
            var scores = DevScores(name: entry.name, metric: metric(of: entry.set), byDim: byDim)
            scores.items = items
            scores.gold = gold
            return scores
        }
    }

    /// The rows `indices` of `table` (N, d), in that order.
    static func gather(_ table: Tensor, _ indices: [Int]) -> Tensor {
        let d = table.shape[1]
        let out = Tensor(zeros: [indices.count, d])
        for (r, i) in indices.enumerated() { (out.data + r * d).update(from: table.data + i * d, count: d) }
        return out
    }
}
