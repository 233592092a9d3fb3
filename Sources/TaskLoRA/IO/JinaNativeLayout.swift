import Foundation

/// transformers' native `JinaEmbeddingsV3Model` (transformers 5.x) layout: separate q/k/v
/// projections, no LoRA tensors (adapters travel as PEFT folders on top of it). Import maps its
/// names onto the canonical BERT names (`ModelImporter.canonicalName`); export maps them back.
public enum JinaNativeLayout {
    /// Per-layer module names: canonical (after `encoder.layer.N.`) ↔ native (after `layers.N.`).
    /// Embeddings (`embeddings.*`) and the pooler (`pooler.dense`) have the same names in both.
    static let layerModules: [(canonical: String, native: String)] = [
        ("attention.self.query", "self_attn.q_proj"), ("attention.self.key", "self_attn.k_proj"),
        ("attention.self.value", "self_attn.v_proj"), ("attention.output.dense", "self_attn.o_proj"),
        ("attention.output.LayerNorm", "post_attention_layernorm"), ("intermediate.dense", "mlp.fc1"),
        ("output.dense", "mlp.fc2"), ("output.LayerNorm", "post_mlp_layernorm"),
    ]

    /// `layers.N.self_attn.q_proj.weight` → `encoder.layer.N.attention.self.query.weight`; other names unchanged.
    public static func canonicalName(_ native: String) -> String {
        rename(native, from: "layers.", to: "encoder.layer.", modules: layerModules.map { ($0.native, $0.canonical) })
    }

    /// `encoder.layer.N.attention.self.query.weight` → `layers.N.self_attn.q_proj.weight`; works for
    /// module paths (no `.weight`) too; other names unchanged.
    public static func nativeName(_ canonical: String) -> String {
        rename(canonical, from: "encoder.layer.", to: "layers.", modules: layerModules.map { ($0.canonical, $0.native) })
    }

    private static func rename(_ name: String, from: String, to: String, modules: [(String, String)]) -> String {
        guard name.hasPrefix(from) else { return name }
        let rest = name.dropFirst(from.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return name }
        let tail = String(rest[rest.index(after: dot)...])
        for (source, target) in modules where tail == source || tail.hasPrefix(source + ".") {
            return "\(to)\(layer).\(target)" + tail.dropFirst(source.count)
        }
        return name
    }

    /// `config.json` that `JinaEmbeddingsV3Model.from_pretrained` reads: the encoder shape, and the
    /// checkpoint's rotary base (the inference base, 20,000 for the release) as `rope_parameters`.
    public static func modelConfig(_ c: EncoderConfig, original: [String: Any]) -> [String: Any] {
        let json: [String: Any] = [
            "model_type": "jina_embeddings_v3", "architectures": ["JinaEmbeddingsV3Model"],
            "vocab_size": c.vocabSize, "hidden_size": c.hiddenSize, "num_hidden_layers": c.numHiddenLayers,
            "num_attention_heads": c.numAttentionHeads, "intermediate_size": c.intermediateSize,
            "hidden_act": c.hiddenAct, "max_position_embeddings": c.maxPositionEmbeddings,
            "type_vocab_size": c.typeVocabSize, "layer_norm_eps": Double(c.layerNormEps),
            "pad_token_id": c.padTokenId, "bos_token_id": original["bos_token_id"] ?? 0,
            "eos_token_id": original["eos_token_id"] ?? 2,
            "rope_parameters": ["rope_type": "default", "rope_theta": Double(c.rotaryEmbBase)],
            "hidden_dropout_prob": original["hidden_dropout_prob"] ?? 0.1,
            "attention_probs_dropout_prob": original["attention_probs_dropout_prob"] ?? 0.1,
            "initializer_range": original["initializer_range"] ?? 0.02, "dtype": "float32",
        ]
        return json
    }
}
