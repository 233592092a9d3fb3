import Foundation
import XCTest
@testable import TaskLoRA

/// Merged exports give the same embeddings as the adapter applied on the fly; the Hugging Face and
/// PEFT folders give them in Python too (scripts/reference/check_export.py, when Python is there).
final class ExportTests: XCTestCase {
    static let texts = TestPaths.fixture("text/multilingual.txt")

    /// A 120-token WordPiece vocabulary for tiny-bert (vocab_size 120).
    static func tinyWordPiece() throws -> WordPieceTokenizer {
        var vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        let letters = "abcdefghijklmnopqrstuvwxyz".map(String.init)
        vocab += letters + letters.map { "##" + $0 } + (0...9).map(String.init)
        vocab += [".", ",", "!", "?", "'", "-", ":", ";", "(", ")", "¿"]
        vocab += ["the", "and", "of", "to", "in", "is", "on", "at", "der", "die", "la", "le", "de", "el", "un",
                  "##ing", "##ed", "##er", "##en", "##es", "##tion", "cat", "dog", "fox", "train", "##ch", "##st",
                  "##ll", "##th"]
        vocab += (0..<(120 - vocab.count)).map { "w\($0)" }
        return try WordPieceTokenizer(vocab: vocab, unkId: 1, clsId: 2, sepId: 3, padId: 0,
                                      specialTokens: [("[CLS]", 2), ("[SEP]", 3), ("[MASK]", 4), ("[PAD]", 0), ("[UNK]", 1)])
    }

    /// tiny-bert with two random adapters: "fused" (qkv, fc1, both embedding tables; prefix "query: ")
    /// and "split" (q, k, v, attention output, fc2).
    /// `fixture: "tiny-rotary"` gives the same on transformers' native JinaEmbeddingsV3Model layout.
    static func makeCheckpoint(at path: String, poison: Bool = false, fixture: String = "tiny-bert") throws {
        var model = try ModelImporter.loadHuggingFace(folder: TestPaths.fixture(fixture))
        model.tokenizer = try tinyWordPiece()
        var ckpt = model.checkpoint()
        let adapters = try LoRAAdapters(names: ["fused", "split"], configs: [
            LoRAConfig(rank: 4, alpha: 8, targets: [.qkv, .ffnIn, .wordEmbeddings, .tokenTypeEmbeddings]),
            LoRAConfig(rank: 2, alpha: 3, targets: [.query, .key, .value, .attentionOutput, .ffnOut]),
        ], model: model.config)
        var rng = SplitMix64(seed: 11)
        for i in 0..<adapters.parameterCount { adapters.parameters[i] = Float(rng.nextGaussian() * 0.3) }
        if poison { adapters.parameters[5] = .nan }
        ckpt.adapters["fused"] = adapters.archive(adapter: 0, prefix: "query: ")
        ckpt.adapters["split"] = adapters.archive(adapter: 1, prefix: "")
        try ckpt.write(to: path)
    }

    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Embeddings with the adapter applied on the fly (and its prefix).
    private func adapterEmbeddings(_ ckpt: String, task: String) throws -> (Tensor, String) {
        let (embedder, prefixes) = try LoadedModel.loadEmbedder(checkpoint: ckpt)
        let options = SentenceEmbedder.Options(prefix: prefixes[task]!, adapter: embedder.adapters!.adapterIndex(task)!)
        return (try embedder.embed(try TextLines.read(path: Self.texts), options: options).embeddings, prefixes[task]!)
    }

    func testMergedCheckpointMatchesAdapter() throws {
        let ckpt = path("tiny.h5")
        try Self.makeCheckpoint(at: ckpt)
        let texts = try TextLines.read(path: Self.texts)
        for task in ["fused", "split"] {
            let source = try ExportSource.load(model: ckpt, task: task)
            let (merged, report) = try AdapterMerge.mergedCheckpoint(source: source)
            XCTAssertGreaterThan(report.maxAbsChange, 0.01)
            XCTAssertEqual(report.mergedTensors, task == "fused" ? 2 * 4 + 2 : 2 * 5)
            XCTAssertTrue(merged.adapters.isEmpty)
            XCTAssertEqual(merged.metadata["merged_adapter"], task)
            let out = path("\(task)-merged.h5")
            try merged.write(to: out)
            let (plain, _) = try LoadedModel.loadEmbedder(checkpoint: out)
            XCTAssertNil(plain.adapters)
            let (expected, prefix) = try adapterEmbeddings(ckpt, task: task)
            let got = try plain.embed(texts, options: .init(prefix: prefix)).embeddings
            XCTAssertLessThan(maxAbsDiff(got.data, expected.data, count: got.count), 2e-5, task)
        }
    }

