import Foundation

/// jina-embeddings-v3's own release layout (`XLMRobertaLoRA`'s state dict, torch `parametrize`
/// names), read into and written from tasklora's canonical names and named adapters.
///
/// In the release every `nn.Linear` and `nn.Embedding` carries one stacked LoRA for all tasks:
/// `<module>.parametrizations.weight.original` is the frozen weight and
/// `<module>.parametrizations.weight.0.lora_A` / `.lora_B` hold the T task adapters
/// (linear: A (T, r, in), B (T, out, r); embedding: A (T, V, r), B (T, r, H)), in the order of
/// config.json's `lora_adaptations`. tasklora keeps one `AdapterArchive` per task instead, with the
/// task's instruction (`task_instructions`) as its `prefix` attribute. The pooler's LoRA, which the
/// embedding path never uses, rides along in each archive as `pooler.dense.lora_A` (r, H) /
/// `pooler.dense.lora_B` (H, r) so that export reproduces it (see docs/jina-v3.md).
public enum JinaV3Layout {
    /// The release's tasks, in its order.
    public static let tasks = ["retrieval.query", "retrieval.passage", "separation", "classification", "text-matching"]
    /// The release's instruction prefixes (empty for the other tasks).
    public static let instructions: [String: String] = [
        "retrieval.query": "Represent the query for retrieving evidence documents: ",
        "retrieval.passage": "Represent the document for retrieval: ",
        "separation": "", "classification": "", "text-matching": "",
    ]
    /// Where the release's LoRA sits, in tasklora's targets (plus the pooler, carried separately).
    public static let loraTargets: [LoRATarget] = [.wordEmbeddings, .tokenTypeEmbeddings, .qkv, .attentionOutput, .ffnIn, .ffnOut]
    /// The release's LoRA settings: rank 4, alpha 1 (scale 0.25), no dropout.
    public static let loraConfig = LoRAConfig(rank: 4, alpha: 1, dropout: 0, targets: loraTargets)
    /// Archive tensors of the pooler's LoRA (linear A (r, H), B (H, r)).
    public static let poolerLoRAA = "pooler.dense.lora_A", poolerLoRAB = "pooler.dense.lora_B"

    static let original = ".parametrizations.weight.original"
    static let stackedA = ".parametrizations.weight.0.lora_A"
    static let stackedB = ".parametrizations.weight.0.lora_B"

    // MARK: - config.json

    /// The LoRA fields of a release config.json.
    public struct Settings: Equatable, Sendable {
        public var tasks: [String]
        public var rank: Int
        public var alpha: Double
        public var dropout: Double
        /// Task → instruction prefix ("" where the config has none).
        public var instructions: [String: String]

        public var loraConfig: LoRAConfig { LoRAConfig(rank: rank, alpha: alpha, dropout: dropout, targets: JinaV3Layout.loraTargets) }
    }

