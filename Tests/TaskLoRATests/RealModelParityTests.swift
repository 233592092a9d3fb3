import Foundation
import XCTest
import TaskLoRA

/// The two real pretrained models against transformers (fixtures from
/// scripts/reference/make_real_fixtures.py): token ids, every hidden state of two sentences,
/// and the mean-pooled embeddings of all 36 sentences of Tests/Fixtures/text/multilingual.txt.
/// The fixtures tokenize with tokenizer.json as written (scripts/reference/_tok.py), so these
/// models run in the `.tokenizerJSON` whitespace mode (it differs from the default on line 25,
/// which ends in spaces; TokenizerTests covers both modes).
final class RealModelParityTests: XCTestCase {
    /// Imported once per process: the e5 import dequantizes 96 M weights.
    nonisolated(unsafe) static var cache: [String: (SentenceEmbedder, ImportedModel)] = [:]

    static func model(_ name: String) throws -> (SentenceEmbedder, ImportedModel) {
        if let m = cache[name] { return m }
        let imported: ImportedModel
        switch name {
        case "multilingual-e5-small":
            try TestPaths.require(TestPaths.e5s1)
            try TestPaths.require(TestPaths.e5Tokenizer)
            imported = try ModelImporter.load(source: TestPaths.e5s1, tokenizerPath: TestPaths.e5Tokenizer)
        default:
            try TestPaths.require(TestPaths.miniLM)
            imported = try ModelImporter.load(source: TestPaths.miniLM)
        }
        let encoder = TextEncoder(config: imported.config,
                              weights: try EncoderWeights(config: imported.config, tensors: imported.tensors, source: name))
        let embedder = SentenceEmbedder(encoder: encoder, tokenizer: imported.tokenizer!.withWhitespace(.tokenizerJSON),
                                        pooling: imported.pooling)
        cache[name] = (embedder, imported)
        return (embedder, imported)
    }

    func check(_ name: String) throws {
        let (embedder, _) = try Self.model(name)
        let dir = TestPaths.fixture("real/\(name)") + "/"
        let texts = try TextLines.read(path: TestPaths.fixture("text/multilingual.txt"))
        let expectedIDs = try readJSON(dir + "input_ids.json") as! [[Int]]
        XCTAssertEqual(expectedIDs.count, texts.count)
        let ids = texts.map { embedder.tokenizer.encode($0, maxLength: 128) }
        for (i, (mine, theirs)) in zip(ids, expectedIDs).enumerated() {
            XCTAssertEqual(mine.map(Int.init), theirs, "\(name) token ids of line \(i + 1)")
        }
        // Every hidden state of the first two sentences.
        let h = embedder.encoder.config.hiddenSize
        for s in 0..<2 {
            let ref = try NPY.read(path: dir + "hidden_states_\(s).npy")  // (L+1, len, H)
            let len = ids[s].count
            var worst: Float = 0
            _ = embedder.encoder.forward(TokenBatch(sequences: [ids[s]])) { layer, states in
                worst = max(worst, maxAbsDiff(states, ref.data + layer * len * h, count: len * h))
            }
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(name) hidden states of sentence \(s)")
        }
        // Pooled embeddings of all sentences, batched as `embed` does.
        let result = try embedder.embed(texts, options: .init(batchSize: 8, maxLength: 128))
        let ref = try NPY.read(path: dir + "mean_normalized.npy")
        XCTAssertEqual(ref.shape, [texts.count, h])
        var minCos = 1.0
        for r in 0..<texts.count {
            minCos = min(minCos, cosine(result.embeddings.data + r * h, ref.data + r * h, count: h))
        }
        XCTAssertGreaterThanOrEqual(minCos, 0.99999, "\(name) lowest cosine")
        XCTAssertLessThanOrEqual(maxAbsDiff(result.embeddings.data, ref.data, count: texts.count * h), 1e-4)
    }

    func testMultilingualE5Small() throws { try check("multilingual-e5-small") }

    /// `encodeAll` cuts the full encoding once instead of tokenizing twice: same ids as `encode(_:maxLength:)`.
    func testEncodeAllCutsLikeEncode() throws {
        for name in ["multilingual-e5-small", "all-MiniLM-L6-v2"] {
            let tokenizer = try Self.model(name).0.tokenizer
            let texts = try TextLines.read(path: TestPaths.fixture("text/multilingual.txt"))
            let (ids, truncated) = tokenizer.encodeAll(texts, maxLength: 8)
            XCTAssertEqual(ids, texts.map { tokenizer.encode($0, maxLength: 8) }, name)
            XCTAssertEqual(truncated, texts.filter { tokenizer.encode($0, maxLength: nil).count > 8 }.count)
            XCTAssertGreaterThan(truncated, 0)
        }
    }

    func testAllMiniLML6v2() throws { try check("all-MiniLM-L6-v2") }
}
