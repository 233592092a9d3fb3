import Foundation

/// What evaluation runs on during training.
public enum DevSet: Sendable {
    /// Scored pairs: Spearman of cosine vs gold.
    case sts(pairs: [(String, String, Double)], source: String)
    /// Queries against a corpus; `qrels[q]` maps corpus index → grade.
    case retrieval(queries: [String], corpus: [String], qrels: [[Int: Int]], source: String)

    public var summary: String {
        switch self {
        case .sts(let pairs, let source): return "\(pairs.count) scored pairs from \(source)"
        case .retrieval(let q, let c, _, let source): return "\(q.count) queries over \(c.count) passages from \(source)"
        }
    }
}

/// The recipe's training set (all files merged) and its dev set.
public struct TrainingData: Sendable {
    public var train: TrainingDataset
    public var dev: DevSet?
    /// The training file each example of `train` came from (`data.train`'s order).
    public var trainSources: ExampleSources

    public static func load(recipe: Recipe) throws -> TrainingData {
        let d = recipe.data
        var parts: [TrainingDataset] = []
        var heldOutSQuAD: [SQuADData] = []
        let options = ReadOptions(onError: d.onError, scoreNormalization: .divide(by: d.scoreScale), hardNegatives: recipe.loss.hardNegatives,
                                  seed: UInt64(recipe.seed))
        for path in d.train {
            let format = try d.readerFormat ?? DataFormat.detect(path: path)
            switch format {
            case .squad:
                var squad = try SQuADReader.read(path: path, options: options)
                if d.heldOut > 0, d.dev == nil {
                    // Whole paragraphs held out: evaluation retrieves passages never trained on.
                    let split = try squad.splitByParagraph(heldOutFraction: d.heldOut, seed: UInt64(recipe.seed))
                    squad = split.train
                    heldOutSQuAD.append(split.heldOut)
                }
                parts.append(try squad.trainingDataset(hardNegatives: recipe.loss.hardNegatives, seed: UInt64(recipe.seed)))
            case .sick:
                parts.append(try SICKReader.read(path: path, options: options).relatedness())
            default:
                parts.append(try TrainingDataset.load(path: path, format: format, options: options))
            }
        }
        var train = try merge(parts)
        var sourceOf = parts.enumerated().flatMap { i, part in Array(repeating: i, count: part.count) }
        var dev: DevSet? = nil
        if let devPath = d.dev {
            dev = try loadDev(path: devPath, format: nil)
        } else if !heldOutSQuAD.isEmpty {
            dev = retrievalSet(heldOutSQuAD, source: "held-out paragraphs (\(Int(d.heldOut * 100)) %) of the training files")
        } else if d.heldOut > 0 {
            let rows = try train.splitRows(heldOutFraction: d.heldOut, seed: UInt64(recipe.seed))
            let split = train.split(rows: rows)
            sourceOf = rows.train.map { sourceOf[$0] }
            train = split.train
            dev = try devSet(from: split.heldOut, source: "held-out rows (\(Int(d.heldOut * 100)) %) of the training files")
        }
        try checkFits(train, loss: recipe.loss)
        return TrainingData(train: train, dev: dev, trainSources: ExampleSources(sourceOfExample: sourceOf, names: d.train))
    }

    /// The run's batch sampler: in-batch negatives (InfoNCE) forbid a repeated text in a batch;
    /// length bucketing and per-source batches as the recipe says.
    public func makeSampler(recipe: Recipe) throws -> BatchSampler {
        let d = recipe.data
        let unique: UniqueTexts = recipe.loss.type == .infonce ? .allTexts : .off
        let config = BatchSamplerConfig(batchSize: d.batchSize, seed: UInt64(recipe.seed), dropLast: true, uniqueTexts: unique,
                                        bucketWindow: d.lengthBucketing ? 50 : nil,
                                        perSource: d.batches == .perSource ? PerSourceBatches(weights: d.weights) : nil)
        return try BatchSampler(dataset: train, config: config, lengths: d.lengthBucketing ? BatchSampler.characterLengths(train) : nil,
                                sources: trainSources)
    }

