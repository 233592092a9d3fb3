import Foundation
import XCTest
@testable import TaskLoRA

/// The paired bootstrap `tasklora eval --compare-base` puts beside every difference from the base:
/// a one-query "below the base" is not significant, a real shift is, the interval matches the
/// normal approximation where that holds, and the report says both in its summary.
final class PairedBootstrapTests: XCTestCase {

    func testOneQueryBelowTheMarginIsNotSignificant() {
        // 162 queries; one falls from rank 1 to rank 2 (nDCG@10 1 → 1/log2(3)), the rest tie:
        // −0.0023, beyond the 0.002 tie margin, but most resamples hold that query at most once.
        var adapter = [Double](repeating: 1, count: 162)
        let base = adapter
        adapter[7] = 1 / Foundation.log2(3.0)
        let p = PairedBootstrap.meanDifference(adapter: adapter, base: base)
        XCTAssertEqual(p.difference, (1 / Foundation.log2(3.0) - 1) / 162, accuracy: 1e-15)
        XCTAssertTrue(TieMargin.isBelow(gain: p.difference, metric: "ndcg@10"))
        XCTAssertEqual(p.upper, 0, "≈ 37 % of resamples leave the query out, so the upper end is 0")
        XCTAssertLessThan(p.lower, p.difference)
        XCTAssertFalse(p.isSignificantlyBelow)
        XCTAssertEqual(p.verdict, "not significant")
        XCTAssertEqual([p.worse, p.better, p.items, p.resamples], [1, 0, 162, 10_000])
    }

    func testAConstantShiftIsSignificantAndTheIntervalIsThePoint() {
        let base = (0..<50).map { Double($0) / 50 }
        let p = PairedBootstrap.meanDifference(adapter: base.map { $0 + 0.01 }, base: base)
        XCTAssertEqual(p.lower, 0.01, accuracy: 1e-12)
        XCTAssertEqual(p.upper, 0.01, accuracy: 1e-12)
        XCTAssertTrue(p.isSignificantlyAbove)
        XCTAssertEqual(p.worse, 0)
        XCTAssertEqual(p.better, 50)
    }

