import Foundation

/// Text in, sentence embeddings out: tokenizer → packed batches → `Encoder.forward` → pooling →
/// Matryoshka truncation → L2 normalization.
public final class SentenceEmbedder: @unchecked Sendable {
    public let encoder: Encoder
    public let tokenizer: TextTokenizer
    public var pooling: Pooling

    public init(encoder: Encoder, tokenizer: TextTokenizer, pooling: Pooling = .mean) {
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.pooling = pooling
    }

    public struct Options: Sendable {
        /// Matryoshka dimension; nil for the full hidden size.
        public var dim: Int?
        public var prefix: String = ""
        /// Sequences per forward pass.
        public var batchSize: Int = 32
        /// Tokens per sequence, special tokens included.
        public var maxLength: Int = 512
        public init(dim: Int? = nil, prefix: String = "", batchSize: Int = 32, maxLength: Int = 512) {
            self.dim = dim
            self.prefix = prefix
            self.batchSize = batchSize
            self.maxLength = maxLength
        }
    }

    public struct Result {
        /// (N, D), one row per input text in input order.
        public let embeddings: Tensor
        /// How many inputs were longer than `maxLength` and cut.
        public let truncated: Int
        public let tokens: Int
    }

    /// Embeds `texts`; `progress(done, total)` is called after every batch.
    public func embed(_ texts: [String], options: Options,
                      progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        let h = encoder.config.hiddenSize
        let dim = options.dim ?? h
        guard dim >= 1, dim <= h else {
            throw TaskLoRAError("--dim \(dim) is out of range 1...\(h) for this model")
        }
        let maxLength = min(options.maxLength, encoder.config.maxSequenceLength)
        guard maxLength >= 2 else { throw TaskLoRAError("--max-length \(options.maxLength) is too small (at least 2)") }
        guard options.batchSize >= 1 else { throw TaskLoRAError("--batch-size must be at least 1") }

        // Tokenize everything first (cheap) so batches can be formed from similar lengths.
        var truncated = 0
        var sequences = [[Int32]](repeating: [], count: texts.count)
        let lock = NSLock()
        sequences.withUnsafeMutableBufferPointer { seqs in
            DispatchQueue.concurrentPerform(iterations: Parallel.cores) { worker in
                var cut = 0
                for i in Swift.stride(from: worker, to: texts.count, by: Parallel.cores) {
                    let full = tokenizer.encode(options.prefix + texts[i], maxLength: nil)
                    if full.count > maxLength {
                        cut += 1
                        seqs[i] = tokenizer.encode(options.prefix + texts[i], maxLength: maxLength)
                    } else {
                        seqs[i] = full
                    }
                }
                lock.lock(); truncated += cut; lock.unlock()
            }
        }
        // Length bucketing: sorted by length, batches hold sequences of similar size.
        let order = sequences.indices.sorted { sequences[$0].count < sequences[$1].count }
        let out = Tensor(zeros: [texts.count, dim])
        let pooled = Tensor(zeros: [options.batchSize, h])
        let normalized = Tensor(zeros: [options.batchSize, dim])
        var done = 0, tokens = 0
        for chunkStart in Swift.stride(from: 0, to: order.count, by: options.batchSize) {
            let idx = Array(order[chunkStart..<min(chunkStart + options.batchSize, order.count)])
            let batch = TokenBatch(sequences: idx.map { sequences[$0] })
            let hidden = encoder.forward(batch)
            pooling.forward(hidden: hidden.data, batch: batch, hiddenSize: h, pooled: pooled.data)
            TruncateNormalize.forward(pooled: pooled.data, rows: idx.count, hiddenSize: h, dim: dim, out: normalized.data)
            for (r, i) in idx.enumerated() {
                out.data.advanced(by: i * dim).update(from: normalized.data.advanced(by: r * dim), count: dim)
            }
            done += idx.count
            tokens += batch.tokenCount
            progress?(done, texts.count)
        }
        return Result(embeddings: out, truncated: truncated, tokens: tokens)
    }
}
