import ArgumentParser
import Foundation
import TaskLoRA

struct SimilarityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similarity",
        abstract: "Print the cosine-similarity table of a few texts.")

    @OptionGroup var model: ModelOptions

    @OptionGroup var compute: PrecisionOptions

    @Option(name: .long, help: "Input: UTF-8 text, one text per line (at most 50).")
    var input: String

    @Option(name: .long, help: "Matryoshka dimension.")
    var dim: Int?

    func run() throws {
        let (embedder, adapter, prefix) = try model.load(compute)
        let texts = try TextLines.read(path: input)
        guard (1...50).contains(texts.count) else {
            throw TaskLoRAError.file(input, "has \(texts.count) lines; the table takes 1 to 50")
        }
        let options = SentenceEmbedder.Options(dim: dim, prefix: prefix, adapter: adapter)
        let e = try embedder.embed(texts, options: options).embeddings
        let n = texts.count, d = e.shape[1]
        print("     " + (0..<n).map { String(format: "%6d", $0) }.joined())
        for i in 0..<n {
            var row = ""
            for j in 0..<n {
                let cos: Float = VectorMath.dot(e.data + i * d, e.data + j * d, count: d)
                row += String(format: "%6.2f", cos)
            }
            print(String(format: "%3d  ", i) + row + "  " + texts[i].prefix(48))
        }
    }
}
