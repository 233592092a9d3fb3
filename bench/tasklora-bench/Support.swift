import Foundation
import TaskLoRA

// Shared helpers of the tasklora-bench subcommands.

#if os(Linux)
let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif

/// Peak resident set of this process so far, in MiB: `VmHWM` from /proc/self/status. Not
/// `ru_maxrss`: Linux carries that across exec, so a child of a large (v)forking parent (the
/// Python driver) would report the parent's peak.
func peakRSSMiB() -> Double {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kib = Double(line.split(separator: " ").dropFirst().first ?? "") {
        return kib / 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF_WHO, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func randomTensor(_ shape: [Int], _ rng: inout SplitMix64, scale: Double) -> Tensor {
    let t = Tensor(zeros: shape)
    for i in 0..<t.count { t[i] = Float((rng.nextUnit() * 2 - 1) * scale) }
    return t
}

/// A jina-embeddings-v3-shaped (XLM-R with rotary positions) encoder config: `layers` layers of width
/// `hidden`, heads of 64, FFN 4 × hidden, one token type.
func rotaryConfig(layers: Int, hidden: Int, vocab: Int, maxPositions: Int, rotaryBase: Float) -> EncoderConfig {
    EncoderConfig(modelType: "jina_embeddings_v3", hiddenSize: hidden, numHiddenLayers: layers,
                  numAttentionHeads: hidden / 64, intermediateSize: 4 * hidden, vocabSize: vocab,
                  maxPositionEmbeddings: maxPositions, typeVocabSize: 1, layerNormEps: 1e-5, padTokenId: 1,
                  positionEmbeddingType: "rotary", rotaryEmbBase: rotaryBase)
}

/// Random weights of every tensor `config` needs: uniform ±`scale`, layer-norm weights 1 and biases 0.
func randomWeights(_ config: EncoderConfig, _ rng: inout SplitMix64, scale: Double) -> [String: Tensor] {
    var tensors: [String: Tensor] = [:]
    for (name, shape) in EncoderWeights.expectedShapes(for: config) {
        let isNorm = name.contains("LayerNorm")
        tensors[name] = isNorm && name.hasSuffix("weight") ? Tensor(shape: shape, values: [Float](repeating: 1, count: shape.reduce(1, *)))
            : randomTensor(shape, &rng, scale: isNorm ? 0 : scale)
    }
    return tensors
}

/// Command-line options: `--name value` pairs and `--flag`s after the subcommand.
struct Options {
    let args: [String]
    func string(_ name: String) -> String? {
        guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
        return args[i + 1]
    }
    func string(_ name: String, _ fallback: String) -> String { string(name) ?? fallback }
    func int(_ name: String, _ fallback: Int) -> Int { string(name).flatMap { Int($0) } ?? fallback }
    func double(_ name: String, _ fallback: Double) -> Double { string(name).flatMap { Double($0) } ?? fallback }
    func flag(_ name: String) -> Bool { args.contains(name) }
    func ints(_ name: String, _ fallback: [Int]) -> [Int] {
        string(name).map { $0.split(separator: ",").compactMap { Int($0) } } ?? fallback
    }
}

/// One JSON object on stdout (sorted keys, so runs diff cleanly).
func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
