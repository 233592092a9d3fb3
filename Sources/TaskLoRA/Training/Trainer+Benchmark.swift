import Foundation

/// Entry points for benchmarks (`tasklora-bench train-throughput`, `gradcache`): one optimizer
/// step of the trainer's own forward/backward (GradCache included), clipping and AdamW, on
/// batches the caller picks instead of the sampler's, at the recipe's base learning rate. They do
/// not advance `step`, write metrics or checkpoints.
extension Trainer {
    /// One step over training examples `indices` (rows of `data.train`): text batch → tokenizer
    /// (the recipe's max length) → step. Returns the loss, each row's token count and the gradient norm.
    public func benchmarkStep(indices: [Int]) throws -> (loss: Double, lengths: [Int], gradNorm: Double) {
        let texts = data.train.textBatch(indices, prefixes: recipe.prefixes)
        let batch = try TrainingBatch.make(texts, recipe: recipe, anchorAdapter: anchorAdapter, positiveAdapter: positiveAdapter)
        let ids = tokenize(batch.texts)
        let (loss, norm) = try benchmarkStep(ids: ids, adapterIDs: batch.adapters, loss: batch.loss)
        return (loss, ids.map(\.count), norm)
    }

    /// One step over pre-tokenized in-batch InfoNCE pairs: `anchors[i]` ↔ `positives[i]`.
    public func benchmarkStep(anchors: [[Int32]], positives: [[Int32]]) throws -> (loss: Double, gradNorm: Double) {
        guard anchors.count == positives.count, recipe.loss.type == .infonce else {
            throw TaskLoRAError("benchmarkStep(anchors:positives:) needs as many anchors as positives and an InfoNCE recipe")
        }
        let n = anchors.count, l = recipe.loss
        let loss = InfoNCE(temperature: l.temperature, reverse: l.reverse, symmetric: l.symmetric)
            .batch(pairs: n, negativesPerAnchor: 0)
        return try benchmarkStep(ids: anchors + positives,
                                 adapterIDs: [Int](repeating: anchorAdapter, count: n) + [Int](repeating: positiveAdapter, count: n),
                                 loss: loss)
    }

    private func benchmarkStep(ids: [[Int32]], adapterIDs: [Int], loss: any EmbeddingLoss) throws -> (loss: Double, gradNorm: Double) {
        adapters.zeroGradients()
        let value = try forwardBackward(ids, adapterIDs: adapterIDs, loss: loss, scale: 1)
        let profiled = Profiler.begin()
        defer { Profiler.end(.optimizer, profiled) }
        let norm = GradientClipping.clip(adapters.gradients, count: adapters.parameterCount, maxNorm: recipe.optimizer.gradClip)
        optimizer.update(adapters, lr: recipe.optimizer.lr)
        return (value, norm)
    }
}
