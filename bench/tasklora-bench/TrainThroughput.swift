import Foundation
import TaskLoRA

// `train-throughput` and `gradcache`: LoRA training steps through the library's `Trainer`
// (its forward/backward, GradCache, clipping and AdamW; `Trainer.benchmarkStep`).

/// The two LoRA training workloads of the benchmark's trainer:
///   - `.queryValue`: one adapter on query and value, in-batch InfoNCE at τ (MultipleNegativesRankingLoss
///     scale 1/τ) — the "fixed" and "real" workloads;
///   - `.textMatching`: what `recipes/text-matching-stsb-cpu.yaml` trains — LoRA on all six linear module
///     types of every layer, CoSENT at τ (scale 1/τ) on the pairs' scores with Matryoshka dims
///     32, 64, 128, 256, 384 (capped at the hidden size), unit weights.
enum BenchObjective {
    case queryValue, textMatching

    static let textMatchingTargets = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]
    static let matryoshkaDims = [32, 64, 128, 256, 384]

    var targets: [String] { self == .queryValue ? ["query", "value"] : Self.textMatchingTargets }

    /// (in, out) of every LoRA'd module of one layer, for `stepFLOPs`.
    func loraModules(_ config: EncoderConfig) -> [(Int, Int)] {
        let h = config.hiddenSize, f = config.intermediateSize
        return self == .queryValue ? [(h, h), (h, h)] : [(h, h), (h, h), (h, h), (h, h), (h, f), (f, h)]
    }
}

/// A throw-away trainer: the given model, one adapter (rank, alpha, dropout 0) with `objective`'s targets
/// and loss, AdamW at a constant lr with weight decay 0.01 and clipping at 1.0, STS-B-style CSV pairs
/// (scores 0–5) as the train file, the frozen base at `precision`.
func benchTrainer(model: String, data: String, prefix: String, maxLength: Int, batchSize: Int, rank: Int,
                  alpha: Double, temperature: Double, gradcacheChunk: Int = 0, objective: BenchObjective = .queryValue,
                  precision: Precision = .fp32) throws -> (Trainer, String) {
    let output = FileManager.default.temporaryDirectory
        .appendingPathComponent("tasklora-bench-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(6))").path
    func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
    var loss = "type: infonce\n  temperature: \(temperature)"
    if objective == .textMatching {
        let h = try EncoderConfig.decode(Data(Checkpoint.read(path: model, loadWeights: false).configJSON.utf8), source: model).hiddenSize
        let dims = BenchObjective.matryoshkaDims.filter { $0 < h } + [h]
        loss = "type: cosent\n  temperature: \(temperature)\n  matryoshka:\n    dims: [\(dims.map(String.init).joined(separator: ", "))]"
    }
    let yaml = """
    model: \(quoted(model))
    output: \(quoted(output))
    seed: 1
    precision: \(precision.rawValue)
    adapters:
      - name: bench
        rank: \(rank)
        alpha: \(alpha)
        dropout: 0.0
        targets: [\(objective.targets.joined(separator: ", "))]
        prefix: \(quoted(prefix))
    loss:
      \(loss)
    data:
      train: \(quoted(data))
      format: stsb_csv
      max_length: \(maxLength)
      batch_size: \(batchSize)
      length_bucketing: false
      score_scale: 5
    optimizer:
      lr: 1.0e-4
      weight_decay: 0.01
      grad_clip: 1.0
      gradcache_chunk: \(gradcacheChunk)
    schedule:
      type: constant
      steps: 1000000
    """
    let recipe = try Recipe.parse(yaml: yaml, source: "tasklora-bench recipe")
    return (try Trainer(recipe: recipe), output)
}

