import Foundation
import XCTest
import TaskLoRA

/// Whole-model parity with transformers (fixtures from scripts/reference/make_tiny_fixtures.py,
/// computed in float64): every hidden state, and the pooled embeddings.
final class EncoderParityTests: XCTestCase {
    struct Case {
        let folder: String
        let weights: String
        let expected: String
        var rotaryBase: Float? = nil
        var tolerance: Float = 1e-4
        /// Read the folder as `tasklora import` does (layout detected from the tensor names, the
        /// config's rotary base) instead of renaming `weights`' tensors one by one.
        var throughImporter = false
    }

    func check(_ c: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = c.folder.hasPrefix("/") ? c.folder : TestPaths.fixture(c.folder)
        var config: EncoderConfig
        var tensors: [String: Tensor] = [:]
        if c.throughImporter {
            XCTAssertEqual(c.weights, "model.safetensors", "the importer reads model.safetensors", file: file, line: line)
            let model = try ModelImporter.load(source: dir)
            (config, tensors) = (model.config, model.tensors)
        } else {
            config = try EncoderConfig.load(path: dir + "/config.json")
            let st = try SafeTensorsFile(path: dir + "/" + c.weights)
            for name in st.names { tensors[ModelImporter.canonicalName(name)] = try st.tensor(name) }
        }
        let encoder = TextEncoder(config: config, weights: try EncoderWeights(config: config, tensors: tensors, source: dir))
        if let base = c.rotaryBase { encoder.rotaryBase = base }

        let exp = dir + "/" + c.expected + "/"
        let ids = try readJSON(exp + "input_ids.json") as! [[Int]]
        let batch = TokenBatch(sequences: ids.map { $0.map(Int32.init) })
        let h = config.hiddenSize
        var hidden: [Int: [Float]] = [:]
        var worstHidden: Float = 0, worstCos: Double = 1
        let last = encoder.forward(batch) { layer, states in
            hidden[layer] = Array(UnsafeBufferPointer(start: states, count: batch.tokenCount * h))
        }
        XCTAssertEqual(hidden.count, config.numHiddenLayers + 1, file: file, line: line)
        for b in 0..<batch.sequenceCount {
            let len = batch.length(b), start = batch.offsets[b]
            let ref = try NPY.read(path: exp + "last_hidden_state_\(b).npy")
            XCTAssertEqual(ref.shape, [len, h], file: file, line: line)
            let d = maxAbsDiff(last.data + start * h, ref.data, count: len * h)
            XCTAssertLessThanOrEqual(d, c.tolerance, "\(c.folder) sequence \(b) last hidden state", file: file, line: line)
            worstHidden = max(worstHidden, d)
            let all = try NPY.read(path: exp + "hidden_states_\(b).npy") // (L+1, len, H)
            for l in 0...config.numHiddenLayers {
                let mine = hidden[l]!
                let dl = mine.withUnsafeBufferPointer {
                    maxAbsDiff($0.baseAddress! + start * h, all.data + l * len * h, count: len * h)
                }
                XCTAssertLessThanOrEqual(dl, c.tolerance, "\(c.folder) sequence \(b) hidden state \(l)", file: file, line: line)
                worstHidden = max(worstHidden, dl)
            }
        }
        // Pooled, truncated, normalized embeddings.
        let b = batch.sequenceCount
        let pooled = Tensor(zeros: [b, h])
        for (pooling, name, dim) in [(Pooling.mean, "mean_normalized", h), (.cls, "cls_normalized", h),
                                     (.mean, "mean_trunc16_normalized", 16)] {
            pooling.forward(hidden: last.data, batch: batch, hiddenSize: h, pooled: pooled.data)
            let out = Tensor(zeros: [b, dim])
            TruncateNormalize.forward(pooled: pooled.data, rows: b, hiddenSize: h, dim: dim, out: out.data)
            let ref = try NPY.read(path: exp + name + ".npy")
            XCTAssertEqual(ref.shape, [b, dim], file: file, line: line)
            for r in 0..<b {
                let cos = cosine(out.data + r * dim, ref.data + r * dim, count: dim)
                XCTAssertGreaterThanOrEqual(cos, 0.99999, "\(c.folder) \(name) row \(r)", file: file, line: line)
                worstCos = min(worstCos, cos)
            }
            XCTAssertLessThanOrEqual(maxAbsDiff(out.data, ref.data, count: b * dim), c.tolerance, name, file: file, line: line)
        }
        print("parity \(URL(fileURLWithPath: dir).lastPathComponent)/\(c.expected): max |Δ| over all hidden states \(worstHidden), "
              + "min pooled cosine \(worstCos) (\(batch.sequenceCount) sequences, lengths \((0..<batch.sequenceCount).map(batch.length)))")
    }