    /// `--adapter-strength λ` on the commands: 0 is the base, λ gives what the library gives with
    /// B scaled by λ, and `export` merges λ · ΔW; bad values and base-only checkpoints are refused.
    func testAdapterStrengthOnTheCommandLine() throws {
        _ = try CLIProcess.requireExecutable()
        let ckpt = path("tiny.h5")
        try Self.makeCheckpoint(at: ckpt)
        func cli(_ args: [String]) throws -> CLIProcess {
            let p = try CLIProcess(args)
            _ = p.wait()
            return p
        }
        func embed(_ name: String, _ extra: [String]) throws -> Tensor {
            let out = path(name)
            let p = try cli(["embed", "--model", ckpt, "--input", Self.texts, "--output", out] + extra)
            XCTAssertEqual(p.process.terminationStatus, 0, p.stderr)
            return try NPY.read(path: out)
        }
        let base = try embed("base.npy", ["--prefix", "query: "])
        let zero = try embed("zero.npy", ["--task", "fused", "--adapter-strength", "0"])
        let half = try embed("half.npy", ["--task", "fused", "--adapter-strength", "0.5"])
        let full = try embed("full.npy", ["--task", "fused"])
        XCTAssertLessThan(maxAbsDiff(zero.data, base.data, count: base.count), 1e-6, "strength 0 is the base")
        XCTAssertGreaterThan(maxAbsDiff(half.data, full.data, count: full.count), 1e-3)
        XCTAssertGreaterThan(maxAbsDiff(half.data, base.data, count: base.count), 1e-3)
        // The library with B scaled by 0.5 gives the same numbers.
        let (embedder, _) = try LoadedModel.loadEmbedder(checkpoint: ckpt)
        embedder.adapters!.applyStrength(0.5)
        let library = try embedder.embed(try TextLines.read(path: Self.texts),
                                         options: .init(prefix: "query: ", adapter: embedder.adapters!.adapterIndex("fused")!)).embeddings
        XCTAssertLessThan(maxAbsDiff(library.data, half.data, count: half.count), 1e-6)
        // export merges λ · ΔW.
        let merged = path("half-merged.h5")
        let export = try cli(["export", "--model", ckpt, "--task", "fused", "--format", "hdf5", "--out", merged, "--adapter-strength", "0.5"])
        XCTAssertEqual(export.process.terminationStatus, 0, export.stderr)
        let (plain, _) = try LoadedModel.loadEmbedder(checkpoint: merged)
        let fromMerged = try plain.embed(try TextLines.read(path: Self.texts), options: .init(prefix: "query: ")).embeddings
        XCTAssertLessThan(maxAbsDiff(fromMerged.data, half.data, count: half.count), 2e-5)
        // Refusals, in one line each.
        let negative = try cli(["embed", "--model", ckpt, "--task", "fused", "--input", Self.texts, "--output", path("x.npy"), "--adapter-strength=-1"])
        XCTAssertNotEqual(negative.process.terminationStatus, 0)
        XCTAssertTrue(negative.stderr.contains("--adapter-strength must be a finite number >= 0"), negative.stderr)
        let plainPath = path("plain.h5")
        var c = try Checkpoint.read(path: ckpt)
        c.adapters = [:]
        try c.write(to: plainPath)
        let noAdapters = try cli(["embed", "--model", plainPath, "--input", Self.texts, "--output", path("y.npy"), "--adapter-strength", "0.5"])
        XCTAssertNotEqual(noAdapters.process.terminationStatus, 0)
        XCTAssertTrue(noAdapters.stderr.contains("holds no adapters; --adapter-strength needs an adapter checkpoint"), noAdapters.stderr)
    }