/// Matrix-multiply FLOPs of one training step (2 per multiply-add), from the shapes:
/// for each of the N layers, with T = Σ Lᵢ tokens, S2 = Σ Lᵢ², hidden H, FFN F, and LoRA
/// rank r on `loraModules` (in, out) pairs:
///   frozen linear forward            2T(3H·H + H·H + H·F + F·H)
///   frozen linear input-gradient     the same again (no weight gradients)
///   attention forward                QKᵀ 2·S2·H + PV 2·S2·H
///   attention backward               recomputed QKᵀ 2·S2·H, dV, dP, dQ, dK 4 × 2·S2·H
///   LoRA forward                     2T·r(in + out) per module
///   LoRA backward                    dB, dxa, dA, dx: 4T·r(in + out) per module
///   GradCache                        + one untaped forward (all forward terms) when on.
/// Embedding gathers, layer norms, GELU, softmax, pooling and the loss are not counted.
func stepFLOPs(config: EncoderConfig, lengths: [Int], rank: Int, loraModules: [(Int, Int)], gradCache: Bool = false)
    -> (total: Double, parts: [String: Double]) {
    let t = Double(lengths.reduce(0, +)), s2 = Double(lengths.reduce(0) { $0 + $1 * $1 })
    let h = Double(config.hiddenSize), f = Double(config.intermediateSize), layers = Double(config.numHiddenLayers)
    let r = Double(rank), lora = Double(loraModules.reduce(0) { $0 + $1.0 + $1.1 })
    let linear = 2 * t * (3 * h * h + h * h + h * f + f * h)
    var parts: [String: Double] = [
        "linear_forward": layers * linear, "linear_input_grad": layers * linear,
        "attention_forward": layers * 4 * s2 * h, "attention_backward": layers * 10 * s2 * h,
        "lora_forward": layers * 2 * t * r * lora, "lora_backward": layers * 4 * t * r * lora,
    ]
    if gradCache {
        parts["gradcache_forward"] = parts["linear_forward"]! + parts["attention_forward"]! + parts["lora_forward"]!
    }
    return (parts.values.reduce(0, +), parts)
}

/// `count` texts of at least `minCharacters` characters each: consecutive sentences of the
/// training pairs (sentence 1, sentence 2, next row, …) joined with spaces.
func longTexts(_ trainer: Trainer, count: Int, minCharacters: Int) -> [String] {
    let rows = trainer.data.train.count
    let all = trainer.data.train.textBatch(Array(0..<rows))
    var sentences: [String] = []
    for i in 0..<rows { sentences += [all.anchors[i], all.positives[i]] }
    var out: [String] = [], next = 0
    while out.count < count {
        var text = ""
        while text.count < minCharacters {
            text += (text.isEmpty ? "" : " ") + sentences[next % sentences.count]
            next += 1
        }
        out.append(text)
    }
    return out
}

/// Reads `count` texts from a file, one per line (cycling when it has fewer).
func textsFile(_ path: String, count: Int) throws -> [String] {
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true)
        .map(String.init)
    guard !lines.isEmpty else { throw TaskLoRAError.file(path, "has no texts") }
    return (0..<count).map { lines[$0 % lines.count] }
}

/// Pairs of exactly `length` tokens each (anchors are texts 0..<n, positives n..<2n).
func fixedPairs(_ trainer: Trainer, texts: [String], pairs n: Int, length: Int, prefix: String) throws -> ([[Int32]], [[Int32]]) {
    let ids = trainer.tokenizer.encodeAll(texts.map { prefix + $0 }, maxLength: length).ids
    if let short = ids.firstIndex(where: { $0.count != length }) {
        throw TaskLoRAError("fixed text \(short) has \(ids[short].count) tokens, not \(length): use longer texts")
    }
    return (Array(ids[0..<n]), Array(ids[n..<(2 * n)]))
}

