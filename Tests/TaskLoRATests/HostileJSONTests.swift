import Foundation
import XCTest
@testable import TaskLoRA

/// config.json and tokenizer.json from an untrusted source: malformed JSON, missing fields, wrong
/// types and absurd sizes each give one error line naming the file, before any allocation the file
/// does not justify.
final class HostileJSONTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tasklora-hostile-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func write(_ text: String, _ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func assertFails(_ body: () throws -> Void, _ path: String, _ expected: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(path + ": "), message, file: file, line: line)
            XCTAssertTrue(expected.isEmpty || message.contains(expected), "expected \"\(expected)\" in: \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
        }
    }

    private let bert: [String: Any] = [
        "model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 64, "vocab_size": 120, "max_position_embeddings": 40, "type_vocab_size": 2,
    ]

    private func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    // MARK: - config.json

    func testConfigJSONMalformedMissingWrongTypeAndAbsurd() throws {
        var cases: [(String, String)] = [
            ("{\"model_type\": \"bert\", ", "config is not valid JSON"),
            ("[1, 2, 3]", "config is not a JSON object"),
            ("", "config is not valid JSON"),
        ]
        var missing = bert
        missing["hidden_size"] = nil
        cases.append((json(missing), "config is missing \"hidden_size\""))
        var wrongType = bert
        wrongType["num_hidden_layers"] = "two"
        cases.append((json(wrongType), "config field \"num_hidden_layers\" has the wrong type"))
        for (key, value, expected) in [
            ("hidden_size", 1 << 40, "config hidden_size = 1099511627776 is out of range"),
            ("vocab_size", -5, "config vocab_size = -5 is out of range"),
            ("num_hidden_layers", 100_000, "config num_hidden_layers = 100000 is out of range"),
            ("max_position_embeddings", 0, "config max_position_embeddings = 0 is out of range"),
            ("num_attention_heads", 5, "hidden_size 32 is not divisible by num_attention_heads 5"),
        ] as [(String, Int, String)] {
            var c = bert
            c[key] = value
            cases.append((json(c), expected))
        }
        var huge = bert
        huge["hidden_size"] = 1e300
        cases.append((json(huge), "config is not valid JSON"))
        for (i, (text, expected)) in cases.enumerated() {
            let path = try write(text, "config-\(i).json")
            assertFails({ _ = try EncoderConfig.load(path: path) }, path, expected)
        }
    }

    /// The largest sizes config.json may name, with tiny-bert's 93 KB of weights: the import stops
    /// at the first tensor whose shape disagrees, without allocating the model the config describes
    /// (65,536 × 4,000,000 floats would be 1 TB).
    func testAbsurdButInRangeConfigIsRefusedBeforeAllocation() throws {
        let folder = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var c = bert
        c["hidden_size"] = 65_536
        c["vocab_size"] = 4_000_000
        c["num_attention_heads"] = 1024
        try Data(json(c).utf8).write(to: folder.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(atPath: TestPaths.fixture("tiny-bert/model.safetensors"),
                                         toPath: folder.appendingPathComponent("model.safetensors").path)
        XCTAssertThrowsError(try ModelImporter.load(source: folder.path)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(folder.path + ": tensor embeddings.word_embeddings.weight has shape [120, 32], expected [4000000, 65536]"),
                          message)
            XCTAssertFalse(message.contains("\n"), message)
        }
    }

    // MARK: - tokenizer.json

    func testTokenizerJSONAbsurdSizesAndNesting() throws {
        let cases: [(String, String)] = [
            // An id far past the vocabulary.
            (#"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1000000000000}}}"#, "tokenizer.json"),
            // unk_id that does not fit.
            (#"{"model": {"type": "Unigram", "unk_id": 99999999999, "vocab": [["a", -1.0]]}, "normalizer": null}"#, "tokenizer.json"),
            // A negative id.
            (#"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": -1}}}"#, "tokenizer.json"),
            // Nesting deep enough to overflow a recursive parser's stack.
            (String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000), "tokenizer.json"),
            // A number too large for any field.
            (#"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 1e400}}}"#, "tokenizer.json"),
            // Truncated in a string.
            (#"{"model": {"type": "WordPiece", "unk_token": "[UN"#, "tokenizer.json"),
        ]
        for (i, (text, _)) in cases.enumerated() {
            let path = try write(text, "tokenizer-\(i).json")
            assertFails({ _ = try loadHuggingFaceTokenizer(path: path) }, path, "")
        }
    }
}
