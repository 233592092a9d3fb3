import Foundation
import TaskLoRA

/// One taped forward + backward (LoRA on QKV, attention output and both FFN layers) over a single
/// `length`-token input of a random rotary model; prints seconds and peak resident memory.
func longInput(length: Int, layers: Int, hidden: Int) throws {
    let config = rotaryConfig(layers: layers, hidden: hidden, vocab: 1000, maxPositions: 8192, rotaryBase: 10_000)
    var rng = SplitMix64(seed: 1)
    let tensors = randomWeights(config, &rng, scale: 0.05)
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

/// Plots `long-input` results (one JSON object per line) as peak RSS and tape size by length (SVG).
func plotMemory(input: String, output: String) throws {
    var rss: [(x: Double, y: Double)] = [], tape: [(x: Double, y: Double)] = []
    var title = "Forward + backward memory by input length"
    for line in try String(contentsOfFile: input, encoding: .utf8).split(separator: "\n") {
        guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let length = o["length"] as? Double ?? (o["length"] as? Int).map(Double.init),
              let peak = o["peak_rss_mib"] as? Double ?? (o["peak_rss_mib"] as? Int).map(Double.init) else { continue }
        rss.append((length, peak))
        if let t = o["tape_mib"] as? Double ?? (o["tape_mib"] as? Int).map(Double.init) { tape.append((length, t)) }
        if let layers = o["layers"] as? Int, let hidden = o["hidden"] as? Int {
            title = "Forward + backward memory by input length (\(layers) layers, hidden \(hidden))"
        }
    }
    guard !rss.isEmpty else { throw TaskLoRAError.file(input, "has no long-input results") }
    let plot = SVGPlot(title: title, xLabel: "tokens in the input", yLabel: "MiB",
                       series: [.init(name: "peak RSS", points: rss.sorted { $0.x < $1.x }),
                                .init(name: "tape", points: tape.sorted { $0.x < $1.x })])
    try Data((plot.render() + "\n").utf8).write(to: URL(fileURLWithPath: output))
}
