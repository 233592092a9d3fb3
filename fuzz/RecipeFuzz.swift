import Foundation
import TaskLoRA

/// The recipe parser: YAML, keys, types, ranges, then validation against a small model config
/// and the resolved YAML written back and parsed again.
let config = EncoderConfig(modelType: "bert", hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
                           intermediateSize: 64, vocabSize: 120, maxPositionEmbeddings: 40, typeVocabSize: 2,
                           layerNormEps: 1e-12, padTokenId: 0)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecipe(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    Fuzz.run {
        let recipe = try Recipe.parse(yaml: text, source: "fuzz.yaml")
        try recipe.validate(source: "fuzz.yaml")
        try recipe.validate(against: config, source: "fuzz.yaml")
        _ = try Recipe.parse(yaml: recipe.resolvedYAML(), source: "resolved.yaml")
    }
    return 0
}
