import Foundation
import XCTest
@testable import TaskLoRA

/// jina-embeddings-v3's release layout: import with the five task adapters, per-task parity with
/// hand-merged PyTorch references, mixed-task batches, import errors, export (round trip and a
/// sixth adapter) and the paper's parameter counts. Fixture: scripts/reference/make_jina_fixtures.py.
final class JinaV3Tests: XCTestCase {
    static let folder = TestPaths.fixture("jina-v3")
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tasklora-jina-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    struct Reference {
        let tasks: [String]
        let sequences: [[Int32]]
        let base: Tensor
        let perTask: [Tensor]
    }

    func reference() throws -> Reference {
        let dir = Self.folder + "/expected"
        let index = try readJSON(dir + "/index.json") as! [String: Any]
        let tasks = index["tasks"] as! [String]
        let seqs = (index["sequences"] as! [[Int]]).map { $0.map(Int32.init) }
        return Reference(tasks: tasks, sequences: seqs, base: try NPY.read(path: dir + "/base.npy"),
                         perTask: try tasks.indices.map { try NPY.read(path: dir + "/task_\($0).npy") })
    }

    func encoder(_ model: ImportedModel) throws -> TextEncoder {
        TextEncoder(config: model.config, weights: try EncoderWeights(config: model.config, tensors: model.tensors, source: model.source))
    }

    func adapters(_ model: ImportedModel) throws -> LoRAAdapters {
        try LoRAAdapters(archives: model.adapters, model: model.config, source: model.source)
    }

    /// Mean pooling + L2 normalize of every sequence of `batch` → (B, H).
    func embed(_ encoder: TextEncoder, _ batch: TokenBatch, _ adapters: LoRAAdapters?) -> Tensor {
        let h = encoder.config.hiddenSize, b = batch.sequenceCount
        let hidden = encoder.forward(batch, adapters: adapters)
        let pooled = Tensor(zeros: [b, h]), out = Tensor(zeros: [b, h])
        Pooling.mean.forward(hidden: UnsafePointer(hidden.data), batch: batch, hiddenSize: h, pooled: pooled.data)
        TruncateNormalize.forward(pooled: UnsafePointer(pooled.data), rows: b, hiddenSize: h, dim: h, out: out.data)
        return out
    }

    func assertClose(_ got: UnsafePointer<Float>, _ want: UnsafePointer<Float>, count: Int, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        let cos = cosine(got, want, count: count), diff = maxAbsDiff(got, want, count: count)
        XCTAssertGreaterThanOrEqual(cos, 0.99999, "\(what): cosine \(cos)", file: file, line: line)
        XCTAssertLessThanOrEqual(diff, 1e-4, "\(what): max abs diff \(diff)", file: file, line: line)
    }

    // MARK: - Import

    func testDetectsAndImportsTheFiveTasks() throws {
        XCTAssertEqual(try TensorLayout.detect(folder: Self.folder), .jinaRelease)
        let model = try ModelImporter.load(source: Self.folder)
        XCTAssertEqual(model.adapters.map(\.name), JinaV3Layout.tasks)
        XCTAssertTrue(model.config.isRotary)
        XCTAssertEqual(model.config.rotaryEmbBase, 20_000)
        for (name, archive) in model.adapters {
            XCTAssertEqual(archive.attributes["prefix"], JinaV3Layout.instructions[name])
            XCTAssertEqual(archive.attributes["rank"], "4")
            XCTAssertEqual(Double(archive.attributes["alpha"]!), 1)
            XCTAssertEqual(archive.tensors[JinaV3Layout.poolerLoRAA]?.shape, [4, 64])
            XCTAssertEqual(archive.tensors[JinaV3Layout.poolerLoRAB]?.shape, [64, 4])
            XCTAssertEqual(archive.tensors["encoder.layer.1.attention.self.qkv.lora_B"]?.shape, [192, 4])
            XCTAssertEqual(archive.tensors["embeddings.word_embeddings.lora_A"]?.shape, [100, 4])
        }
        XCTAssertEqual(model.tensors["pooler.dense.weight"]?.shape, [64, 64])
        let a = try adapters(model)
        XCTAssertEqual(a.configs[0].scale, 0.25)
        // Base + pooler, from shapes, equals what was read.
        let counts = JinaV3Layout.parameterCounts(config: model.config, adapters: a.configs)
        XCTAssertEqual(counts.base, model.parameterCount)
        for (i, (_, archive)) in model.adapters.enumerated() {
            XCTAssertEqual(counts.perAdapter[i], archive.tensors.values.reduce(0) { $0 + $1.count })
            XCTAssertEqual(counts.perAdapter[i], a.parameterCount(adapter: i) + 2 * 64 * 4)
        }
    }