    /// The training data must have what the loss reads (scores, labels, enough negatives): caught
    /// here, naming the file, instead of at the first batch.
    static func checkFits(_ train: TrainingDataset, loss: Recipe.Loss) throws {
        let needs: String?
        switch (loss.type, train.examples) {
        case (.infonce, .labeledTexts): needs = "pairs (anchor, positive)"
        case (.infonce, .tuples(let rows)) where loss.hardNegatives > 0:
            if let i = rows.firstIndex(where: { $0.negatives.count < loss.hardNegatives }) {
                throw TaskLoRAError.file(train.source, "example \(i + 1) has \(rows[i].negatives.count) negatives, but loss.hard_negatives is \(loss.hardNegatives)")
            }
            needs = nil
        case (.infonce, _) where loss.hardNegatives > 0:
            needs = "examples with \"negatives\" (loss.hard_negatives is \(loss.hardNegatives))"
        case (.classification, .tuples): needs = nil
        case (.classification, _): needs = "examples with \"negatives\" (the classification loss scores the positive against them)"
        case (.separation, .labeledTexts(let rows)) where Set(rows.map(\.label)).count < 2:
            throw TaskLoRAError.file(train.source, "has only one label; the separation loss needs at least two")
        case (.cosent, .scoredPairs), (.separation, .labeledTexts): needs = nil
        case (.cosent, _): needs = "scored pairs (sentence1, sentence2, score)"
        case (.separation, _): needs = "labeled texts (text, label)"
        default: needs = nil
        }
        if let needs {
            throw TaskLoRAError.file(train.source, "holds \(train.kind.rawValue), but loss \(loss.type.rawValue) needs \(needs)")
        }
    }

    /// A dev file: SQuAD JSON → retrieval; anything with scores → STS.
    public static func loadDev(path: String, format: DataFormat?) throws -> DevSet {
        let f = try format ?? DataFormat.detect(path: path)
        if f == .squad { return retrievalSet([try SQuADReader.read(path: path)], source: path) }
        let ds = f == .sick ? try SICKReader.read(path: path).relatedness() : try TrainingDataset.load(path: path, format: f)
        return try devSet(from: ds, source: path)
    }

    static func devSet(from ds: TrainingDataset, source: String) throws -> DevSet {
        switch ds.examples {
        case .scoredPairs(let rows):
            return .sts(pairs: rows.map { ($0.sentence1, $0.sentence2, $0.score) }, source: source)
        case .pairs(let rows):
            return retrievalPairs(rows.map { ($0.anchor, $0.positive) }, source: source)
        case .tuples(let rows):
            return retrievalPairs(rows.map { ($0.anchor, $0.positive) }, source: source)
        case .labeledTexts:
            throw TaskLoRAError.file(source, "labeled texts cannot be a dev set for STS or retrieval")
        }
    }

    /// Anchor → positive pairs as retrieval: the corpus is every distinct positive.
    static func retrievalPairs(_ pairs: [(String, String)], source: String) -> DevSet {
        var corpusIndex: [String: Int] = [:], corpus: [String] = []
        var queries: [String] = [], qrels: [[Int: Int]] = []
        for (q, p) in pairs {
            let i = corpusIndex[p] ?? { corpus.append(p); corpusIndex[p] = corpus.count - 1; return corpus.count - 1 }()
            queries.append(q)
            qrels.append([i: 1])
        }
        return .retrieval(queries: queries, corpus: corpus, qrels: qrels, source: source)
    }

    static func retrievalSet(_ sets: [SQuADData], source: String) -> DevSet {
        var corpus: [String] = [], queries: [String] = [], qrels: [[Int: Int]] = []
        for s in sets {
            var index: [String: Int] = [:]
            for p in s.paragraphs {
                index[p.id] = corpus.count
                corpus.append(p.text)
            }
            for q in s.questions {
                guard let i = index[q.paragraphID] else { continue }
                queries.append(q.text)
                qrels.append([i: 1])
            }
        }
        return .retrieval(queries: queries, corpus: corpus, qrels: qrels, source: source)
    }

    static func merge(_ parts: [TrainingDataset]) throws -> TrainingDataset {
        guard var first = parts.first else { throw TaskLoRAError("the recipe names no training data") }
        for p in parts.dropFirst() {
            guard p.kind == first.kind else {
                throw TaskLoRAError.file(p.source, "holds \(p.kind.rawValue) but \(first.source) holds \(first.kind.rawValue)")
            }
            switch (first.examples, p.examples) {
            case (.pairs(let a), .pairs(let b)): first.examples = .pairs(a + b)
            case (.tuples(let a), .tuples(let b)): first.examples = .tuples(a + b)
            case (.scoredPairs(let a), .scoredPairs(let b)): first.examples = .scoredPairs(a + b)
            case (.labeledTexts(let a), .labeledTexts(let b)): first.examples = .labeledTexts(a + b)
            default: break
            }
            first.skipped += p.skipped
        }
        if parts.count > 1 { first.source = "\(parts.count) files" }
        return first
    }
}
