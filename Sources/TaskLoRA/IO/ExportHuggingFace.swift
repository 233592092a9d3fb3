import Foundation

/// Exports to the Hugging Face ecosystem: a model folder that `transformers.AutoModel` and
/// `sentence_transformers.SentenceTransformer` load as they are, and a PEFT LoRA adapter folder.
public enum HuggingFaceExport {
    /// Builds a folder next to `path` and renames it into place when complete; refuses an existing `path`.
    public static func writeFolder(_ path: String, _ fill: (String) throws -> Void) throws {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: path) else {
            throw TaskLoRAError.file(path, "already exists; remove it or choose another --out")
        }
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        try? fm.removeItem(atPath: temp)
        do {
            try fm.createDirectory(atPath: temp, withIntermediateDirectories: true)
        } catch {
            throw TaskLoRAError.file(path, "cannot create folder \(temp)")
        }
        do {
            try fill(temp)
            try fm.moveItem(atPath: temp, toPath: path)
        } catch {
            try? fm.removeItem(atPath: temp)
            if let e = error as? TaskLoRAError { throw e }
            throw TaskLoRAError.file(path, "cannot write the export: \(error.localizedDescription)")
        }
    }

    static func writeJSON(_ object: Any, to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try OutputFile.write(data + Data("\n".utf8), to: path)
    }

    static func checkExportable(_ source: ExportSource) throws {
        guard source.config.typeVocabSize > 0 else {
            throw TaskLoRAError.file(source.basePath, "has no token-type embeddings, which BertModel / XLMRobertaModel / JinaEmbeddingsV3Model require")
        }
    }

    /// Rotary (jina-embeddings-v3) models are written in transformers' native `JinaEmbeddingsV3Model`
    /// layout; the others as BertModel / XLMRobertaModel.
    static func isJinaNative(_ source: ExportSource) -> Bool {
        source.config.isRotary || source.config.modelType == "jina_embeddings_v3"
    }

    /// A canonical tensor or module name as the exported model names it.
    static func exportedName(_ canonical: String, _ source: ExportSource) -> String {
        isJinaNative(source) ? JinaNativeLayout.nativeName(canonical) : canonical
    }

    /// `config.json` for BertModel or XLMRobertaModel (JinaEmbeddingsV3Model for rotary models): the
    /// checkpoint's config with the keys transformers needs.
    public static func modelConfig(_ source: ExportSource) throws -> [String: Any] {
        let c = source.config
        var json = (try? JSONSerialization.jsonObject(with: Data(source.base.configJSON.utf8)) as? [String: Any]) ?? [:]
        if isJinaNative(source) { return JinaNativeLayout.modelConfig(c, original: json) }
        for key in ["rotary_emb_base", "rope_parameters", "rope_theta", "auto_map", "architectures", "torch_dtype", "dtype"] {
            json[key] = nil
        }
        let xlmr = c.modelType == "xlm-roberta" || c.modelType == "roberta"
        json["model_type"] = xlmr ? "xlm-roberta" : "bert"
        json["architectures"] = [xlmr ? "XLMRobertaModel" : "BertModel"]
        json["hidden_size"] = c.hiddenSize
        json["num_hidden_layers"] = c.numHiddenLayers
        json["num_attention_heads"] = c.numAttentionHeads
        json["intermediate_size"] = c.intermediateSize
        json["vocab_size"] = c.vocabSize
        json["max_position_embeddings"] = c.maxPositionEmbeddings
        json["type_vocab_size"] = c.typeVocabSize
        json["layer_norm_eps"] = Double(c.layerNormEps)
        json["pad_token_id"] = c.padTokenId
        json["position_embedding_type"] = "absolute"
        json["hidden_act"] = c.hiddenAct
        json["hidden_dropout_prob"] = json["hidden_dropout_prob"] ?? 0.1
        json["attention_probs_dropout_prob"] = json["attention_probs_dropout_prob"] ?? 0.1
        json["initializer_range"] = json["initializer_range"] ?? 0.02
        json["dtype"] = "float32"
        if xlmr { json["bos_token_id"] = json["bos_token_id"] ?? 0; json["eos_token_id"] = json["eos_token_id"] ?? 2 }
        return json
    }

    /// The model folder: config, weights (canonical names = BertModel / XLMRobertaModel state-dict
    /// names; a zero pooler is added so nothing is left to random initialization), tokenizer files
    /// and the sentence-transformers modules (Transformer → Pooling → Normalize). `whitespace`: the
    /// tokenizer mode the folder reproduces in transformers (`tokenizerClass`).
    public static func writeModel(source: ExportSource, weights: [String: Tensor], to folder: String,
                                  tokenizerJSON: String?, maxSeqLength: Int = 512,
                                  whitespace: TokenizerWhitespace = .default) throws {
        try checkExportable(source)
        let url = URL(fileURLWithPath: folder)
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
        let h = source.config.hiddenSize
        try writeJSON(try modelConfig(source), to: path("config.json"))
        var tensors = weights.map { (exportedName($0.key, source), $0.value) }
        if weights["pooler.dense.weight"] == nil {
            tensors += [("pooler.dense.weight", Tensor(zeros: [h, h])), ("pooler.dense.bias", Tensor(zeros: [h]))]
        }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: path("model.safetensors"))
        try writeTokenizer(source: source, tokenizerJSON: tokenizerJSON, folder: url, maxLength: maxSeqLength,
                           whitespace: whitespace)

        let pooling = source.base.metadata["pooling"] ?? "mean"
        try writeJSON([
            ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
            ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
            ["idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"],
        ], to: path("modules.json"))
        try writeJSON(["max_seq_length": min(maxSeqLength, source.config.maxSequenceLength), "do_lower_case": false],
                      to: path("sentence_bert_config.json"))
        var st: [String: Any] = ["similarity_fn_name": "cosine", "prompts": [String: String](), "default_prompt_name": NSNull(),
                                 "__version__": ["tasklora": "1"]]
        if let name = source.adapterName, !source.prefix.isEmpty {
            st["prompts"] = [name: source.prefix]
            st["default_prompt_name"] = name
        }
        try writeJSON(st, to: path("config_sentence_transformers.json"))
        try FileManager.default.createDirectory(atPath: path("1_Pooling"), withIntermediateDirectories: true)
        try writeJSON([
            "word_embedding_dimension": h, "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling != "cls", "pooling_mode_max_tokens": false,
            "pooling_mode_mean_sqrt_len_tokens": false, "pooling_mode_weightedmean_tokens": false,
            "pooling_mode_lasttoken": false, "include_prompt": true,
        ], to: path("1_Pooling/config.json"))
        try FileManager.default.createDirectory(atPath: path("2_Normalize"), withIntermediateDirectories: true)
        if let name = source.adapterName {
            try writeJSON(["merged_adapter": name, "prefix": source.prefix, "base_model": source.basePath,
                           "adapter_source": source.adapterPath ?? source.basePath], to: path("tasklora_export.json"))
        }
    }

    /// transformers' `tokenizer_class` for an exported tokenizer, so that transformers 5 (and so
    /// sentence-transformers) gives the ids of tasklora's `whitespace` mode:
    /// - SentencePiece (Unigram) in `.transformers` mode: `XLMRobertaTokenizer`, as XLM-R-family
    ///   models ship; transformers 5 rebuilds its pipeline from the class (whitespace split). The
    ///   class assumes XLM-R's ids (`<unk>` = 3, as its constructor hard-codes), so another layout is
    ///   refused rather than exported to tokenize wrongly.
    /// - Otherwise `PreTrainedTokenizerFast`, which runs tokenizer.json as written (the
    ///   `tokenizer-json` mode; WordPiece gives the same ids either way).
    /// text-embeddings-inference ignores the class and always runs tokenizer.json as written.
    static func tokenizerClass(_ tokenizer: TextTokenizer, whitespace: TokenizerWhitespace, source: String) throws -> String {
        guard let unigram = tokenizer as? UnigramTokenizer, whitespace == .transformers else { return "PreTrainedTokenizerFast" }
        guard unigram.unkId == 3 else {
            throw TaskLoRAError.file(source, "has <unk> at id \(unigram.unkId), but transformers' XLMRobertaTokenizer (which gives the ids of --whitespace transformers) assumes 3; export with --whitespace tokenizer-json")
        }
        return "XLMRobertaTokenizer"
    }

    /// tokenizer.json: the given file (with tokenizer_config.json / special_tokens_map.json from its
    /// folder when present), or one written from a WordPiece tokenizer archive.
    static func writeTokenizer(source: ExportSource, tokenizerJSON: String?, folder: URL, maxLength: Int,
                               whitespace: TokenizerWhitespace = .default) throws {
        let fm = FileManager.default
        if let given = tokenizerJSON {
            guard let data = fm.contents(atPath: given) else { throw TaskLoRAError.file(given, "cannot read file") }
            let tokenizer = try loadHuggingFaceTokenizer(path: given)
            if let archive = source.base.tokenizer, archive != tokenizer.archive {
                // Different normalizer storage is fine; the vocabulary size must agree.
                let ours = try makeTokenizer(from: archive)
                guard ours.vocabularySize == tokenizer.vocabularySize else {
                    throw TaskLoRAError.file(given, "has \(tokenizer.vocabularySize) tokens but the checkpoint's tokenizer has \(ours.vocabularySize)")
                }
            }
            try OutputFile.write(data, to: folder.appendingPathComponent("tokenizer.json").path)
            let dir = URL(fileURLWithPath: given).deletingLastPathComponent()
            for name in ["special_tokens_map.json"] {
                if let d = fm.contents(atPath: dir.appendingPathComponent(name).path) {
                    try OutputFile.write(d, to: folder.appendingPathComponent(name).path)
                }
            }
            var config: [String: Any] = [:]
            if let d = fm.contents(atPath: dir.appendingPathComponent("tokenizer_config.json").path),
               let json = try? JSONSerialization.jsonObject(with: d) as? [String: Any] {
                config = json.filter { $0.value is String || $0.value is NSNumber }
            }
            config["tokenizer_class"] = try tokenizerClass(tokenizer, whitespace: whitespace, source: given)
            config["model_max_length"] = config["model_max_length"] ?? maxLength
            try writeJSON(config, to: folder.appendingPathComponent("tokenizer_config.json").path)
            return
        }
        guard let archive = source.base.tokenizer else {
            throw TaskLoRAError.file(source.basePath, "has no tokenizer; give the model's tokenizer.json with --tokenizer-json")
        }
        let json: Data, special: [String: String]
        switch archive.kind {
        case "wordpiece": (json, special) = try wordPieceJSON(archive)
        case "unigram" where archive.attributes["normalizer"] == "precompiled": (json, special) = try unigramJSON(archive)
        default:
            throw TaskLoRAError.file(source.basePath, "has a \(archive.kind) tokenizer with a \(archive.attributes["normalizer"] ?? "") normalizer, which tokenizer.json cannot express; give the original with --tokenizer-json")
        }
        try OutputFile.write(json, to: folder.appendingPathComponent("tokenizer.json").path)
        let tokenizerClass = try tokenizerClass(try makeTokenizer(from: archive), whitespace: whitespace, source: source.basePath)
        var config: [String: Any] = ["tokenizer_class": tokenizerClass, "model_max_length": maxLength,
                                     "clean_up_tokenization_spaces": false]
        for (key, token) in special { config[key] = token }
        try writeJSON(config, to: folder.appendingPathComponent("tokenizer_config.json").path)
        try writeJSON(special, to: folder.appendingPathComponent("special_tokens_map.json").path)
    }

    /// A Hugging Face `tokenizer.json` for a WordPiece archive (BertNormalizer, BertPreTokenizer,
    /// WordPiece, `[CLS] $A [SEP]`), and the special-token map (cls/sep/pad/unk/mask) for it.
    public static func wordPieceJSON(_ archive: TokenizerArchive) throws -> (Data, [String: String]) {
        func attr(_ k: String) throws -> String {
            guard let v = archive.attributes[k] else { throw TaskLoRAError("tokenizer archive has no attribute \(k)") }
            return v
        }
        func strings(_ bytes: String, _ offsets: String) throws -> [String] {
            guard let b = archive.bytes[bytes], let o = archive.uint32[offsets] else { return [] }
            return (0..<max(o.count - 1, 0)).map { String(decoding: b[Int(o[$0])..<Int(o[$0 + 1])], as: UTF8.self) }
        }
        let vocab = try strings("vocab", "vocab_offsets")
        guard !vocab.isEmpty else { throw TaskLoRAError("tokenizer archive has no vocabulary") }
        var ids: [String: Int] = [:]
        for (i, t) in vocab.enumerated() {
            guard ids[t] == nil else { throw TaskLoRAError("vocabulary token \"\(t)\" appears twice; cannot write tokenizer.json") }
            ids[t] = i
        }
        func id(_ k: String) throws -> Int {
            guard let v = Int(try attr(k)), vocab.indices.contains(v) else { throw TaskLoRAError("tokenizer attribute \(k) is invalid") }
            return v
        }
        let cls = vocab[try id("cls_id")], sep = vocab[try id("sep_id")], pad = vocab[try id("pad_id")], unk = vocab[try id("unk_id")]
        let specialIDs = archive.uint32["special_token_ids"] ?? []
        let specialTexts = try strings("special_tokens", "special_token_offsets")
        var added: [[String: Any]] = []
        var seen = Set<Int>()
        for (text, sid) in zip(specialTexts, specialIDs) + [cls, sep, pad, unk].map({ ($0, UInt32(ids[$0]!)) }) where seen.insert(Int(sid)).inserted {
            added.append(["id": Int(sid), "content": text, "single_word": false, "lstrip": false, "rstrip": false,
                          "normalized": false, "special": true])
        }
        added.sort { ($0["id"] as! Int) < ($1["id"] as! Int) }
        func flag(_ k: String) throws -> Bool { try attr(k) == "true" }
        let prefix = try attr("continuing_subword_prefix")
        let clsID = ids[cls]!, sepID = ids[sep]!
        let json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": ["type": "BertNormalizer", "clean_text": try flag("clean_text"),
                           "handle_chinese_chars": try flag("handle_chinese_chars"),
                           "strip_accents": try flag("strip_accents"), "lowercase": try flag("lowercase")],
            "pre_tokenizer": ["type": "BertPreTokenizer"],
            "post_processor": [
                "type": "TemplateProcessing",
                "single": [["SpecialToken": ["id": cls, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                           ["SpecialToken": ["id": sep, "type_id": 0]]],
                "pair": [["SpecialToken": ["id": cls, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                         ["SpecialToken": ["id": sep, "type_id": 0]], ["Sequence": ["id": "B", "type_id": 1]],
                         ["SpecialToken": ["id": sep, "type_id": 1]]],
                "special_tokens": [cls: ["id": cls, "ids": [clsID], "tokens": [cls]],
                                   sep: ["id": sep, "ids": [sepID], "tokens": [sep]]],
            ],
            "decoder": ["type": "WordPiece", "prefix": prefix, "cleanup": true],
            "model": ["type": "WordPiece", "unk_token": unk, "continuing_subword_prefix": prefix,
                      "max_input_chars_per_word": Int(try attr("max_input_chars_per_word")) ?? 100, "vocab": ids],
        ]
        var special = ["cls_token": cls, "sep_token": sep, "pad_token": pad, "unk_token": unk]
        if ids["[MASK]"] != nil { special["mask_token"] = "[MASK]" }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes])
        return (data, special)
    }

    /// A Hugging Face `tokenizer.json` for a SentencePiece Unigram archive with a Precompiled
    /// normalizer (what tasklora reads from XLM-R tokenizer.json files): Precompiled (+ Replace
    /// ' {2,}' → ' ' when `collapse_spaces`), Metaspace (▁, prepend always, split), Unigram with the
    /// exact f64 scores, `<s> $A </s>` (pairs `<s> $A </s> </s> $B </s>`).
    public static func unigramJSON(_ archive: TokenizerArchive) throws -> (Data, [String: String]) {
        func attr(_ k: String) throws -> String {
            guard let v = archive.attributes[k] else { throw TaskLoRAError("tokenizer archive has no attribute \(k)") }
            return v
        }
        func strings(_ bytes: String, _ offsets: String) -> [String] {
            guard let b = archive.bytes[bytes], let o = archive.uint32[offsets] else { return [] }
            return (0..<max(o.count - 1, 0)).map { String(decoding: b[Int(o[$0])..<Int(o[$0 + 1])], as: UTF8.self) }
        }
        let pieces = strings("pieces", "piece_offsets")
        guard let bits = archive.uint32["scores_f64_bits"], bits.count == 2 * pieces.count, !pieces.isEmpty,
              let charsmap = archive.bytes["precompiled_charsmap"] else {
            throw TaskLoRAError("unigram tokenizer archive is incomplete")
        }
        let scores = (0..<pieces.count).map { Double(bitPattern: UInt64(bits[2 * $0]) | UInt64(bits[2 * $0 + 1]) << 32) }
        func id(_ k: String) throws -> Int {
            guard let v = Int(try attr(k)), pieces.indices.contains(v) else { throw TaskLoRAError("tokenizer attribute \(k) is invalid") }
            return v
        }
        let unk = try id("unk_id"), bos = try id("bos_id"), eos = try id("eos_id"), pad = try id("pad_id")
        let specialIDs = archive.uint32["special_token_ids"] ?? []
        let specialTexts = strings("special_tokens", "special_token_offsets")
        var added: [[String: Any]] = []
        var seen = Set<Int>()
        for (text, sid) in zip(specialTexts, specialIDs.map(Int.init)) + [bos, pad, eos, unk].map({ (pieces[$0], $0) })
            where seen.insert(sid).inserted {
            added.append(["id": sid, "content": text, "single_word": false, "lstrip": false, "rstrip": false,
                          "normalized": false, "special": true])
        }
        added.sort { ($0["id"] as! Int) < ($1["id"] as! Int) }
        var normalizers: [[String: Any]] = [["type": "Precompiled", "precompiled_charsmap": Data(charsmap).base64EncodedString()]]
        if try attr("collapse_spaces") == "true" {
            normalizers.append(["type": "Replace", "pattern": ["Regex": " {2,}"], "content": " "])
        }
        let (b, e) = (pieces[bos], pieces[eos])
        let json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": ["type": "Sequence", "normalizers": normalizers],
            "pre_tokenizer": ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true],
            "post_processor": [
                "type": "TemplateProcessing",
                "single": [["SpecialToken": ["id": b, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                           ["SpecialToken": ["id": e, "type_id": 0]]],
                "pair": [["SpecialToken": ["id": b, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                         ["SpecialToken": ["id": e, "type_id": 0]], ["SpecialToken": ["id": e, "type_id": 0]],
                         ["Sequence": ["id": "B", "type_id": 0]], ["SpecialToken": ["id": e, "type_id": 0]]],
                "special_tokens": [b: ["id": b, "ids": [bos], "tokens": [b]], e: ["id": e, "ids": [eos], "tokens": [e]]],
            ],
            "decoder": ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true],
            "model": ["type": "Unigram", "unk_id": unk, "byte_fallback": false,
                      "vocab": zip(pieces, scores).map { [$0.0, $0.1] as [Any] }],
        ]
        var special = ["bos_token": b, "eos_token": e, "cls_token": b, "sep_token": e, "pad_token": pieces[pad],
                       "unk_token": pieces[unk]]
        if pieces.contains("<mask>") { special["mask_token"] = "<mask>" }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes])
        return (data, special)
    }

    /// A PEFT LoRA folder for the adapter: `adapter_config.json` and `adapter_model.safetensors` with
    /// `base_model.model.<module>.lora_A.weight` (r, in) / `lora_B.weight` (out, r), embeddings as
    /// `lora_embedding_A` (r, V) / `lora_embedding_B` (H, r). A fused qkv LoRA becomes three modules
    /// (query, key, value) sharing A, each with its third of B's rows (exact).
    public static func writePEFT(source: ExportSource, to folder: String, baseModel: String) throws {
        try checkExportable(source)
        guard let archive = source.adapter, let lora = source.loraConfig, let name = source.adapterName else {
            throw TaskLoRAError("PEFT export needs an adapter (--task)")
        }
        let h = source.config.hiddenSize
        var tensors: [(String, Tensor)] = []
        var targets: [String] = []
        for m in try AdapterMerge.modules(lora: lora, model: source.config, name: name) {
            let a = archive.tensors[m.modulePath + ".lora_A"]!, b = archive.tensors[m.modulePath + ".lora_B"]!
            if m.target.isEmbedding {
                let module = exportedName(m.modulePath, source)
                tensors.append(("base_model.model.\(module).lora_embedding_A", transpose(a)))
                tensors.append(("base_model.model.\(module).lora_embedding_B", transpose(b)))
                targets.append(exportedName(m.modulePath, source))
                continue
            }
            for (weight, row) in AdapterMerge.targetWeights(modulePath: m.modulePath, target: m.target, hidden: h) {
                let module = exportedName(String(weight.dropLast(".weight".count)), source)
                let rows = m.target == .qkv ? h : m.outFeatures
                let part = Tensor(zeros: [rows, m.rank])
                part.data.update(from: b.data + row * m.rank, count: rows * m.rank)
                tensors.append(("base_model.model.\(module).lora_A.weight", a.copy()))
                tensors.append(("base_model.model.\(module).lora_B.weight", part))
                targets.append(module)
            }
        }
        let url = URL(fileURLWithPath: folder)
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: url.appendingPathComponent("adapter_model.safetensors").path)
        try writeJSON([
            "peft_type": "LORA", "task_type": NSNull(), "base_model_name_or_path": baseModel,
            "r": lora.rank, "lora_alpha": lora.alpha, "lora_dropout": lora.dropout, "bias": "none",
            "target_modules": targets.sorted(), "fan_in_fan_out": false, "inference_mode": true,
            "init_lora_weights": true, "use_rslora": false, "use_dora": false, "modules_to_save": NSNull(),
            "rank_pattern": [String: Int](), "alpha_pattern": [String: Double](),
            "revision": NSNull(), "layers_to_transform": NSNull(), "layers_pattern": NSNull(),
        ], to: url.appendingPathComponent("adapter_config.json").path)
        try writeJSON(["adapter": name, "prefix": source.prefix, "source": source.adapterPath ?? source.basePath],
                      to: url.appendingPathComponent("tasklora_adapter.json").path)
    }

    static func transpose(_ t: Tensor) -> Tensor {
        let r = t.shape[0], c = t.shape[1]
        let out = Tensor(zeros: [c, r])
        for i in 0..<r { for j in 0..<c { out.data[j * r + i] = t.data[i * c + j] } }
        return out
    }
}
