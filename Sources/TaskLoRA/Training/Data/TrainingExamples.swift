/// A query and a text that answers it; the other positives of a batch serve as its negatives (InfoNCE).
public struct PairExample: Codable, Hashable, Sendable {
    public var anchor: String
    public var positive: String
    public init(anchor: String, positive: String) {
        self.anchor = anchor
        self.positive = positive
    }
}

/// A pair with hard negatives: texts close to the anchor that must still rank below the positive.
public struct TupleExample: Codable, Hashable, Sendable {
    public var anchor: String
    public var positive: String
    public var negatives: [String]
    public init(anchor: String, positive: String, negatives: [String]) {
        self.anchor = anchor
        self.positive = positive
        self.negatives = negatives
    }
}

/// Two sentences with a graded similarity (STS, CoSENT); the scale is the reader's, see `ScoreNormalization`.
public struct ScoredPair: Codable, Hashable, Sendable {
    public var sentence1: String
    public var sentence2: String
    public var score: Double
    public init(sentence1: String, sentence2: String, score: Double) {
        self.sentence1 = sentence1
        self.sentence2 = sentence2
        self.score = score
    }
}

/// One text with a class label (classification adapters).
public struct LabeledText: Codable, Hashable, Sendable {
    public var text: String
    public var label: String
    public init(text: String, label: String) {
        self.text = text
        self.label = label
    }
}
