import Foundation

/// The tensor-name layouts tasklora imports from a model folder's model.safetensors, told apart by
/// the tensor names alone. config.json cannot tell them apart: transformers'
/// `JinaEmbeddingsV3Model.save_pretrained` (5.24 and 5.25 alike) writes the release's module names
/// under `model_type: "jina_embeddings_v3"`, the same config that goes with the model's own
/// `state_dict` names (docs/jina-v3.md has the table of who writes what).
public enum TensorLayout: String, CaseIterable, Sendable {
    /// jina-embeddings-v3 as released (`XLMRobertaLoRA`): torch `parametrize` names, every
    /// embedding and linear with a stacked LoRA for all tasks (`JinaV3Layout`).
    case jinaRelease
    /// What `JinaEmbeddingsV3Model.save_pretrained` writes: the release's module names (`emb_ln`,
    /// `encoder.layers.N.mixer.Wqkv`, `norm1`, …) with plain `.weight`s and no LoRA (`JinaV3Layout`).
    case jinaSaved
    /// `JinaEmbeddingsV3Model`'s own module names, i.e. its `state_dict` (`layers.N.self_attn.q_proj`,
    /// …; `JinaNativeLayout`). tasklora's `export --format hf` writes these for rotary models.
    case jinaModules
    /// BERT / XLM-RoBERTa names (`encoder.layer.N.attention.self.query`, …), tasklora's canonical names.
    case bert

    /// The name ending that only this layout's files have (whatever the model prefix, `roberta.` etc.).
    /// Each marker is absent from every other layout, so at most one layout matches a sound file.
    public var marker: String {
        switch self {
        case .jinaRelease: return ".parametrizations.weight.original"
        case .jinaSaved: return "mixer.Wqkv.weight"
        case .jinaModules: return "self_attn.q_proj.weight"
        case .bert: return "attention.self.query.weight"
        }
    }

    /// The layout of a file with these tensor names; `file` names it in the one-line error when no
    /// layout, or more than one, matches.
    public static func detect(names: [String], file: String) throws -> TensorLayout {
        let matches = allCases.compactMap { layout in
            names.first { $0.hasSuffix(layout.marker) }.map { (layout, example: $0) }
        }
        if matches.count == 1 { return matches[0].0 }
        if matches.isEmpty {
            let seen = names.sorted().prefix(4).joined(separator: ", ")
            throw TaskLoRAError.file(file, "tensor names match no layout tasklora reads (\(names.count) tensors: \(seen)\(names.count > 4 ? ", …" : ""); "
                + "expected names ending in " + allCases.map { "\($0.marker) (\($0.rawValue))" }.joined(separator: ", ") + ")")
        }
        throw TaskLoRAError.file(file, "tensor names mix layouts: "
            + matches.map { "\($0.0.rawValue) (\($0.example))" }.joined(separator: " and "))
    }

    /// The layout of `folder`'s model.safetensors.
    public static func detect(folder: String) throws -> TensorLayout {
        let path = try weightsPath(folder: folder)
        return try detect(names: try SafeTensorsFile(path: path).names, file: path)
    }

    /// `folder`/model.safetensors, or the one-line error that says it is not there.
    static func weightsPath(folder: String) throws -> String {
        let path = URL(fileURLWithPath: folder).appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TaskLoRAError.file(folder, "has no model.safetensors (pytorch_model.bin is not read; convert it to safetensors)")
        }
        return path
    }
}