    func testRefusesNaNAndMisshapenAdapters() throws {
        let bad = path("nan.h5")
        try Self.makeCheckpoint(at: bad, poison: true)
        XCTAssertThrowsError(try ExportSource.load(model: bad, task: "fused")) {
            XCTAssertTrue("\($0)".contains("NaN or Inf"), "\($0)")
        }
        let ckpt = path("tiny.h5")
        try Self.makeCheckpoint(at: ckpt)
        var c = try Checkpoint.read(path: ckpt)
        c.adapters["split"]!.tensors["encoder.layer.0.attention.self.query.lora_A"] = Tensor(zeros: [32, 2])
        try c.write(to: ckpt)
        XCTAssertThrowsError(try ExportSource.load(model: ckpt, task: "split")) {
            XCTAssertTrue("\($0)".contains("has shape [32, 2], but the base model needs [2, 32]"), "\($0)")
        }
        XCTAssertThrowsError(try ExportSource.load(model: ckpt, task: "nope")) {
            XCTAssertTrue("\($0)".contains("has no adapter \"nope\" (adapters: fused, split)"), "\($0)")
        }
    }

    func testPEFTLayoutAndFolderRefusal() throws {
        let ckpt = path("tiny.h5")
        try Self.makeCheckpoint(at: ckpt)
        let source = try ExportSource.load(model: ckpt, task: "fused")
        let out = path("peft")
        try HuggingFaceExport.writeFolder(out) { try HuggingFaceExport.writePEFT(source: source, to: $0, baseModel: "base") }
        let file = try SafeTensorsFile(path: out + "/adapter_model.safetensors")
        let q = try file.tensor("base_model.model.encoder.layer.1.attention.self.value.lora_B.weight")
        XCTAssertEqual(q.shape, [32, 4])
        let b = source.adapter!.tensors["encoder.layer.1.attention.self.qkv.lora_B"]!
        XCTAssertEqual(q.array, Array(b.array[(64 * 4)..<(96 * 4)]), "value gets rows 2H..<3H of the fused B")
        XCTAssertEqual(try file.tensor("base_model.model.embeddings.word_embeddings.lora_embedding_A").shape, [4, 120])
        XCTAssertEqual(try file.tensor("base_model.model.embeddings.word_embeddings.lora_embedding_B").shape, [32, 4])
        let config = try readJSON(out + "/adapter_config.json") as! [String: Any]
        XCTAssertEqual(config["r"] as? Int, 4)
        XCTAssertEqual(config["lora_alpha"] as? Double, 8)
        XCTAssertTrue((config["target_modules"] as! [String]).contains("encoder.layer.0.attention.self.key"))
        XCTAssertThrowsError(try HuggingFaceExport.writeFolder(out) { _ in }) {
            XCTAssertTrue("\($0)".contains("already exists"), "\($0)")
        }
    }

    /// tokenizer.json written from an archive reads back (with tasklora's own reader) to a tokenizer
    /// that encodes every fixture text identically: WordPiece always, Unigram with the real e5 file.
    func testTokenizerJSONRoundTrip() throws {
        let texts = try TextLines.read(path: Self.texts) + ["  two  spaces  ", "", "[CLS] <s> x"]
        var cases: [(String, TextTokenizer, Data)] = []
        let wordPiece = try Self.tinyWordPiece()
        cases.append(("wordpiece", wordPiece, try HuggingFaceExport.wordPieceJSON(wordPiece.archive).0))
        if FileManager.default.fileExists(atPath: TestPaths.e5Tokenizer) {
            let unigram = try loadHuggingFaceTokenizer(path: TestPaths.e5Tokenizer)
            cases.append(("unigram", unigram, try HuggingFaceExport.unigramJSON(unigram.archive).0))
        }
        for (name, tokenizer, json) in cases {
            let file = path("\(name).json")
            try json.write(to: URL(fileURLWithPath: file))
            let back = try loadHuggingFaceTokenizer(path: file)
            XCTAssertEqual(back.vocabularySize, tokenizer.vocabularySize, name)
            XCTAssertEqual(back.padId, tokenizer.padId, name)
            for text in texts {
                XCTAssertEqual(back.encode(text, maxLength: nil), tokenizer.encode(text, maxLength: nil), "\(name): \(text)")
            }
        }
    }

