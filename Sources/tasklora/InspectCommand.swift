import ArgumentParser
import Foundation
import TaskLoRA

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint's architecture, parameter counts, tokenizer and adapters.")

    @Argument(help: "A tasklora checkpoint (.h5).")
    var checkpoint: String

    func run() throws {
        let ckpt = try Checkpoint.read(path: checkpoint)
        let config = try EncoderConfig.decode(Data(ckpt.configJSON.utf8), source: checkpoint)
        let base = ckpt.weights.values.reduce(0) { $0 + $1.count }
        print("checkpoint   \(checkpoint) (format \(ckpt.formatVersion))")
        for key in ckpt.metadata.keys.sorted() { print("  \(key): \(ckpt.metadata[key]!)") }
        print("architecture \(config.modelType): \(config.numHiddenLayers) layers, hidden \(config.hiddenSize), "
              + "\(config.numAttentionHeads) heads of \(config.headDim), FFN \(config.intermediateSize)")
        let positions = config.isRotary
            ? "rotary (base \(Int(config.rotaryEmbBase))), max \(config.maxPositionEmbeddings) tokens"
            : "learned absolute, \(config.maxPositionEmbeddings) (offset \(config.positionOffset))"
        print("positions    \(positions)")
        print("vocabulary   \(config.vocabSize), token types \(config.typeVocabSize), layer-norm eps \(config.layerNormEps)")
        let pooler = ["pooler.dense.weight", "pooler.dense.bias"].reduce(0) { $0 + (ckpt.weights[$1]?.count ?? 0) }
        print("parameters   \(ParameterCount.format(base)) base (\(ckpt.weights.count) tensors"
              + (pooler > 0 ? "; includes the pooler's \(ParameterCount.format(pooler)), unused for embeddings)" : ")"))
        if let tok = ckpt.tokenizer {
            let attrs = tok.attributes.keys.sorted().map { "\($0)=\(tok.attributes[$0]!)" }.joined(separator: " ")
            print("tokenizer    \(tok.kind) \(attrs)")
        } else {
            print("tokenizer    none")
        }
        if ckpt.adapters.isEmpty {
            print("adapters     none")
        } else {
            var all = 0
            for name in Self.adapterOrder(ckpt) {
                let a = ckpt.adapters[name]!
                let n = a.tensors.values.reduce(0) { $0 + $1.count }
                all += n
                let attrs = a.attributes.keys.sorted().map { "\($0)=\(a.attributes[$0]!)" }.joined(separator: " ")
                print("adapter      \(name): \(ParameterCount.format(n)) parameters \(attrs)")
            }
            // The jina-embeddings-v3 paper's share: adapters over base + adapters.
            print(String(format: "adapters     %@ in all (%.2f %% of base + adapters, %.2f %% of base)",
                         ParameterCount.format(all), 100 * Double(all) / Double(max(base + all, 1)),
                         100 * Double(all) / Double(max(base, 1))))
        }
    }

    /// The stack order of the jina release (`lora_adaptations` first, then by name); by name when
    /// the config lists a task the checkpoint lacks.
    static func adapterOrder(_ ckpt: Checkpoint) -> [String] {
        (try? JinaV3Layout.taskOrder(checkpoint: ckpt)) ?? ckpt.adapters.keys.sorted()
    }
}
