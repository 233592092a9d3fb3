import Foundation
import XCTest
@testable import TaskLoRA

final class DataTests: XCTestCase {
    // MARK: helpers

    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    private func dataFile(_ relative: String) throws -> String { try TestPaths.dataFile(relative) }

    private func scored(_ d: TrainingDataset) -> [ScoredPair] {
        guard case .scoredPairs(let p) = d.examples else { XCTFail("not scored pairs: \(d.kind)"); return [] }
        return p
    }

    // MARK: CSV

    func testCSVQuotingEdgeCases() {
        let text = "plain,\"with, comma\",1\r\n"                     // CRLF, comma inside quotes
            + "\"say \"\"hi\"\"\",\"\",2\n"                             // doubled quotes, empty quoted field
            + "\"two\r\nlines\",b,3\n"                                 // newline inside quotes (CRLF → LF)
            + "\n"                                                     // blank line: ignored
            + "a\"b,,4\n"                                              // bare quote in unquoted field, empty field
            + "last,\"x\",5"                                           // no final newline
        let records = CSVParser.parse(bytes(text))
        XCTAssertEqual(records.map(\.fields), [
            ["plain", "with, comma", "1"],
            ["say \"hi\"", "", "2"],
            ["two\nlines", "b", "3"],
            ["a\"b", "", "4"],
            ["last", "x", "5"],
        ])
        XCTAssertEqual(records.map(\.line), [1, 2, 3, 6, 7])
        XCTAssertTrue(records.allSatisfy { $0.problem == nil })
        // A byte-order mark is not part of the first field; a trailing comma makes an empty last field.
        XCTAssertEqual(CSVParser.parse([0xEF, 0xBB, 0xBF] + bytes("a,b,\n")).map(\.fields), [["a", "b", ""]])
    }

    func testCSVBrokenQuotingResyncs() {
        let text = "ok,one,1\n\"bad\"x,y,2\nok,two,3\n\"never closed,z,4\nok,three,5\n"
        let records = CSVParser.parse(bytes(text))
        XCTAssertEqual(records.map(\.line), [1, 2, 3, 4, 5])
        XCTAssertNotNil(records[1].problem)
        XCTAssertTrue(records[3].problem?.contains("never closed") ?? false)
        XCTAssertEqual(records[4].fields, ["ok", "three", "5"])
    }

    func testSTSCSVRowsAndNormalization() throws {
        let d = try STSCSVReader.parse(bytes("A,\"B, c\",5.0\nD,E,2.5\n"), path: "t.csv",
                                       options: ReadOptions(scoreNormalization: .divide(by: 5)))
        XCTAssertEqual(scored(d), [ScoredPair(sentence1: "A", sentence2: "B, c", score: 1),
                                   ScoredPair(sentence1: "D", sentence2: "E", score: 0.5)])
        XCTAssertEqual(d.source, "t.csv")
        // A header row is recognized by its non-numeric score.
        XCTAssertEqual(try STSCSVReader.parse(bytes("sentence1,sentence2,score\nA,B,1\n"), path: "h.csv").count, 1)
        XCTAssertTrue(message { try STSCSVReader.parse(self.bytes("A,B,1\n"), path: "z.csv",
                                                         options: ReadOptions(scoreNormalization: .divide(by: 0))) }
            .contains("divide by zero"))
    }

    func testSTSCSVErrorsNameFileAndLine() {
        let cases: [(String, String)] = [
            ("A,B,1\nA,B\n", "t.csv: line 2: too few fields"),
            ("A,B,1\nA,B,1\nA,B,C,1\n", "t.csv: line 3: too many fields"),
            ("A,B,1\nA,B,high\n", "t.csv: line 2: score \"high\" is not a number"),
            ("A,B,1\nA,B,nan\n", "t.csv: line 2: score \"nan\" is not a number"),
            ("A,B,1\n\"x\ny\",B,1\nA,,2\n", "t.csv: line 4: sentence2 is empty"),
            ("A,B,1\n\"A\"B,C,2\n", "t.csv: line 2: unexpected text after the closing quote"),
            ("A,B,1\nA,\"B,2\n", "t.csv: line 2: quoted field opened on line 2 is never closed"),
        ]
        for (text, expected) in cases {
            let m = message { try STSCSVReader.parse(self.bytes(text), path: "t.csv") }
            XCTAssertTrue(m.hasPrefix(expected), "\(m) does not start with \(expected)")
        }
        let invalid = bytes("A,B,1\n") + [0x41, 0xFF, 0x2C, 0x42, 0x2C, 0x31, 0x0A]
        XCTAssertTrue(message { try STSCSVReader.parse(invalid, path: "u.csv") }.hasPrefix("u.csv: line 2: field 1 is not valid UTF-8"))
    }

