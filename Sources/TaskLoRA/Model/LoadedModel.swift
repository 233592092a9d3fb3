import Foundation

/// Opens tasklora checkpoints for the commands that use a model: a base checkpoint, optionally with
/// adapters stored in it or in adapter-only checkpoints (a training run's `best.h5` / `final.h5`,
/// which name their base model and are found through `BaseModelReference`).
public enum LoadedModel {
    /// The encoder of a base checkpoint, its frozen projections at `precision` (`int8Calibration`:
    /// see `EncoderWeights.init`; then `Int8Calibration.run` must follow).
    public static func loadEncoder(_ ckpt: Checkpoint, path: String, precision: Precision = .fp32,
                                   int8Calibration: Bool = false) throws -> TextEncoder {
        let config = try EncoderConfig.decode(Data(ckpt.configJSON.utf8), source: path)
        let weights = try EncoderWeights(config: config, tensors: ckpt.weights, bfloat16: ckpt.bfloat16Weights,
                                         source: path, precision: precision, int8Calibration: int8Calibration)
        return TextEncoder(config: config, weights: weights)
    }

    /// The checkpoint's tokenizer, handling whitespace as `whitespace` says (`TokenizerWhitespace`:
    /// a runtime choice, not stored in the checkpoint).
    public static func loadTokenizer(_ ckpt: Checkpoint, path: String,
                                     whitespace: TokenizerWhitespace = .default) throws -> TextTokenizer {
        guard let archive = ckpt.tokenizer else {
            throw TaskLoRAError.file(path, "checkpoint has no tokenizer (import it with --tokenizer)")
        }
        return try makeTokenizer(from: archive, whitespace: whitespace)
    }

    /// The tokenizer of a checkpoint, or of its base model for an adapter-only checkpoint.
    public static func loadTokenizer(checkpoint path: String, whitespace: TokenizerWhitespace = .default) throws -> TextTokenizer {
        let ckpt = try Checkpoint.read(path: path, loadWeights: false)
        if ckpt.tokenizer == nil, BaseModelReference(metadata: ckpt.metadata) != nil {
            let base = try BaseModelReference.openBase(of: ckpt, adapterPath: path, loadWeights: false)
            return try loadTokenizer(base.checkpoint, path: base.path, whitespace: whitespace)
        }
        return try loadTokenizer(ckpt, path: path, whitespace: whitespace)
    }

    /// An embedder for `path` with every adapter found in it, in its base model and in `adapterFiles`
    /// (later files win on equal names); also each adapter's instruction prefix. The base's frozen
    /// projections run at `precision`; the adapters' LoRA matrices stay float32 at every precision.
    /// `whitespace`: how its tokenizer treats whitespace (`TokenizerWhitespace`).
    ///
    /// At int8 the projections are calibrated (`Int8Calibration`) on `int8Calibration` texts, the
    /// built-in set when nil, or left plain (per-channel int8 without smoothing) when empty.
    public static func loadEmbedder(checkpoint path: String, adapterFiles: [String] = [], precision: Precision = .fp32,
                                    whitespace: TokenizerWhitespace = .default, int8Calibration: [String]? = nil) throws
        -> (embedder: SentenceEmbedder, prefixes: [String: String]) {
        // A bf16 base stays bf16 for bf16/int8 compute (half the memory; EncoderWeights).
        let keep = precision != .fp32
        var ckpt = try Checkpoint.read(path: path, keepBFloat16Matrices: keep)
        var basePath = path
        var archives: [(String, AdapterArchive, String)] = []
        if !ckpt.hasWeights {
            let adapterCheckpoint = ckpt
            (basePath, ckpt) = try BaseModelReference.openBase(of: adapterCheckpoint, adapterPath: path,
                                                               keepBFloat16Matrices: keep)
            let base = basePath
            archives = ckpt.adapters.map { ($0.key, $0.value, base) }
            archives += adapterCheckpoint.adapters.map { ($0.key, $0.value, path) }
        } else {
            archives = ckpt.adapters.map { ($0.key, $0.value, path) }
        }
        for file in adapterFiles {
            let extra = try Checkpoint.read(path: file, loadWeights: false)
            try checkSameModel(extra, adapterPath: file, base: ckpt, basePath: basePath)
            archives += extra.adapters.map { ($0.key, $0.value, file) }
        }
        // Later sources override earlier ones; order by name for stable indices.
        var byName: [String: (AdapterArchive, String)] = [:]
        for (name, archive, source) in archives { byName[name] = (archive, source) }
        let calibrate = precision == .int8 && int8Calibration?.isEmpty != true
        let encoder = try loadEncoder(ckpt, path: basePath, precision: precision, int8Calibration: calibrate)
        let pooling = Pooling(rawValue: ckpt.metadata["pooling"] ?? "mean") ?? .mean
        let embedder = SentenceEmbedder(encoder: encoder, tokenizer: try loadTokenizer(ckpt, path: basePath, whitespace: whitespace),
                                         pooling: pooling)
        if calibrate { try Int8Calibration.run(embedder, texts: int8Calibration) }
        var prefixes: [String: String] = [:]
        if !byName.isEmpty {
            let names = byName.keys.sorted()
            let adapters = try LoRAAdapters(names: names, configs: try names.map { name in
                let (archive, source) = byName[name]!
                let (config, prefix) = try LoRAAdapters.config(of: archive, name: name, source: source)
                prefixes[name] = prefix
                return config
            }, model: encoder.config)
            for (i, name) in names.enumerated() {
                let (archive, source) = byName[name]!
                try adapters.load(adapter: i, from: archive, source: source)
            }
            embedder.adapters = adapters
        }
        return (embedder, prefixes)
    }

    /// Refuses adapters trained on a model of another shape.
    static func checkSameModel(_ adapterCheckpoint: Checkpoint, adapterPath: String, base: Checkpoint, basePath: String) throws {
        let a = try EncoderConfig.decode(Data(adapterCheckpoint.configJSON.utf8), source: adapterPath)
        let b = try EncoderConfig.decode(Data(base.configJSON.utf8), source: basePath)
        guard a.hiddenSize == b.hiddenSize, a.numHiddenLayers == b.numHiddenLayers, a.vocabSize == b.vocabSize,
              a.intermediateSize == b.intermediateSize else {
            throw TaskLoRAError.file(adapterPath, "adapters were trained on a \(a.numHiddenLayers)-layer, hidden-\(a.hiddenSize) model, but \(basePath) has \(b.numHiddenLayers) layers, hidden \(b.hiddenSize)")
        }
    }
}
