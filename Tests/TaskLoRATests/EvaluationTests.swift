import Foundation
import XCTest
@testable import TaskLoRA

/// Metric definitions checked against hand-computed values (docs/evaluation.md).
final class EvaluationTests: XCTestCase {
    private func rows(_ values: [[Float]]) -> Tensor {
        Tensor(shape: [values.count, values[0].count], values: values.flatMap { $0 })
    }

    /// Unit vector at cosine c with (1, 0).
    private func atCos(_ c: Float) -> [Float] { [c, (1 - c * c).squareRoot()] }

    func testSpearmanTiesAndPearson() {
        XCTAssertEqual(Correlation.ranks([1, 2, 2, 3]), [1, 2.5, 2.5, 4])
        XCTAssertEqual(Correlation.ranks([5, 5, 5]), [2, 2, 2])
        // ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4]: Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5.
        XCTAssertEqual(Correlation.spearman([1, 2, 2, 3], [1, 3, 2, 4]), 4.5 / (4.5 * 5).squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(Correlation.pearson([1, 2, 3], [2, 4, 6]), 1, accuracy: 1e-15)
        XCTAssertTrue(Correlation.pearson([1, 1, 1], [1, 2, 3]).isNaN)
    }

    func testSTSFromEmbeddings() {
        // Pairs' cosines 1, 0.6, 0 against gold 5, 3, 1: Spearman 100, Pearson that of the two series.
        let e = rows([[1, 0], atCos(0.6), [0, 1], [1, 0]])
        let r = STSEvaluation.evaluate(embeddings: e, ids: [(0, 3), (0, 1), (0, 2)], gold: [5, 3, 1])
        XCTAssertEqual(r.dim, 2)
        XCTAssertEqual(r.spearman, 100, accuracy: 1e-9)
        let x = [1.0, Double(Float(0.6)), 0], y = [5.0, 3, 1]
        XCTAssertEqual(r.pearson, 100 * Correlation.pearson(x, y), accuracy: 1e-9)
        let (texts, ids) = STSEvaluation.uniqueTexts([("a", "b", 1), ("b", "c", 2), ("a", "a", 3)])
        XCTAssertEqual(texts, ["a", "b", "c"])
        XCTAssertEqual(ids.map { [$0.0, $0.1] }, [[0, 1], [1, 2], [0, 0]])
    }

    func testGradedRetrievalMetrics() {
        // Scores of docs 0...4 for query 0: 0.1, 0.9, 0.5, 0.7, 0.3 → ranking 1, 3, 2, 4, 0.
        let docs = rows([atCos(0.1), atCos(0.9), atCos(0.5), atCos(0.7), atCos(0.3)])
        let queries = rows([[1, 0], [0, 1]])
        // Query 0: doc 2 grade 2 (rank 3), doc 0 grade 1 (rank 5), doc 4 grade 0 (not relevant).
        // Query 1: only a grade-0 judgement → skipped.
        let m = RetrievalMetrics.evaluate(queries: queries, documents: docs, qrels: [[2: 2, 0: 1, 4: 0], [1: 0]])
        XCTAssertEqual(m.queries, 1)
        let dcg = 2 / log2(4.0) + 1 / log2(6.0), ideal = 2 / log2(2.0) + 1 / log2(3.0)
        XCTAssertEqual(m.ndcg10, dcg / ideal, accuracy: 1e-12)
        XCTAssertEqual(m.mrr10, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.recall1, 0)
        XCTAssertEqual(m.recall10, 1)
        XCTAssertEqual(m.recall100, 1)
        XCTAssertEqual(m.map100, (1.0 / 3 + 2.0 / 5) / 2, accuracy: 1e-12)
    }

    func testRetrievalTiesAndCutoffs() {
        // 12 identical documents: ties rank by index, so the relevant doc 11 is 12th (outside the top 10).
        let docs = rows(Array(repeating: [1, 0], count: 12))
        let m = RetrievalMetrics.evaluate(queries: rows([[1, 0]]), documents: docs, qrels: [[11: 1, 0: 1]])
        XCTAssertEqual(m.mrr10, 1)
        XCTAssertEqual(m.recall1, 0.5)
        XCTAssertEqual(m.recall10, 0.5)
        XCTAssertEqual(m.recall100, 1)
        XCTAssertEqual(m.map100, (1 + 2.0 / 12) / 2, accuracy: 1e-12)
        XCTAssertEqual(m.ndcg10, 1 / (1 + 1 / log2(3.0)), accuracy: 1e-12)
        XCTAssertEqual(Similarity.topK([3.0, 1, 3, 2], count: 4, k: 3), [0, 2, 3])
        XCTAssertEqual(Similarity.topK([3.0, 1, 3, 2], count: 4, k: 10, excluding: 0), [2, 3, 1])
    }

    func testBitextMining() {
        // t2 duplicates t0: s0 ties between t0 and t2 → t0 (lower index) ✓; s1 → t1 ✓; s2 (0.6, 0.8) → t1 ✗.
        // Backwards: t0 → s0 ✓; t1 → s1 ✓; t2 → s0 ✗.
        let s = rows([[1, 0], [0, 1], [0.6, 0.8]])
        let t = rows([[1, 0], [0, 1], [1, 0]])
        let r = BitextMining.evaluate(source: s, target: t)
        XCTAssertEqual(r.sourceToTarget, 200.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(r.targetToSource, 200.0 / 3, accuracy: 1e-12)
        // Asymmetric: t = (0.8, 0.6), (0, 1). s0 → t0 ✓, s1 (0.6, 0.8) → t0 ✗; t0 → s1 ✗, t1 → s1 ✓.
        let r2 = BitextMining.evaluate(source: rows([[1, 0], [0.6, 0.8]]), target: rows([[0.8, 0.6], [0, 1]]))
        XCTAssertEqual(r2.sourceToTarget, 50)
        XCTAssertEqual(r2.targetToSource, 50)
        XCTAssertEqual(r2.average, 50)
    }

    func testKNNVoteAndAccuracy() {
        XCTAssertEqual(KNNClassification.vote([2, 0, 0]), 0)
        XCTAssertEqual(KNNClassification.vote([1, 0, 0, 1]), 1, "tie → label of the nearest neighbour among the tied")
        // Leave-one-out, k = 1: every point's nearest other point has its label, except p2 whose nearest is p1.
        let train = rows([[1, 0], atCos(0.98481), atCos(0.86603), [0, 1], atCos(0.17365)])  // 0°, 10°, 30°, 90°, 80°
        let labels = [0, 0, 1, 1, 1]
        let r = KNNClassification.evaluate(train: train, trainLabels: labels, test: nil, testLabels: nil, k: 1)
        XCTAssertEqual(r.accuracy, 80, accuracy: 1e-12)
        // Predicted 0,0,0,1,1 vs gold 0,0,1,1,1: F1(0) = 2·2/(4+1) = 0.8; F1(1) = 2·2/(4+0+1) = 0.8.
        XCTAssertEqual(r.macroF1, 80, accuracy: 1e-9)
        // Train/test split, k = 3: the test point at 23° sees p2 (1), p1 (0), p0 (0) → 0; (0, 1) sees p3, p4, p2 → 1.
        let split = KNNClassification.evaluate(train: train, trainLabels: labels, test: rows([atCos(0.92), [0, 1]]),
                                               testLabels: [1, 1], k: 3)
        XCTAssertEqual(split.accuracy, 50)
    }

    func testBEIRReaderAndDanglingQrels() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("beir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("qrels"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ text: String) throws {
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try write("corpus.jsonl", #"{"_id": "d1", "title": "T", "text": "one"}"# + "\n" + #"{"_id": 2, "text": "two"}"# + "\n")
        try write("queries.jsonl", #"{"_id": "q1", "text": "first"}"# + "\n" + #"{"_id": "q2", "text": "unused"}"# + "\n")
        try write("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\t2\t2\nq1\td1\t1\n")
        let data = try RetrievalData.load(path: dir.path)
        XCTAssertEqual(data.documents, ["T one", "two"])
        XCTAssertEqual(data.queryIDs, ["q1"])
        XCTAssertEqual(data.qrels, [[1: 2, 0: 1]])

        try write("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td9\t1\n")
        XCTAssertThrowsError(try RetrievalData.load(path: dir.path)) {
            XCTAssertTrue("\($0)".contains("line 2 names document d9"), "\($0)")
        }
        try write("qrels/test.tsv", "q7\td1\t1\n")
        XCTAssertThrowsError(try RetrievalData.load(path: dir.path)) {
            XCTAssertTrue("\($0)".contains("names query q7"), "\($0)")
        }
        try write("queries.jsonl", #"{"_id": "q1", "text": "  "}"# + "\n")
        XCTAssertThrowsError(try RetrievalData.load(path: dir.path)) {
            XCTAssertTrue("\($0)".contains("query q1 is empty"), "\($0)")
        }
    }

    func testSQuADCrossLingualPairing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("squad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func squad(_ contexts: [String], _ questions: [[String]]) -> String {
            let paragraphs = zip(contexts, questions).map { c, qs in
                ["context": c, "qas": qs.enumerated().map { ["id": "\(c)-\($0.offset)", "question": $0.element] }] as [String: Any]
            }
            let data = try! JSONSerialization.data(withJSONObject: ["data": [["title": "t", "paragraphs": paragraphs]]])
            return String(decoding: data, as: UTF8.self)
        }
        let en = dir.appendingPathComponent("en.json").path, de = dir.appendingPathComponent("de.json").path
        let short = dir.appendingPathComponent("short.json").path
        try squad(["P0", "P1"], [["q a", "q b"], ["q c"]]).write(toFile: en, atomically: true, encoding: .utf8)
        try squad(["Absatz0", "Absatz1"], [["f a", "f b"], ["f c"]]).write(toFile: de, atomically: true, encoding: .utf8)
        try squad(["Only"], [["x"]]).write(toFile: short, atomically: true, encoding: .utf8)
        let cross = try RetrievalData.load(path: en, corpus: de)
        XCTAssertEqual(cross.queries, ["q a", "q b", "q c"])
        XCTAssertEqual(cross.documents, ["Absatz0", "Absatz1"])
        XCTAssertEqual(cross.qrels, [[0: 1], [0: 1], [1: 1]])
        XCTAssertThrowsError(try RetrievalData.load(path: en, corpus: short)) {
            XCTAssertTrue("\($0)".contains("has no paragraph a0p1"), "\($0)")
        }
    }

    func testReportJSONAndMarkdown() throws {
        var report = EvaluationReport(model: "m.h5", dims: [2], maxLength: 512)
        var m = RetrievalMetrics()
        m.ndcg10 = 0.5; m.queries = 3
        report.retrieval.append(.init(name: "r", format: "beir", queriesFile: "r", corpusFile: "r", queries: 3, documents: 4,
                                      query: .init(task: "retrieval.query", prefix: "q: "),
                                      document: .init(task: nil, prefix: ""), results: [.init(dim: 2, metrics: m)]))
        let json = try JSONSerialization.jsonObject(with: report.json()) as! [String: Any]
        let result = ((json["retrieval"] as! [[String: Any]])[0]["results"] as! [[String: Any]])[0]
        XCTAssertEqual(result["dim"] as? Int, 2)
        XCTAssertEqual(result["ndcg@10"] as? Double, 0.5)
        XCTAssertTrue(report.markdown().contains("| r | retrieval.query / base | 2 | 50.00 |"), report.markdown())
    }
}

private func log2(_ x: Double) -> Double { Foundation.log2(x) }
