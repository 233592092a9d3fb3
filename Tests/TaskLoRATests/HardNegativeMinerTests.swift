import Foundation
import XCTest
@testable import TaskLoRA

/// `tasklora mine` / `HardNegativeMiner` on a tiny model and corpus, against a brute-force
/// reference written here: every anchor scored against every distinct corpus text, ranked, the
/// positive removed, the rank window and the margins applied by hand.
final class HardNegativeMinerTests: XCTestCase {
    var scratch: URL!
    override func setUpWithError() throws { scratch = try makeScratchFolder("mine") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func embedder() throws -> SentenceEmbedder {
        try LoadedModel.loadEmbedder(checkpoint: TrainerFixture.checkpoint).0
    }

    func sides(_ e: SentenceEmbedder) -> HardNegativeMiner.Sides {
        let o = SentenceEmbedder.Options(batchSize: 7, maxLength: 16)
        return .init(embedder: e, query: o, passage: o)
    }

    /// 20 pairs; a corpus of 120 other sentences, the 20 positives, a copy of positive 0 and a copy of line 3.
    func data() throws -> (pairs: [(anchor: String, positive: String)], corpus: [String]) {
        var s = TrainerFixture.Sentences(seed: 77)
        let pairs = (0..<20).map { _ -> (anchor: String, positive: String) in
            let anchor = s.next()
            return (anchor, anchor.split(separator: " ").prefix(2).joined(separator: " ") + " " + s.next(2))
        }
        var corpus = (0..<120).map { _ in s.next() }
        corpus.insert(contentsOf: pairs.map(\.positive), at: 40)
        corpus.append(pairs[0].positive)
        corpus.append(corpus[3])
        return (pairs, corpus)
    }

    /// The reference: distinct corpus texts in first-seen order, cosines computed in Double.
    func reference(_ e: SentenceEmbedder, pairs: [(anchor: String, positive: String)], corpus: [String],
                   options: HardNegativeMiner.Options) throws -> [[String]?] {
        var distinct: [String] = []
        for t in corpus where !distinct.contains(t) { distinct.append(t) }
        let o = sides(e).passage
        let c = try e.embed(distinct, options: o).embeddings, a = try e.embed(pairs.map(\.anchor), options: o).embeddings
        let d = c.shape[1]
        return pairs.indices.map { i in
            func cos(_ j: Int) -> Double { (0..<d).reduce(0.0) { $0 + Double(a[i * d + $1]) * Double(c[j * d + $1]) } }
            let p = distinct.firstIndex(of: pairs[i].positive)!
            let positiveScore = cos(p)
            let ranked = distinct.indices.filter { $0 != p }.sorted { cos($0) != cos($1) ? cos($0) > cos($1) : $0 < $1 }
            let window = ranked[options.rangeMin..<min(options.rangeMax, ranked.count)]
            let kept = window.filter { j in
                (options.margin.map { cos(j) <= positiveScore - Double($0) } ?? true)
                    && (options.maxScoreRatio.map { cos(j) <= Double($0) * positiveScore } ?? true)
            }
            return kept.count >= options.numNegatives ? kept.prefix(options.numNegatives).map { distinct[$0] } : nil
        }
    }

    func mine(_ options: HardNegativeMiner.Options, corpus: [String]?, pairs: [(anchor: String, positive: String)])
        throws -> ([HardNegativeMiner.Example], HardNegativeMiner.Summary) {
        let e = try embedder()
        var file: LineFile? = nil
        if let corpus {
            let path = scratch.appendingPathComponent("corpus-\(UUID().uuidString).txt").path
            try (corpus.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            file = try LineFile(path: path)
        }
        var out: [HardNegativeMiner.Example] = []
        let summary = try HardNegativeMiner(options: options).mine(pairs: pairs, pairsSource: "pairs.jsonl", corpus: file,
                                                                   sides: sides(e), scratch: scratch.path) { out.append($0) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasSuffix(".f32") }, [],
                       "the scratch embeddings were not removed")
        return (out, summary)
    }

    func testTopNegativesEqualTheBruteForceReference() throws {
        let (pairs, corpus) = try data()
        let e = try embedder()
        // Small chunks and corpus blocks: several embedding calls, anchor blocks and GEMM blocks.
        for options in [HardNegativeMiner.Options(numNegatives: 3, rangeMin: 0, rangeMax: 10, chunk: 6, corpusBlock: 17),
                        HardNegativeMiner.Options(numNegatives: 4, rangeMin: 5, rangeMax: 30, margin: 0.02, chunk: 64, corpusBlock: 50),
                        HardNegativeMiner.Options(numNegatives: 2, rangeMin: 1, rangeMax: 140, maxScoreRatio: 0.9, chunk: 9, corpusBlock: 1000)] {
            let expected = try reference(e, pairs: pairs, corpus: corpus, options: options)
            let (mined, summary) = try mine(options, corpus: corpus, pairs: pairs)
            XCTAssertEqual(summary.corpusSize, 140)
            XCTAssertEqual(summary.duplicateCorpusLines, 2)
            XCTAssertEqual(summary.written + summary.tooFew, pairs.count)
            XCTAssertEqual(mined.map(\.anchor), pairs.indices.filter { expected[$0] != nil }.map { pairs[$0].anchor })
            for m in mined {
                let i = pairs.firstIndex { $0.anchor == m.anchor }!
                XCTAssertEqual(m.negatives, expected[i], "pair \(i), options \(options)")
                XCTAssertFalse(m.negatives.contains(pairs[i].positive), "the positive came back as a negative")
                XCTAssertEqual(m.negativeScores, m.negativeScores.sorted(by: >))
                if let margin = options.margin { XCTAssertTrue(m.negativeScores.allSatisfy { $0 <= m.positiveScore - margin }) }
                if let ratio = options.maxScoreRatio { XCTAssertTrue(m.negativeScores.allSatisfy { $0 <= ratio * m.positiveScore }) }
            }
        }
    }

    func testDefaultCorpusIsThePositivesAndRandomSamplingStaysInTheWindow() throws {
        let (pairs, _) = try data()
        let (top, _) = try mine(.init(numNegatives: 3, rangeMax: 8), corpus: nil, pairs: pairs)
        let positives = Set(pairs.map(\.positive))
        XCTAssertEqual(top.count, pairs.count)
        for m in top {
            XCTAssertTrue(Set(m.negatives).isSubset(of: positives.subtracting([m.positive])))
        }
        let options = HardNegativeMiner.Options(numNegatives: 3, rangeMin: 2, rangeMax: 12, sampling: .random, seed: 5)
        let (a, _) = try mine(options, corpus: nil, pairs: pairs)
        let (b, _) = try mine(options, corpus: nil, pairs: pairs)
        XCTAssertEqual(a, b, "seeded sampling is not deterministic")
        let window = try mine(.init(numNegatives: 10, rangeMin: 2, rangeMax: 12), corpus: nil, pairs: pairs).0
        for (m, w) in zip(a, window) {
            XCTAssertTrue(Set(m.negatives).isSubset(of: Set(w.negatives)), "random choice outside the rank window")
        }
        XCTAssertNotEqual(a.map(\.negatives), window.map { Array($0.negatives.prefix(3)) }, "random sampling chose the top ones everywhere")
    }

    func testBadInputIsOneLine() throws {
        let (pairs, corpus) = try data()
        let missing = message { try self.mine(.init(), corpus: Array(corpus[0..<40]), pairs: pairs) }
        XCTAssertTrue(missing.hasPrefix("pairs.jsonl: pair 1: its positive is not in the corpus \(scratch.path)/corpus-"), missing)
        let five = Array(pairs.prefix(5))
        let tooMany = message { try self.mine(.init(numNegatives: 30, rangeMax: 40), corpus: five.map(\.positive), pairs: five) }
        XCTAssertTrue(tooMany.hasSuffix("has 5 distinct texts, too few for --num-negatives 30 besides the positive"), tooMany)
        XCTAssertTrue(message { try HardNegativeMiner(options: .init(numNegatives: 5, rangeMax: 3)) }
            .contains("--range-max (3) must be at least --range-min + --num-negatives (5)"))
        let path = scratch.appendingPathComponent("c.jsonl").path
        try "{\"text\": \"a\"}\nnot json\n{\"title\": \"b\"}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let file = try LineFile(path: path)
        XCTAssertEqual(file.count, 3)
        XCTAssertEqual(try file.text(0), "a")
        XCTAssertEqual(message { try file.text(1) }, "\(path): line 2 is not a JSON object")
        XCTAssertEqual(message { try file.text(2) }, "\(path): line 3 has no string field \"text\"")
        let bad = message { try self.mineFile(path, pairs: five) }
        XCTAssertEqual(bad, "\(path): line 2 is not a JSON object")
    }

    func mineFile(_ path: String, pairs: [(anchor: String, positive: String)]) throws -> HardNegativeMiner.Summary {
        try HardNegativeMiner(options: .init()).mine(pairs: pairs, pairsSource: "pairs.jsonl", corpus: LineFile(path: path),
                                                     sides: sides(try embedder()), scratch: scratch.path) { _ in }
    }

    /// The command line: mine, then read the result as a recipe would (tuples with 3 negatives).
    func testCLIWritesWhatARecipeReads() throws {
        let (pairs, corpus) = try data()
        let pairsPath = scratch.appendingPathComponent("pairs.jsonl").path, corpusPath = scratch.appendingPathComponent("corpus.txt").path
        try (pairs.map { TrainerFixture.json(["anchor": $0.anchor, "positive": $0.positive]) }.joined(separator: "\n") + "\n")
            .write(toFile: pairsPath, atomically: true, encoding: .utf8)
        try (corpus.joined(separator: "\n") + "\n").write(toFile: corpusPath, atomically: true, encoding: .utf8)
        let out = scratch.appendingPathComponent("mined.jsonl").path
        let cli = try CLIProcess(["mine", "--model", TrainerFixture.checkpoint, "--pairs", pairsPath, "--corpus", corpusPath,
                                  "--output", out, "--num-negatives", "3", "--range-min", "1", "--range-max", "20", "--with-scores"])
        let status = cli.wait()
        XCTAssertEqual(status, 0, cli.stderr)
        XCTAssertTrue(cli.stderr.contains("mined 20 examples × 3 negatives from 140 corpus texts"), cli.stderr)
        let mined = try JSONLReader.read(path: out)
        guard case .tuples(let rows) = mined.examples else { return XCTFail("not tuples: \(mined.kind)") }
        XCTAssertEqual(rows.count, 20)
        XCTAssertTrue(rows.allSatisfy { $0.negatives.count == 3 && !$0.negatives.contains($0.positive) })
        let expected = try reference(try embedder(), pairs: pairs, corpus: corpus,
                                     options: .init(numNegatives: 3, rangeMin: 1, rangeMax: 20))
        XCTAssertEqual(rows.map(\.negatives), expected.map { $0! })
        let bad = try CLIProcess(["mine", "--model", TrainerFixture.checkpoint, "--pairs", pairsPath, "--output", out,
                                  "--num-negatives", "30", "--range-max", "40"])
        XCTAssertEqual(bad.wait(), 1)
        XCTAssertTrue(bad.stderr.hasPrefix("Error: the positives of \(pairsPath): has 20 distinct texts"), bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
    }
}
