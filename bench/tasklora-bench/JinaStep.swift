import Foundation
import TaskLoRA

/// LoRA training steps of a full-size jina-embeddings-v3-shaped encoder with random weights (24 layers,
/// hidden 1024, 16 heads, FFN 4096, rotary base 20,000, vocabulary 250,002), the peer of
/// `bench/jina_step_torch.py` (transformers' `JinaEmbeddingsV3Model` + peft): `sequences` random
/// token sequences of exactly `length` tokens (anchors = the first half, positives = the second),
/// LoRA rank `rank`, alpha `alpha` on query, key, value, attention output, FFN in and FFN out,
/// mean pooling, in-batch InfoNCE at τ 0.05 on the normalized embeddings, clipping at 1.0, AdamW
/// (lr 1e-4, weight decay 0.01); the frozen projections at `precision`. No checkpoint or tokenizer:
/// the library's encoder, pooling, loss, backward, clipping and AdamW, called as the `Trainer` calls them.
func jinaStep(_ o: Options) throws {
    let started = Profiler.now()
    guard let precision = Precision(rawValue: o.string("--precision", "bf16")), precision != .int8 else {
        throw TaskLoRAError("--precision is fp32 or bf16")
    }
    let layers = o.int("--layers", 24), hidden = o.int("--hidden", 1024), vocab = o.int("--vocab", 250_002)
    let sequences = o.int("--sequences", 16), length = o.int("--length", 256)
    let warmup = o.int("--warmup", 1), steps = o.int("--steps", 3)
    let rank = o.int("--rank", 4), alpha = o.double("--alpha", 1)
    guard sequences >= 2, sequences % 2 == 0, length >= 1, hidden % 64 == 0 else {
        throw TaskLoRAError("jina-step needs an even --sequences ≥ 2, --length ≥ 1 and --hidden a multiple of 64")
    }
    let config = rotaryConfig(layers: layers, hidden: hidden, vocab: vocab, maxPositions: 8194, rotaryBase: 20_000)
    var rng = SplitMix64(seed: 1)
    var tensors = randomWeights(config, &rng, scale: 0.03)
    let encoder = TextEncoder(config: config, weights: try EncoderWeights(config: config, tensors: tensors, source: "random",
                                                                          precision: precision))
    tensors = [:]
    let targets: [LoRATarget] = [.query, .key, .value, .attentionOutput, .ffnIn, .ffnOut]
    let adapters = try LoRAAdapters(names: ["bench"], configs: [LoRAConfig(rank: rank, alpha: alpha, targets: targets)],
                                    model: config)
    adapters.initialize(adapter: 0, seed: 2)
    let optimizer = AdamW(count: adapters.parameterCount, weightDecay: 0.01)
    let pairs = sequences / 2
    let ids = (0..<sequences).map { _ in (0..<length).map { _ in Int32(2 + rng.next() % UInt64(vocab - 2)) } }
    let batch = TokenBatch(sequences: ids, adapters: [Int](repeating: 0, count: sequences))
    let loss = InfoNCE(temperature: 0.05).batch(pairs: pairs, negativesPerAnchor: 0)
    let matryoshka = try Matryoshka(dims: [hidden])
    let tape = Tape()
    let loadSeconds = Profiler.now() - started

    var seconds: [Double] = [], losses: [Double] = []
    for _ in 0..<(warmup + steps) {
        let t0 = Profiler.now()
        adapters.zeroGradients()
        tape.reset()
        let out = encoder.forward(batch, adapters: adapters, tape: tape)
        let pooled = Tensor(zeros: [sequences, hidden]), dPooled = Tensor(zeros: [sequences, hidden])
        Pooling.mean.forward(hidden: out.data, batch: batch, hiddenSize: hidden, pooled: pooled.data)
        let value = try matryoshka.loss(loss, pooled: pooled.data, rows: sequences, hiddenSize: hidden, dPooled: dPooled.data)
        let dHidden = Tensor(zeros: [batch.tokenCount, hidden])
        Pooling.mean.backward(dpooled: dPooled.data, batch: batch, hiddenSize: hidden, dhidden: dHidden.data)
        encoder.backward(tape: tape, dHidden: dHidden.data, tokenCount: batch.tokenCount)
        _ = GradientClipping.clip(adapters.gradients, count: adapters.parameterCount, maxNorm: 1)
        optimizer.update(adapters, lr: 1e-4)
        seconds.append(Profiler.now() - t0)
        losses.append(Double(value))
    }
    let timed = Array(seconds.dropFirst(warmup))
    let flops = stepFLOPs(config: config, lengths: [Int](repeating: length, count: sequences), rank: rank,
                          loraModules: [(hidden, hidden), (hidden, hidden), (hidden, hidden), (hidden, hidden),
                                        (hidden, 4 * hidden), (4 * hidden, hidden)])
    try printJSON(["side": "tasklora", "precision": precision.rawValue, "layers": layers, "hidden": hidden, "vocab": vocab,
                   "sequences": sequences, "length": length, "rank": rank, "alpha": alpha, "warmup": warmup,
                   "step_seconds": seconds, "loss": losses, "median_step_s": median(timed),
                   "sequences_per_s": Double(sequences) / median(timed), "gflops_per_s": flops.total / median(timed) / 1e9,
                   "load_s": loadSeconds, "threads": Parallel.cores, "peak_rss_mib": peakRSSMiB()])
}
