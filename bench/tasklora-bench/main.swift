import Foundation
import TaskLoRA

// tasklora-bench: measurements that need the library but no PyTorch (run by hand; see bench/README.md).
//
//   tasklora-bench long-input LENGTH [--layers 12] [--hidden 384]
//       one forward + backward (LoRA on every linear layer) over a single LENGTH-token input of a
//       random rotary model; prints seconds and peak resident memory (one process per length).

#if os(Linux)
let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF_WHO, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func randomTensor(_ shape: [Int], _ rng: inout SplitMix64, scale: Double) -> Tensor {
    let t = Tensor(zeros: shape)
    for i in 0..<t.count { t[i] = Float((rng.nextUnit() * 2 - 1) * scale) }
    return t
}

func longInput(length: Int, layers: Int, hidden: Int) throws {
    let config = EncoderConfig(modelType: "jina_embeddings_v3", hiddenSize: hidden, numHiddenLayers: layers,
                               numAttentionHeads: hidden / 64, intermediateSize: 4 * hidden, vocabSize: 1000,
                               maxPositionEmbeddings: 8192, typeVocabSize: 1, layerNormEps: 1e-5, padTokenId: 1,
                               positionEmbeddingType: "rotary", rotaryEmbBase: 10_000)
    var rng = SplitMix64(seed: 1)
    var tensors: [String: Tensor] = [:]
    for (name, shape) in EncoderWeights.expectedShapes(for: config) {
        let isNorm = name.contains("LayerNorm")
        tensors[name] = isNorm && name.hasSuffix("weight") ? Tensor(shape: shape, values: [Float](repeating: 1, count: shape.reduce(1, *)))
            : randomTensor(shape, &rng, scale: isNorm ? 0 : 0.05)
    }
    let encoder = TextEncoder(config: config, weights: try EncoderWeights(config: config, tensors: tensors, source: "random"))
    let adapters = try LoRAAdapters(names: ["task"], configs: [LoRAConfig(rank: 4, alpha: 1,
        targets: [.qkv, .attentionOutput, .ffnIn, .ffnOut])], model: config)
    adapters.initialize(adapter: 0, seed: 2)
    let ids = (0..<length).map { _ in Int32(rng.next() % 1000) }
    let batch = TokenBatch(sequences: [ids], adapters: [0])
    let tape = Tape()
    let t0 = Date()
    let hidden = encoder.forward(batch, adapters: adapters, tape: tape)
    let forward = Date().timeIntervalSince(t0)
    let dHidden = Tensor(zeros: [length, hidden.shape[1]])
    for i in 0..<dHidden.count { dHidden[i] = 1e-3 }
    encoder.backward(tape: tape, dHidden: dHidden.data, tokenCount: length)
    let total = Date().timeIntervalSince(t0)
    let gnorm = (0..<adapters.parameterCount).reduce(0.0) { $0 + Double(adapters.gradients[$1] * adapters.gradients[$1]) }.squareRoot()
    print(String(format: "{\"length\": %d, \"layers\": %d, \"hidden\": %d, \"forward_s\": %.2f, \"forward_backward_s\": %.2f, \"peak_rss_mib\": %.0f, \"tape_mib\": %.0f, \"grad_norm\": %.4g}",
                 length, layers, hidden.shape[1], forward, total, peakRSSMiB(), Double(tape.floatsHeld) * 4 / 1_048_576, gnorm))
}

let args = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return fallback
}
do {
    guard args.count >= 3, args[1] == "long-input", let length = Int(args[2]) else {
        FileHandle.standardError.write(Data("usage: tasklora-bench long-input LENGTH [--layers 12] [--hidden 384]\n".utf8))
        exit(64)
    }
    try longInput(length: length, layers: option("--layers", 12), hidden: option("--hidden", 384))
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