    func testTinyBERT() throws {
        try check(Case(folder: "tiny-bert", weights: "model.safetensors", expected: "expected"))
    }

    func testTinyBERTFromBFloat16Weights() throws {
        try check(Case(folder: "tiny-bert", weights: "model-bf16.safetensors", expected: "expected-bf16"))
    }

    func testTinyXLMRobertaPositionOffset() throws {
        try check(Case(folder: "tiny-xlmr", weights: "model.safetensors", expected: "expected"))
    }

    func testTinyRotaryBase10000() throws {
        try check(Case(folder: "tiny-rotary", weights: "model.safetensors", expected: "expected-base10000",
                       rotaryBase: 10_000))
    }

    /// Through the importer: `JinaEmbeddingsV3Model`'s own module names (`layers.N.self_attn.q_proj`),
    /// the base (20,000) from config.json's `rope_parameters`.
    func testTinyRotaryBase20000() throws {
        try check(Case(folder: "tiny-rotary", weights: "model.safetensors", expected: "expected-base20000",
                       throughImporter: true))
    }

    /// What transformers 5.25's `JinaEmbeddingsV3Model.save_pretrained` wrote (the release's module
    /// names, no `roberta.` prefix, no LoRA, with the pooler), imported as `tasklora import` does.
    func testJinaSavedByTransformers() throws {
        XCTAssertEqual(try TensorLayout.detect(folder: TestPaths.fixture("jina-v3-saved")), .jinaSaved)
        try check(Case(folder: "jina-v3-saved", weights: "model.safetensors", expected: "expected", throughImporter: true))
    }

    /// The installed transformers builds, saves and embeds a random tiny `JinaEmbeddingsV3Model`
    /// (scripts/reference/make_jina_saved_fixture.py); whatever layout that version writes must
    /// import and match it. Skipped without the Python reference stack.
    func testJinaSavedByTheInstalledTransformers() throws {
        let folder = try makeScratchFolder("jina-saved")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (status, output) = try TestPaths.runPython(script: "scripts/reference/make_jina_saved_fixture.py", ["--out", folder.path])
        XCTAssertEqual(status, 0, output)
        guard status == 0 else { return }
        let index = try readJSON(folder.path + "/expected/index.json") as! [String: Any]
        print("transformers \(index["transformers_version"] ?? "?") saves layout \(try TensorLayout.detect(folder: folder.path))")
        try check(Case(folder: folder.path, weights: "model.safetensors", expected: "expected", throughImporter: true))
    }

    /// A full-size (24 layers, hidden 1024, vocabulary 250,002) random `JinaEmbeddingsV3Model`,
    /// padded batch of 5, 64 and 200 tokens, at both rotary bases. Its 3.5 GB of weights and
    /// references are made on demand by `scripts/jina-fullsize.sh` (not in CI); skipped without them.
    func testFullSizeRotaryBothBases() throws {
        let dir = TestPaths.cached("jina-v3-full/native")
        guard FileManager.default.fileExists(atPath: dir + "/expected-base10000/index.json") else {
            throw XCTSkip("no full-size jina fixture in \(dir) (run scripts/jina-fullsize.sh)")
        }
        for base in [10_000, 20_000] {
            try check(Case(folder: dir, weights: "model.safetensors", expected: "expected-base\(base)",
                           rotaryBase: Float(base)))
        }
    }

    func testPackedBatchEqualsOneSequenceAtATime() throws {
        let dir = TestPaths.fixture("tiny-xlmr")
        let model = try ModelImporter.loadHuggingFace(folder: dir)
        let encoder = TextEncoder(config: model.config,
                              weights: try EncoderWeights(config: model.config, tensors: model.tensors, source: dir))
        let seqs: [[Int32]] = [[0, 5, 9, 2], [0, 7, 7, 7, 7, 11, 2], [0, 2]]
        let h = model.config.hiddenSize
        let together = encoder.forward(TokenBatch(sequences: seqs))
        var row = 0
        for s in seqs {
            let alone = encoder.forward(TokenBatch(sequences: [s]))
            XCTAssertLessThanOrEqual(maxAbsDiff(together.data + row * h, alone.data, count: s.count * h), 1e-5)
            row += s.count
        }
    }
}
