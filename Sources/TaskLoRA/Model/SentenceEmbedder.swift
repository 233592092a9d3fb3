import Foundation

/// Text in, sentence embeddings out: tokenizer → packed, length-bucketed batches →
/// `TextEncoder.forward` (optionally through a LoRA adapter) → pooling → Matryoshka truncation →
/// L2 normalization.
public final class SentenceEmbedder: @unchecked Sendable {
    public let encoder: TextEncoder
    public let tokenizer: TextTokenizer
    public var pooling: Pooling
    /// Trained adapters available to `Options.adapter`.
    public var adapters: LoRAAdapters?

    public init(encoder: TextEncoder, tokenizer: TextTokenizer, pooling: Pooling = .mean, adapters: LoRAAdapters? = nil) {
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.adapters = adapters
    }

    public struct Options: Sendable {
        /// Matryoshka dimension; nil for the full hidden size.
        public var dim: Int?
        public var prefix: String
        /// Sequences per forward pass.
        public var batchSize: Int
        /// Tokens per sequence, special tokens included.
        public var maxLength: Int
        /// Index into `adapters`, or nil for the base model.
        public var adapter: Int?
        public init(dim: Int? = nil, prefix: String = "", batchSize: Int = 32, maxLength: Int = 512, adapter: Int? = nil) {
            self.dim = dim
            self.prefix = prefix
            self.batchSize = batchSize
            self.maxLength = maxLength
            self.adapter = adapter
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
    public func embed(_ texts: [String], options: Options, progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        let h = encoder.config.hiddenSize
        let dim = options.dim ?? h
        guard dim >= 1, dim <= h else { throw TaskLoRAError("--dim \(dim) is out of range 1...\(h) for this model") }
        let pooled = try self.pooled(texts, options: options, progress: progress)
        let out = Tensor(zeros: [texts.count, dim])
        TruncateNormalize.forward(pooled: pooled.embeddings.data, rows: texts.count, hiddenSize: h, dim: dim, out: out.data)
        return Result(embeddings: out, truncated: pooled.truncated, tokens: pooled.tokens)
    }

    /// Pooled, not yet truncated or normalized embeddings (N, H): one encoder pass serves every
    /// Matryoshka dimension.
    public func pooled(_ texts: [String], options: Options, progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        let h = encoder.config.hiddenSize
        let maxLength = min(options.maxLength, encoder.config.maxSequenceLength)
        guard maxLength >= 2 else { throw TaskLoRAError("--max-length \(options.maxLength) is too small (at least 2)") }
        guard options.batchSize >= 1 else { throw TaskLoRAError("--batch-size must be at least 1") }
        if let a = options.adapter {
            guard let adapters, a >= 0, a < adapters.names.count else { throw TaskLoRAError("no adapter with index \(a)") }
        }
        let (sequences, truncated) = tokenizer.encodeAll(texts.map { options.prefix + $0 }, maxLength: maxLength)
        // Length bucketing: sorted by length, batches hold sequences of similar size.
        let order = sequences.indices.sorted { sequences[$0].count < sequences[$1].count }
        let out = Tensor(zeros: [texts.count, h])
        let pooled = Tensor(zeros: [options.batchSize, h])
        var done = 0, tokens = 0
        for chunkStart in Swift.stride(from: 0, to: order.count, by: options.batchSize) {
            let idx = Array(order[chunkStart..<min(chunkStart + options.batchSize, order.count)])
            let batch = TokenBatch(sequences: idx.map { sequences[$0] },
                                   adapters: options.adapter.map { [Int](repeating: $0, count: idx.count) })
            let hidden = encoder.forward(batch, adapters: options.adapter == nil ? nil : adapters)
            pooling.forward(hidden: hidden.data, batch: batch, hiddenSize: h, pooled: pooled.data)
            for (r, i) in idx.enumerated() {
                out.data.advanced(by: i * h).update(from: pooled.data.advanced(by: r * h), count: h)
            }
            done += idx.count
            tokens += batch.tokenCount
            progress?(done, texts.count)
        }
        return Result(embeddings: out, truncated: truncated, tokens: tokens)
    }
}
