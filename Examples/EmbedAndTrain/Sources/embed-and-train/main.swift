// Usage: embed-and-train BASE.h5 WORK_FOLDER
//   BASE.h5: a tasklora base checkpoint (scripts/quickstart.sh imports multilingual-e5-small into
//   checkpoints/multilingual-e5-small.h5); WORK_FOLDER: where the little training run is written.
import Foundation
import TaskLoRA

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: embed-and-train BASE.h5 WORK_FOLDER\n".utf8))
    exit(2)
}
let base = arguments[1], work = arguments[2]

do {
    // 1. Load: the base model, its tokenizer and any adapters it carries.
    let (embedder, _) = try LoadedModel.loadEmbedder(checkpoint: base)
    let sentences = ["A man is playing a guitar.", "Ein Mann spielt Gitarre.", "The stock market fell sharply today."]

    // 2. Embed at a Matryoshka dimension: the first 64 components, L2-normalized.
    let small = try embedder.embed(sentences, options: .init(dim: 64, prefix: "query: ")).embeddings
    func cosine(_ e: Tensor, _ i: Int, _ j: Int) -> Float {
        let d = e.shape[1]
        return (0..<d).reduce(0) { $0 + e[i * d + $1] * e[j * d + $1] }
    }
    print(String(format: "base, dim 64: cos(en, de) %.3f, cos(en, unrelated) %.3f", cosine(small, 0, 1), cosine(small, 0, 2)))

    // 3. Train a small adapter from code: a recipe (the same YAML the CLI reads) and a few pairs.
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let pairs = (0..<16).map { i in
        "{\"anchor\": \"Sentence number \(i) about topic \(i % 4).\", \"positive\": \"Satz Nummer \(i) über Thema \(i % 4).\"}"
    }
    try (pairs.joined(separator: "\n") + "\n").write(toFile: work + "/pairs.jsonl", atomically: true, encoding: .utf8)
    let recipe = try Recipe.parse(yaml: """
        model: "\(base)"
        output: "\(work)/run"
        adapters: [{name: bitext, rank: 4, alpha: 8, prefix: "query: "}]
        data: {train: "\(work)/pairs.jsonl", batch_size: 8, max_length: 32}
        schedule: {steps: 4}
        save: {every: 0}
        """, source: "embed-and-train recipe")
    let trainer = try Trainer(recipe: recipe)
    try trainer.train { p in print("step \(p.step)/\(p.totalSteps) loss \(String(format: "%.4f", p.loss))") }

    // 4. Use it: the run's final.h5 holds only the adapter and finds its base.
    let (tuned, prefixes) = try LoadedModel.loadEmbedder(checkpoint: trainer.run.finalPath)
    let adapter = tuned.adapters?.adapterIndex("bitext")
    let after = try tuned.embed(sentences, options: .init(dim: 64, prefix: prefixes["bitext"] ?? "", adapter: adapter)).embeddings
    print(String(format: "adapter, dim 64: cos(en, de) %.3f, cos(en, unrelated) %.3f", cosine(after, 0, 1), cosine(after, 0, 2)))
} catch {
    FileHandle.standardError.write(Data("embed-and-train: \(error)\n".utf8))
    exit(1)
}