    /// The exported tokenizer_config.json names the class that makes transformers 5 (and so
    /// sentence-transformers) give the ids of the export's whitespace mode: for SentencePiece,
    /// XLMRobertaTokenizer (`.transformers`) or PreTrainedTokenizerFast (`.tokenizerJSON`); for
    /// WordPiece PreTrainedTokenizerFast in both. With Python, AutoTokenizer on each folder gives
    /// tasklora's ids on the whitespace fixture texts.
    func testExportedTokenizerFollowsWhitespaceMode() throws {
        for mode in TokenizerWhitespace.allCases {
            XCTAssertEqual(try HuggingFaceExport.tokenizerClass(try Self.tinyWordPiece(), whitespace: mode, source: "x"),
                           "PreTrainedTokenizerFast")
        }
        // XLMRobertaTokenizer hard-codes <unk> = 3; another layout is refused in transformers mode.
        let odd = try UnigramTokenizer(pieces: ["<unk>", "<s>", "</s>", "<pad>", "a"], scores: [0, 0, 0, 0, -1], unkId: 0,
                                       bosId: 1, eosId: 2, padId: 3, normalizer: .codepointMap([:]))
        XCTAssertEqual(try HuggingFaceExport.tokenizerClass(odd, whitespace: .tokenizerJSON, source: "x"), "PreTrainedTokenizerFast")
        XCTAssertThrowsError(try HuggingFaceExport.tokenizerClass(odd, whitespace: .transformers, source: "x")) {
            XCTAssertTrue("\($0)".contains("export with --whitespace tokenizer-json"), "\($0)")
        }

        try TestPaths.require(TestPaths.e5Tokenizer)
        let unigram = try loadHuggingFaceTokenizer(path: TestPaths.e5Tokenizer)
        let source = ExportSource(base: Checkpoint(tokenizer: unigram.archive), basePath: "e5.h5", config: RecipeTests.e5Small,
                                  adapterName: nil, adapter: nil, adapterPath: nil, loraConfig: nil, prefix: "")
        var folders: [(String, TokenizerWhitespace)] = []
        for mode in TokenizerWhitespace.allCases {
            for given in [nil, TestPaths.e5Tokenizer] {
                let folder = path("\(mode.rawValue)-\(given == nil ? "archive" : "given")")
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                try HuggingFaceExport.writeTokenizer(source: source, tokenizerJSON: given, folder: URL(fileURLWithPath: folder),
                                                     maxLength: 512, whitespace: mode)
                let config = try readJSON(folder + "/tokenizer_config.json") as! [String: Any]
                XCTAssertEqual(config["tokenizer_class"] as? String,
                               mode == .transformers ? "XLMRobertaTokenizer" : "PreTrainedTokenizerFast", folder)
                folders.append((folder, mode))
            }
        }

        _ = try TestPaths.requirePython()
        let fixture = try readJSON(TestPaths.fixture("tokenizer/whitespace_ids.json")) as! [String: Any]
        let texts = fixture["texts"] as! [String]
        let textsPath = path("texts.json"), outPath = path("ids.json")
        try JSONSerialization.data(withJSONObject: texts).write(to: URL(fileURLWithPath: textsPath))
        let run = try TestPaths.runPython(script: "scripts/reference/tokenize_folder.py", [textsPath, outPath] + folders.map(\.0))
        XCTAssertEqual(run.status, 0, run.output)
        let results = try readJSON(outPath) as! [String: [String: Any]]
        for (folder, mode) in folders {
            let result = try XCTUnwrap(results[folder], folder)
            XCTAssertEqual(result["class"] as? String, mode == .transformers ? "XLMRobertaTokenizer" : "TokenizersBackend", folder)
            let theirs = result["ids"] as! [[Int]]
            let ours = unigram.withWhitespace(mode)
            var same = 0
            for (text, want) in zip(texts, theirs) {
                let got = ours.encode(text, maxLength: nil).map(Int.init)
                if got == want { same += 1 } else { XCTFail("\(folder): \(text.debugDescription)\n tasklora \(got)\n python   \(want)") }
            }
            print("export \(URL(fileURLWithPath: folder).lastPathComponent): \(same)/\(texts.count) whitespace texts identical in transformers")
        }
    }

    /// The Python side: sentence-transformers on the merged HF folder, and peft on the base HF folder.
    func testHuggingFaceAndPEFTInPython() throws {
        try checkInPython(fixture: "tiny-bert")
    }

    /// The same for a rotary model, exported as transformers' native `JinaEmbeddingsV3Model`.
    func testJinaNativeHuggingFaceAndPEFTInPython() throws {
        try checkInPython(fixture: "tiny-rotary")
    }

