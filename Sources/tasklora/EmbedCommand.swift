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

    @Option(name: .long, help: "Sequences per forward pass.")
    var batchSize: Int = 32

    @Option(name: .long, help: "Maximum tokens per text, special tokens included.")
    var maxLength: Int = 512

    @Option(name: .long, help: "Pooling: mean or cls (default: the checkpoint's).")
    var pooling: Pooling?

    func validate() throws {
        guard (1...4096).contains(batchSize) else { throw ValidationError("--batch-size must be in 1...4096") }
        guard maxLength >= 2 else { throw ValidationError("--max-length must be at least 2") }
        if let dim, dim < 1 { throw ValidationError("--dim must be positive") }
        let ext = (output as NSString).pathExtension.lowercased()
        guard ext == "npy" || ext == "jsonl" else {
            throw ValidationError("--output must end in .npy or .jsonl, got \(output)")
        }
    }

    func run() throws {
        let (embedder, adapter, prefix) = try model.load(precision: compute.precision)
        if let pooling { embedder.pooling = pooling }
        let texts = try TextLines.read(path: input)
        let empty = texts.filter(\.isEmpty).count
        if empty > 0 { warn("\(empty) empty input line(s) embedded as the empty text") }
        let bar = texts.count >= 256 ? ProgressBar("embed", total: texts.count) : nil
        let options = SentenceEmbedder.Options(dim: dim, prefix: prefix, batchSize: batchSize, maxLength: maxLength,
                                               adapter: adapter)
        let started = Date()
        let result = try embedder.embed(texts, options: options) { done, _ in bar?.update(done) }
        let seconds = Date().timeIntervalSince(started)
        note(String(format: "embedded %d texts (%d tokens) in %.3f s: %.1f texts/s", texts.count, result.tokens,
                    seconds, Double(texts.count) / max(seconds, 1e-9)))
        if result.truncated > 0 {
            warn("\(result.truncated) of \(texts.count) inputs were longer than \(maxLength) tokens and were truncated")
        }
        if output.lowercased().hasSuffix(".npy") {
            try NPY.write(result.embeddings, to: output)
        } else {
            let d = result.embeddings.shape[1]
            var out = ""
            for r in 0..<texts.count {
                let row = (0..<d).map { String(result.embeddings[r * d + $0]) }.joined(separator: ",")
                out += "{\"embedding\":[\(row)]}\n"
            }
            try OutputFile.write(Data(out.utf8), to: output)
        }
    }
}

extension Pooling: ExpressibleByArgument {}
