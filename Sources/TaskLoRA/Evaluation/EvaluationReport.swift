import Foundation

/// What `tasklora eval` writes: every dataset's settings and its metrics per Matryoshka dimension.
public struct EvaluationReport: Codable, Sendable {
    public struct Side: Codable, Sendable {
        public var task: String?
        public var prefix: String
        public init(task: String?, prefix: String) { self.task = task; self.prefix = prefix }
    }

    public struct STS: Codable, Sendable {
        public var name: String, file: String, pairs: Int
        public var model: Side
        public var results: [STSEvaluation.Result]
        public init(name: String, file: String, pairs: Int, model: Side, results: [STSEvaluation.Result]) {
            self.name = name; self.file = file; self.pairs = pairs; self.model = model; self.results = results
        }
    }

    public struct Retrieval: Codable, Sendable {
        public var name: String, format: String, queriesFile: String, corpusFile: String
        public var queries: Int, documents: Int
        public var query: Side, document: Side
        public var results: [DimRetrieval]
        public init(name: String, format: String, queriesFile: String, corpusFile: String, queries: Int, documents: Int,
                    query: Side, document: Side, results: [DimRetrieval]) {
            self.name = name; self.format = format; self.queriesFile = queriesFile; self.corpusFile = corpusFile
            self.queries = queries; self.documents = documents; self.query = query; self.document = document
            self.results = results
        }
        enum CodingKeys: String, CodingKey {
            case name, format, queriesFile = "queries_file", corpusFile = "corpus_file", queries, documents, query, document, results
        }
    }

