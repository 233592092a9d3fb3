import ArgumentParser
import Foundation
import TaskLoRA

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate embeddings: STS, retrieval, bitext mining and k-NN classification, for several Matryoshka dims.",
        discussion: """
            Each dataset is encoded once; every --dims value is a truncation of that pass. \
            Metric definitions: docs/evaluation.md.
            """)

    @OptionGroup var model: ModelOptions

    @OptionGroup var compute: PrecisionOptions

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("STS files: stsb CSV, STS TSV, SICK, or JSONL scored pairs.", valueName: "file"))
    var sts: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Retrieval sets: BEIR folders or SQuAD/XQuAD JSON files.", valueName: "dir|json"))
    var retrieval: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("For the i-th SQuAD --retrieval file: take the corpus (paragraphs) from this parallel file (cross-lingual).", valueName: "json"))
    var corpusJson: [String] = []

    @Option(name: .long, help: ArgumentHelp("SQuAD/XQuAD only: evaluate just the paragraphs a recipe with data.held_out = FRACTION holds out (with --seed).", valueName: "fraction"))
    var heldOut: Double?

    @Option(name: .long, help: "The recipe seed that chose the held-out paragraphs (with --held-out).")
    var seed: UInt64 = 42

    @Option(name: .long, help: "BEIR qrels split (qrels/<split>.tsv).")
    var split = "test"

    @Option(name: .long, help: "Adapter for retrieval queries (default: --task).")
    var queryTask: String?

    @Option(name: .long, help: "Adapter for retrieval documents (default: --task).")
    var documentTask: String?

    @Option(name: .long, help: "Prefix for retrieval queries (default: the query task's).")
    var queryPrefix: String?

    @Option(name: .long, help: "Prefix for retrieval documents (default: the document task's).")
    var documentPrefix: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Bitext mining: two parallel text files (line i ↔ line i); repeatable.", valueName: "src tgt"))
    var bitext: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("k-NN classification, leave-one-out, on JSONL {\"text\", \"label\"} files.", valueName: "file"))
    var classification: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("k-NN classification with separate train and test files; repeatable.", valueName: "train test"))
    var classificationSplit: [String] = []

    @Option(name: .long, help: "Neighbours for k-NN classification.")
    var k = 5

    @Option(name: .long, help: "Matryoshka dims, comma-separated (default: 32,64,128,256,512,768,1024 up to the hidden size, and the hidden size).")
    var dims: String?

    @Option(name: .long, help: "Results JSON.")
    var output: String

    @Option(name: .long, help: "Also write the results as a Markdown table.")
    var markdown: String?

    @Option(name: .long, help: "Write the embeddings used (.npy, normalized, per dim) and their ids/texts here, for scripts/reference/check_metrics.py.")
    var saveEmbeddings: String?

    @Flag(name: .long, inversion: .prefixedNo, help: "With an adapter: also evaluate the base model with its native prompts (the checkpoint's native_prompts: e5's query:/passage:) on the STS and retrieval sets, and show the adapter's gain over it.")
    var compareBase = true

    @OptionGroup var batch: BatchOptions

    func validate() throws {
        if let heldOut, !(heldOut > 0 && heldOut < 1) { throw ValidationError("--held-out must be in (0, 1), got \(heldOut)") }
        if sts.isEmpty, retrieval.isEmpty, bitext.isEmpty, classification.isEmpty, classificationSplit.isEmpty {
            throw ValidationError("give at least one of --sts, --retrieval, --bitext, --classification, --classification-split")
        }
        guard bitext.count % 2 == 0 else { throw ValidationError("--bitext takes pairs of files: SRC TGT") }
        guard classificationSplit.count % 2 == 0 else { throw ValidationError("--classification-split takes pairs of files: TRAIN TEST") }
        guard k >= 1 else { throw ValidationError("--k must be at least 1") }
        if model.noPrefix, queryPrefix != nil || documentPrefix != nil {
            throw ValidationError("--no-prefix excludes --query-prefix and --document-prefix")
        }
    }

    func run() throws {
        let (embedder, prefixes) = try LoadedModel.loadEmbedder(checkpoint: model.model, adapterFiles: model.adapters,
                                                                precision: compute.precision, whitespace: model.whitespace,
                                                                int8Calibration: try compute.int8CalibrationTexts())
        try model.configure(embedder)
        let h = embedder.encoder.config.hiddenSize
        let dimList = try parseDims(hidden: h)
        func side(_ task: String?, _ prefix: String?) throws -> (options: SentenceEmbedder.Options, side: EvaluationReport.Side) {
            var adapter: Int? = nil
            if let task {
                guard let i = embedder.adapters?.adapterIndex(task) else {
                    let known = embedder.adapters?.names.joined(separator: ", ") ?? "none"
                    throw TaskLoRAError.file(model.model, "has no adapter \"\(task)\" (adapters: \(known))")
                }
                adapter = i
            }
            let text = model.noPrefix ? "" : (prefix ?? task.flatMap { prefixes[$0] } ?? "")
            return (SentenceEmbedder.Options(prefix: text, batchSize: batch.batchSize, maxLength: batch.maxLength, adapter: adapter),
                    EvaluationReport.Side(task: task, prefix: text))
        }
        let main = try side(model.task, model.prefix)
        let query = try side(queryTask ?? model.task, queryPrefix ?? (queryTask == nil ? model.prefix : nil))
        let document = try side(documentTask ?? model.task, documentPrefix ?? (documentTask == nil ? model.prefix : nil))
        var report = EvaluationReport(model: model.model, dims: dimList, maxLength: batch.maxLength)
        // The base at its best beside the adapter: adapters off, the family's own prompts.
        let usesAdapter = model.task != nil || queryTask != nil || documentTask != nil
        let native = compareBase && usesAdapter ? try NativePrompts.of(checkpointPath: model.model) : nil
        func baseOptions(_ role: NativePrompts.Role) -> SentenceEmbedder.Options {
            SentenceEmbedder.Options(prefix: native?.prompt(role) ?? "", batchSize: batch.batchSize, maxLength: batch.maxLength)
        }
        if let native { note("comparing with the base model with its native prompts (\(native.origin))") }
        var saved = 0
        if let dir = saveEmbeddings {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        /// Embeds `texts`, normalizes per dim, saves them when asked; returns per-dim tensors.
        func embed(_ texts: [String], _ options: SentenceEmbedder.Options, label: String, kind: String, side: String,
                   ids: [String]? = nil) throws -> [Tensor] {
            let started = Date()
            let bar = texts.count >= 256 ? ProgressBar(label, total: texts.count) : nil
            let pooled = try embedder.pooled(texts, options: options) { done, _ in bar?.update(done) }
            note(String(format: "%@: embedded %d texts in %.1f s", label, texts.count, Date().timeIntervalSince(started)))
            if pooled.truncated > 0 { warn("\(label): \(pooled.truncated) of \(texts.count) texts were cut to \(batch.maxLength) tokens") }
            let perDim = try dimList.map { try STSEvaluation.normalized(pooled.embeddings, dim: $0) }
            if let dir = saveEmbeddings {
                let folder = (dir as NSString).appendingPathComponent("\(kind)-\(saved)")
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for (d, t) in zip(dimList, perDim) {
                    try NPY.write(t, to: (folder as NSString).appendingPathComponent("\(side).d\(d).npy"))
                }
                let listing = try JSONSerialization.data(withJSONObject: ids ?? texts, options: [.withoutEscapingSlashes])
                try OutputFile.write(listing, to: (folder as NSString).appendingPathComponent("\(side).json"))
            }
            return perDim
        }
        func name(_ path: String) -> String { (path as NSString).lastPathComponent }

        for file in sts {
            let data = try TrainingDataset.load(path: file)
            guard case .scoredPairs(let rows) = data.examples else {
                throw TaskLoRAError.file(file, "holds \(data.kind.rawValue), not scored sentence pairs")
            }
            guard rows.count >= 2 else { throw TaskLoRAError.file(file, "needs at least 2 scored pairs, has \(rows.count)") }
            let pairs = rows.map { ($0.sentence1, $0.sentence2, $0.score) }
            let (texts, ids) = STSEvaluation.uniqueTexts(pairs)
            let e = try embed(texts, main.options, label: name(file), kind: "sts", side: "texts")
            let gold = pairs.map(\.2)
            // Per dim: each pair's cosine (kept for the paired comparison with the base) and the correlations.
            let cosines = e.map { STSEvaluation.cosines(embeddings: $0, ids: ids) }
            let results = zip(cosines, dimList).map { STSEvaluation.evaluate(cosines: $0, gold: gold, dim: $1) }
            report.sts.append(.init(name: name(file), file: file, pairs: rows.count, model: main.side, results: results))
            saved += 1
            if let native {
                let options = baseOptions(.symmetric)
                let b = try embed(texts, options, label: name(file) + " (base)", kind: "sts", side: "base-texts")
                let baseCosines = b.map { STSEvaluation.cosines(embeddings: $0, ids: ids) }
                let baseResults = zip(baseCosines, dimList).map { STSEvaluation.evaluate(cosines: $0, gold: gold, dim: $1) }
                report.sts.append(.init(name: name(file), file: file, pairs: rows.count,
                                        model: .init(task: nil, prefix: options.prefix), results: baseResults))
                report.vsBase += results.indices.map { i in
                    .init(dataset: name(file), metric: "spearman", dim: results[i].dim, base: baseResults[i].spearman,
                          adapter: results[i].spearman, basePrompts: [native.prompt(.symmetric)],
                          paired: STSEvaluation.pairedSpearman(adapterCosines: cosines[i], baseCosines: baseCosines[i], gold: gold))
                }
                saved += 1
            }
        }

        let squadCount = retrieval.filter { !isDirectory($0) }.count
        guard corpusJson.isEmpty || corpusJson.count == squadCount else {
            throw TaskLoRAError("--corpus-json was given \(corpusJson.count) times but there are \(squadCount) SQuAD --retrieval files; give one per file, in the same order")
        }
        var squadIndex = 0
        for path in retrieval {
            var corpus: String? = nil
            if !isDirectory(path), !corpusJson.isEmpty { corpus = corpusJson[squadIndex]; squadIndex += 1 }
            let data = try RetrievalData.load(path: path, corpus: corpus, split: split,
                                              heldOut: heldOut.map { ($0, seed) })
            let label = corpus.map { "\(name(path))→\(name($0))" } ?? name(path)
            let q = try embed(data.queries, query.options, label: label + " queries", kind: "retrieval", side: "queries", ids: data.queryIDs)
            let d = try embed(data.documents, document.options, label: label + " documents", kind: "retrieval", side: "documents", ids: data.documentIDs)
            // Per dim: the metrics and each query's nDCG@10 (for the paired comparison with the base).
            func scored(_ q: [Tensor], _ d: [Tensor]) -> [(EvaluationReport.DimRetrieval, [Double])] {
                zip(dimList, zip(q, d)).map { dim, pair in
                    var perQuery: [Double] = []
                    let m = RetrievalMetrics.evaluate(queries: pair.0, documents: pair.1, qrels: data.qrels, perQueryNDCG: &perQuery)
                    return (.init(dim: dim, metrics: m), perQuery)
                }
            }
            let adapterScored = scored(q, d)
            report.retrieval.append(.init(
                name: label, format: data.format, queriesFile: path, corpusFile: corpus ?? path,
                queries: data.queries.count, documents: data.documents.count, query: query.side, document: document.side,
                results: adapterScored.map(\.0)))
            saved += 1
            if native != nil {
                let qo = baseOptions(.query), po = baseOptions(.passage)
                let bq = try embed(data.queries, qo, label: label + " queries (base)", kind: "retrieval", side: "base-queries", ids: data.queryIDs)
                let bd = try embed(data.documents, po, label: label + " documents (base)", kind: "retrieval", side: "base-documents", ids: data.documentIDs)
                let baseScored = scored(bq, bd)
                report.retrieval.append(.init(
                    name: label, format: data.format, queriesFile: path, corpusFile: corpus ?? path,
                    queries: data.queries.count, documents: data.documents.count, query: .init(task: nil, prefix: qo.prefix),
                    document: .init(task: nil, prefix: po.prefix), results: baseScored.map(\.0)))
                report.vsBase += zip(baseScored, adapterScored).map { b, a in
                    .init(dataset: label, metric: "ndcg@10", dim: a.0.dim, base: b.0.metrics.ndcg10, adapter: a.0.metrics.ndcg10,
                          basePrompts: [qo.prefix, po.prefix],
                          paired: a.1.isEmpty ? nil : PairedBootstrap.meanDifference(adapter: a.1, base: b.1))
                }
                saved += 1
            }
        }

        for pair in Swift.stride(from: 0, to: bitext.count, by: 2) {
            let (src, tgt) = (bitext[pair], bitext[pair + 1])
            let a = try parallelLines(src), b = try parallelLines(tgt)
            guard a.count == b.count else {
                throw TaskLoRAError.file(tgt, "has \(b.count) lines but \(src) has \(a.count); bitext files must be parallel")
            }
            let label = "\(name(src))↔\(name(tgt))"
            let es = try embed(a, main.options, label: label + " source", kind: "bitext", side: "source")
            let et = try embed(b, main.options, label: label + " target", kind: "bitext", side: "target")
            report.bitext.append(.init(name: label, source: src, target: tgt, pairs: a.count, model: main.side,
                                       results: zip(es, et).map { BitextMining.evaluate(source: $0.0, target: $0.1) }))
            saved += 1
        }

        var classificationRuns = classification.map { ($0, String?.none) }
        for i in Swift.stride(from: 0, to: classificationSplit.count, by: 2) {
            classificationRuns.append((classificationSplit[i], classificationSplit[i + 1]))
        }
        for (trainPath, testPath) in classificationRuns {
            let train = try labelled(trainPath)
            let test = try testPath.map(labelled)
            if test == nil, train.count <= k {
                throw TaskLoRAError.file(trainPath, "has \(train.count) texts; leave-one-out with k = \(k) needs more than k")
            }
            if test != nil, train.count < k { throw TaskLoRAError.file(trainPath, "has \(train.count) texts, fewer than k = \(k)") }
            let labels = Array(Set(train.map(\.label) + (test ?? []).map(\.label))).sorted()
            let code = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
            let label = testPath.map { "\(name(trainPath))→\(name($0))" } ?? name(trainPath)
            let etrain = try embed(train.map(\.text), main.options, label: label + " train", kind: "classification", side: "train")
            let etest = try test.map { try embed($0.map(\.text), main.options, label: label + " test", kind: "classification", side: "test") }
            let results = dimList.indices.map { i in
                KNNClassification.evaluate(train: etrain[i], trainLabels: train.map { code[$0.label]! },
                                           test: etest?[i], testLabels: test?.map { code[$0.label]! }, k: k)
            }
            report.classification.append(.init(name: label, train: trainPath, test: testPath, k: k, trainTexts: train.count,
                                               testTexts: test?.count ?? train.count, labels: labels, model: main.side,
                                               results: results))
            saved += 1
        }

        try OutputFile.write(try report.json(), to: output)
        if let markdown { try OutputFile.write(Data(report.markdown().utf8), to: markdown) }
        print(report.markdown(), terminator: "")
    }

    private func parseDims(hidden h: Int) throws -> [Int] {
        guard let dims else { return ([32, 64, 128, 256, 512, 768, 1024].filter { $0 < h }) + [h] }
        var out: [Int] = []
        for part in dims.split(separator: ",") {
            guard let d = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw TaskLoRAError("--dims: \"\(part)\" is not an integer")
            }
            guard (1...h).contains(d) else { throw TaskLoRAError("--dims: \(d) is out of range 1...\(h) for this model") }
            if !out.contains(d) { out.append(d) }
        }
        guard !out.isEmpty else { throw TaskLoRAError("--dims is empty") }
        return out
    }

    private func isDirectory(_ path: String) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
    }

    private func parallelLines(_ path: String) throws -> [String] {
        var lines = try TextLines.read(path: path)
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw TaskLoRAError.file(path, "has no lines") }
        if let i = lines.firstIndex(where: { $0.allSatisfy(\.isWhitespace) }) {
            throw TaskLoRAError.file(path, "line \(i + 1) is empty; bitext files need one sentence per line")
        }
        return lines
    }

    private func labelled(_ path: String) throws -> [LabeledText] {
        let data = try TrainingDataset.load(path: path)
        guard case .labeledTexts(let rows) = data.examples else {
            throw TaskLoRAError.file(path, "holds \(data.kind.rawValue), not labelled texts ({\"text\", \"label\"} JSONL)")
        }
        guard !rows.isEmpty else { throw TaskLoRAError.file(path, "has no labelled texts") }
        return rows
    }
}
