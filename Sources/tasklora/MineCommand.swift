import ArgumentParser
import Foundation
import TaskLoRA

struct MineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mine",
        abstract: "Mine hard negatives for (anchor, positive) pairs from a corpus, for loss.hard_negatives.",
        discussion: """
            Embeds the anchors with --task (query side) and the corpus with --passage-task (passage \
            side; default the same), ranks the whole corpus for every anchor by exact cosine (blocked \
            GEMM over corpus embeddings streamed to a scratch file, so a corpus larger than memory \
            works), and keeps --num-negatives texts from ranks [--range-min, --range-max) that are \
            not the positive or a copy of it and pass --margin / --max-score-ratio (scores relative \
            to the anchor–positive cosine). Ranks count the corpus without the positive. Writes JSONL \
            {"anchor", "positive", "negatives": [...]} in pair order; pairs with too few candidates \
            are left out and counted. The corpus is one text per line, or .jsonl with a "text" field; \
            by default it is the distinct positives. Exact duplicate corpus lines count once.
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var precision: PrecisionOptions

    @Option(name: .long, help: "The pairs: JSONL with \"anchor\" and \"positive\" (\"negatives\", if any, are replaced).")
    var pairs: String

    @Option(name: .long, help: "Corpus to mine from: text (a line each) or .jsonl with \"text\" (default: the pairs' positives).")
    var corpus: String?

    @Option(name: .long, help: "Output JSONL.")
    var output: String

    @Option(name: .long, help: "Adapter (task) for the corpus and positives (default: --task).")
    var passageTask: String?

    @Option(name: .long, help: "Prefix for the corpus and positives (default: the passage task's prefix).")
    var passagePrefix: String?

    @Option(name: .long, help: "Negatives per example.")
    var numNegatives = 3

    @Option(name: .long, help: "Skip the N most similar candidates (rank 0 = the best text other than the positive).")
    var rangeMin = 0

    @Option(name: .long, help: "Consider candidates ranked below N only.")
    var rangeMax = 100

    @Option(name: .long, help: "Keep a candidate only if its score <= the positive's score - MARGIN.")
    var margin: Float?

    @Option(name: .long, help: "Keep a candidate only if its score <= RATIO x the positive's score (NV-Retriever: 0.95).")
    var maxScoreRatio: Float?

    @Option(name: .long, help: "top: the best-ranked candidates; random: a seeded random choice among them.")
    var sampling: HardNegativeMiner.Sampling = .top

    @Option(name: .long, help: "Seed of --sampling random.")
    var seed: UInt64 = 42

    @Option(name: .long, help: "Matryoshka dimension to mine at (default: the full embedding).")
    var dim: Int?

    @OptionGroup var batch: BatchOptions

    @Flag(name: .long, help: "Also write \"scores\": the anchor's cosine to the positive, then to each negative.")
    var withScores = false

    @Option(name: .long, help: "Folder for the scratch file of corpus embeddings (default: the output's folder).")
    var scratch: String?

    /// The miner's settings from the options.
    var minerOptions: HardNegativeMiner.Options {
        .init(numNegatives: numNegatives, rangeMin: rangeMin, rangeMax: rangeMax, margin: margin,
              maxScoreRatio: maxScoreRatio, sampling: sampling, seed: seed)
    }

    func validate() throws {
        do { try minerOptions.check() } catch let error as TaskLoRAError { throw ValidationError(error.message) }
        if let dim, dim < 1 { throw ValidationError("--dim must be positive") }
        guard output.lowercased().hasSuffix(".jsonl") else { throw ValidationError("--output must end in .jsonl, got \(output)") }
    }

    func run() throws {
        try runAsRank { communicator in try mine(communicator) }
    }

    /// Under `mpirun -np N` the corpus and the anchors are embedded in shares across the ranks
    /// (`HardNegativeMiner.Sides`); every rank then ranks the same embeddings, and rank 0 writes.
    private func mine(_ communicator: Communicator) throws {
        let root = communicator.isRoot
        let loaded = try model.loadWithPrefixes(precision)
        let embedder = loaded.embedder
        var passageAdapter = loaded.adapter
        var passagePrefixText = loaded.prefix
        if let passageTask {
            guard let index = embedder.adapters?.adapterIndex(passageTask) else {
                let known = embedder.adapters?.names.joined(separator: ", ") ?? "none"
                throw TaskLoRAError.file(model.model, "has no adapter \"\(passageTask)\" (adapters: \(known))")
            }
            passageAdapter = index
            passagePrefixText = model.noPrefix ? "" : (loaded.prefixes[passageTask] ?? "")
        }
        if let passagePrefix { passagePrefixText = passagePrefix }

        let dataset = try JSONLReader.read(path: pairs)
        let pairList: [(anchor: String, positive: String)]
        switch dataset.examples {
        case .pairs(let rows): pairList = rows.map { ($0.anchor, $0.positive) }
        case .tuples(let rows): pairList = rows.map { ($0.anchor, $0.positive) }
        default: throw TaskLoRAError.file(pairs, "holds \(dataset.kind.keysDescription), not pairs {anchor, positive}")
        }
        // A sparse line index: the corpus is read in order, and only chosen negatives are read back.
        let corpusFile = try corpus.map { try LineFile(path: $0, indexEvery: 64) }
        let miner = try HardNegativeMiner(options: minerOptions)
        let sides = HardNegativeMiner.Sides(
            embedder: embedder,
            query: .init(dim: dim, prefix: loaded.prefix, batchSize: batch.batchSize, maxLength: batch.maxLength, adapter: loaded.adapter),
            passage: .init(dim: dim, prefix: passagePrefixText, batchSize: batch.batchSize, maxLength: batch.maxLength, adapter: passageAdapter),
            communicator: communicator)
        let outputFolder = (output as NSString).deletingLastPathComponent
        var bars: [String: ProgressBar] = [:]
        var lines = Data()
        let summary = try miner.mine(
            pairs: pairList, pairsSource: pairs, corpus: corpusFile, sides: sides,
            scratch: scratch ?? (outputFolder.isEmpty ? "." : outputFolder),
            progress: { stage, done, total in
                if root, total >= 256 { (bars[stage] ?? { let b = ProgressBar(stage, total: total); bars[stage] = b; return b }()).update(done) }
            },
            write: { example in
                var object: [String: Any] = ["anchor": example.anchor, "positive": example.positive, "negatives": example.negatives]
                if withScores { object["scores"] = ([example.positiveScore] + example.negativeScores).map(Double.init) }
                lines.append(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                lines.append(UInt8(ascii: "\n"))
            })
        guard root else { return }
        try OutputFile.write(lines, to: output)
        note("mined \(summary.written) examples × \(numNegatives) negatives from \(summary.corpusSize) corpus texts → \(output)"
             + (summary.duplicateCorpusLines > 0 ? " (\(summary.duplicateCorpusLines) duplicate corpus lines counted once)" : ""))
        if summary.tooFew > 0 {
            warn("\(summary.tooFew) of \(pairList.count) pairs had fewer than \(numNegatives) candidates passing the rank window and filters; left out")
        }
    }
}

extension HardNegativeMiner.Sampling: ExpressibleByArgument {}