func trainThroughput(_ o: Options) throws {
    let started = Profiler.now()
    guard let model = o.string("--model"), let data = o.string("--data") else {
        throw TaskLoRAError("train-throughput needs --model CHECKPOINT.h5 and --data STSB.csv")
    }
    let workload = o.string("--workload", "fixed")
    guard ["fixed", "real", "text-matching"].contains(workload) else {
        throw TaskLoRAError("--workload is fixed, real or text-matching")
    }
    guard let precision = Precision(rawValue: o.string("--precision", "fp32")), precision != .int8 else {
        throw TaskLoRAError("--precision is fp32 or bf16 (int8 is inference only)")
    }
    let objective: BenchObjective = workload == "text-matching" ? .textMatching : .queryValue
    let pairs = o.int("--batch", 32), length = o.int("--length", 64), maxLength = o.int("--max-length", 128)
    let warmup = o.int("--warmup", 2), steps = o.int("--steps", 5), start = o.int("--start", 0)
    let rank = o.int("--rank", 8), alpha = o.double("--alpha", 16), temperature = o.double("--temperature", 0.05)
    let prefix = o.string("--prefix", "")
    // text-matching trains at the recipe's max length (64 = --length), real pairs at --max-length.
    let truncation = workload == "real" ? maxLength : length
    let (trainer, output) = try benchTrainer(model: model, data: data, prefix: prefix, maxLength: truncation,
                                             batchSize: pairs, rank: rank, alpha: alpha, temperature: temperature,
                                             objective: objective, precision: precision)
    defer { try? FileManager.default.removeItem(atPath: output) }
    let config = trainer.encoder.config
    let loadSeconds = Profiler.now() - started

    var fixed: ([[Int32]], [[Int32]])? = nil
    if workload == "fixed" {
        let texts = try o.string("--texts").map { try textsFile($0, count: 2 * pairs) }
            ?? longTexts(trainer, count: 2 * pairs, minCharacters: 8 * length)
        fixed = try fixedPairs(trainer, texts: texts, pairs: pairs, length: length, prefix: prefix)
    }
    let rows = trainer.data.train.count
    let profile = o.flag("--profile")
    var records: [[String: Any]] = []
    for s in 0..<(warmup + steps) {
        if s == warmup, profile { Profiler.enabled = true; Profiler.reset() }
        let t0 = Profiler.now()
        let loss: Double, tokens: Int, lengths: [Int]
        if let (anchors, positives) = fixed {
            loss = try trainer.benchmarkStep(anchors: anchors, positives: positives).loss
            lengths = (anchors + positives).map(\.count)
            tokens = lengths.reduce(0, +)
        } else {
            // Batches of consecutive rows in file order (no shuffling, no length sorting).
            let indices = (0..<pairs).map { (start + s * pairs + $0) % rows }
            let r = try trainer.benchmarkStep(indices: indices)
            loss = r.loss
            lengths = r.lengths
            tokens = lengths.reduce(0, +)
        }
        let seconds = Profiler.now() - t0
        let flops = stepFLOPs(config: config, lengths: lengths, rank: rank, loraModules: objective.loraModules(config))
        records.append(["step": s + 1, "warmup": s < warmup, "seconds": seconds, "tokens": tokens, "pairs": pairs,
                        "padded_tokens": pairs * ((lengths[..<pairs].max() ?? 0) + (lengths[pairs...].max() ?? 0)), "loss": loss, "flops": flops.total,
                        "gflops_per_s": flops.total / seconds / 1e9])
    }
    let timed = records.filter { !($0["warmup"] as! Bool) }
    let totalSeconds = timed.reduce(0.0) { $0 + ($1["seconds"] as! Double) }
    let totalTokens = timed.reduce(0) { $0 + ($1["tokens"] as! Int) }
    let totalFLOPs = timed.reduce(0.0) { $0 + ($1["flops"] as! Double) }
    var out: [String: Any] = [
        "side": "tasklora", "model": model, "workload": workload, "precision": precision.rawValue,
        "lora_targets": objective.targets, "layers": config.numHiddenLayers,
        "hidden": config.hiddenSize, "intermediate": config.intermediateSize, "pairs_per_step": pairs,
        "length": truncation, "threads": Parallel.cores, "openblas_threads": BLAS.threads,
        "rank": rank, "alpha": alpha, "temperature": temperature, "prefix": prefix, "warmup": warmup, "steps": records,
        "timed_seconds": totalSeconds, "pairs_per_s": Double(pairs * timed.count) / totalSeconds,
        "tokens_per_s": Double(totalTokens) / totalSeconds, "gflops_per_s": totalFLOPs / totalSeconds / 1e9,
        "median_step_s": median(timed.map { $0["seconds"] as! Double }), "load_s": loadSeconds,
        "peak_rss_mib": peakRSSMiB(),
    ]
    if workload == "fixed" {
        let f = stepFLOPs(config: config, lengths: [Int](repeating: length, count: 2 * pairs), rank: rank,
                          loraModules: objective.loraModules(config))
        out["flops_parts"] = f.parts
    }
    if profile {
        var p: [String: Double] = [:]
        var calls: [String: Int] = [:]
        for (category, seconds, n) in Profiler.snapshot() {
            p[category.name] = seconds / Double(timed.count)
            calls[category.name] = n / max(timed.count, 1)
        }
        p["other (pooling, loss, tokenizer, bookkeeping)"] = max(0, totalSeconds - Profiler.snapshot().reduce(0) { $0 + $1.seconds }) / Double(timed.count)
        out["profile_seconds_per_step"] = p
        out["profile_calls_per_step"] = calls
    }
    try printJSON(out)
}

