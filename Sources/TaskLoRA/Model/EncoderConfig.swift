import Foundation

/// The encoder's shape, decoded directly from a Hugging Face `config.json`.
///
/// One config serves the three families tasklora runs: BERT (learned absolute positions from 0),
/// XLM-RoBERTa (learned positions offset by `pad_token_id + 1`) and the rotary
/// jina-embeddings-v3 shape (no position table, RoPE on q and k).
public struct EncoderConfig: Codable, Equatable, Sendable {
    public var modelType: String
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var padTokenId: Int
    /// "absolute" or "rotary".
    public var positionEmbeddingType: String
    /// RoPE base; jina-embeddings-v3 trains at 10,000 and runs inference at 20,000.
    public var rotaryEmbBase: Float
    public var hiddenAct: String

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case vocabSize = "vocab_size"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps"
        case padTokenId = "pad_token_id"
        case positionEmbeddingType = "position_embedding_type"
        case rotaryEmbBase = "rotary_emb_base"
        case hiddenAct = "hidden_act"
        case ropeParameters = "rope_parameters"
        case ropeTheta = "rope_theta"
    }

    /// transformers 5.x writes the RoPE base as `rope_parameters.rope_theta`.
    struct RopeParameters: Codable {
        var ropeTheta: Float?
        enum CodingKeys: String, CodingKey { case ropeTheta = "rope_theta" }
    }

    /// Model types whose forward pass tasklora implements.
    public static let supportedModelTypes: Set<String> = ["bert", "xlm-roberta", "roberta", "jina_embeddings_v3"]

    public func encode(to encoder: Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(typeVocabSize, forKey: .typeVocabSize)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        try c.encode(padTokenId, forKey: .padTokenId)
        try c.encode(positionEmbeddingType, forKey: .positionEmbeddingType)
        try c.encode(rotaryEmbBase, forKey: .rotaryEmbBase)
        try c.encode(hiddenAct, forKey: .hiddenAct)
    }

    public init(modelType: String, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                intermediateSize: Int, vocabSize: Int, maxPositionEmbeddings: Int, typeVocabSize: Int,
                layerNormEps: Float, padTokenId: Int, positionEmbeddingType: String = "absolute",
                rotaryEmbBase: Float = 10_000, hiddenAct: String = "gelu") {
        self.modelType = modelType
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.vocabSize = vocabSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.padTokenId = padTokenId
        self.positionEmbeddingType = positionEmbeddingType
        self.rotaryEmbBase = rotaryEmbBase
        self.hiddenAct = hiddenAct
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 8192
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? 1
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-12
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? 0
        let rotaryByType = modelType == "jina_embeddings_v3"
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType)
            ?? (rotaryByType ? "rotary" : "absolute")
        rotaryEmbBase = try c.decodeIfPresent(Float.self, forKey: .rotaryEmbBase)
            ?? c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)?.ropeTheta
            ?? c.decodeIfPresent(Float.self, forKey: .ropeTheta)
            ?? 10_000
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "gelu"
    }

    /// Reads and validates a `config.json`.
    public static func load(path: String) throws -> EncoderConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TaskLoRAError.file(path, "cannot read file")
        }
        return try decode(data, source: path)
    }

    public static func decode(_ data: Data, source: String) throws -> EncoderConfig {
        let config: EncoderConfig
        do {
            config = try JSONDecoder().decode(EncoderConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw TaskLoRAError.file(source, "config is missing \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, ctx) where ctx.codingPath.isEmpty {
            throw TaskLoRAError.file(source, "config is not a JSON object")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw TaskLoRAError.file(source, "config field \"\(ctx.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
        } catch {
            throw TaskLoRAError.file(source, "config is not valid JSON")
        }
        try config.validate(source: source)
        return config
    }

    public func validate(source: String) throws {
        guard Self.supportedModelTypes.contains(modelType) else {
            throw TaskLoRAError.file(source, "unsupported architecture \"\(modelType)\" (supported: \(Self.supportedModelTypes.sorted().joined(separator: ", ")))")
        }
        guard ["gelu", "gelu_python"].contains(hiddenAct) else {
            throw TaskLoRAError.file(source, "unsupported hidden_act \"\(hiddenAct)\" (tasklora implements exact erf GELU)")
        }
        guard ["absolute", "rotary"].contains(positionEmbeddingType) else {
            throw TaskLoRAError.file(source, "unsupported position_embedding_type \"\(positionEmbeddingType)\"")
        }
        let limits: [(String, Int, ClosedRange<Int>)] = [
            ("hidden_size", hiddenSize, 1...65_536), ("num_hidden_layers", numHiddenLayers, 1...256),
            ("num_attention_heads", numAttentionHeads, 1...1024), ("intermediate_size", intermediateSize, 1...262_144),
            ("vocab_size", vocabSize, 1...4_000_000), ("max_position_embeddings", maxPositionEmbeddings, 1...1_048_576),
            ("type_vocab_size", typeVocabSize, 0...1024),
        ]
        for (name, value, range) in limits where !range.contains(value) {
            throw TaskLoRAError.file(source, "config \(name) = \(value) is out of range \(range)")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw TaskLoRAError.file(source, "hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        if isRotary, headDim % 2 != 0 {
            throw TaskLoRAError.file(source, "rotary positions need an even head dimension, got \(headDim)")
        }
        guard layerNormEps > 0, layerNormEps < 1 else {
            throw TaskLoRAError.file(source, "layer_norm_eps = \(layerNormEps) is out of range")
        }
    }

    public var headDim: Int { hiddenSize / numAttentionHeads }
    public var isRotary: Bool { positionEmbeddingType == "rotary" }
    /// RoBERTa-style models number positions from `padding_idx + 1`; BERT from 0.
    public var positionOffset: Int {
        (modelType == "xlm-roberta" || modelType == "roberta") ? padTokenId + 1 : 0
    }
    /// The longest sequence the position table (or, for RoPE, the config) allows.
    public var maxSequenceLength: Int {
        isRotary ? maxPositionEmbeddings : maxPositionEmbeddings - positionOffset
    }

    public func jsonString() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }
}
