import ArgumentParser
import Foundation
import TaskLoRA

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts: mean pooling, Matryoshka truncation, L2 normalization.",
        discussion: """
            Output row i belongs to input line i. An empty line is embedded as the empty text. \
            Texts longer than --max-length tokens are truncated and counted in a warning. \
            Under `mpirun -np N` the input is sharded over the N processes and rank 0 writes the \
            output, in input order.
            """)

    @OptionGroup var model: ModelOptions

    @OptionGroup var compute: PrecisionOptions

    @Option(name: .long, help: "Input: UTF-8 text, one text per line, or .jsonl with a \"text\" field.")
    var input: String

    @Option(name: .long, help: "Output: .npy (float32, shape (N, D)) or .jsonl.")
    var output: String

    @Option(name: .long, help: "Matryoshka dimension: keep the first D components, then normalize.")
    var dim: Int?

    @OptionGroup var batch: BatchOptions

    @Option(name: .long, help: "Pooling: mean or cls (default: the checkpoint's).")
    var pooling: Pooling?

    @Option(name: .long, help: "Lines read, embedded and written at a time: memory is one chunk's, whatever the input's length.")
    var chunk = 8192

    func validate() throws {
        if let dim, dim < 1 { throw ValidationError("--dim must be positive") }
        guard chunk >= 1 else { throw ValidationError("--chunk must be at least 1") }
        let ext = (output as NSString).pathExtension.lowercased()
        guard ext == "npy" || ext == "jsonl" else {
            throw ValidationError("--output must end in .npy or .jsonl, got \(output)")
        }
    }

    func run() throws {
        try runAsRank { communicator in try embed(communicator) }
    }

    /// Under `mpirun -np N` each chunk of lines is split into N contiguous shares; every rank embeds
    /// its share, the rows are all-gathered in rank order (= input order) and rank 0 writes them.
    private func embed(_ communicator: Communicator) throws {
        let ranks = communicator.size, root = communicator.isRoot
        let (embedder, adapter, prefix) = try model.load(compute)
        if let pooling { embedder.pooling = pooling }
        // Streamed: the input is memory-mapped and read --chunk lines at a time, each chunk's rows
        // appended to the output and its pages handed back, so memory is one chunk's whatever the
        // file's length (a sparse line index: one offset per chunk, not per line).
        let lines = try LineFile(path: input, indexEvery: chunk)
        let options = SentenceEmbedder.Options(dim: dim, prefix: prefix, batchSize: batch.batchSize, maxLength: batch.maxLength,
                                               adapter: adapter)
        let width = dim ?? embedder.encoder.config.hiddenSize
        guard width <= embedder.encoder.config.hiddenSize else {
            throw TaskLoRAError("--dim \(width) is out of range 1...\(embedder.encoder.config.hiddenSize) for this model")
        }
        let writer = root ? try EmbeddingWriter(path: output, rows: lines.count, dim: width) : nil
        let bar = root && lines.count >= 256 ? ProgressBar("embed", total: lines.count) : nil
        let started = Date()
        var empty = 0, truncated = 0, tokens = 0
        for start in stride(from: 0, to: lines.count, by: chunk) {
            let count = min(chunk, lines.count - start)
            let mine = GlobalBatch.exampleRange(examples: count, rank: communicator.rank, size: ranks)
            let texts = try mine.map { try lines.text(start + $0) }
            empty += texts.filter(\.isEmpty).count
            let result = texts.isEmpty ? nil : try embedder.embed(texts, options: options) { done, _ in
                bar?.update(start + min(done * ranks, count))
            }
            truncated += result?.truncated ?? 0
            tokens += result?.tokens ?? 0
            let rows = result?.embeddings ?? Tensor(zeros: [0, width])
            lines.release(before: start + count)
            if ranks == 1 {
                try writer?.append(rows.data, count: texts.count)
                continue
            }
            let all = Tensor(zeros: [count, width])
            try communicator.allGather(rows.data, counts: (0..<ranks).map {
                GlobalBatch.exampleRange(examples: count, rank: $0, size: ranks).count * width
            }, into: all.data, what: "the embeddings of lines \(start + 1)-\(start + count)")
            try writer?.append(all.data, count: count)
        }
        let totals = try DeterministicAllReduce.sum([Int64(empty), Int64(truncated), Int64(tokens)], communicator: communicator,
                                                    what: "the embedding counts")
        (empty, truncated, tokens) = (Int(totals[0]), Int(totals[1]), Int(totals[2]))
        try writer?.commit()
        guard root else { return }
        let seconds = Date().timeIntervalSince(started)
        note(String(format: "embedded %d texts (%d tokens) in %.3f s: %.1f texts/s", lines.count, tokens,
                    seconds, Double(lines.count) / max(seconds, 1e-9)) + (ranks > 1 ? " on \(ranks) ranks" : ""))
        if empty > 0 { warn("\(empty) empty input line(s) embedded as the empty text") }
        if truncated > 0 {
            warn("\(truncated) of \(lines.count) inputs were longer than \(batch.maxLength) tokens and were truncated")
        }
    }
}

extension Pooling: ExpressibleByArgument {}
