import Foundation
import XCTest
import TaskLoRA

/// STS-B test Spearman (×100, cosine of mean-pooled embeddings, max length 128) of the imported
/// real models equals what transformers gives on the same weights
/// (Tests/Fixtures/real/sts_reference.json, from scripts/reference/sts_reference.py).
final class STSBenchmarkTests: XCTestCase {
    func pairs(_ lang: String) throws -> [(String, String, Double)] {
        let path = try TestPaths.dataFile("stsb-multi-mt/stsb-\(lang)-test.csv")
        guard case .scoredPairs(let rows) = try STSCSVReader.read(path: path).examples else {
            throw TaskLoRAError("\(path) did not read as scored pairs")
        }
        return rows.map { ($0.sentence1, $0.sentence2, $0.score) }
    }

    func check(model: String, languages: [String], prefix: String) throws {
        let reference = (try readJSON(TestPaths.fixture("real/sts_reference.json")) as! [String: [String: Double]])[model]!
        let (embedder, _) = try RealModelParityTests.model(model)
        for lang in languages {
            let results = try STSEvaluation.evaluate(embedder: embedder, pairs: try pairs(lang), dims: [384],
                                                     options: .init(prefix: prefix, batchSize: 32, maxLength: 128))
            let expected = reference[lang]!
            print("STS-B \(lang) test, \(model): Spearman \(results[0].spearman) (transformers \(expected))")
            XCTAssertEqual(results[0].spearman, expected, accuracy: 0.02, "\(model) \(lang)")
        }
    }

    func testMultilingualE5Small() throws {
        try check(model: "multilingual-e5-small", languages: ["en", "de", "es", "fr", "zh"], prefix: "query: ")
    }

    func testAllMiniLML6v2() throws {
        try check(model: "all-MiniLM-L6-v2", languages: ["en"], prefix: "")
    }
}