    func testSkipModeCountsBadRows() throws {
        let csv = "A,B,1\nA,B\nC,D,x\n\"E\"e,F,2\nG,H,3\n"
        let d = try STSCSVReader.parse(bytes(csv), path: "s.csv", options: ReadOptions(onError: .skip))
        XCTAssertEqual(d.count, 2)
        XCTAssertEqual(d.skipped, 3)
        XCTAssertEqual(d.skipMessages.map { $0.prefix(6) }, ["line 2", "line 3", "line 4"])

        let tsv = "s1\ts2\tscore\nA\tB\t1\nA\tB\nA\tB\t1\t2\nA\tB\tq\n" + "C\tD\t4\n"
        let t = try STSTSVReader.parse(bytes(tsv), path: "s.tsv", options: ReadOptions(onError: .skip))
        XCTAssertEqual(t.count, 2)
        XCTAssertEqual(t.skipped, 3)

        let jsonl = "{\"anchor\":\"a\",\"positive\":\"b\"}\nnot json\n[1]\n{\"text\":\"t\",\"label\":\"l\"}\n{\"anchor\":\"c\",\"positive\":\"d\"}\n"
        let j = try JSONLReader.parse(bytes(jsonl), path: "s.jsonl", options: ReadOptions(onError: .skip))
        XCTAssertEqual(j.kind, .pairs)
        XCTAssertEqual(j.count, 2)
        XCTAssertEqual(j.skipped, 3)
    }

    // MARK: TSV, SICK

    func testSTSTSVHeaderAndErrors() throws {
        let noHeader = try STSTSVReader.parse(bytes("A\tB\t3\r\nC \"q\"\tD\t4\n"), path: "n.tsv")
        XCTAssertEqual(scored(noHeader).map(\.sentence1), ["A", "C \"q\""])
        let header = try STSTSVReader.parse(bytes("sentence1\tsentence2\tscore\nA\tB\t3\n"), path: "h.tsv")
        XCTAssertEqual(header.count, 1)
        XCTAssertTrue(message { try STSTSVReader.parse(self.bytes("A\tB\t3\nA\tB\n"), path: "e.tsv") }
            .hasPrefix("e.tsv: line 2: too few fields"))
        XCTAssertTrue(message { try STSTSVReader.parse(self.bytes("A\tB\t3\nA\tB\tx\n"), path: "e.tsv", hasHeader: false) }
            .hasPrefix("e.tsv: line 2: score \"x\" is not a number"))
        XCTAssertTrue(message { try STSTSVReader.parse(self.bytes("A\tB\t3\n") + [0xC3, 0x28, 0x09, 0x42, 0x09, 0x31], path: "e.tsv") }
            .hasPrefix("e.tsv: line 2: not valid UTF-8"))
    }

