import Foundation

/// Opens tasklora checkpoints for the commands that use a model.
public enum LoadedModel {
    public static func loadEncoder(_ ckpt: Checkpoint, path: String) throws -> TextEncoder {
        let config = try EncoderConfig.decode(Data(ckpt.configJSON.utf8), source: path)
        let weights = try EncoderWeights(config: config, tensors: ckpt.weights, source: path)
        return TextEncoder(config: config, weights: weights)
    }

    public static func loadTokenizer(_ ckpt: Checkpoint, path: String) throws -> TextTokenizer {
        guard let archive = ckpt.tokenizer else {
            throw TaskLoRAError.file(path, "checkpoint has no tokenizer (import it with --tokenizer)")
        }
        return try makeTokenizer(from: archive)
    }

    public static func loadTokenizer(checkpoint path: String) throws -> TextTokenizer {
        try loadTokenizer(try Checkpoint.read(path: path, loadWeights: false), path: path)
    }

    public static func loadEmbedder(checkpoint path: String) throws -> SentenceEmbedder {
        let ckpt = try Checkpoint.read(path: path)
        let pooling = Pooling(rawValue: ckpt.metadata["pooling"] ?? "mean") ?? .mean
        return SentenceEmbedder(encoder: try loadEncoder(ckpt, path: path),
                                tokenizer: try loadTokenizer(ckpt, path: path), pooling: pooling)
    }
}