    public struct DimRetrieval: Codable, Sendable {
        public var dim: Int
        public var metrics: RetrievalMetrics
        public init(dim: Int, metrics: RetrievalMetrics) { self.dim = dim; self.metrics = metrics }
        public init(from decoder: Decoder) throws {
            dim = try decoder.container(keyedBy: DimKey.self).decode(Int.self, forKey: .dim)
            metrics = try RetrievalMetrics(from: decoder)
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: DimKey.self)
            try c.encode(dim, forKey: .dim)
            try metrics.encode(to: encoder)
        }
        enum DimKey: String, CodingKey { case dim }
    }

    public struct Bitext: Codable, Sendable {
        public var name: String, source: String, target: String, pairs: Int
        public var model: Side
        public var results: [BitextMining.Result]
        public init(name: String, source: String, target: String, pairs: Int, model: Side, results: [BitextMining.Result]) {
            self.name = name; self.source = source; self.target = target; self.pairs = pairs; self.model = model
            self.results = results
        }
    }

    public struct Classification: Codable, Sendable {
        public var name: String, train: String, test: String?, k: Int
        public var trainTexts: Int, testTexts: Int, labels: [String]
        public var model: Side
        public var results: [KNNClassification.Result]
        public init(name: String, train: String, test: String?, k: Int, trainTexts: Int, testTexts: Int, labels: [String],
                    model: Side, results: [KNNClassification.Result]) {
            self.name = name; self.train = train; self.test = test; self.k = k; self.trainTexts = trainTexts
            self.testTexts = testTexts; self.labels = labels; self.model = model; self.results = results
        }
        enum CodingKeys: String, CodingKey {
            case name, train, test, k, trainTexts = "train_texts", testTexts = "test_texts", labels, model, results
        }
    }

    public var model: String
    public var dims: [Int]
    public var maxLength: Int
    public var sts: [STS] = []
    public var retrieval: [Retrieval] = []
    public var bitext: [Bitext] = []
    public var classification: [Classification] = []
    /// The adapters against the base model with its native prompts (`--compare-base`), per dataset
    /// and dim: STS Spearman ×100, retrieval nDCG@10.
    public var vsBase: [BaseRow] = []

    public struct BaseRow: Codable, Sendable {
        public var dataset: String, metric: String, dim: Int
        public var base: Double, adapter: Double
        public var basePrompts: [String]
        /// The paired bootstrap of the difference over the set's items (queries; STS pairs): whether
        /// it is more than a few items' noise.
        public var paired: PairedDifference?
        public var gain: Double { adapter - base }
        /// Below the base beyond the tie margin (0.002 of [0, 1] metrics; 0.2 of Spearman ×100).
        public var belowBase: Bool { TieMargin.isBelow(gain: gain, metric: metric) }
        public init(dataset: String, metric: String, dim: Int, base: Double, adapter: Double, basePrompts: [String],
                    paired: PairedDifference? = nil) {
            self.dataset = dataset; self.metric = metric; self.dim = dim; self.base = base; self.adapter = adapter
            self.basePrompts = basePrompts; self.paired = paired
        }
        enum CodingKeys: String, CodingKey { case dataset, metric, dim, base, adapter, basePrompts = "base_prompts", paired }
    }

    enum CodingKeys: String, CodingKey {
        case model, dims, maxLength = "max_length", sts, retrieval, bitext, classification
        case vsBase = "vs_base"
    }

    public init(model: String, dims: [Int], maxLength: Int) {
        self.model = model
        self.dims = dims
        self.maxLength = maxLength
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// One Markdown table per kind of evaluation, a row per dataset and dimension.
    public func markdown() -> String {
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        var out = "# Evaluation of \(model)\n"
        if !sts.isEmpty {
            out += "\n## STS (Spearman / Pearson of cosine vs. gold, ×100)\n\n| dataset | task | dim | Spearman | Pearson |\n|---|---|---:|---:|---:|\n"
            for d in sts { for r in d.results { out += "| \(d.name) | \(d.model.task ?? "base") | \(r.dim) | \(f(r.spearman)) | \(f(r.pearson)) |\n" } }
        }
        if !retrieval.isEmpty {
            out += "\n## Retrieval (×100)\n\n| dataset | query / document task | dim | nDCG@10 | MRR@10 | R@1 | R@10 | R@100 | MAP@100 |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
            for d in retrieval {
                for r in d.results {
                    let m = r.metrics
                    out += "| \(d.name) | \(d.query.task ?? "base") / \(d.document.task ?? "base") | \(r.dim) | \(f(100 * m.ndcg10)) | \(f(100 * m.mrr10)) | \(f(100 * m.recall1)) | \(f(100 * m.recall10)) | \(f(100 * m.recall100)) | \(f(100 * m.map100)) |\n"
                }
            }
        }
        if !bitext.isEmpty {
            out += "\n## Bitext mining (accuracy ×100)\n\n| dataset | task | dim | src→tgt | tgt→src | mean |\n|---|---|---:|---:|---:|---:|\n"
            for d in bitext { for r in d.results { out += "| \(d.name) | \(d.model.task ?? "base") | \(r.dim) | \(f(r.sourceToTarget)) | \(f(r.targetToSource)) | \(f(r.average)) |\n" } }
        }
        if !classification.isEmpty {
            out += "\n## k-NN classification (×100)\n\n| dataset | task | k | dim | accuracy | macro-F1 |\n|---|---|---:|---:|---:|---:|\n"
            for d in classification { for r in d.results { out += "| \(d.name) | \(d.model.task ?? "base") | \(d.k) | \(r.dim) | \(f(r.accuracy)) | \(f(r.macroF1)) |\n" } }
        }
        if !vsBase.isEmpty {
            out += "\n## Against the base with its native prompts\n\n" + baseSummary() + "\n\n"
            out += "| dataset | metric | dim | base (native prompts) | adapter | Δ | items worse / better | 95 % CI of Δ | verdict |\n"
                + "|---|---|---:|---:|---:|---:|---:|---|---|\n"
            for r in vsBase {
                let p = r.paired
                let counts = p.flatMap { p in p.worse.map { "\($0) / \(p.better ?? 0)" } } ?? "—"
                let ci = p.map { String(format: "[%+.4f, %+.4f]", $0.lower, $0.upper) } ?? "—"
                out += "| \(r.dataset) | \(r.metric) | \(r.dim) | \(String(format: "%.4f", r.base)) | \(String(format: "%.4f", r.adapter)) | "
                    + String(format: "%+.4f", r.gain) + (r.belowBase ? " (below)" : "") + " | \(counts) | \(ci) | \(p?.verdict ?? "—") |\n"
            }
        }
        return out
    }

    /// One paragraph on the comparison with the base: the pairs below it beyond the tie margin,
    /// and how many differences the paired bootstrap finds significant either way.
    public func baseSummary() -> String {
        let below = vsBase.filter(\.belowBase)
        // The margins in each metric's own units: 0.002 of nDCG@10, 0.2 of Spearman ×100.
        let ties = Array(Set(vsBase.map(\.metric))).sorted().map { String(format: "%g", TieMargin.margin($0)) + ($0 == "spearman" ? " of Spearman ×100" : "") }
            .joined(separator: ", ")
        var out = below.isEmpty
            ? "At or above the base on every dataset and dim (ties within \(ties))."
            : "**Below the base on \(below.count) of \(vsBase.count) dataset/dim pairs** (beyond the tie margin \(ties)): "
              + below.map { "\($0.dataset) at \($0.dim)" }.joined(separator: ", ") + "."
        let tested = vsBase.compactMap(\.paired)
        if !tested.isEmpty {
            let down = vsBase.filter { $0.paired?.isSignificantlyBelow == true }
            let up = tested.filter(\.isSignificantlyAbove).count
            out += " Paired bootstrap over the items (95 %): \(down.count) of \(tested.count) pairs significantly below the base"
                + (down.isEmpty ? "" : " (" + down.map { "\($0.dataset) at \($0.dim)" }.joined(separator: ", ") + ")")
                + ", \(up) significantly above."
        }
        return out
    }
}