    func testSICKInline() throws {
        let text = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
            + "1\tA man runs\tA person runs\t4.5\tENTAILMENT\n"
            + "2\tA man runs\tA man sleeps\t2\tCONTRADICTION\n"
            + "3\tA dog\tA cat\t1\tNEUTRAL\n"
        let sick = try SICKReader.parse(bytes(text), path: "S.txt", options: ReadOptions(scoreNormalization: .range(min: 1, max: 5)))
        XCTAssertEqual(sick.pairs.map(\.relatedness), [0.875, 0.25, 0])
        XCTAssertEqual(sick.relatedness().count, 3)
        XCTAssertEqual(sick.pairs(judged: .entailment).examples, .pairs([PairExample(anchor: "A man runs", positive: "A person runs")]))
        XCTAssertEqual(sick.pairs(judged: .entailment, symmetric: true).count, 2)
        XCTAssertEqual(sick.nliTriplets().examples,
                       .tuples([TupleExample(anchor: "A man runs", positive: "A person runs", negatives: ["A man sleeps"])]))
        XCTAssertEqual(sick.entailmentLabels().texts(of: 2), ["A dog\nA cat"])

        XCTAssertTrue(message { try SICKReader.parse(self.bytes("id\ta\tb\n"), path: "S.txt") }.hasPrefix("S.txt: line 1: not a SICK header"))
        let bad = text + "4\tA\tB\t3\tMAYBE\n5\tA\tB\tx\tNEUTRAL\n6\tA\tB\t3\n"
        XCTAssertTrue(message { try SICKReader.parse(self.bytes(bad), path: "S.txt") }.hasPrefix("S.txt: line 5: entailment_judgment \"MAYBE\""))
        let skipped = try SICKReader.parse(bytes(bad), path: "S.txt", options: ReadOptions(onError: .skip))
        XCTAssertEqual(skipped.pairs.count, 3)
        XCTAssertEqual(skipped.skipped, 3)
        XCTAssertEqual(skipped.skipMessages.last?.hasPrefix("line 7: too few fields"), true)
    }

    func testSICKRealFiles() throws {
        let train = try SICKReader.read(path: dataFile("sick/SICK_train.txt"))
        XCTAssertEqual(train.pairs.count, 4500)
        XCTAssertEqual(Dictionary(grouping: train.pairs, by: \.entailment).mapValues(\.count),
                       [.neutral: 2536, .entailment: 1299, .contradiction: 665])
        XCTAssertTrue(train.pairs.allSatisfy { (1...5).contains($0.relatedness) })
        XCTAssertEqual(try SICKReader.read(path: dataFile("sick/SICK_trial.txt")).pairs.count, 500)
        XCTAssertEqual(try DataFormat.detect(path: dataFile("sick/SICK_train.txt")), .sick)
        XCTAssertGreaterThan(train.nliTriplets().count, 0)
    }

    // MARK: JSONL

    func testJSONLKindDetection() throws {
        let pairs = try JSONLReader.parse(bytes("{\"anchor\":\"q\",\"positive\":\"p\",\"id\":7}\n\n{\"anchor\":\"q2\",\"positive\":\"p2\"}\n"), path: "p.jsonl")
        XCTAssertEqual(pairs.examples, .pairs([PairExample(anchor: "q", positive: "p"), PairExample(anchor: "q2", positive: "p2")]))
        let tuples = try JSONLReader.parse(bytes("{\"anchor\":\"q\",\"positive\":\"p\",\"negatives\":[\"n1\",\"n2\"]}\n"), path: "t.jsonl")
        XCTAssertEqual(tuples.examples, .tuples([TupleExample(anchor: "q", positive: "p", negatives: ["n1", "n2"])]))
        let scoredData = try JSONLReader.parse(bytes("{\"sentence1\":\"a\",\"sentence2\":\"b\",\"score\":4}\n"), path: "s.jsonl",
                                               options: ReadOptions(scoreNormalization: .divide(by: 5)))
        XCTAssertEqual(scored(scoredData), [ScoredPair(sentence1: "a", sentence2: "b", score: 0.8)])
        let labeled = try JSONLReader.parse(bytes("{\"text\":\"t\",\"label\":\"pos\"}\r\n{\"text\":\"u\",\"label\":3}\r\n"), path: "l.jsonl")
        XCTAssertEqual(labeled.examples, .labeledTexts([LabeledText(text: "t", label: "pos"), LabeledText(text: "u", label: "3")]))
    }

