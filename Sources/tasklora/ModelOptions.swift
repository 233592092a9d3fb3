import ArgumentParser
import TaskLoRA

/// `--whitespace`: which Hugging Face stack the token ids of SentencePiece (XLM-R-family) models
/// equal. Shared by every command that tokenizes (embed, similarity, eval, export through
/// ModelOptions; tokenize on its own).
struct WhitespaceOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "SentencePiece models: transformers (as transformers 5 / sentence-transformers: leading, trailing and repeated whitespace give no token) or tokenizer-json (tokenizer.json as written, as the tokenizers library and text-embeddings-inference: trailing whitespace gives one ▁ token). WordPiece models give the same ids either way.",
        valueName: "transformers|tokenizer-json"))
    var whitespace: TokenizerWhitespace = .default
}

extension TokenizerWhitespace: ExpressibleByArgument {}

/// The model a command embeds with: a checkpoint, optional adapter files, the adapter (task) to
/// apply and the instruction prefix.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A tasklora checkpoint (.h5): a base model, or a run's best.h5 / final.h5 (which finds its base).")
    var model: String

    @Option(name: .long, help: ArgumentHelp("Extra adapter checkpoint(s) to load, e.g. --model BASE.h5 --adapters runs/x/final.h5 when the run's base moved.",
                                            valueName: "file.h5"))
    var adapters: [String] = []

    @Option(name: [.long, .customLong("adapter")], help: "Apply this adapter (task), e.g. retrieval.query, with its prefix.")
    var task: String?

    @Option(name: .long, help: "Text prepended to every input (default: the task's prefix, or none).")
    var prefix: String?

    @Flag(name: .long, help: "Do not prepend the task's instruction prefix.")
    var noPrefix = false

    @Option(name: .long, help: "Rotary models: the RoPE base (default: the checkpoint's rotary_emb_base, 20000 for jina-embeddings-v3).")
    var rotaryBase: Float?

    @Option(name: .long, help: ArgumentHelp("Scale every adapter's update ΔW = (α/r)·B·A by λ: 0 = the base, 1 = as trained (the default), in between the interpolation toward the base that eval.strengths scores during training (docs/recipes.md).",
                                            valueName: "λ"))
    var adapterStrength: Double?

    @OptionGroup var tokenization: WhitespaceOption

    var whitespace: TokenizerWhitespace { tokenization.whitespace }

    func validate() throws {
        if noPrefix, prefix != nil { throw ValidationError("--prefix and --no-prefix exclude each other") }
        if let s = adapterStrength, !(s >= 0 && s.isFinite) { throw ValidationError("--adapter-strength must be a finite number >= 0, got \(s)") }
        if let base = rotaryBase, !(base > 1 && base.isFinite) { throw ValidationError("--rotary-base must be > 1, got \(base)") }
    }

    /// The embedder, its frozen base at `compute`'s precision, and the options that select the task and prefix.
    func load(_ compute: PrecisionOptions? = nil) throws -> (SentenceEmbedder, adapter: Int?, prefix: String) {
        let loaded = try loadWithPrefixes(compute)
        return (loaded.embedder, loaded.adapter, loaded.prefix)
    }

    /// Applies `--rotary-base` and `--adapter-strength` to a loaded embedder.
    func configure(_ embedder: SentenceEmbedder) throws {
        if let base = rotaryBase {
            guard embedder.encoder.config.isRotary else {
                throw TaskLoRAError.file(model, "is not a rotary model; --rotary-base does not apply")
            }
            embedder.encoder.rotaryBase = base
        }
        if let strength = adapterStrength {
            guard let adapters = embedder.adapters else {
                throw TaskLoRAError.file(model, "holds no adapters; --adapter-strength needs an adapter checkpoint (a run's best.h5 / final.h5, or --adapters)")
            }
            adapters.applyStrength(strength)
        }
    }

    /// As `load`, with every adapter's prefix (for commands that embed with a second task, as `mine`).
    func loadWithPrefixes(_ compute: PrecisionOptions? = nil) throws
        -> (embedder: SentenceEmbedder, adapter: Int?, prefix: String, prefixes: [String: String]) {
        let (embedder, prefixes) = try LoadedModel.loadEmbedder(checkpoint: model, adapterFiles: adapters,
                                                                precision: compute?.precision ?? .fp32, whitespace: whitespace,
                                                                int8Calibration: try compute?.int8CalibrationTexts())
        try configure(embedder)
        var adapter: Int? = nil
        if let task {
            guard let index = embedder.adapters?.adapterIndex(task) else {
                let known = embedder.adapters?.names.joined(separator: ", ") ?? "none"
                throw TaskLoRAError.file(model, "has no adapter \"\(task)\" (adapters: \(known))")
            }
            adapter = index
        }
        let text = noPrefix ? "" : (prefix ?? task.flatMap { prefixes[$0] } ?? "")
        return (embedder, adapter, text, prefixes)
    }
}

/// The arithmetic of the frozen base for the commands that only run the model forward
/// (`embed`, `eval`, `similarity`); see docs/precision.md.
struct PrecisionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Frozen base GEMMs: fp32 (OpenBLAS, the reference), bf16 or int8 (oneDNN). LoRA stays float32.",
        valueName: "fp32|bf16|int8"))
    var precision: Precision = .fp32

    @Option(name: .long, help: ArgumentHelp(
        "int8 only: texts (one per line) to calibrate the SmoothQuant factors on, or `none` for plain "
        + "per-channel int8. Default: a built-in multilingual set (docs/precision.md).", valueName: "file|none"))
    var calibration: String?

    func validate() throws {
        if calibration != nil, precision != .int8 {
            throw ValidationError("--calibration applies to --precision int8 only")
        }
    }

    /// nil: the built-in texts; []: no calibration; else the file's lines.
    func int8CalibrationTexts() throws -> [String]? {
        guard precision == .int8, let calibration else { return nil }
        if calibration == "none" { return [] }
        let texts = try TextLines.read(path: calibration).filter { !$0.isEmpty }
        guard !texts.isEmpty else { throw TaskLoRAError.file(calibration, "has no calibration texts (one per line)") }
        return texts
    }
}

extension Precision: ExpressibleByArgument {}