    /// Each task's embeddings equal the reference that merged W + 0.25·B[t]·A[t] (and
    /// E + 0.25·A[t]·B[t]) by hand and ran transformers' JinaEmbeddingsV3Model.
    func testPerTaskEmbeddingsMatchMergedReference() throws {
        let ref = try reference()
        // Through an HDF5 checkpoint, as `tasklora import` stores it.
        let path = scratch.appendingPathComponent("jina.h5").path
        try ModelImporter.load(source: Self.folder).checkpoint().write(to: path)
        let ckpt = try Checkpoint.read(path: path)
        XCTAssertEqual(Set(ckpt.adapters.keys), Set(JinaV3Layout.tasks))
        let enc = try LoadedModel.loadEncoder(ckpt, path: path)
        XCTAssertEqual(enc.rotaryBase, 20_000)
        let order = try JinaV3Layout.taskOrder(checkpoint: ckpt)
        XCTAssertEqual(order, JinaV3Layout.tasks)
        let a = try LoRAAdapters(archives: order.map { ($0, ckpt.adapters[$0]!) }, model: enc.config, source: path)
        let h = enc.config.hiddenSize, n = ref.sequences.count
        let base = embed(enc, TokenBatch(sequences: ref.sequences), nil)
        assertClose(base.data, ref.base.data, count: n * h, "no adapter")
        for (t, task) in ref.tasks.enumerated() {
            XCTAssertEqual(a.adapterIndex(task), t)
            let got = embed(enc, TokenBatch(sequences: ref.sequences, adapters: Array(repeating: t, count: n)), a)
            assertClose(got.data, ref.perTask[t].data, count: n * h, task)
            // The adapter matters: far from the base embedding at this tolerance.
            XCTAssertLessThan(cosine(got.data, base.data, count: n * h), 0.999, task)
        }
    }

    /// A batch mixing all five tasks (routed per sequence) equals each sequence run alone.
    func testMixedTaskBatchEqualsEachTaskAlone() throws {
        let model = try ModelImporter.load(source: Self.folder)
        let enc = try encoder(model), a = try adapters(model)
        let ref = try reference()
        let h = enc.config.hiddenSize
        var seqs: [[Int32]] = [], routes: [Int] = []
        for (i, t) in [2, 0, 0, 4, 1, 3, -1, 1].enumerated() {
            seqs.append(ref.sequences[i % ref.sequences.count])
            routes.append(t)
        }
        let mixed = embed(enc, TokenBatch(sequences: seqs, adapters: routes), a)
        for (b, s) in seqs.enumerated() {
            let alone = embed(enc, TokenBatch(sequences: [s], adapters: [routes[b]]), a)
            XCTAssertLessThanOrEqual(maxAbsDiff(mixed.data + b * h, alone.data, count: h), 1e-5, "sequence \(b)")
            if routes[b] >= 0 {
                let want = ref.perTask[routes[b]].data + (b % ref.sequences.count) * h
                assertClose(mixed.data + b * h, want, count: h, "sequence \(b) task \(routes[b])")
            }
        }
    }

    // MARK: - Import errors

    /// A copy of the fixture with its tensors edited by `edit`.
    func editedCopy(_ edit: (inout [String: Tensor]) -> Void, config: ((inout [String: Any]) -> Void)? = nil) throws -> String {
        try editedModelCopy(of: Self.folder, in: scratch, edit, config: config)
    }