    /// Reads `lora_adaptations` (required), `lora_rank` (4), `lora_alpha` (1), `lora_dropout_p` (0)
    /// and `task_instructions` (none) from a config.json.
    public static func settings(configJSON data: Data, source: String) throws -> Settings {
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TaskLoRAError.file(source, "config is not a JSON object")
        }
        guard let tasks = json["lora_adaptations"] as? [String], !tasks.isEmpty else {
            throw TaskLoRAError.file(source, "config has no lora_adaptations (a non-empty list of task names), which the jina-embeddings-v3 layout needs")
        }
        guard Set(tasks).count == tasks.count else {
            throw TaskLoRAError.file(source, "config lora_adaptations lists a task twice: \(tasks)")
        }
        func number(_ key: String, _ fallback: Double) throws -> Double {
            guard let raw = json[key], !(raw is NSNull) else { return fallback }
            guard let n = raw as? NSNumber else { throw TaskLoRAError.file(source, "config \(key) is not a number") }
            return n.doubleValue
        }
        let rank = try number("lora_rank", 4)
        guard rank == rank.rounded(), rank >= 1 else { throw TaskLoRAError.file(source, "config lora_rank = \(rank) is not a positive integer") }
        var instructions: [String: String] = [:]
        if let raw = json["task_instructions"], !(raw is NSNull) {
            guard let dict = raw as? [String: Any] else { throw TaskLoRAError.file(source, "config task_instructions is not an object") }
            for (task, value) in dict {
                guard tasks.contains(task) else {
                    throw TaskLoRAError.file(source, "config task_instructions names \(task), which lora_adaptations does not list")
                }
                if value is NSNull { continue }
                guard let s = value as? String else { throw TaskLoRAError.file(source, "config task_instructions[\(task)] is not a string") }
                instructions[task] = s
            }
        }
        for task in tasks where instructions[task] == nil { instructions[task] = "" }
        return Settings(tasks: tasks, rank: Int(rank), alpha: try number("lora_alpha", 1),
                        dropout: try number("lora_dropout_p", 0), instructions: instructions)
    }

    // MARK: - Modules

    enum Kind { case embedding, linear, norm }

    /// One module of the release layout.
    struct Module {
        /// Name without the `roberta.` prefix, e.g. `encoder.layers.0.mixer.Wqkv`.
        let jina: String
        /// Canonical module, e.g. `encoder.layer.0.attention.output.dense` (for Wqkv: `…attention.self`).
        let canonical: String
        let kind: Kind
        /// Weight shape: (V, H) embedding, (out, in) linear, (H) norm.
        let shape: [Int]
        /// tasklora LoRA target and layer (-1 for embeddings); nil for norms and the pooler.
        let target: LoRATarget?
        let layer: Int
        var isFusedQKV: Bool { target == .qkv }
        var isPooler: Bool { jina == "pooler.dense" }
        var hasLoRA: Bool { kind != .norm }
    }

    static func modules(config c: EncoderConfig, pooler: Bool) -> [Module] {
        let h = c.hiddenSize, f = c.intermediateSize
        var m: [Module] = [Module(jina: "embeddings.word_embeddings", canonical: "embeddings.word_embeddings", kind: .embedding,
                                  shape: [c.vocabSize, h], target: .wordEmbeddings, layer: -1)]
        if c.typeVocabSize > 0 {
            m.append(Module(jina: "embeddings.token_type_embeddings", canonical: "embeddings.token_type_embeddings",
                            kind: .embedding, shape: [c.typeVocabSize, h], target: .tokenTypeEmbeddings, layer: -1))
        }
        m.append(Module(jina: "emb_ln", canonical: "embeddings.LayerNorm", kind: .norm, shape: [h], target: nil, layer: -1))
        for l in 0..<c.numHiddenLayers {
            let j = "encoder.layers.\(l).", p = "encoder.layer.\(l)."
            m += [
                Module(jina: j + "mixer.Wqkv", canonical: p + "attention.self", kind: .linear, shape: [3 * h, h], target: .qkv, layer: l),
                Module(jina: j + "mixer.out_proj", canonical: p + "attention.output.dense", kind: .linear, shape: [h, h],
                       target: .attentionOutput, layer: l),
                Module(jina: j + "norm1", canonical: p + "attention.output.LayerNorm", kind: .norm, shape: [h], target: nil, layer: l),
                Module(jina: j + "mlp.fc1", canonical: p + "intermediate.dense", kind: .linear, shape: [f, h], target: .ffnIn, layer: l),
                Module(jina: j + "mlp.fc2", canonical: p + "output.dense", kind: .linear, shape: [h, f], target: .ffnOut, layer: l),
                Module(jina: j + "norm2", canonical: p + "output.LayerNorm", kind: .norm, shape: [h], target: nil, layer: l),
            ]
        }
        if pooler {
            m.append(Module(jina: "pooler.dense", canonical: "pooler.dense", kind: .linear, shape: [h, h], target: nil, layer: -1))
        }
        return m
    }

    /// Per-task LoRA shapes (A, B) of a module at rank r.
    static func loraShapes(_ m: Module, rank r: Int) -> ([Int], [Int]) {
        m.kind == .embedding ? ([m.shape[0], r], [r, m.shape[1]]) : ([r, m.shape[1]], [m.shape[0], r])
    }

    // MARK: - Import

    /// Reads a folder (config.json + model.safetensors, optional tokenizer.json) in the release's
    /// module names into canonical base tensors (incl. `pooler.dense.weight/bias` when present),
    /// with an optional `roberta.` prefix. With `stackedLoRA` (`TensorLayout.jinaRelease`) weights are
    /// `….parametrizations.weight.original` and every stacked LoRA becomes one adapter per task of
    /// config.json's `lora_adaptations`; without it (`TensorLayout.jinaSaved`, what
    /// `JinaEmbeddingsV3Model.save_pretrained` writes) weights are plain `….weight` and there are no adapters.
    static func load(folder: String, file: SafeTensorsFile, stackedLoRA: Bool) throws -> ImportedModel {
        let url = URL(fileURLWithPath: folder)
        let configPath = url.appendingPathComponent("config.json").path
        guard let configData = FileManager.default.contents(atPath: configPath) else {
            throw TaskLoRAError.file(configPath, "cannot read file")
        }
        let config = try EncoderConfig.decode(configData, source: configPath)
        guard config.isRotary else {
            throw TaskLoRAError.file(configPath, "the jina-embeddings-v3 layout needs position_embedding_type \"rotary\", got \"\(config.positionEmbeddingType)\"")
        }
        let settings = stackedLoRA ? try settings(configJSON: configData, source: configPath) : nil
        try settings?.loraConfig.validate(config: config)
        let weightsPath = file.path
        let prefix = file.names.contains { $0.hasPrefix("roberta.") } ? "roberta." : ""
        let weightSuffix = stackedLoRA ? original : ".weight"
        let hasPooler = file.entries[prefix + "pooler.dense" + weightSuffix] != nil
        let taskCount = settings?.tasks.count ?? 0, r = settings?.rank ?? 0
        var used = Set<String>()

        func read(_ name: String, _ shape: [Int]) throws -> Tensor {
            guard let e = file.entries[name] else { throw TaskLoRAError.file(weightsPath, "missing tensor \(name)") }
            guard e.shape == shape else {
                throw TaskLoRAError.file(weightsPath, "tensor \(name) has shape \(e.shape), expected \(shape)")
            }
            used.insert(name)
            return try file.tensor(name)
        }
        func readStack(_ name: String, _ shape: [Int]) throws -> Tensor {
            if let e = file.entries[name], let first = e.shape.first, first != taskCount, e.shape.count == shape.count + 1 {
                throw TaskLoRAError.file(weightsPath, "stacked adapter tensor \(name) holds \(first) adapters (shape \(e.shape)), but config.json lists \(taskCount) tasks in lora_adaptations")
            }
            return try read(name, [taskCount] + shape)
        }

        var tensors: [String: Tensor] = [:]
        let adapters = try settings.map {
            try LoRAAdapters(names: $0.tasks, configs: Array(repeating: $0.loraConfig, count: taskCount), model: config)
        }
        var poolerLoRA: (a: Tensor, b: Tensor)? = nil
        let h = config.hiddenSize
        for m in modules(config: config, pooler: hasPooler) {
            let base = prefix + m.jina
            if m.kind == .norm {
                tensors[m.canonical + ".weight"] = try read(base + ".weight", m.shape)
                tensors[m.canonical + ".bias"] = try read(base + ".bias", m.shape)
                continue
            }
            let weight = try read(base + weightSuffix, m.shape)
            let bias: Tensor? = try m.kind == .linear ? read(base + ".bias", [m.shape[0]]) : nil
            if m.isFusedQKV {
                for (i, part) in ["query", "key", "value"].enumerated() {
                    let w = Tensor(zeros: [h, h]), b = Tensor(zeros: [h])
                    w.data.update(from: weight.data + i * h * h, count: h * h)
                    b.data.update(from: bias!.data + i * h, count: h)
                    tensors[m.canonical + ".\(part).weight"] = w
                    tensors[m.canonical + ".\(part).bias"] = b
                }
            } else {
                tensors[m.canonical + ".weight"] = weight
                if let bias { tensors[m.canonical + ".bias"] = bias }
            }
            guard let adapters else { continue }
            let (aShape, bShape) = loraShapes(m, rank: r)
            let a = try readStack(base + stackedA, aShape), b = try readStack(base + stackedB, bShape)
            guard let target = m.target else { poolerLoRA = (a, b); continue }
            let aCount = aShape.reduce(1, *), bCount = bShape.reduce(1, *)
            for t in 0..<taskCount {
                let mod = adapters.module(adapter: t, layer: m.layer, target: target)!
                precondition(mod.aCount == aCount && mod.bCount == bCount)
                (adapters.parameters + mod.aOffset).update(from: a.data + t * aCount, count: aCount)
                (adapters.parameters + mod.bOffset).update(from: b.data + t * bCount, count: bCount)
            }
        }
        if let extra = file.names.first(where: { !used.contains($0) }) {
            throw TaskLoRAError.file(weightsPath, "unexpected tensor \(extra) (not part of the jina-embeddings-v3 layout for this config)")
        }

        var archives: [(name: String, archive: AdapterArchive)] = []
        if let settings, let adapters {
            for (t, task) in settings.tasks.enumerated() {
                var archive = adapters.archive(adapter: t, prefix: settings.instructions[task] ?? "")
                if let poolerLoRA {
                    let a = Tensor(zeros: [r, h]), b = Tensor(zeros: [h, r])
                    a.data.update(from: poolerLoRA.a.data + t * r * h, count: r * h)
                    b.data.update(from: poolerLoRA.b.data + t * r * h, count: r * h)
                    archive.tensors[poolerLoRAA] = a
                    archive.tensors[poolerLoRAB] = b
                }
                archives.append((task, archive))
            }
        }
        let tokenizerPath = url.appendingPathComponent("tokenizer.json").path
        let tokenizer = FileManager.default.fileExists(atPath: tokenizerPath) ? try loadHuggingFaceTokenizer(path: tokenizerPath) : nil
        var model = ImportedModel(config: config, tensors: tensors, tokenizer: tokenizer,
                                  pooling: try ModelImporter.poolingMode(folder: url), source: folder)
        model.adapters = archives
        // The release's config.json itself (it decodes as an EncoderConfig) keeps the task list,
        // instructions and every other field for export. A saved JinaEmbeddingsV3Model's config is
        // stored as the canonical one, as for the model's own names (ModelImporter.loadRenamed).
        if stackedLoRA { model.configJSON = String(decoding: configData, as: UTF8.self) }
        return model
    }

    // MARK: - Export

    public enum DType: String, Sendable { case f32 = "F32", bf16 = "BF16" }

    /// The order export stacks adapters in: the config's `lora_adaptations` first (each must be in
    /// the checkpoint), then every other adapter of the checkpoint by name.
    public static func taskOrder(checkpoint: Checkpoint) throws -> [String] {
        let json = (try? JSONSerialization.jsonObject(with: Data(checkpoint.configJSON.utf8))) as? [String: Any] ?? [:]
        let listed = json["lora_adaptations"] as? [String] ?? []
        for task in listed where checkpoint.adapters[task] == nil {
            throw TaskLoRAError("config lora_adaptations lists \(task), but the checkpoint has no adapter \(task)")
        }
        return listed + checkpoint.adapters.keys.filter { !listed.contains($0) }.sorted()
    }

    /// Writes `folder`/config.json and `folder`/model.safetensors in the release layout, with every
    /// adapter of `checkpoint` stacked in `taskOrder` (the release's five first, added ones after).
    /// All adapters must share rank and alpha and use only the release's targets; a target an
    /// adapter lacks (and a missing pooler LoRA) is written as zeros, i.e. no change.
    public static func export(checkpoint: Checkpoint, to folder: String, dtype: DType = .f32) throws {
        let config = try EncoderConfig.decode(Data(checkpoint.configJSON.utf8), source: "checkpoint config")
        guard config.isRotary else {
            throw TaskLoRAError("the jina-embeddings-v3 layout needs a rotary model, this one has position_embedding_type \(config.positionEmbeddingType)")
        }
        let order = try taskOrder(checkpoint: checkpoint)
        guard !order.isEmpty else { throw TaskLoRAError("the jina-embeddings-v3 layout needs at least one adapter; the checkpoint has none") }
        var configs: [LoRAConfig] = [], prefixes: [String] = []
        for name in order {
            let (c, prefix) = try LoRAAdapters.config(of: checkpoint.adapters[name]!, name: name, source: "checkpoint")
            if let bad = c.targets.first(where: { !loraTargets.contains($0) }) {
                throw TaskLoRAError("adapter \(name) targets \(bad.rawValue), which the jina-embeddings-v3 layout cannot hold (it has LoRA on word/token-type embeddings, Wqkv, out_proj, fc1, fc2)")
            }
            if let first = configs.first, first.rank != c.rank || first.alpha != c.alpha {
                throw TaskLoRAError("adapter \(name) has rank \(c.rank), alpha \(c.alpha) but \(order[0]) has rank \(first.rank), alpha \(first.alpha); the jina-embeddings-v3 layout stacks adapters of one rank and alpha")
            }
            configs.append(c)
            prefixes.append(prefix)
        }
        let adapters = try LoRAAdapters(archives: order.map { ($0, checkpoint.adapters[$0]!) }, model: config, source: "checkpoint")
        let r = configs[0].rank, taskCount = order.count, h = config.hiddenSize
        let hasPooler = checkpoint.weights["pooler.dense.weight"] != nil

        func weight(_ name: String) throws -> Tensor {
            guard let t = checkpoint.weights[name] else { throw TaskLoRAError("checkpoint has no tensor \(name)") }
            return t
        }
        var out: [(String, Tensor)] = []
        for m in modules(config: config, pooler: hasPooler) {
            let base = "roberta." + m.jina
            if m.kind == .norm {
                out += [(base + ".weight", try weight(m.canonical + ".weight")), (base + ".bias", try weight(m.canonical + ".bias"))]
                continue
            }
            if m.isFusedQKV {
                let w = Tensor(zeros: [3 * h, h]), b = Tensor(zeros: [3 * h])
                for (i, part) in ["query", "key", "value"].enumerated() {
                    w.data.advanced(by: i * h * h).update(from: try weight(m.canonical + ".\(part).weight").data, count: h * h)
                    b.data.advanced(by: i * h).update(from: try weight(m.canonical + ".\(part).bias").data, count: h)
                }
                out += [(base + original, w), (base + ".bias", b)]
            } else {
                out.append((base + original, try weight(m.canonical + ".weight")))
                if m.kind == .linear { out.append((base + ".bias", try weight(m.canonical + ".bias"))) }
            }
            let (aShape, bShape) = loraShapes(m, rank: r)
            let aCount = aShape.reduce(1, *), bCount = bShape.reduce(1, *)
            let a = Tensor(zeros: [taskCount] + aShape), b = Tensor(zeros: [taskCount] + bShape)
            for t in 0..<taskCount {
                if let target = m.target {
                    guard let mod = adapters.module(adapter: t, layer: m.layer, target: target) else { continue }
                    (a.data + t * aCount).update(from: adapters.parameters + mod.aOffset, count: aCount)
                    (b.data + t * bCount).update(from: adapters.parameters + mod.bOffset, count: bCount)
                } else {
                    let archive = checkpoint.adapters[order[t]]!
                    guard let pa = archive.tensors[poolerLoRAA], let pb = archive.tensors[poolerLoRAB] else { continue }
                    guard pa.shape == aShape, pb.shape == bShape else {
                        throw TaskLoRAError("adapter \(order[t]) pooler LoRA has shapes \(pa.shape), \(pb.shape), expected \(aShape), \(bShape)")
                    }
                    (a.data + t * aCount).update(from: pa.data, count: aCount)
                    (b.data + t * bCount).update(from: pb.data, count: bCount)
                }
            }
            out += [(base + stackedA, a), (base + stackedB, b)]
        }

        var json = (try? JSONSerialization.jsonObject(with: Data(checkpoint.configJSON.utf8))) as? [String: Any] ?? [:]
        if json["lora_adaptations"] == nil {
            // Not imported from the release: start from the canonical fields in the release's spelling.
            let canonical = try JSONSerialization.jsonObject(with: Data(config.jsonString().utf8)) as? [String: Any] ?? [:]
            for (k, v) in canonical where json[k] == nil { json[k] = v }
            json["model_type"] = "xlm-roberta"
            json["architectures"] = ["XLMRobertaLoRA"]
            json["load_trained_adapters"] = true
            json["lora_main_params_trainable"] = false
        }
        json["lora_adaptations"] = order
        json["task_instructions"] = Dictionary(uniqueKeysWithValues: zip(order, prefixes))
        json["lora_rank"] = r
        json["lora_alpha"] = configs[0].alpha
        json["lora_dropout_p"] = configs[0].dropout
        json["torch_dtype"] = dtype == .f32 ? "float32" : "bfloat16"

        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let url = URL(fileURLWithPath: folder)
        try SafeTensorsWriter.write(out, dtype: dtype.rawValue, metadata: ["format": "pt"],
                                    to: url.appendingPathComponent("model.safetensors").path)
        var text = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        text.append(0x0A)
        try text.write(to: url.appendingPathComponent("config.json"), options: .atomic)
    }

    // MARK: - Parameter counts

    public struct ParameterCounts: Equatable, Sendable {
        /// Frozen weights, including the pooler.
        public var base: Int
        /// The pooler's share of `base` (H·H + H), 0 without one.
        public var pooler: Int
        /// Each adapter, including its pooler LoRA (r·2H) when counted.
        public var perAdapter: [Int]
        public var allAdapters: Int { perAdapter.reduce(0, +) }
        /// Adapters as a share of base + adapters (the paper's 2.26 % for the release).
        public var adapterShareOfTotal: Double { Double(allAdapters) / Double(base + allAdapters) }
    }

    /// LoRA parameters of one adapter's targets, from shapes alone (as `LoRAAdapters` lays them out).
    public static func loraParameterCount(config c: EncoderConfig, lora: LoRAConfig) -> Int {
        let h = c.hiddenSize, f = c.intermediateSize, r = lora.rank
        var perLayer = 0, embeddings = 0
        for target in Set(lora.targets) {
            switch target {
            case .wordEmbeddings: embeddings += r * (c.vocabSize + h)
            case .tokenTypeEmbeddings: embeddings += c.typeVocabSize > 0 ? r * (c.typeVocabSize + h) : 0
            case .qkv: perLayer += r * (h + 3 * h)
            case .query, .key, .value, .attentionOutput: perLayer += r * (h + h)
            case .ffnIn, .ffnOut: perLayer += r * (h + f)
            }
        }
        return embeddings + c.numHiddenLayers * perLayer
    }

    /// Base / per-adapter / all-adapter counts for `config` and an adapter set, without allocating.
    /// With `pooler`, the base includes the pooler (H·H + H) and each adapter its pooler LoRA (r·2H),
    /// as in the release (whose counts are 559,364,096 base and 2,589,260 per task).
    public static func parameterCounts(config: EncoderConfig, adapters: [LoRAConfig], pooler: Bool = true) -> ParameterCounts {
        let h = config.hiddenSize
        let poolerCount = pooler ? h * h + h : 0
        let base = EncoderWeights.expectedShapes(for: config).reduce(0) { $0 + $1.1.reduce(1, *) } + poolerCount
        let per = adapters.map { loraParameterCount(config: config, lora: $0) + (pooler ? $0.rank * 2 * h : 0) }
        return ParameterCounts(base: base, pooler: poolerCount, perAdapter: per)
    }

    /// The release's shape: XLM-RoBERTa-large with rotary positions (no position table).
    public static let releaseConfig = EncoderConfig(
        modelType: "xlm-roberta", hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16, intermediateSize: 4096,
        vocabSize: 250_002, maxPositionEmbeddings: 8194, typeVocabSize: 1, layerNormEps: 1e-5, padTokenId: 1,
        positionEmbeddingType: "rotary", rotaryEmbBase: 20_000, hiddenAct: "gelu")
}
