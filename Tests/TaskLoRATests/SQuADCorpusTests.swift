import Foundation
import XCTest
@testable import TaskLoRA

/// `tasklora corpus squad` must write exactly what a recipe with `format: squad` and `held_out`
/// trains and evaluates on; otherwise a run on mined files would not be comparable to one on the
/// SQuAD files. Checked against `TrainingData.load` on two synthetic parallel "languages".
final class SQuADCorpusTests: XCTestCase {
    /// A SQuAD file with `articles` articles of 4 paragraphs and 2 questions each; question ids are
    /// shared between languages, as in XQuAD.
    func squadFile(language: String, articles: Int, at path: String) throws {
        let data: [[String: Any]] = (0..<articles).map { a in
            ["title": "t\(a)", "paragraphs": (0..<4).map { p -> [String: Any] in
                ["context": "\(language) paragraph \(a).\(p) about topic \(a * 7 + p)",
                 "qas": (0..<2).map { q in ["id": "q\(a)-\(p)-\(q)", "question": "\(language) question \(q) on \(a).\(p)?",
                                           "answers": [] as [Any]] }]
            }]
        }
        try JSONSerialization.data(withJSONObject: ["version": "1", "data": data]).write(to: URL(fileURLWithPath: path))
    }

    func testFilesEqualTheRecipesSplit() throws {
        let dir = try makeScratchFolder("squad-corpus")
        defer { try? FileManager.default.removeItem(at: dir) }
        let en = dir.appendingPathComponent("set.en.json").path, de = dir.appendingPathComponent("set.de.json").path
        try squadFile(language: "en", articles: 6, at: en)
        try squadFile(language: "de", articles: 6, at: de)
        func recipe(_ data: String, hardNegatives: Int) throws -> Recipe {
            try Recipe.parse(yaml: """
                model: m.h5
                output: \(dir.path)/run
                seed: 7
                adapters: [{name: q}, {name: p}]
                loss: {type: infonce, hard_negatives: \(hardNegatives)}
                data: {\(data), anchor_adapter: q, positive_adapter: p, batch_size: 4}
                """, source: "r.yaml")
        }
        for k in [0, 1] {
            let out = dir.appendingPathComponent("out\(k)").path
            let counts = try SQuADCorpus.write(files: [en, de], to: out, heldOut: 0.25, seed: 7, hardNegatives: k)
            XCTAssertEqual(counts.map(\.trainQuestions), [36, 36])
            XCTAssertEqual(counts.map(\.heldOutParagraphs), [6, 6])
            let direct = try TrainingData.load(recipe: try recipe("train: [\(en), \(de)], format: squad, held_out: 0.25", hardNegatives: k))
            let files = try TrainingData.load(recipe: try recipe(
                "train: [\(counts[0].trainPath), \(counts[1].trainPath)], dev: \(SQuADCorpus.devPath(out))", hardNegatives: k))
            // The same training examples, in the same order (pairs or tuples with the same negatives).
            XCTAssertEqual(files.train.examples, direct.train.examples)
            XCTAssertEqual(files.train.kind, k == 0 ? .pairs : .tuples)
            // The same retrieval set: queries, corpus and relevance, in the same order.
            XCTAssertEqual(direct.dev.count, 1)
            XCTAssertEqual(files.dev.count, 1)
            guard case .retrieval(let q1, let c1, let r1, _)? = direct.dev.first?.set,
                  case .retrieval(let q2, let c2, let r2, _)? = files.dev.first?.set else {
                return XCTFail("both dev sets should be retrieval sets")
            }
            XCTAssertEqual(q2, q1)
            XCTAssertEqual(c2, c1)
            XCTAssertEqual(r2, r1)
            XCTAssertEqual(q1.count, 2 * 12)   // 6 held-out paragraphs × 2 questions, per language
            // No held-out paragraph is a training positive.
            let positives = Set((0..<files.train.count).map { files.train.texts(of: $0)[1] })
            XCTAssertTrue(positives.isDisjoint(with: c1))
        }
    }

    func testCollidingNamesAreRefused() throws {
        let dir = try makeScratchFolder("squad-corpus-names")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("b"), withIntermediateDirectories: true)
        let a = dir.appendingPathComponent("x.json").path, b = dir.appendingPathComponent("b/x.json").path
        try squadFile(language: "en", articles: 2, at: a)
        try squadFile(language: "de", articles: 2, at: b)
        XCTAssertThrowsError(try SQuADCorpus.write(files: [a, b], to: dir.appendingPathComponent("o").path,
                                                   heldOut: 0.25, seed: 1, hardNegatives: 0)) { error in
            XCTAssertTrue("\(error)".contains("same name"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("o/train.x.jsonl").path))
    }
}
