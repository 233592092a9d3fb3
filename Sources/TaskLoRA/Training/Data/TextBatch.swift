/// The texts of one batch, prefixed and laid out by role, ready to tokenize.
///
/// Row b of every non-empty array belongs to example `indices[b]`.
public struct TextBatch: Sendable, Equatable {
    /// Dataset rows of the batch.
    public var indices: [Int]
    /// Anchors (queries), sentence1 of scored pairs, or the texts of labeled data.
    public var anchors: [String] = []
    /// Positives, or sentence2 of scored pairs; empty for labeled texts.
    public var positives: [String] = []
    /// Hard negatives per example (empty inner arrays when there are none); empty for labeled texts.
    public var negatives: [[String]] = []
    /// Scores of scored pairs; empty otherwise.
    public var scores: [Double] = []
    /// Labels of labeled texts; empty otherwise.
    public var labels: [String] = []

    public init(indices: [Int]) { self.indices = indices }

    public var count: Int { indices.count }

    /// All hard negatives, example by example (the extra columns of an InfoNCE score matrix).
    public var flatNegatives: [String] { negatives.flatMap { $0 } }
}
