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

/// A dev set with the name logs, metrics and reports show it by.
public struct NamedDevSet: Sendable {
    public var name: String
    public var set: DevSet
    public init(name: String, set: DevSet) {
        self.name = name
        self.set = set
    }
}

/// The recipe's training set (all files merged) and its dev sets (`data.dev`, in order).
public struct TrainingData: Sendable {
    public var train: TrainingDataset
    public var dev: [NamedDevSet]
    /// The training file each example of `train` came from (`data.train`'s order).
    public var trainSources: ExampleSources

    public static func load(recipe: Recipe) throws -> TrainingData {
        let d = recipe.data
        var parts: [TrainingDataset] = []
        var heldOutSQuAD: [(path: String, data: SQuADData)] = []
        let options = ReadOptions(onError: d.onError, scoreNormalization: .divide(by: d.scoreScale), hardNegatives: recipe.loss.hardNegatives,
                                  seed: UInt64(recipe.seed))
        for path in d.train {
            let format = try d.readerFormat ?? DataFormat.detect(path: path)
            switch format {
            case .squad:
                var squad = try SQuADReader.read(path: path, options: options)
                if d.splitsHeldOut {
                    // Whole paragraphs held out: evaluation retrieves passages never trained on.
                    let split = try squad.splitByParagraph(heldOutFraction: d.heldOut, seed: UInt64(recipe.seed))
                    squad = split.train
                    heldOutSQuAD.append((path, split.heldOut))
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
        var heldOutRows: TrainingDataset? = nil
        if heldOutSQuAD.isEmpty, d.splitsHeldOut {
            let rows = try train.splitRows(heldOutFraction: d.heldOut, seed: UInt64(recipe.seed))
            let split = train.split(rows: rows)
            sourceOf = rows.train.map { sourceOf[$0] }
            train = split.train
            heldOutRows = split.heldOut
        }
        let percent = "\(Int(d.heldOut * 100)) %"
        var dev: [NamedDevSet] = []
        // No data.dev but held_out > 0: the pooled held-out part, as a one-entry list.
        let sources = d.dev.isEmpty && d.heldOut > 0 ? [Recipe.DevSource(heldOut: .pooled)] : d.dev
        for entry in sources {
            if let path = entry.path {
                dev.append(NamedDevSet(name: entry.name ?? Recipe.DevSource.fileName(path),
                                       set: try loadDev(path: path, format: entry.readerFormat)))
                continue
            }
            guard let mode = entry.heldOut else { continue }
            if let rows = heldOutRows {
                guard mode == .pooled else {
                    throw TaskLoRAError.file(d.train[0], "data.dev held_out: \(mode.rawValue) needs SQuAD training files (format squad); other data can only be held out pooled")
                }
                dev.append(NamedDevSet(name: entry.name ?? "held-out",
                                       set: try devSet(from: rows, source: "held-out rows (\(percent)) of the training files")))
                continue
            }
            switch mode {
            case .pooled:
                dev.append(NamedDevSet(name: entry.name ?? "held-out",
                                       set: retrievalSet(heldOutSQuAD.map(\.data), source: "held-out paragraphs (\(percent)) of the training files")))
            case .perFile:
                for (path, part) in heldOutSQuAD {
                    let file = Recipe.DevSource.fileName(path)
                    dev.append(NamedDevSet(name: (entry.name.map { $0 + " " } ?? "held-out ") + file,
                                           set: retrievalSet([part], source: "held-out paragraphs (\(percent)) of \(path)")))
                }
            case .cross:
                guard let first = heldOutSQuAD.first else { continue }
                for (path, part) in heldOutSQuAD.dropFirst() {
                    let name = "\(Recipe.DevSource.fileName(first.path)) → \(Recipe.DevSource.fileName(path))"
                    dev.append(NamedDevSet(name: (entry.name.map { $0 + " " } ?? "held-out ") + name,
                                           set: try crossSet(queries: first.data, corpus: part, queryPath: first.path, corpusPath: path,
                                                             source: "held-out questions of \(first.path) → paragraphs of \(path)")))
                }
            }
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

    /// Parallel SQuAD files (XQuAD): `queries`' questions against `corpus`' paragraphs, matched by
    /// paragraph id (article and position, the same in every translation).
    static func crossSet(queries: SQuADData, corpus: SQuADData, queryPath: String, corpusPath: String,
                         source: String) throws -> DevSet {
        var index: [String: Int] = [:], texts: [String] = []
        for p in corpus.paragraphs {
            index[p.id] = texts.count
            texts.append(p.text)
        }
        var q: [String] = [], qrels: [[Int: Int]] = []
        for question in queries.questions {
            guard let i = index[question.paragraphID] else {
                throw TaskLoRAError.file(corpusPath, "has no paragraph \(question.paragraphID) for a question of \(queryPath): held_out: cross needs parallel files (the same articles and paragraphs in each)")
            }
            q.append(question.text)
            qrels.append([i: 1])
        }
        return .retrieval(queries: q, corpus: texts, qrels: qrels, source: source)
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
