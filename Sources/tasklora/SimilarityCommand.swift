import ArgumentParser
import Foundation
import TaskLoRA

struct SimilarityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similarity",
        abstract: "Print the cosine-similarity table of a few texts.")

    @Option(name: .long, help: "A tasklora checkpoint (.h5).")
    var model: String

    @Option(name: .long, help: "Input: UTF-8 text, one text per line (at most 50).")
    var input: String

    @Option(name: .long, help: "Text prepended to every input.")
    var prefix: String = ""

    @Option(name: .long, help: "Matryoshka dimension.")
    var dim: Int?

    func run() throws {
        let embedder = try LoadedModel.loadEmbedder(checkpoint: model)
        let texts = try TextLines.read(path: input)
        guard (1...50).contains(texts.count) else {
            throw TaskLoRAError.file(input, "has \(texts.count) lines; the table takes 1 to 50")
        }
        let e = try embedder.embed(texts, options: .init(dim: dim, prefix: prefix)).embeddings
        let n = texts.count, d = e.shape[1]
        print("     " + (0..<n).map { String(format: "%6d", $0) }.joined())
        for i in 0..<n {
            let row = (0..<n).map { j in
                String(format: "%6.2f", VectorMath.dot(e.data + i * d, e.data + j * d, count: d))
            }.joined()
            print(String(format: "%3d  ", i) + row + "  " + texts[i].prefix(48))
        }
    }
}
