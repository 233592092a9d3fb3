import Foundation

/// The README.md model cards written beside exports, as the ecosystem writes them: the one
/// sentence-transformers' `save_pretrained` writes for a model folder (YAML front matter with
/// `base_model`, `library_name: sentence-transformers`, `pipeline_tag: sentence-similarity`,
/// `tags`, `language`; usage; training details) and the one peft writes for an adapter folder
/// (`library_name: peft`). The training details come from the run the adapter was trained in:
/// the run folder beside the adapter file (`recipe.yaml`, `metrics.jsonl`), when it is there.
public enum ModelCard {
    /// What a run folder says about how an adapter was trained.
    public struct Run: Sendable {
        /// The run's resolved recipe (recipe.yaml as written by the trainer).
        public var recipeYAML: String
        /// Dev evaluations by step: metric name, headline value and value by Matryoshka dim.
        public var evaluations: [(step: Int, metric: String, value: Double, byDim: [(dim: Int, value: Double)])]

        /// The run folder of the adapter file `adapterPath` (its own folder), or nil when it holds no run.
        public static func of(adapterPath: String) -> Run? {
            let folder = (adapterPath as NSString).deletingLastPathComponent
            let dir = folder.isEmpty ? "." : folder
            guard let recipe = try? String(contentsOfFile: dir + "/recipe.yaml", encoding: .utf8) else { return nil }
            var evaluations: [(step: Int, metric: String, value: Double, byDim: [(dim: Int, value: Double)])] = []
            let lines = (try? String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8))?.split(separator: "\n") ?? []
            for line in lines {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let step = object["step"] as? Int, let eval = object["eval"] as? [String: Any],
                      let metric = eval["metric"] as? String, let value = eval["value"] as? Double else { continue }
                let dims = (eval["dims"] as? [String: [String: Double]]) ?? [:]
                let byDim = dims.compactMap { key, values in Int(key).flatMap { d in values[metric].map { (dim: d, value: $0) } } }
                    .sorted { $0.dim < $1.dim }
                evaluations.append((step, metric, value, byDim))
            }
            return Run(recipeYAML: recipe, evaluations: evaluations)
        }
    }

    /// The languages a card names when the user gives none: XLM-R-family (SentencePiece) models are
    /// multilingual; WordPiece models here are English (all-MiniLM-L6-v2, BERT).
    public static func defaultLanguages(_ source: ExportSource) -> [String] {
        source.base.tokenizer?.kind == "unigram" ? ["multilingual"] : ["en"]
    }

    /// sentence-transformers' card for the merged model folder `folderName`.
    public static func sentenceTransformers(source: ExportSource, folderName: String, baseModel: String,
                                            languages: [String], run: Run?) -> String {
        let task = source.adapterName
        let dims = run?.evaluations.last?.byDim.map(\.dim) ?? []
        var tags = ["sentence-transformers", "sentence-similarity", "feature-extraction", "tasklora"]
        if let task { tags += ["lora", task] }
        if !dims.isEmpty { tags.append("matryoshka") }
        var out = frontMatter(baseModel: baseModel, library: "sentence-transformers", pipeline: "sentence-similarity",
                              tags: tags, languages: languages)
        out += "\n# \(task.map { "\($0) adapter on " } ?? "")\(baseModel)\n\n"
        out += "A [sentence-transformers](https://www.sbert.net) model exported by tasklora "
        out += task.map { "with the LoRA adapter `\($0)` merged into the weights of `\(baseModel)`. " } ?? "from `\(baseModel)`. "
        out += "It maps text to a \(source.config.hiddenSize)-dimensional dense vector (mean pooling, then L2 normalization)"
        out += dims.isEmpty ? ".\n" : "; the first \(dims.map(String.init).joined(separator: ", ")) components are trained to work on their own (Matryoshka).\n"
        out += "\n## Model details\n\n| | |\n|---|---|\n"
        out += "| base model | `\(baseModel)` (\(source.config.modelType), \(source.config.numHiddenLayers) layers, hidden \(source.config.hiddenSize)) |\n"
        if let task { out += "| adapter | `\(task)`" + (source.loraConfig.map { ", rank \($0.rank), alpha \(number($0.alpha))" } ?? "") + " (merged) |\n" }
        out += "| prompt | " + (source.prefix.isEmpty ? "none" : "`\(markdownEscaped(source.prefix))` (the default prompt `\(task ?? "")`: `encode` prepends it)") + " |\n"
        out += "| similarity | cosine |\n| max sequence length | see `sentence_bert_config.json` |\n"
        out += "\n## Usage\n\n```python\n"
        out += "from sentence_transformers import SentenceTransformer\n\n"
        out += "model = SentenceTransformer(\"\(folderName)\")\n"
        out += "sentences = [\"The weather is lovely today.\", \"It's so sunny outside!\", \"He drove to the stadium.\"]\n"
        out += "embeddings = model.encode(sentences)\n"
        out += "print(embeddings.shape)  # (3, \(source.config.hiddenSize))\n"
        out += "print(model.similarity(embeddings, embeddings))\n"
        if let d = dims.first(where: { $0 < source.config.hiddenSize }) {
            out += "\n# Matryoshka: keep the first \(d) components\n"
            out += "small = SentenceTransformer(\"\(folderName)\", truncate_dim=\(d))\n"
            out += "print(small.encode(sentences).shape)  # (3, \(d))\n"
        }
        out += "```\n"
        out += trainingSection(run)
        return out
    }

    /// peft's card for the adapter folder `folderName` on `baseModel`.
    public static func peft(source: ExportSource, folderName: String, baseModel: String, languages: [String], run: Run?) -> String {
        let task = source.adapterName ?? "adapter"
        var out = frontMatter(baseModel: baseModel, library: "peft", pipeline: "sentence-similarity",
                              tags: ["base_model:adapter:\(baseModel)", "lora", "transformers", "tasklora", task],
                              languages: languages)
        out += "\n# Model Card for `\(task)` (LoRA adapter)\n\n"
        out += "A LoRA adapter for `\(baseModel)`, trained with tasklora for the task `\(task)`"
        out += source.loraConfig.map { " (rank \($0.rank), alpha \(number($0.alpha)), on \($0.targets.map(\.rawValue).joined(separator: ", ")))" } ?? ""
        out += ". Sentence embeddings are the mean of the last hidden states over the tokens, L2-normalized"
        out += source.prefix.isEmpty ? ".\n" : ", with the prompt `\(markdownEscaped(source.prefix))` prepended to every input.\n"
        out += "\n## How to Get Started with the Model\n\n```python\n"
        out += "import torch\nfrom transformers import AutoModel, AutoTokenizer\nfrom peft import PeftModel\n\n"
        out += "base = AutoModel.from_pretrained(\"\(baseModel)\")\n"
        out += "tokenizer = AutoTokenizer.from_pretrained(\"\(baseModel)\")\n"
        out += "model = PeftModel.from_pretrained(base, \"\(folderName)\").eval()\n\n"
        out += "texts = [\(pythonString(source.prefix) + " + ")\"The weather is lovely today.\", \(pythonString(source.prefix) + " + ")\"He drove to the stadium.\"]\n"
        out += "batch = tokenizer(texts, padding=True, truncation=True, return_tensors=\"pt\")\n"
        out += "with torch.no_grad():\n    hidden = model(**batch).last_hidden_state\n"
        out += "mask = batch[\"attention_mask\"].unsqueeze(-1).to(hidden.dtype)\n"
        out += "embeddings = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)\n"
        out += "print(embeddings.shape, embeddings @ embeddings.T)\n```\n"
        out += trainingSection(run)
        out += "\n### Framework versions\n\n- PEFT (LoRA; `adapter_config.json`), written by tasklora\n"
        return out
    }

    static func frontMatter(baseModel: String, library: String, pipeline: String, tags: [String], languages: [String]) -> String {
        var out = "---\n"
        out += "base_model: \(yamlScalar(baseModel))\n"
        out += "library_name: \(library)\n"
        out += "pipeline_tag: \(pipeline)\n"
        out += "language:\n" + languages.map { "- \(yamlScalar($0))\n" }.joined()
        out += "tags:\n" + tags.map { "- \(yamlScalar($0))\n" }.joined()
        out += "---\n"
        return out
    }

    static func trainingSection(_ run: Run?) -> String {
        guard let run else { return "\n## Training\n\nNo run folder was found beside the adapter file, so no training details are recorded here.\n" }
        var out = "\n## Training\n\nTrained with `tasklora train`. The resolved recipe:\n\n```yaml\n\(run.recipeYAML.hasSuffix("\n") ? run.recipeYAML : run.recipeYAML + "\n")```\n"
        if let first = run.evaluations.first {
            let dims = first.byDim.map(\.dim)
            out += "\n### Dev evaluation (\(first.metric), ×100; step 0 is the base model with the adapter's prompts)\n\n"
            out += "| step | " + (dims.isEmpty ? "value" : dims.map { "dim \($0)" }.joined(separator: " | ")) + " |\n"
            out += "|---|" + String(repeating: "---|", count: max(dims.count, 1)) + "\n"
            for e in run.evaluations {
                let cells = e.byDim.isEmpty ? [String(format: "%.2f", e.value)] : e.byDim.map { String(format: "%.2f", $0.value) }
                out += "| \(e.step) | " + cells.joined(separator: " | ") + " |\n"
            }
        }
        return out
    }

    static func yamlScalar(_ s: String) -> String {
        let plain = s.allSatisfy { $0.isLetter || $0.isNumber || "-_./:".contains($0) } && !s.isEmpty && !s.hasPrefix("-")
        return plain ? s : "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func pythonString(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    /// 16 for 16.0, 0.5 for 0.5.
    static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }

    static func markdownEscaped(_ s: String) -> String { s.replacingOccurrences(of: "`", with: "'") }
}
