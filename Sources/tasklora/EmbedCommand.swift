import ArgumentParser
import Foundation
import TaskLoRA

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts: mean pooling, Matryoshka truncation, L2 normalization.",
        discussion: """
            Output row i belongs to input line i. An empty line is embedded as the empty text. \
            Texts longer than --max-length tokens are truncated and counted in a warning.
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
        let (embedder, adapter, prefix) = try model.load(precision: compute.precision)
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
        let writer = try EmbeddingWriter(path: output, rows: lines.count, dim: width)
        let bar = lines.count >= 256 ? ProgressBar("embed", total: lines.count) : nil
        let started = Date()
        var empty = 0, truncated = 0, tokens = 0
        for start in stride(from: 0, to: lines.count, by: chunk) {
            let texts = try (start..<min(start + chunk, lines.count)).map { try lines.text($0) }
            empty += texts.filter(\.isEmpty).count
            let result = try embedder.embed(texts, options: options) { done, _ in bar?.update(start + done) }
            try writer.append(result.embeddings.data, count: texts.count)
            lines.release(before: start + texts.count)
            truncated += result.truncated
            tokens += result.tokens
        }
        try writer.commit()
        let seconds = Date().timeIntervalSince(started)
        note(String(format: "embedded %d texts (%d tokens) in %.3f s: %.1f texts/s", lines.count, tokens,
                    seconds, Double(lines.count) / max(seconds, 1e-9)))
        if empty > 0 { warn("\(empty) empty input line(s) embedded as the empty text") }
        if truncated > 0 {
            warn("\(truncated) of \(lines.count) inputs were longer than \(batch.maxLength) tokens and were truncated")
        }
    }
}

extension Pooling: ExpressibleByArgument {}