    /// For 400 independent differences the mean's sampling distribution is close to normal, so the
    /// 95 % percentile interval is the mean ± 1.96 s/√n within the resampling error.
    func testIntervalMatchesTheNormalApproximation() {
        var rng = SplitMix64(seed: 11)
        let n = 400
        let d = (0..<n).map { _ in 0.01 + 0.05 * rng.nextGaussian() }
        let p = PairedBootstrap.meanDifference(adapter: d, base: [Double](repeating: 0, count: n), seed: 3)
        let mean = d.reduce(0, +) / Double(n)
        let sd = (d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)).squareRoot()
        let half = 1.96 * sd / Double(n).squareRoot()  // ≈ 0.0049
        XCTAssertEqual(p.difference, mean, accuracy: 1e-15)
        XCTAssertEqual(p.lower, mean - half, accuracy: 4e-4)
        XCTAssertEqual(p.upper, mean + half, accuracy: 4e-4)
        // The same seed gives the same interval; another seed a slightly different one.
        XCTAssertEqual(PairedBootstrap.meanDifference(adapter: d, base: [Double](repeating: 0, count: n), seed: 3), p)
        let other = PairedBootstrap.meanDifference(adapter: d, base: [Double](repeating: 0, count: n), seed: 4)
        XCTAssertNotEqual(other.lower, p.lower)
        XCTAssertEqual(other.lower, p.lower, accuracy: 5e-4)
    }

    /// Spearman is not a mean of per-pair scores: each resample recomputes both correlations.
    func testSpearmanDifferenceOnTheSamePairs() {
        var rng = SplitMix64(seed: 5)
        let n = 300
        let gold = (0..<n).map { _ in 5 * rng.nextUnit() }
        let sharp = gold.map { $0 + 0.3 * rng.nextGaussian() }, blurred = gold.map { $0 + 3 * rng.nextGaussian() }
        func spearman(_ x: [Double]) -> ([Int]) -> Double {
            { items in 100 * Correlation.spearman(items.map { x[$0] }, items.map { gold[$0] }) }
        }
        let better = PairedBootstrap.statisticDifference(items: n, adapter: spearman(sharp), base: spearman(blurred))
        XCTAssertEqual(better.difference, 100 * (Correlation.spearman(sharp, gold) - Correlation.spearman(blurred, gold)), accuracy: 1e-9)
        XCTAssertTrue(better.isSignificantlyAbove, "\(better)")
        XCTAssertNil(better.worse)
        let worse = PairedBootstrap.statisticDifference(items: n, adapter: spearman(blurred), base: spearman(sharp))
        XCTAssertTrue(worse.isSignificantlyBelow)
        let same = PairedBootstrap.statisticDifference(items: n, adapter: spearman(sharp), base: spearman(sharp))
        XCTAssertEqual([same.difference, same.lower, same.upper], [0, 0, 0])
        XCTAssertEqual(same.verdict, "not significant")
    }

    func testPerQueryNDCGAveragesToTheMetric() {
        // Three queries against four documents at cosines spread on the unit circle.
        let angle: [Float] = [0, 0.4, 0.9, 1.3]
        let docs = Tensor(shape: [4, 2], values: angle.flatMap { [cos($0), sin($0)] })
        let queries = Tensor(shape: [3, 2], values: [1, 0, 0, 1, Float(0.6), Float(0.8)])
        var perQuery: [Double] = [42]
        let m = RetrievalMetrics.evaluate(queries: queries, documents: docs, qrels: [[3: 1], [0: 1], [1: 1, 2: 1]],
                                          perQueryNDCG: &perQuery)
        XCTAssertEqual(perQuery.count, 3, "the buffer is cleared first")
        XCTAssertEqual(perQuery.reduce(0, +) / 3, m.ndcg10, accuracy: 1e-15)
        XCTAssertEqual(perQuery[0], 1 / Foundation.log2(5.0), accuracy: 1e-12, "query 0 finds doc 3 fourth")
        XCTAssertEqual(m, RetrievalMetrics.evaluate(queries: queries, documents: docs, qrels: [[3: 1], [0: 1], [1: 1, 2: 1]]))
    }

    /// The comparison paragraph of `tasklora eval --compare-base`: the tie-margin verdict and the
    /// significance count, in one place.
    func testReportSummaryCountsBelowAndSignificant() {
        var report = EvaluationReport(model: "m.h5", dims: [64], maxLength: 128)
        report.vsBase = [.init(dataset: "en", metric: "ndcg@10", dim: 64, base: 0.9, adapter: 0.899, basePrompts: [])]
        XCTAssertEqual(report.baseSummary(), "At or above the base on every dataset and dim (ties within 0.002).")
        let oneQuery = PairedDifference(difference: -0.0023, lower: -0.0068, upper: 0, confidence: 0.95, worse: 1, better: 0, items: 162, resamples: 10_000)
        let real = PairedDifference(difference: -0.02, lower: -0.03, upper: -0.01, confidence: 0.95, worse: 9, better: 1, items: 162, resamples: 10_000)
        report.vsBase = [
            .init(dataset: "zh", metric: "ndcg@10", dim: 64, base: 0.9, adapter: 0.8977, basePrompts: ["query: ", "passage: "], paired: oneQuery),
            .init(dataset: "ru", metric: "ndcg@10", dim: 64, base: 0.9, adapter: 0.88, basePrompts: ["query: ", "passage: "], paired: real),
            .init(dataset: "sts", metric: "spearman", dim: 64, base: 80, adapter: 79.9, basePrompts: ["query: "]),
        ]
        XCTAssertEqual(report.baseSummary(),
                       "**Below the base on 2 of 3 dataset/dim pairs** (beyond the tie margin 0.002, 0.2 of Spearman ×100): zh at 64, ru at 64. "
                       + "Paired bootstrap over the items (95 %): 1 of 2 pairs significantly below the base (ru at 64), 0 significantly above.")
        let md = report.markdown()
        XCTAssertTrue(md.contains("| zh | ndcg@10 | 64 | 0.9000 | 0.8977 | -0.0023 (below) | 1 / 0 | [-0.0068, +0.0000] | not significant |"), md)
        XCTAssertTrue(md.contains("| sts | spearman | 64 | 80.0000 | 79.9000 | -0.1000 | — | — | — |"), md)
        let json = try! JSONSerialization.jsonObject(with: report.json()) as! [String: Any]
        let paired = ((json["vs_base"] as! [[String: Any]])[1]["paired"] as! [String: Any])
        XCTAssertEqual(paired["upper"] as? Double, -0.01)
    }

    /// `tasklora eval --compare-base` end to end: every `vs_base` row carries the paired interval,
    /// whose difference is the row's gain; retrieval counts its queries, STS its pairs.
    func testEvalCompareBaseCarriesThePairedInterval() throws {
        _ = try CLIProcess.requireExecutable()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("paired-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = dir.appendingPathComponent("tiny.h5").path
        try ExportTests.makeCheckpoint(at: ckpt)
        var rng = SplitMix64(seed: 2)
        let words = ["red", "blue", "cat", "dog", "sun", "rain", "tree", "road", "milk", "bread", "king", "stone"]
        func sentence(_ n: Int) -> String { (0..<n).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ") }
        let paragraphs = (0..<6).map { _ in sentence(12) }
        let squad: [String: Any] = ["data": [["title": "t", "paragraphs": paragraphs.enumerated().map { i, p in
            ["context": p, "qas": (0..<3).map { k in ["id": "q\(i)-\(k)", "question": sentence(4), "answers": [[String: Any]]()] }]
        }]]]
        let squadPath = dir.appendingPathComponent("squad.json").path
        try JSONSerialization.data(withJSONObject: squad).write(to: URL(fileURLWithPath: squadPath))
        let sts = (0..<20).map { i in
            String(data: try! JSONSerialization.data(withJSONObject: ["sentence1": sentence(5), "sentence2": sentence(5), "score": Double(i % 5)]),
                   encoding: .utf8)!
        }.joined(separator: "\n") + "\n"
        let stsPath = dir.appendingPathComponent("sts.jsonl").path
        try sts.write(toFile: stsPath, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("eval.json").path
        let p = try CLIProcess(["eval", "--model", ckpt, "--task", "fused", "--dims", "8,32", "--compare-base",
                                "--retrieval", squadPath, "--sts", stsPath, "--output", out])
        _ = p.wait()
        XCTAssertEqual(p.process.terminationStatus, 0, p.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        let rows = try XCTUnwrap(json["vs_base"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 4, "2 sets × 2 dims")
        for r in rows {
            let paired = try XCTUnwrap(r["paired"] as? [String: Any], "\(r)")
            let gain = (r["adapter"] as! Double) - (r["base"] as! Double)
            XCTAssertEqual(paired["difference"] as! Double, gain, accuracy: 1e-9, "\(r)")
            XCTAssertLessThanOrEqual(paired["lower"] as! Double, paired["upper"] as! Double)
            if r["metric"] as? String == "ndcg@10" {
                XCTAssertEqual(paired["items"] as? Int, 18)
                XCTAssertEqual(paired["resamples"] as? Int, 10_000)
                XCTAssertLessThanOrEqual((paired["worse"] as! Int) + (paired["better"] as! Int), 18)
            } else {
                XCTAssertEqual(paired["items"] as? Int, 20)
                XCTAssertNil(paired["worse"])
            }
        }
        XCTAssertTrue(p.stdout.contains("Paired bootstrap over the items (95 %):"), p.stdout)
    }
}
