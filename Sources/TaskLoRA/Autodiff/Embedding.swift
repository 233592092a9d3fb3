/// Input embeddings: word + position (learned, absolute models only) + token type, per token.
public enum Embedding {
    /// → x (T, H), before the embedding LayerNorm.
    public static func forward(batch: TokenBatch, weights: EncoderWeights, config: EncoderConfig,
                               x: UnsafeMutablePointer<Float>) {
        let profiled = Profiler.begin()
        defer { Profiler.end(.embedding, profiled) }
        let h = config.hiddenSize
        let word = weights.wordEmbeddings
        let position = weights.positionEmbeddings?.data
        let types = weights.tokenTypeEmbeddings?.data
        let offset = config.positionOffset
        Parallel.forEachChunk(batch.sequenceCount, minChunk: 1) { seqs in
            for b in seqs {
                let start = batch.offsets[b]
                for p in 0..<batch.length(b) {
                    let t = start + p
                    let row = x.advanced(by: t * h)
                    word.copyRow(Int(batch.ids[t]), count: h, into: row)
                    if let position { VectorMath.add(row, position.advanced(by: (p + offset) * h), count: h) }
                    if let types {
                        let type = Int(batch.tokenTypes?[t] ?? 0)
                        VectorMath.add(row, types.advanced(by: type * h), count: h)
                    }
                }
            }
        }
    }
}