    func testJSONLErrors() {
        let cases: [(String, String)] = [
            ("{\"anchor\":\"q\",\"positive\":\"p\"}\n{\"sentence1\":\"a\",\"sentence2\":\"b\",\"score\":1}\n",
             "m.jsonl: line 2: has the keys of scored pairs {sentence1, sentence2, score} but line 1 set the file's kind to pairs"),
            ("{\"anchor\":\"q\",\"positive\":\"p\",\"negatives\":[\"n\"]}\n{\"anchor\":\"q\",\"positive\":\"p\"}\n",
             "m.jsonl: line 2: has the keys of pairs {anchor, positive} but line 1 set the file's kind to tuples"),
            ("{\"anchor\":\"q\",\"positive\":\"p\"}\n[\"q\",\"p\"]\n", "m.jsonl: line 2: is not a JSON object"),
            ("{\"anchor\":\"q\",\"positive\":\"p\"}\n{\"anchor\":\"q\"\n", "m.jsonl: line 2: is not valid JSON"),
            ("{\"anchor\":\"q\"}\n", "m.jsonl: line 1: has no \"positive\""),
            ("{\"anchor\":\"q\",\"positive\":3}\n", "m.jsonl: line 1: \"positive\" is not a string"),
            ("{\"sentence1\":\"a\",\"sentence2\":\"b\",\"score\":\"high\"}\n", "m.jsonl: line 1: \"score\" is not a number"),
            ("{\"anchor\":\"q\",\"positive\":\"p\",\"negatives\":\"n\"}\n", "m.jsonl: line 1: \"negatives\" is not an array of strings"),
            ("{\"query\":\"q\"}\n", "m.jsonl: line 1: has none of the known key sets"),
        ]
        for (text, expected) in cases {
            let m = message { try JSONLReader.parse(self.bytes(text), path: "m.jsonl") }
            XCTAssertTrue(m.hasPrefix(expected), "\(m) does not start with \(expected)")
        }
        let invalid: [UInt8] = bytes("{\"text\":\"a\",\"label\":\"b\"}\n{\"text\":\"") + [0xFF] + bytes("\",\"label\":\"b\"}\n")
        XCTAssertEqual(message { try JSONLReader.parse(invalid, path: "m.jsonl") }, "m.jsonl: line 2: not valid UTF-8")
    }

    // MARK: formats