/// One GradCache step: `batch` pairs of exactly `length` tokens, in chunks of `chunk` rows.
func gradCache(_ o: Options) throws {
    let started = Profiler.now()
    guard let model = o.string("--model"), let data = o.string("--data") else {
        throw TaskLoRAError("gradcache needs --model CHECKPOINT.h5 and --data STSB.csv")
    }
    let pairs = o.int("--batch", 512), length = o.int("--length", 192), chunk = o.int("--chunk", 32)
    let steps = o.int("--steps", 1), prefix = o.string("--prefix", ""), rank = o.int("--rank", 8)
    let (trainer, output) = try benchTrainer(model: model, data: data, prefix: prefix, maxLength: length, batchSize: pairs,
                                             rank: rank, alpha: o.double("--alpha", 16), temperature: 0.05,
                                             gradcacheChunk: chunk)
    defer { try? FileManager.default.removeItem(atPath: output) }
    let texts = try o.string("--texts").map { try textsFile($0, count: 2 * pairs) }
        ?? longTexts(trainer, count: 2 * pairs, minCharacters: 8 * length)
    let (anchors, positives) = try fixedPairs(trainer, texts: texts, pairs: pairs, length: length, prefix: prefix)
    let loadSeconds = Profiler.now() - started
    let rssBefore = peakRSSMiB()
    var seconds: [Double] = [], losses: [Double] = []
    for _ in 0..<steps {
        let t0 = Profiler.now()
        losses.append(try trainer.benchmarkStep(anchors: anchors, positives: positives).loss)
        seconds.append(Profiler.now() - t0)
    }
    let config = trainer.encoder.config
    let flops = stepFLOPs(config: config, lengths: [Int](repeating: length, count: 2 * pairs), rank: rank,
                          loraModules: [(config.hiddenSize, config.hiddenSize), (config.hiddenSize, config.hiddenSize)],
                          gradCache: true)
    try printJSON(["model": model, "pairs": pairs, "length": length, "chunk_rows": chunk, "tokens": 2 * pairs * length,
                   "step_seconds": seconds, "loss": losses, "load_s": loadSeconds,
                   "peak_rss_before_step_mib": rssBefore, "peak_rss_mib": peakRSSMiB(),
                   "gflops_per_s": flops.total / median(seconds) / 1e9, "threads": Parallel.cores])
}
