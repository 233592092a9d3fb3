import Foundation
import XCTest
@testable import TaskLoRA

/// A tiny training setup for the trainer tests: tiny-bert with a made-up WordPiece vocabulary,
/// written once as a tasklora checkpoint, and small data files in a temporary folder.
enum TrainerFixture {
    /// [PAD] [UNK] [CLS] [SEP] + 100 made-up words: 104 ids, inside tiny-bert's 120.
    static let words: [String] = {
        let consonants = Array("bdfgklmnprst"), vowels = Array("aeiou")
        var w: [String] = []
        outer: for c1 in consonants { for v1 in vowels { for c2 in consonants.reversed() {
            w.append(String([c1, v1, c2]))
            if w.count == 100 { break outer }
        } } }
        return w
    }()

    /// Root of everything the trainer tests write; removed by nothing (the system cleans /tmp).
    static let root: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tasklora-trainer-tests-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// tiny-bert + the WordPiece tokenizer, as a checkpoint the recipes point at.
    static let checkpoint: String = {
        let path = root.appendingPathComponent("tiny-bert.h5").path
        do {
            let imported = try ModelImporter.loadHuggingFace(folder: TestPaths.fixture("tiny-bert"))
            var ckpt = imported.checkpoint()
            let tokenizer = try WordPieceTokenizer(vocab: ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + words,
                                                   unkId: 1, clsId: 2, sepId: 3, padId: 0)
            ckpt.tokenizer = tokenizer.archive
            try ckpt.write(to: path)
        } catch {
            fatalError("cannot build the trainer test checkpoint: \(error)")
        }
        return path
    }()

    /// A fresh, not yet existing folder for one run.
    static func newDirectory(_ name: String) -> String {
        let url = root.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        return url.path
    }

    /// Writes `lines` as a file in a fresh folder; returns its path.
    static func write(_ lines: [String], name: String) throws -> String {
        let dir = root.appendingPathComponent("data-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Deterministic sentences of 3–6 vocabulary words.
    struct Sentences {
        var rng: SplitMix64
        init(seed: UInt64) { rng = SplitMix64(seed: seed) }
        mutating func next(_ count: Int? = nil) -> String {
            let n = count ?? 3 + Int(rng.next() % 4)
            return (0..<n).map { _ in TrainerFixture.words[Int(rng.next() % UInt64(TrainerFixture.words.count))] }
                .joined(separator: " ")
        }
    }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// `{"anchor","positive"}` (+ `"negatives"` when `negatives` > 0); the positive shares words with the anchor.
    static func pairs(_ count: Int, negatives: Int = 0, seed: UInt64 = 1) -> [String] {
        var s = Sentences(seed: seed)
        return (0..<count).map { _ in
            let anchor = s.next()
            var row: [String: Any] = ["anchor": anchor, "positive": anchor.split(separator: " ").prefix(2).joined(separator: " ") + " " + s.next(2)]
            if negatives > 0 { row["negatives"] = (0..<negatives).map { _ in s.next() } }
            return json(row)
        }
    }

    /// `{"sentence1","sentence2","score"}` with scores 0–5.
    static func scoredPairs(_ count: Int, seed: UInt64 = 2) -> [String] {
        var s = Sentences(seed: seed)
        return (0..<count).map { i in
            json(["sentence1": s.next(), "sentence2": s.next(), "score": Double(i % 6)])
        }
    }

    /// `{"text","label"}` with three labels.
    static func labeled(_ count: Int, seed: UInt64 = 3) -> [String] {
        var s = Sentences(seed: seed)
        return (0..<count).map { i in json(["text": s.next(), "label": ["red", "green", "blue"][i % 3]]) }
    }

    /// A small recipe: one adapter (rank 4, dropout 0.1 on query, value and the FFN input), batch 4,
    /// 8 steps of a linear schedule with warm-up, evaluation every 3 and a checkpoint every 2 steps.
    /// `overrides` are `--set` style (`key.path=value`).
    static func recipe(train: String, dev: String?, output: String, overrides: [String] = []) throws -> Recipe {
        let yaml = """
        model: "\(checkpoint)"
        output: "\(output)"
        seed: 7
        adapters:
          - name: task
            rank: 4
            alpha: 8
            dropout: 0.1
            targets: [query, value, intermediate.dense]
        data:
          train: "\(train)"
          dev: \(dev.map { "\"\($0)\"" } ?? "null")
          batch_size: 4
          max_length: 16
        optimizer:
          lr: 0.01
        schedule:
          warmup_steps: 2
          steps: 8
        eval:
          every: \(dev == nil ? 0 : 3)
        save:
          every: 2
          keep_last: 2
        """
        return try Recipe.parse(yaml: yaml, source: "test recipe", overrides: overrides)
    }

    static func parameters(_ adapters: LoRAAdapters) -> [Float] {
        Array(UnsafeBufferPointer(start: adapters.parameters, count: adapters.parameterCount))
    }

    static func gradients(_ adapters: LoRAAdapters) -> [Float] {
        Array(UnsafeBufferPointer(start: adapters.gradients, count: adapters.parameterCount))
    }

    /// Fills the adapters with small deterministic values, so that both A and B get gradients
    /// (a fresh PEFT adapter has B = 0, hence no gradient for A).
    static func randomize(_ adapters: LoRAAdapters, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for i in 0..<adapters.parameterCount { adapters.parameters[i] = Float(rng.nextUnit() - 0.5) * 0.2 }
    }

    /// The lines of a run's metrics.jsonl, parsed, with their raw text.
    static func metrics(_ run: RunDirectory) throws -> [(raw: String, object: [String: Any])] {
        let text = try String(contentsOfFile: run.metricsPath, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (String(line), object ?? [:])
        }
    }

    /// step → the raw JSON text of the step line's `"loss"` value (exactly as written).
    static func rawLosses(_ run: RunDirectory) throws -> [Int: String] {
        var out: [Int: String] = [:]
        for (raw, object) in try metrics(run) where object["eval"] == nil {
            guard let step = object["step"] as? Int, let r = raw.range(of: "\"loss\":") else { continue }
            out[step] = String(raw[r.upperBound...].prefix { $0 != "," && $0 != "}" })
        }
        return out
    }

    /// step → the eval value of the eval lines.
    static func evalValues(_ run: RunDirectory) throws -> [Int: Double] {
        var out: [Int: Double] = [:]
        for (_, object) in try metrics(run) {
            guard let step = object["step"] as? Int, let eval = object["eval"] as? [String: Any],
                  let value = eval["value"] as? Double else { continue }
            out[step] = value
        }
        return out
    }

    /// The message of the error `body` throws; fails the test when it throws none.
    static func error(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> String {
        do {
            try body()
        } catch {
            return "\(error)"
        }
        XCTFail("expected an error", file: file, line: line)
        return ""
    }
}
