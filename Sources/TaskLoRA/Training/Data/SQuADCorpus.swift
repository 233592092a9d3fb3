import Foundation

/// A SQuAD-format retrieval set made into files a user can mine, edit and train on: the training
/// split as JSONL pairs or tuples, and the held-out paragraphs as one SQuAD file. The split is the one
/// a recipe with `format: squad` and `held_out` makes (`TrainingData.load`), so a run on these files
/// trains and evaluates on exactly the examples that recipe would.
public enum SQuADCorpus {
    /// One file's split.
    public struct Split: Sendable {
        public var train: SQuADData
        public var heldOut: SQuADData
    }

    /// What one input file became.
    public struct FileCounts: Sendable, Equatable {
        public var path: String, trainPath: String
        public var trainQuestions: Int, trainParagraphs: Int, heldOutQuestions: Int, heldOutParagraphs: Int
    }

    /// `data/xquad/xquad.en.train.json` → `xquad.en.train`: names the file's outputs.
    public static func name(of path: String) -> String {
        ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    }

    /// Splits every file and writes `out/train.<name>.jsonl` per file, `out/dev.json` (all held-out
    /// paragraphs, when `heldOut` > 0) and `out/corpus.json` (the counts); every write is atomic.
    public static func write(files: [String], to out: String, heldOut: Double, seed: UInt64, hardNegatives: Int) throws -> [FileCounts] {
        let names = files.map(name(of:))
        guard Set(names).count == names.count else {
            throw TaskLoRAError("two input files have the same name (\(names.joined(separator: ", "))); their outputs would collide")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var heldOutSets: [SQuADData] = [], counts: [FileCounts] = []
        for (path, name) in zip(files, names) {
            let s = try split(path: path, heldOut: heldOut, seed: seed)
            let lines = try trainingLines(s.train, hardNegatives: hardNegatives, seed: seed)
            let trainPath = (out as NSString).appendingPathComponent("train.\(name).jsonl")
            try OutputFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: trainPath)
            heldOutSets.append(s.heldOut)
            counts.append(FileCounts(path: path, trainPath: trainPath, trainQuestions: s.train.questions.count,
                                     trainParagraphs: s.train.paragraphs.count, heldOutQuestions: s.heldOut.questions.count,
                                     heldOutParagraphs: s.heldOut.paragraphs.count))
        }
        if heldOut > 0 { try OutputFile.write(try squadJSON(heldOutSets, tags: names), to: devPath(out)) }
        let summary: [String: Any] = [
            "held_out": heldOut, "seed": seed, "hard_negatives": hardNegatives,
            "files": counts.map { ["file": $0.path, "train": $0.trainPath, "train_questions": $0.trainQuestions,
                                   "train_paragraphs": $0.trainParagraphs, "held_out_questions": $0.heldOutQuestions,
                                   "held_out_paragraphs": $0.heldOutParagraphs] as [String: Any] },
        ]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try OutputFile.write(json, to: (out as NSString).appendingPathComponent("corpus.json"))
        return counts
    }

    public static func devPath(_ out: String) -> String { (out as NSString).appendingPathComponent("dev.json") }

    /// Reads and splits `path` as a recipe with this `held_out` and `seed` does.
    public static func split(path: String, heldOut: Double, seed: UInt64, options: ReadOptions = ReadOptions()) throws -> Split {
        let data = try SQuADReader.read(path: path, options: options)
        guard heldOut > 0 else { return Split(train: data, heldOut: SQuADData(source: path, paragraphs: [], questions: [], skipped: 0, skipMessages: [])) }
        let s = try data.splitByParagraph(heldOutFraction: heldOut, seed: seed)
        return Split(train: s.train, heldOut: s.heldOut)
    }

    /// The training examples as JSONL lines: `{"anchor", "positive"}`, plus `"negatives"` when
    /// `hardNegatives` > 0 (other paragraphs of the same article, chosen as a recipe chooses them).
    public static func trainingLines(_ train: SQuADData, hardNegatives: Int, seed: UInt64) throws -> [String] {
        let dataset = try train.trainingDataset(hardNegatives: hardNegatives, seed: seed)
        var objects: [[String: Any]] = []
        switch dataset.examples {
        case .pairs(let rows): objects = rows.map { ["anchor": $0.anchor, "positive": $0.positive] }
        case .tuples(let rows): objects = rows.map { ["anchor": $0.anchor, "positive": $0.positive, "negatives": $0.negatives] }
        default: break
        }
        return try objects.map {
            String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        }
    }

    /// Several held-out sets as one SQuAD JSON document. Each set's articles stay separate articles
    /// (so paragraph ids, which come from positions, are unique), question ids are prefixed with
    /// `tags[i]` (parallel sets such as XQuAD share them), and the order of paragraphs and questions
    /// is kept: read back as a dev set, it is the retrieval set a recipe's held-out split evaluates on.
    public static func squadJSON(_ sets: [SQuADData], tags: [String]) throws -> Data {
        precondition(sets.count == tags.count, "one tag per set")
        var articles: [[String: Any]] = []
        for (set, tag) in zip(sets, tags) {
            var questionsOf: [String: [[String: Any]]] = [:]
            for q in set.questions { questionsOf[q.paragraphID, default: []].append(["id": "\(tag)/\(q.id)", "question": q.text]) }
            var current: (article: Int, title: String, paragraphs: [[String: Any]])?
            for p in set.paragraphs {
                if let c = current, c.article != p.article {
                    articles.append(["title": c.title, "paragraphs": c.paragraphs])
                    current = nil
                }
                if current == nil { current = (p.article, p.title, []) }
                current!.paragraphs.append(["context": p.text, "qas": questionsOf[p.id] ?? []])
            }
            if let c = current { articles.append(["title": c.title, "paragraphs": c.paragraphs]) }
        }
        return try JSONSerialization.data(withJSONObject: ["version": "tasklora-heldout", "data": articles],
                                          options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
