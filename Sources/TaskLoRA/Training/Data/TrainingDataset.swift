/// The kind of examples a dataset holds; decides which losses can train on it.
public enum DatasetKind: String, Codable, Sendable {
    case pairs
    case tuples
    case scoredPairs
    case labeledTexts
}

/// The examples of one dataset; a dataset holds one kind only.
public enum TrainingExamples: Sendable, Equatable {
    case pairs([PairExample])
    case tuples([TupleExample])
    case scoredPairs([ScoredPair])
    case labeledTexts([LabeledText])
}

/// Examples read from one file, with where they came from and how many rows were skipped.
public struct TrainingDataset: Sendable, Equatable {
    public var examples: TrainingExamples
    /// The file the rows came from (or a description for derived datasets).
    public var source: String
    /// Rows left out under `OnError.skip`.
    public var skipped: Int
    /// The first few reasons for skipped rows ("line 12: …").
    public var skipMessages: [String]

    public init(examples: TrainingExamples, source: String, skipped: Int = 0, skipMessages: [String] = []) {
        self.examples = examples
        self.source = source
        self.skipped = skipped
        self.skipMessages = skipMessages
    }

    public var kind: DatasetKind {
        switch examples {
        case .pairs: return .pairs
        case .tuples: return .tuples
        case .scoredPairs: return .scoredPairs
        case .labeledTexts: return .labeledTexts
        }
    }

    public var count: Int {
        switch examples {
        case .pairs(let e): return e.count
        case .tuples(let e): return e.count
        case .scoredPairs(let e): return e.count
        case .labeledTexts(let e): return e.count
        }
    }

    /// The texts of example `i`: anchor (or sentence1, or text) first, then positive (or sentence2),
    /// then hard negatives.
    public func texts(of i: Int) -> [String] {
        switch examples {
        case .pairs(let e): return [e[i].anchor, e[i].positive]
        case .tuples(let e): return [e[i].anchor, e[i].positive] + e[i].negatives
        case .scoredPairs(let e): return [e[i].sentence1, e[i].sentence2]
        case .labeledTexts(let e): return [e[i].text]
        }
    }

    /// How many of `texts(of:)` are anchor/positive texts (the rest are hard negatives).
    func mainTextCount(of i: Int) -> Int {
        kind == .labeledTexts ? 1 : 2
    }

    /// The examples at `indices`, in that order (skip counts stay with the parent).
    public func subset(_ indices: [Int], source: String? = nil) -> TrainingDataset {
        let examples: TrainingExamples
        switch self.examples {
        case .pairs(let e): examples = .pairs(indices.map { e[$0] })
        case .tuples(let e): examples = .tuples(indices.map { e[$0] })
        case .scoredPairs(let e): examples = .scoredPairs(indices.map { e[$0] })
        case .labeledTexts(let e): examples = .labeledTexts(indices.map { e[$0] })
        }
        return TrainingDataset(examples: examples, source: source ?? self.source)
    }

    /// The texts of a batch, with instruction prefixes applied, laid out for the losses.
    public func textBatch(_ indices: [Int], prefixes: Prefixes = .none) -> TextBatch {
        var batch = TextBatch(indices: indices)
        switch examples {
        case .pairs(let e):
            batch.anchors = indices.map { prefixes.anchor + e[$0].anchor }
            batch.positives = indices.map { prefixes.positive + e[$0].positive }
            batch.negatives = indices.map { _ in [] }
        case .tuples(let e):
            let negativePrefix = prefixes.negative ?? prefixes.positive
            batch.anchors = indices.map { prefixes.anchor + e[$0].anchor }
            batch.positives = indices.map { prefixes.positive + e[$0].positive }
            batch.negatives = indices.map { e[$0].negatives.map { negativePrefix + $0 } }
        case .scoredPairs(let e):
            batch.anchors = indices.map { prefixes.anchor + e[$0].sentence1 }
            batch.positives = indices.map { prefixes.positive + e[$0].sentence2 }
            batch.negatives = indices.map { _ in [] }
            batch.scores = indices.map { e[$0].score }
        case .labeledTexts(let e):
            batch.anchors = indices.map { prefixes.anchor + e[$0].text }
            batch.labels = indices.map { e[$0].label }
        }
        return batch
    }
}