    func assertImportFails(_ folder: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ModelImporter.load(source: folder), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(expected), "got: \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
        }
    }

    func testImportRejectsStackThatDisagreesWithTaskCount() throws {
        let name = "roberta.encoder.layers.1.mlp.fc1.parametrizations.weight.0.lora_A"
        let dir = try editedCopy { t in t[name] = Tensor(zeros: [4, 4, 64]) }
        assertImportFails(dir, "stacked adapter tensor \(name) holds 4 adapters (shape [4, 4, 64]), but config.json lists 5 tasks")
        // Or the config lists a sixth task the stacks do not hold.
        let dir6 = try editedCopy({ _ in }, config: { c in c["lora_adaptations"] = JinaV3Layout.tasks + ["extra"] })
        assertImportFails(dir6, "holds 5 adapters (shape [5, 100, 4]), but config.json lists 6 tasks")
    }

    func testImportNamesAMissingTensor() throws {
        let name = "roberta.encoder.layers.0.mixer.out_proj.parametrizations.weight.0.lora_B"
        let dir = try editedCopy { t in t[name] = nil }
        assertImportFails(dir, "missing tensor \(name)")
        let norm = "roberta.encoder.layers.1.norm2.bias"
        assertImportFails(try editedCopy { t in t[norm] = nil }, "missing tensor \(norm)")
    }

    func testImportNamesAShapeMismatch() throws {
        let name = "roberta.encoder.layers.0.mixer.Wqkv.parametrizations.weight.original"
        let dir = try editedCopy { t in t[name] = Tensor(zeros: [64, 64]) }
        assertImportFails(dir, "tensor \(name) has shape [64, 64], expected [192, 64]")
        let lora = "roberta.embeddings.word_embeddings.parametrizations.weight.0.lora_B"
        assertImportFails(try editedCopy { t in t[lora] = Tensor(zeros: [5, 8, 64]) },
                          "tensor \(lora) has shape [5, 8, 64], expected [5, 4, 64]")
    }

    func testImportRejectsUnknownTensor() throws {
        let dir = try editedCopy { t in t["roberta.encoder.layers.0.mixer.rotary_emb.inv_freq"] = Tensor(zeros: [8]) }
        assertImportFails(dir, "unexpected tensor roberta.encoder.layers.0.mixer.rotary_emb.inv_freq")
    }

    // MARK: - Export

    /// import → export → import: identical tensors, and the exported file equals the original one
    /// tensor for tensor (F32); BF16 export reimports as the bf16 rounding of every value.
    func testExportRoundTrip() throws {
        let model = try ModelImporter.load(source: Self.folder)
        let out = scratch.appendingPathComponent("export").path
        try JinaV3Layout.export(checkpoint: model.checkpoint(), to: out)
        let original = try SafeTensorsFile(path: Self.folder + "/model.safetensors")
        let exported = try SafeTensorsFile(path: out + "/model.safetensors")
        XCTAssertEqual(Set(exported.names), Set(original.names))
        for name in original.names {
            let a = try original.tensor(name), b = try exported.tensor(name)
            XCTAssertEqual(a.shape, b.shape, name)
            XCTAssertEqual(a.array, b.array, name)
        }
        let config = try readJSON(out + "/config.json") as! [String: Any]
        XCTAssertEqual(config["lora_adaptations"] as? [String], JinaV3Layout.tasks)
        XCTAssertEqual(config["task_instructions"] as? [String: String], JinaV3Layout.instructions)
        XCTAssertEqual(config["matryoshka_dimensions"] as? [Int], [16, 32, 64])  // untouched fields kept

        let again = try ModelImporter.load(source: out)
        XCTAssertEqual(Set(again.tensors.keys), Set(model.tensors.keys))
        for (name, t) in model.tensors { XCTAssertEqual(again.tensors[name]!.array, t.array, name) }
        XCTAssertEqual(again.adapters.map(\.name), model.adapters.map(\.name))
        for ((name, a), (_, b)) in zip(model.adapters, again.adapters) {
            XCTAssertEqual(a.attributes, b.attributes, name)
            XCTAssertEqual(Set(a.tensors.keys), Set(b.tensors.keys), name)
            for (key, t) in a.tensors { XCTAssertEqual(b.tensors[key]!.array, t.array, "\(name) \(key)") }
        }

        let bf16 = scratch.appendingPathComponent("export-bf16").path
        try JinaV3Layout.export(checkpoint: model.checkpoint(), to: bf16, dtype: .bf16)
        let file = try SafeTensorsFile(path: bf16 + "/model.safetensors")
        XCTAssertTrue(file.names.allSatisfy { file.dtype($0) == "BF16" })
        let back = try ModelImporter.load(source: bf16)
        for (name, t) in model.tensors {
            let u = back.tensors[name]!
            for i in 0..<t.count { XCTAssertEqual(u[i], t[i], accuracy: abs(t[i]) / 256 + 1e-30, name) }
        }
    }

    /// A sixth, freshly initialised adapter exports as the sixth slice of every stack.
    func testSixthAdapterGrowsTheStacks() throws {
        let model = try ModelImporter.load(source: Self.folder)
        let names = JinaV3Layout.tasks + ["code.query"]
        let all = try LoRAAdapters(names: names, configs: Array(repeating: JinaV3Layout.loraConfig, count: 6), model: model.config)
        all.initialize(adapter: 5, seed: 7)
        var ckpt = model.checkpoint()
        ckpt.adapters["code.query"] = all.archive(adapter: 5, prefix: "Represent the code query: ")
        let out = scratch.appendingPathComponent("six").path
        try JinaV3Layout.export(checkpoint: ckpt, to: out)

        let file = try SafeTensorsFile(path: out + "/model.safetensors")
        let original = try SafeTensorsFile(path: Self.folder + "/model.safetensors")
        var stacks = 0
        for name in original.names where name.contains(".lora_") {
            let old = original.shape(name)!, new = file.shape(name)!
            XCTAssertEqual(new, [6] + old.dropFirst(), name)
            // The five release slices are unchanged; the sixth is the new adapter.
            let a = try original.tensor(name), b = try file.tensor(name)
            XCTAssertEqual(Array(b.buffer.prefix(a.count)), a.array, name)
            stacks += 1
        }
        XCTAssertEqual(stacks, 2 * (2 + 2 * 4 + 1))  // word, type, 4 linears × 2 layers, pooler
        let config = try readJSON(out + "/config.json") as! [String: Any]
        XCTAssertEqual(config["lora_adaptations"] as? [String], names)
        XCTAssertEqual((config["task_instructions"] as? [String: String])?["code.query"], "Represent the code query: ")

        let back = try ModelImporter.load(source: out)
        XCTAssertEqual(back.adapters.map(\.name), names)
        let sixth = back.adapters[5].archive, fresh = ckpt.adapters["code.query"]!
        for (key, t) in fresh.tensors { XCTAssertEqual(sixth.tensors[key]!.array, t.array, key) }
        // No pooler LoRA in a tasklora-trained adapter: exported as zeros (no change to the pooler).
        XCTAssertTrue(sixth.tensors[JinaV3Layout.poolerLoRAA]!.array.allSatisfy { $0 == 0 })
        XCTAssertEqual(back.adapters[5].archive.attributes["prefix"], "Represent the code query: ")
        // The fresh adapter is the identity: its embeddings equal the base model's.
        let enc = try encoder(back), a = try adapters(back)
        let seq: [[Int32]] = [[0, 5, 17, 33, 2]]
        let plain = embed(enc, TokenBatch(sequences: seq), nil), six = embed(enc, TokenBatch(sequences: seq, adapters: [5]), a)
        XCTAssertLessThanOrEqual(maxAbsDiff(plain.data, six.data, count: 64), 1e-6)
    }

    /// The whole workflow: a new task adapter trained (at RoPE base 10,000) on the release
    /// checkpoint with the five tasks untouched, then exported with every stack grown by one.
    func testTrainedSixthAdapterExportsWithTheFiveUnchanged() throws {
        var base = try ModelImporter.load(source: Self.folder).checkpoint()
        base.tokenizer = try WordPieceTokenizer(vocab: ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + TrainerFixture.words.prefix(96),
                                                unkId: 1, clsId: 2, sepId: 3, padId: 0).archive
        let basePath = scratch.appendingPathComponent("jina.h5").path
        try base.write(to: basePath)
        let train = try TrainerFixture.write(TrainerFixture.pairs(16), name: "train.jsonl")
        let recipe = try Recipe.parse(yaml: """
            model: "\(basePath)"
            output: "\(scratch.appendingPathComponent("run").path)"
            rotary_base: 10000
            adapters:
              - name: code.query
                rank: 4
                alpha: 1
                dropout: 0
                targets: [word_embeddings, token_type_embeddings, qkv, attention.output.dense, intermediate.dense, output.dense]
                prefix: "Represent the code query: "
            data: {train: "\(train)", batch_size: 4, max_length: 16}
            optimizer: {lr: 0.01}
            schedule: {steps: 4}
            """, source: "test recipe")
        let trainer = try Trainer(recipe: recipe, log: { _ in })
        XCTAssertEqual(trainer.encoder.rotaryBase, 10_000, "trains at the recipe's base")
        try trainer.train()
        let trained = try Checkpoint.read(path: trainer.run.finalPath).adapters["code.query"]!

        let out = scratch.appendingPathComponent("export").path
        try JinaV3Layout.export(checkpoint: try ExportSource.stackedCheckpoint(model: trainer.run.finalPath), to: out)
        let back = try ModelImporter.load(source: out)
        XCTAssertEqual(back.adapters.map(\.name), JinaV3Layout.tasks + ["code.query"])
        let original = try ModelImporter.load(source: Self.folder)
        for t in 0..<5 {
            for (key, tensor) in original.adapters[t].archive.tensors {
                XCTAssertEqual(back.adapters[t].archive.tensors[key]!.array, tensor.array, "\(JinaV3Layout.tasks[t]) \(key)")
            }
        }
        let sixth = back.adapters[5].archive
        for (key, tensor) in trained.tensors { XCTAssertEqual(sixth.tensors[key]!.array, tensor.array, key) }
        XCTAssertTrue(trained.tensors.filter { $0.key.hasSuffix("lora_B") }.values.contains { $0.array.contains { $0 != 0 } },
                      "training moved B away from zero")
        // The exported sixth task embeds exactly as the run's adapter does, and differs from the base.
        let enc = try encoder(back), all = try adapters(back)
        let alone = try LoRAAdapters(archives: [("code.query", trained)], model: back.config, source: "run")
        let seq: [[Int32]] = [[2, 9, 17, 33, 41, 3]]
        let exported = embed(enc, TokenBatch(sequences: seq, adapters: [5]), all)
        let fromRun = embed(enc, TokenBatch(sequences: seq, adapters: [0]), alone)
        let plain = embed(enc, TokenBatch(sequences: seq), nil)
        // The tensors must outlive the raw pointers read from them (ASan caught the plain embedding,
        // then a temporary, freed before maxAbsDiff read it).
        withExtendedLifetime((exported, fromRun, plain)) {
            XCTAssertLessThanOrEqual(maxAbsDiff(exported.data, fromRun.data, count: 64), 1e-6)
            XCTAssertGreaterThan(maxAbsDiff(exported.data, plain.data, count: 64), 1e-4)
        }
    }

    func testExportRejectsAdaptersTheLayoutCannotHold() throws {
        let model = try ModelImporter.load(source: Self.folder)
        var ckpt = model.checkpoint()
        let qv = try LoRAAdapters(names: ["qv"], configs: [LoRAConfig(rank: 4, alpha: 1, targets: [.query, .value])], model: model.config)
        ckpt.adapters["qv"] = qv.archive(adapter: 0)
        XCTAssertThrowsError(try JinaV3Layout.export(checkpoint: ckpt, to: scratch.appendingPathComponent("x").path)) {
            XCTAssertTrue("\($0)".contains("adapter qv targets query"), "\($0)")
        }
        ckpt.adapters["qv"] = nil
        let r8 = try LoRAAdapters(names: ["r8"], configs: [LoRAConfig(rank: 8, alpha: 1, targets: [.qkv])], model: model.config)
        ckpt.adapters["r8"] = r8.archive(adapter: 0)
        XCTAssertThrowsError(try JinaV3Layout.export(checkpoint: ckpt, to: scratch.appendingPathComponent("y").path)) {
            XCTAssertTrue("\($0)".contains("adapter r8 has rank 8"), "\($0)")
        }
    }

    /// A checkpoint imported from another layout (transformers' native JinaEmbeddingsV3Model, no
    /// pooler, no jina config fields) exports with a config built from its canonical fields, and the
    /// export reimports to the same embeddings.
    func testExportFromNativeLayout() throws {
        let native = try ModelImporter.load(source: TestPaths.fixture("tiny-rotary"))
        XCTAssertTrue(native.adapters.isEmpty)
        let a = try LoRAAdapters(names: ["sts"], configs: [JinaV3Layout.loraConfig], model: native.config)
        var rng = SplitMix64(seed: 3)
        for i in 0..<a.parameterCount { a.parameters[i] = Float((rng.nextUnit() * 2 - 1) * 0.2) }
        var ckpt = native.checkpoint()
        ckpt.adapters["sts"] = a.archive(adapter: 0)
        let out = scratch.appendingPathComponent("native").path
        try JinaV3Layout.export(checkpoint: ckpt, to: out)
        let config = try readJSON(out + "/config.json") as! [String: Any]
        XCTAssertEqual(config["model_type"] as? String, "xlm-roberta")
        XCTAssertEqual(config["position_embedding_type"] as? String, "rotary")
        XCTAssertEqual(config["lora_adaptations"] as? [String], ["sts"])
        XCTAssertNil(try SafeTensorsFile(path: out + "/model.safetensors").shape("roberta.pooler.dense.parametrizations.weight.original"))
        let back = try ModelImporter.load(source: out)
        XCTAssertEqual(back.config.rotaryEmbBase, native.config.rotaryEmbBase)
        let seqs: [[Int32]] = [[0, 9, 44, 2], [0, 7, 8, 9, 10, 11, 2]]
        let before = embed(try encoder(native), TokenBatch(sequences: seqs, adapters: [0, 0]), a)
        let after = embed(try encoder(back), TokenBatch(sequences: seqs, adapters: [0, 0]), try adapters(back))
        XCTAssertEqual(before.array, after.array)
    }

    // MARK: - Gradients

    /// LoRA gradients of the release's targets (embeddings + fused QKV + out_proj + fc1 + fc2, rank 4,
    /// alpha 1) through the rotary model, two tasks routed per sequence, against finite differences.
    func testLoRAGradientsOfTheReleaseTargets() throws {
        let model = try ModelImporter.load(source: Self.folder)
        let enc = try encoder(model), a = try adapters(model)
        let batch = TokenBatch(sequences: [[0, 5, 9, 3, 2], [0, 7, 7, 11, 13, 2], [0, 4, 2]], adapters: [4, 0, 4])
        let t = batch.tokenCount, h = enc.config.hiddenSize
        var rng = SplitMix64(seed: 5)
        let g = (0..<(t * h)).map { _ in Float(rng.nextUnit() * 2 - 1) }
        func loss() -> Double {
            let out = enc.forward(batch, adapters: a)
            return (0..<(t * h)).reduce(0.0) { $0 + Double(out[$1]) * Double(g[$1]) }
        }
        let tape = Tape()
        a.zeroGradients()
        _ = enc.forward(batch, adapters: a, tape: tape)
        g.withUnsafeBufferPointer { enc.backward(tape: tape, dHidden: $0.baseAddress!, tokenCount: t) }
        var worst = 0.0, checked = 0
        for m in a.modules where m.adapter == 0 || m.adapter == 4 {
            let offsets = m.target == .wordEmbeddings
                ? [m.aOffset + 7 * m.rank, m.aOffset + 11 * m.rank + 3, m.bOffset, m.bOffset + m.bCount - 1]
                : [m.aOffset, m.aOffset + m.aCount / 2, m.bOffset, m.bOffset + m.bCount - 1]
            for i in offsets {
                let keep = a.parameters[i], eps: Float = 1e-2
                a.parameters[i] = keep + eps; let up = loss()
                a.parameters[i] = keep - eps; let down = loss()
                a.parameters[i] = keep
                let numeric = (up - down) / Double(2 * eps), analytic = Double(a.gradients[i])
                worst = max(worst, abs(numeric - analytic) / max(0.05, abs(numeric)))
                checked += 1
            }
        }
        XCTAssertEqual(checked, 2 * 4 * (2 + 4 * 2))
        XCTAssertLessThan(worst, 2e-2, "worst relative error \(worst)")
        // Adapters 1-3 ran on no sequence: no gradient.
        for m in a.modules where [1, 2, 3].contains(m.adapter) {
            XCTAssertTrue((0..<m.aCount).allSatisfy { a.gradients[m.aOffset + $0] == 0 })
        }
    }

    // MARK: - Parameter counts

    /// The release's counts from shapes alone: 559,364,096 base (pooler 1,049,600 included),
    /// 2,589,260 per task (its pooler LoRA, 8,192, included), 12,946,300 for five (2.26 % of all).
    func testReleaseParameterCounts() {
        let c = JinaV3Layout.releaseConfig
        let counts = JinaV3Layout.parameterCounts(config: c, adapters: Array(repeating: JinaV3Layout.loraConfig, count: 5))
        XCTAssertEqual(counts.base, 559_364_096)
        XCTAssertEqual(counts.pooler, 1_049_600)
        XCTAssertEqual(counts.perAdapter, Array(repeating: 2_589_260, count: 5))
        XCTAssertEqual(counts.allAdapters, 12_946_300)
        XCTAssertEqual(String(format: "%.2f", 100 * counts.adapterShareOfTotal), "2.26")
        XCTAssertEqual(ParameterCount.format(counts.base), "559,364,096")
        // Module by module: embeddings 1,004,104 + 4,100; 24 layers × 65,536; pooler 8,192.
        XCTAssertEqual(JinaV3Layout.loraParameterCount(config: c, lora: JinaV3Layout.loraConfig), 2_581_068)
        XCTAssertEqual(JinaV3Layout.loraParameterCount(config: c, lora: LoRAConfig(rank: 4, alpha: 1, targets: [.wordEmbeddings])), 1_004_104)
        XCTAssertEqual(JinaV3Layout.loraParameterCount(config: c, lora: LoRAConfig(rank: 4, alpha: 1, targets: [.qkv, .attentionOutput, .ffnIn, .ffnOut])), 24 * 65_536)
    }

    /// The shape formula agrees with what `LoRAAdapters` allocates, for every target set.
    func testCountFormulaMatchesAllocatedAdapters() throws {
        let model = try ModelImporter.load(source: Self.folder)
        for targets: [LoRATarget] in [JinaV3Layout.loraTargets, [.query, .key, .value, .ffnOut], [.tokenTypeEmbeddings, .attentionOutput]] {
            let cfg = LoRAConfig(rank: 3, alpha: 2, targets: targets)
            let a = try LoRAAdapters(names: ["x"], configs: [cfg], model: model.config)
            XCTAssertEqual(JinaV3Layout.loraParameterCount(config: model.config, lora: cfg), a.parameterCount(adapter: 0), "\(targets)")
        }
    }
}