    func testJinaNativeExportNames() throws {
        let ckpt = path("rotary.h5")
        try Self.makeCheckpoint(at: ckpt, fixture: "tiny-rotary")
        let source = try ExportSource.load(model: ckpt, task: "split")
        let hf = path("hf"), peft = path("peft")
        let (weights, _) = try AdapterMerge.merge(source: source)
        try HuggingFaceExport.writeFolder(hf) { try HuggingFaceExport.writeModel(source: source, weights: weights, to: $0, tokenizerJSON: nil) }
        try HuggingFaceExport.writeFolder(peft) { try HuggingFaceExport.writePEFT(source: source, to: $0, baseModel: "base") }
        let config = try readJSON(hf + "/config.json") as! [String: Any]
        XCTAssertEqual(config["model_type"] as? String, "jina_embeddings_v3")
        XCTAssertEqual((config["rope_parameters"] as? [String: Any])?["rope_theta"] as? Double, 20_000)
        let model = try SafeTensorsFile(path: hf + "/model.safetensors")
        XCTAssertTrue(model.names.contains("layers.1.self_attn.q_proj.weight"))
        XCTAssertTrue(model.names.contains("layers.0.post_mlp_layernorm.bias"))
        XCTAssertFalse(model.names.contains { $0.hasPrefix("encoder.") }, "\(model.names)")
        XCTAssertEqual(try model.tensor("layers.1.self_attn.v_proj.weight").array,
                       weights["encoder.layer.1.attention.self.value.weight"]!.array)
        let adapter = try SafeTensorsFile(path: peft + "/adapter_model.safetensors")
        XCTAssertTrue(adapter.names.contains("base_model.model.layers.0.self_attn.k_proj.lora_A.weight"), "\(adapter.names)")
        XCTAssertTrue(adapter.names.contains("base_model.model.layers.1.mlp.fc2.lora_B.weight"), "\(adapter.names)")
        let targets = (try readJSON(peft + "/adapter_config.json") as! [String: Any])["target_modules"] as! [String]
        XCTAssertTrue(targets.contains("layers.0.self_attn.o_proj"), "\(targets)")
        // Import of the exported folder gives back the canonical names and the same weights.
        let back = try ModelImporter.loadHuggingFace(folder: hf)
        XCTAssertEqual(back.tensors["encoder.layer.1.intermediate.dense.weight"]!.array,
                       weights["encoder.layer.1.intermediate.dense.weight"]!.array)
        XCTAssertEqual(back.config.rotaryEmbBase, 20_000)
    }

    private func checkInPython(fixture: String) throws {
        _ = try TestPaths.requirePython()  // skip before any work without the reference stack
        let ckpt = path("tiny.h5")
        try Self.makeCheckpoint(at: ckpt, fixture: fixture)
        let base = path("base-hf")
        let baseSource = try ExportSource.load(model: ckpt, task: nil)
        try HuggingFaceExport.writeFolder(base) {
            try HuggingFaceExport.writeModel(source: baseSource, weights: baseSource.base.weights, to: $0, tokenizerJSON: nil)
        }
        for task in ["fused", "split"] {
            let source = try ExportSource.load(model: ckpt, task: task)
            let hf = path("\(task)-hf"), peft = path("\(task)-peft")
            let (weights, _) = try AdapterMerge.merge(source: source)
            try HuggingFaceExport.writeFolder(hf) { try HuggingFaceExport.writeModel(source: source, weights: weights, to: $0, tokenizerJSON: nil) }
            try HuggingFaceExport.writeFolder(peft) { try HuggingFaceExport.writePEFT(source: source, to: $0, baseModel: base) }
            let (expected, prefix) = try adapterEmbeddings(ckpt, task: task)
            let npy = path("\(task).npy")
            try NPY.write(expected, to: npy)
            let (status, output) = try TestPaths.runPython(script: "scripts/reference/check_export.py", [
                "--texts", Self.texts, "--expected", npy, "--hf", hf, "--peft", peft, "--base-hf", base, "--prefix", prefix])
            XCTAssertEqual(status, 0, "\(fixture) \(task): \(output)")
            print(output.split(separator: "\n").filter { $0.contains("min cosine") }.map { "\(task) \($0)" }.joined(separator: "\n"))
            XCTAssertTrue(output.contains("sentence-transformers: min cosine"), output)
        }
    }
}