    func testFormatDetection() throws {
        XCTAssertEqual(try DataFormat.detect(path: "x/train.jsonl"), .jsonl)
        XCTAssertEqual(try DataFormat.detect(path: "x/stsb.CSV"), .stsbCSV)
        XCTAssertEqual(try DataFormat.detect(path: "x/xquad.json"), .squad)
        XCTAssertTrue(message { try DataFormat.detect(path: "x/data.parquet") }.contains("cannot tell the data format"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tasklora-data-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let sts = dir.appendingPathComponent("pairs.tsv")
        try Data("A\tB\t1\n".utf8).write(to: sts)
        XCTAssertEqual(try DataFormat.detect(path: sts.path), .stsTSV)
        XCTAssertEqual(try TrainingDataset.load(path: sts.path).count, 1)
        // An explicit format wins over the name.
        let named = dir.appendingPathComponent("pairs.data")
        try Data("{\"anchor\":\"q\",\"positive\":\"p\"}\n".utf8).write(to: named)
        XCTAssertEqual(try TrainingDataset.load(path: named.path, format: .jsonl).kind, .pairs)
        XCTAssertTrue(message { try TrainingDataset.load(path: dir.appendingPathComponent("none.csv").path) }.hasSuffix("no such file"))
    }

    // MARK: real STS-B

    func testSTSBRealRowCounts() throws {
        for (split, rows) in [("train", 5749), ("dev", 1500), ("test", 1379)] {
            for lang in ["en", "de", "zh"] {
                let d = try STSCSVReader.read(path: dataFile("stsb-multi-mt/stsb-\(lang)-\(split).csv"),
                                              options: ReadOptions(scoreNormalization: .divide(by: 5)))
                XCTAssertEqual(d.count, rows, "\(lang) \(split)")
                XCTAssertEqual(d.skipped, 0)
                XCTAssertTrue(scored(d).allSatisfy { (0...1).contains($0.score) })
            }
        }
        // Rows line up across languages: same scores row by row.
        let en = try scored(STSCSVReader.read(path: dataFile("stsb-multi-mt/stsb-en-dev.csv")))
        let de = try scored(STSCSVReader.read(path: dataFile("stsb-multi-mt/stsb-de-dev.csv")))
        XCTAssertEqual(en.map(\.score), de.map(\.score))
        XCTAssertTrue(en.contains { $0.sentence1.contains(",") || $0.sentence2.contains(",") })
    }

    // MARK: XQuAD

    func testXQuADRealFile() throws {
        for lang in ["en", "de", "zh"] {
            let x = try SQuADReader.read(path: dataFile("xquad/xquad.\(lang).train.json"))
            XCTAssertEqual(x.questions.count, 826, lang)
            XCTAssertEqual(x.paragraphs.count, 160, lang)
            XCTAssertEqual(x.corpus.count, 160)
            XCTAssertEqual(x.queries.count, 826)
            XCTAssertEqual(Set(x.paragraphs.map(\.article)).count, 32)
            XCTAssertEqual(x.paragraphs.first?.id, "a0p0")
        }
        let en = try SQuADReader.read(path: dataFile("xquad/xquad.en.train.json"))
        let de = try SQuADReader.read(path: dataFile("xquad/xquad.de.train.json"))
        XCTAssertEqual(en.questions.map(\.id), de.questions.map(\.id))
        XCTAssertEqual(en.questions.map(\.paragraphID), de.questions.map(\.paragraphID))

        let pairs = try en.trainingDataset()
        XCTAssertEqual(pairs.kind, .pairs)
        XCTAssertEqual(pairs.count, 826)
        let tuples = try en.trainingDataset(hardNegatives: 3, seed: 1)
        guard case .tuples(let t) = tuples.examples else { return XCTFail("not tuples") }
        let articleOf = Dictionary(en.paragraphs.map { ($0.text, $0.article) }, uniquingKeysWith: { a, _ in a })
        for e in t {
            XCTAssertEqual(e.negatives.count, 3)
            XCTAssertFalse(e.negatives.contains(e.positive))
            XCTAssertEqual(Set(e.negatives).count, 3)
        }
        // Articles of 5 paragraphs give 3 siblings per question: all from the same article.
        let sameArticle = t.filter { e in e.negatives.allSatisfy { articleOf[$0] == articleOf[e.positive] } }.count
        XCTAssertGreaterThan(sameArticle, t.count * 9 / 10)
        XCTAssertEqual(try en.trainingDataset(hardNegatives: 3, seed: 1), tuples)
        XCTAssertNotEqual(try en.trainingDataset(hardNegatives: 3, seed: 2), tuples)
        XCTAssertTrue(message { try en.trainingDataset(hardNegatives: 160) }.contains("only 160 paragraphs"))
    }

    func testXQuADHeldOutSplitIsDisjoint() throws {
        let x = try SQuADReader.read(path: dataFile("xquad/xquad.en.train.json"))
        let (train, held) = try x.splitByParagraph(heldOutFraction: 0.2, seed: 7)
        XCTAssertEqual(held.paragraphs.count, 32)
        XCTAssertEqual(train.paragraphs.count + held.paragraphs.count, 160)
        XCTAssertEqual(train.questions.count + held.questions.count, 826)
        XCTAssertTrue(Set(train.paragraphs.map(\.id)).isDisjoint(with: held.paragraphs.map(\.id)))
        let heldTexts = Set(held.paragraphs.map(\.text))
        for e in try train.trainingDataset(hardNegatives: 2, seed: 3).texts(of: 0) { XCTAssertFalse(heldTexts.contains(e)) }
        guard case .tuples(let t) = try train.trainingDataset(hardNegatives: 2).examples else { return XCTFail() }
        XCTAssertTrue(t.allSatisfy { !heldTexts.contains($0.positive) && $0.negatives.allSatisfy { !heldTexts.contains($0) } })
        XCTAssertTrue(held.questions.allSatisfy { held.corpus[$0.paragraphID] != nil })
        // Deterministic, and the same paragraphs are held out in every language.
        let de = try SQuADReader.read(path: dataFile("xquad/xquad.de.train.json")).splitByParagraph(heldOutFraction: 0.2, seed: 7)
        XCTAssertEqual(de.heldOut.paragraphs.map(\.id), held.paragraphs.map(\.id))
        XCTAssertNotEqual(try x.splitByParagraph(heldOutFraction: 0.2, seed: 8).heldOut.paragraphs.map(\.id), held.paragraphs.map(\.id))

        let byArticle = try x.splitByArticle(heldOutFraction: 0.25, seed: 1)
        XCTAssertTrue(Set(byArticle.train.paragraphs.map(\.article)).isDisjoint(with: byArticle.heldOut.paragraphs.map(\.article)))
        XCTAssertGreaterThanOrEqual(byArticle.heldOut.paragraphs.count, 40)
    }

    func testSQuADErrors() throws {
        let good = "{\"data\":[{\"title\":\"T\",\"paragraphs\":[{\"context\":\"C0\",\"qas\":[{\"id\":\"q1\",\"question\":\"Q1\"}]},"
            + "{\"context\":\"C1\",\"qas\":[{\"id\":\"q2\"},{\"id\":\"q1\",\"question\":\"dup\"}]},{\"qas\":[]}]}]}"
        XCTAssertEqual(message { try SQuADReader.parse(self.bytes(good), path: "q.json") },
                       "q.json: data[0].paragraphs[1].qas[0]: has no non-empty string \"question\"")
        let skipped = try SQuADReader.parse(bytes(good), path: "q.json", options: ReadOptions(onError: .skip))
        XCTAssertEqual(skipped.skipped, 3)
        XCTAssertEqual(skipped.paragraphs.map(\.id), ["a0p0", "a0p1"])
        XCTAssertEqual(skipped.questions.map(\.id), ["q1"])
        XCTAssertTrue(message { try SQuADReader.parse(self.bytes("{\"data\": [}"), path: "q.json") }.hasPrefix("q.json: not valid JSON"))
        XCTAssertTrue(message { try SQuADReader.parse(self.bytes("{\"version\":1}"), path: "q.json") }.contains("\"data\" array"))
    }

    // MARK: generic split

    func testDatasetSplit() throws {
        let pairs = (0..<200).map { PairExample(anchor: "q\($0 % 50)", positive: "p\($0)") }
        let d = TrainingDataset(examples: .pairs(pairs), source: "mem")
        let (train, held) = try d.split(heldOutFraction: 0.2, seed: 3)
        XCTAssertEqual(train.count + held.count, 200)
        XCTAssertEqual(held.count, 40)  // 4 rows per anchor, 10 anchors
        let trainAnchors = Set((0..<train.count).map { train.texts(of: $0)[0] })
        XCTAssertTrue((0..<held.count).allSatisfy { !trainAnchors.contains(held.texts(of: $0)[0]) })
        XCTAssertEqual(try d.split(heldOutFraction: 0.2, seed: 3).heldOut, held)
        XCTAssertEqual(try d.split(heldOutFraction: 0.1, seed: 3, by: .row).heldOut.count, 20)
        XCTAssertTrue(message { try d.split(heldOutFraction: 1.5, seed: 0) }.contains("not between 0 and 1"))
    }

    // MARK: prefixes

    func testPrefixesApplyPerSide() {
        let d = TrainingDataset(examples: .tuples([TupleExample(anchor: "q", positive: "p", negatives: ["n"])]), source: "mem")
        let b = d.textBatch([0], prefixes: .jinaRetrieval)
        XCTAssertEqual(b.anchors, ["Represent the query for retrieving evidence documents: q"])
        XCTAssertEqual(b.positives, ["Represent the document for retrieval: p"])
        XCTAssertEqual(b.flatNegatives, ["Represent the document for retrieval: n"])
        let c = d.textBatch([0], prefixes: Prefixes(anchor: "A: ", positive: "P: ", negative: "N: "))
        XCTAssertEqual(c.negatives, [["N: n"]])
        let s = TrainingDataset(examples: .scoredPairs([ScoredPair(sentence1: "a", sentence2: "b", score: 0.5)]), source: "mem")
        let sb = s.textBatch([0], prefixes: .symmetric("M: "))
        XCTAssertEqual([sb.anchors, sb.positives], [["M: a"], ["M: b"]])
        XCTAssertEqual(sb.scores, [0.5])
    }

    // MARK: sampler

    private func pairDataset(_ n: Int, repeatEvery: Int? = nil) -> TrainingDataset {
        TrainingDataset(examples: .pairs((0..<n).map { i in
            PairExample(anchor: "query \(repeatEvery.map { i % $0 } ?? i)", positive: "passage \(i)")
        }), source: "mem")
    }

    private func drain(_ s: inout BatchSampler, _ count: Int) throws -> [SampledBatch] {
        try (0..<count).map { _ in try s.next() }
    }

    func testSamplerDeterminismAndEpochs() throws {
        let d = pairDataset(103)
        let config = BatchSamplerConfig(batchSize: 10, seed: 42)
        var a = try BatchSampler(dataset: d, config: config)
        var b = try BatchSampler(dataset: d, config: config)
        let batchesA = try drain(&a, 35), batchesB = try drain(&b, 35)
        XCTAssertEqual(batchesA, batchesB)
        // drop_last: 10 full batches per epoch, 3 examples left out, each other example once.
        XCTAssertEqual(batchesA[0].batchesInEpoch, 10)
        let epoch0 = batchesA.filter { $0.epoch == 0 }.flatMap(\.indices)
        XCTAssertEqual(epoch0.count, 100)
        XCTAssertEqual(Set(epoch0).count, 100)
        XCTAssertEqual(batchesA[10].epoch, 1)
        XCTAssertNotEqual(batchesA[0].indices, batchesA[10].indices)
        var other = try BatchSampler(dataset: d, config: BatchSamplerConfig(batchSize: 10, seed: 43))
        XCTAssertNotEqual(try other.next().indices, batchesA[0].indices)
        // Without drop_last the epoch ends with the 3 leftovers.
        let keep = try BatchSampler(dataset: d, config: BatchSamplerConfig(batchSize: 10, seed: 42, dropLast: false))
        let plan = try keep.batches(epoch: 0)
        XCTAssertEqual(plan.count, 11)
        XCTAssertEqual(plan.last?.count, 3)
        XCTAssertEqual(Set(plan.flatMap { $0 }).count, 103)
    }

    func testSamplerResumeMidEpoch() throws {
        let d = pairDataset(97, repeatEvery: 40)
        let config = BatchSamplerConfig(batchSize: 8, seed: 5, bucketWindow: 3)
        var straight = try BatchSampler(dataset: d, config: config)
        let all = try drain(&straight, 30)

        var first = try BatchSampler(dataset: d, config: config)
        _ = try drain(&first, 7)
        let saved = try JSONEncoder().encode(first.state)
        var resumed = try BatchSampler(dataset: d, config: config)
        try resumed.restore(JSONDecoder().decode(BatchSamplerState.self, from: saved))
        XCTAssertEqual(resumed.epoch, first.epoch)
        XCTAssertEqual(try drain(&resumed, 23), Array(all[7...]))

        // A state from other data or other settings is refused.
        var changed = try BatchSampler(dataset: pairDataset(97), config: config)
        XCTAssertTrue(message { try changed.restore(first.state) }.contains("other data"))
        var resized = try BatchSampler(dataset: d, config: BatchSamplerConfig(batchSize: 9, seed: 5, bucketWindow: 3))
        XCTAssertTrue(message { try resized.restore(first.state) }.contains("other settings"))
    }

    func testSamplerNoDuplicateTextsInBatch() throws {
        // 300 examples over 30 distinct anchors: a batch of 16 must defer clashing ones.
        let d = pairDataset(300, repeatEvery: 30)
        var s = try BatchSampler(dataset: d, config: BatchSamplerConfig(batchSize: 16, seed: 9, dropLast: false))
        var seen: [Int] = []
        for _ in 0..<s.batchesInEpoch {
            let b = try s.next()
            let anchors = b.indices.map { d.texts(of: $0)[0] }
            XCTAssertEqual(Set(anchors).count, anchors.count, "batch \(b.batchInEpoch) repeats an anchor")
            seen += b.indices
        }
        XCTAssertEqual(seen.sorted(), Array(0..<300))

        // Hard negatives count too under .allTexts: example 1's negative is example 0's positive.
        let t = TrainingDataset(examples: .tuples([
            TupleExample(anchor: "a0", positive: "p0", negatives: ["n0"]),
            TupleExample(anchor: "a1", positive: "p1", negatives: ["p0"]),
            TupleExample(anchor: "a2", positive: "p2", negatives: ["n2"]),
            TupleExample(anchor: "a3", positive: "p3", negatives: ["n3"]),
        ]), source: "mem")
        for seed in 0..<20 as Range<UInt64> {
            let plan = try BatchSampler(dataset: t, config: BatchSamplerConfig(batchSize: 2, seed: seed)).batches(epoch: 0)
            XCTAssertFalse(plan.contains { Set($0) == [0, 1] })
            let loose = try BatchSampler(dataset: t, config: BatchSamplerConfig(batchSize: 2, seed: seed, uniqueTexts: .anchorAndPositive))
            XCTAssertEqual(try loose.batches(epoch: 0).count, 2)
        }
        // When no full batch of distinct texts exists, say so instead of looping.
        let same = pairDataset(10, repeatEvery: 1)
        XCTAssertTrue(message { try BatchSampler(dataset: same, config: BatchSamplerConfig(batchSize: 2)) }.contains("no batch of 2"))
        XCTAssertEqual(try BatchSampler(dataset: same, config: BatchSamplerConfig(batchSize: 2, uniqueTexts: .off)).batchesInEpoch, 5)
    }

    func testSamplerBucketingGroupsLengths() throws {
        var rng = SplitMix64(seed: 1)
        let lengths = (0..<640).map { _ in Int(rng.next() % 500) + 1 }
        let d = TrainingDataset(examples: .pairs((0..<640).map { PairExample(anchor: "q\($0)", positive: "p\($0)") }), source: "mem")
        func meanSpread(_ plan: [[Int]]) -> Double {
            Double(plan.map { b in b.map { lengths[$0] }.max()! - b.map { lengths[$0] }.min()! }.reduce(0, +)) / Double(plan.count)
        }
        let bucketed = try BatchSampler(dataset: d, config: BatchSamplerConfig(batchSize: 16, seed: 2, bucketWindow: 10), lengths: lengths)
        let plain = try BatchSampler(dataset: d, config: BatchSamplerConfig(batchSize: 16, seed: 2), lengths: lengths)
        let bucketPlan = try bucketed.batches(epoch: 0)
        XCTAssertEqual(bucketPlan.count, 40)
        XCTAssertEqual(Set(bucketPlan.flatMap { $0 }).count, 640)
        XCTAssertLessThan(meanSpread(bucketPlan), meanSpread(try plain.batches(epoch: 0)) / 4)
        // Batch order is shuffled: lengths do not rise through the epoch.
        let firstLengths = bucketPlan.prefix(10).map { lengths[$0[0]] }
        XCTAssertNotEqual(firstLengths, firstLengths.sorted())
        // Token lengths by closure, and character lengths by default.
        XCTAssertEqual(BatchSampler.tokenLengths(d) { $0.split(separator: " ").count }.first, 2)
        XCTAssertEqual(BatchSampler.characterLengths(d).first, 4)
    }

    func testSamplerRejectsTooSmallDataset() {
        XCTAssertEqual(message { try BatchSampler(dataset: self.pairDataset(5), config: BatchSamplerConfig(batchSize: 8)) },
                       "mem: has 5 examples, fewer than one batch of 8; use a smaller batch size or more data")
        XCTAssertTrue(message { try BatchSampler(dataset: self.pairDataset(5), config: BatchSamplerConfig(batchSize: 2), lengths: [1]) }
            .contains("1 lengths given for 5 examples"))
    }

    func testSamplerOnRealXQuADWithHardNegatives() throws {
        let x = try SQuADReader.read(path: dataFile("xquad/xquad.en.train.json"))
        let d = try x.trainingDataset(hardNegatives: 1)
        var s = try BatchSampler(dataset: d, config: BatchSamplerConfig(batchSize: 32, seed: 0, bucketWindow: 5))
        var covered = Set<Int>()
        for _ in 0..<s.batchesInEpoch {
            let b = try s.next()
            let texts = b.indices.flatMap { d.texts(of: $0) }
            XCTAssertEqual(Set(texts).count, texts.count)
            covered.formUnion(b.indices)
        }
        XCTAssertGreaterThan(covered.count, 700)
    }
}
