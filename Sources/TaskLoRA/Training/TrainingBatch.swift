/// One training batch as the encoder and the loss see it: the texts of every row in the loss's row
/// layout, the adapter each row runs through, and the loss bound to that layout.
public struct TrainingBatch {
    /// Row texts, prefixes applied: InfoNCE [anchors; positives; negatives], CoSENT [s1; s2],
    /// separation [texts].
    public var texts: [String]
    /// Adapter index of every row.
    public var adapters: [Int]
    public var loss: any EmbeddingLoss
    /// The batch position (0..<examples) of the example each row belongs to: which rank embeds the
    /// row in a data-parallel run (`GlobalBatch`).
    public var exampleOfRow: [Int]

    /// Lays out a sampled batch for the recipe's loss.
    public static func make(_ batch: TextBatch, recipe: Recipe, anchorAdapter: Int, positiveAdapter: Int) throws -> TrainingBatch {
        let n = batch.count, t = recipe.loss.temperature
        switch recipe.loss.type {
        case .infonce, .classification:
            let classification = recipe.loss.type == .classification
            // Classification uses every negative the data gives (jina: 7; the fewest in the batch
            // when rows differ); InfoNCE the recipe's count.
            let k = classification ? (batch.negatives.map(\.count).min() ?? 0) : recipe.loss.hardNegatives
            var negatives: [String] = []
            for (i, row) in batch.negatives.enumerated() where k > 0 {
                guard row.count >= k else {
                    throw TaskLoRAError("example \(batch.indices[i]) has \(row.count) negatives, the loss needs \(k)")
                }
                negatives += row.prefix(k)
            }
            if k > 0, negatives.count != n * k { throw TaskLoRAError("the data has no hard negatives, but loss.hard_negatives is \(k)") }
            let loss = classification
                ? InfoNCE(temperature: t, reverse: false, inBatchNegatives: false)
                : InfoNCE(temperature: t, reverse: recipe.loss.reverse, symmetric: recipe.loss.symmetric)
            return TrainingBatch(texts: batch.anchors + batch.positives + negatives,
                                 adapters: [Int](repeating: anchorAdapter, count: n)
                                     + [Int](repeating: positiveAdapter, count: n + negatives.count),
                                 loss: loss.batch(pairs: n, negativesPerAnchor: k),
                                 exampleOfRow: Array(0..<n) + Array(0..<n) + (0..<n).flatMap { [Int](repeating: $0, count: k) })
        case .cosent:
            guard batch.scores.count == n else { throw TaskLoRAError("CoSENT needs scored pairs (sentence1, sentence2, score)") }
            return TrainingBatch(texts: batch.anchors + batch.positives,
                                 adapters: [Int](repeating: anchorAdapter, count: n) + [Int](repeating: positiveAdapter, count: n),
                                 loss: CoSENT(temperature: t).batch(scores: batch.scores),
                                 exampleOfRow: Array(0..<n) + Array(0..<n))
        case .separation:
            guard batch.labels.count == n else { throw TaskLoRAError("the separation loss needs labeled texts (text, label)") }
            var ids: [String: Int] = [:]
            let labels = batch.labels.map { l in ids[l] ?? { ids[l] = ids.count; return ids.count - 1 }() }
            return TrainingBatch(texts: batch.anchors, adapters: [Int](repeating: anchorAdapter, count: n),
                                 loss: CoSENT(temperature: t).separationBatch(labels: labels),
                                 exampleOfRow: Array(0..<n))
        }
    }
}
